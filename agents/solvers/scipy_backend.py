"""SciPy backend: `scipy.optimize.milp` for LP/MILP, `minimize` (SLSQP) for QP and QCQP.

A fallback that needs nothing beyond SciPy. Continuous quadratic models are solved locally:
the status is ``optimal`` only when the problem is convex (a local optimum is then global),
otherwise ``feasible``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from agents.solvers.base import Options, SolverBackend, SolveResult, SolveStatus, Start
from agents.solvers.model import Capability, ConstraintSense, Model, ObjectiveSense


class ScipyBackend(SolverBackend):
    """SciPy's bundled HiGHS for linear models and SLSQP for continuous quadratic ones."""

    name = "scipy"
    capabilities = frozenset({Capability.LP, Capability.MILP, Capability.QP, Capability.NLP})
    library = "scipy.optimize"

    def _solve(
        self, model: Model, time_limit: float | None, start: Start, options: Options
    ) -> SolveResult:
        # scipy's milp (HiGHS inside) takes no start solution; SLSQP starts from it.
        if model.problem_class in (Capability.LP, Capability.MILP):
            return _solve_linear(model, time_limit, options)
        return _solve_quadratic(model, time_limit, start, options)


def _linear_rows(model: Model) -> tuple[Any, Any, Any]:
    """Sparse A with row bounds (lb, ub) for the model's linear constraint parts."""
    import numpy as np
    from scipy.sparse import csr_matrix

    index = model.variable_index()
    data, rows, cols = [], [], []
    lb = np.empty(len(model.constraints))
    ub = np.empty(len(model.constraints))
    for r, con in enumerate(model.constraints):
        for name, coef in con.coefficients.items():
            rows.append(r)
            cols.append(index[name])
            data.append(coef)
        lb[r] = -np.inf if con.sense is ConstraintSense.LE else con.rhs
        ub[r] = np.inf if con.sense is ConstraintSense.GE else con.rhs
    shape = (len(model.constraints), len(model.variables))
    return csr_matrix((data, (rows, cols)), shape=shape), lb, ub


def _objective_vector(model: Model) -> Any:
    import numpy as np

    index = model.variable_index()
    c = np.zeros(len(model.variables))
    for name, coef in model.objective.items():
        c[index[name]] += coef
    return c


def _solve_linear(model: Model, time_limit: float | None, extra: dict[str, Any]) -> SolveResult:
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    sign = -1.0 if model.sense is ObjectiveSense.MAXIMIZE else 1.0
    c = sign * _objective_vector(model)
    integrality = np.array([1 if v.is_integral else 0 for v in model.variables])
    bounds = Bounds([v.lower for v in model.variables], [v.upper for v in model.variables])
    options: dict[str, Any] = {"disp": False}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    options.update(extra)
    constraints = []
    if model.constraints:
        a, lb, ub = _linear_rows(model)
        constraints.append(LinearConstraint(a, lb, ub))
    try:
        res = milp(
            c, integrality=integrality, bounds=bounds, constraints=constraints, options=options
        )
    except (TypeError, ValueError) as err:
        if not extra:
            raise
        return SolveResult(
            status=SolveStatus.ERROR, message=f"scipy rejected options {extra!r}: {err}"
        )
    message = str(res.message)
    if res.status == 0:
        status = SolveStatus.OPTIMAL
    elif res.status == 1:
        status = (
            SolveStatus.TIME_LIMIT if "time" in message.lower() else SolveStatus.ITERATION_LIMIT
        )
    elif res.status == 2:
        status = SolveStatus.INFEASIBLE
    elif res.status == 3:
        status = SolveStatus.UNBOUNDED
    else:
        status = SolveStatus.ERROR
    values: dict[str, float] = {}
    objective = None
    if res.x is not None:
        values = {v.name: float(x) for v, x in zip(model.variables, res.x, strict=True)}
        objective = model.objective_value(values)
    return SolveResult(status=status, objective=objective, values=values, message=message)


def _symmetric(terms: Any, index: dict[str, int], n: int) -> Any:
    """Symmetric H with ``1/2 x'Hx == sum(c * x_i * x_j)``."""
    import numpy as np

    h = np.zeros((n, n))
    for t in terms:
        i, j = index[t.var1], index[t.var2]
        h[i, j] += t.coefficient
        h[j, i] += t.coefficient
    return h


def _is_psd(h: Any) -> bool:
    import numpy as np

    return not h.size or float(np.linalg.eigvalsh(h).min()) >= -1e-9


class _TimeUp(Exception):
    pass


def _solve_quadratic(
    model: Model, time_limit: float | None, start: dict[str, float] | None, extra: dict[str, Any]
) -> SolveResult:
    import numpy as np
    from scipy.optimize import minimize

    n = len(model.variables)
    index = model.variable_index()
    sign = -1.0 if model.sense is ObjectiveSense.MAXIMIZE else 1.0
    c = sign * _objective_vector(model)
    h = sign * _symmetric(model.objective_quadratic, index, n)

    def fun(x: Any) -> float:
        return float(c @ x + 0.5 * x @ h @ x)

    def jac(x: Any) -> Any:
        return c + h @ x

    constraints: list[dict[str, Any]] = []
    convex = _is_psd(h)
    for con in model.constraints:
        a = np.zeros(n)
        for name, coef in con.coefficients.items():
            a[index[name]] += coef
        q = _symmetric(con.quadratic, index, n)
        if con.quadratic:
            # g(x) <= rhs is convex iff Q is PSD; >= needs NSD; equalities never are.
            sense_ok = (con.sense is ConstraintSense.LE and _is_psd(q)) or (
                con.sense is ConstraintSense.GE and _is_psd(-q)
            )
            convex = convex and sense_ok
        for kind, s in _sides(con.sense):
            constraints.append(
                {
                    "type": kind,
                    "fun": lambda x, a=a, q=q, s=s, r=con.rhs: s * (r - a @ x - 0.5 * x @ q @ x),
                    "jac": lambda x, a=a, q=q, s=s: -s * (a + q @ x),
                }
            )
    lower = [None if v.lower == -math.inf else v.lower for v in model.variables]
    upper = [None if v.upper == math.inf else v.upper for v in model.variables]
    x0 = np.array(
        [
            min(max(0.0, lo if lo is not None else -np.inf), up if up is not None else np.inf)
            for lo, up in zip(lower, upper, strict=True)
        ]
    )
    if start is not None:
        x0 = np.array([start.get(v.name, x) for v, x in zip(model.variables, x0, strict=True)])
    began = time.perf_counter()

    def stop_on_time(*_: Any) -> None:
        if time_limit is not None and time.perf_counter() - began > time_limit:
            raise _TimeUp

    try:
        res = minimize(
            fun,
            x0,
            jac=jac,
            method="SLSQP",
            bounds=list(zip(lower, upper, strict=True)),
            constraints=constraints,
            callback=stop_on_time,
            options={"maxiter": 1000, "ftol": 1e-10, **extra},
        )
    except _TimeUp:
        return SolveResult(status=SolveStatus.TIME_LIMIT, message="SLSQP hit the time limit")
    values = {v.name: float(x) for v, x in zip(model.variables, res.x, strict=True)}
    feasible = model.max_violation(values) <= 1e-6
    if res.success and feasible:
        status = SolveStatus.OPTIMAL if convex else SolveStatus.FEASIBLE
    elif feasible:
        status = SolveStatus.ITERATION_LIMIT
    else:
        return SolveResult(
            status=SolveStatus.ERROR, message=f"SLSQP found no feasible point: {res.message}"
        )
    return SolveResult(
        status=status,
        objective=model.objective_value(values),
        values=values,
        message=str(res.message),
    )


def _sides(sense: ConstraintSense) -> list[tuple[str, float]]:
    """SLSQP wants ``fun(x) >= 0`` (ineq) or ``== 0`` (eq); ``s`` flips the direction."""
    if sense is ConstraintSense.LE:
        return [("ineq", 1.0)]
    if sense is ConstraintSense.GE:
        return [("ineq", -1.0)]
    return [("eq", 1.0)]
