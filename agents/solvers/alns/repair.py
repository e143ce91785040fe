"""The repair step: solve a sub-MIP with the backend, warm-started from the incumbent.

A neighborhood contains the incumbent, so handing it to the solver as a start solution means the
repair can only return something at least as good, the solver prunes from the first node, and
proximity search (whose objective ignores quality) starts feasible. The neutral
``SolverBackend.solve(model, time_limit)`` has no start-solution argument, so for HiGHS and SCIP
this module loads the model through the backends' own public translators
(:func:`agents.solvers.highs.model_to_highs`, :func:`agents.solvers.scip.model_to_scip`) and adds
the start; other backends are called cold through the contract. The same path passes solver
options (parameter tuning, :mod:`agents.solvers.tuning`), which the contract also lacks.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from agents.solvers.base import SolverBackend, SolveResult, SolveStatus
from agents.solvers.model import Model

WARM_START_BACKENDS = ("highs", "scip")


def repair_solve(
    backend: SolverBackend,
    model: Model,
    time_limit: float,
    start: Mapping[str, float] | None = None,
    options: Mapping[str, Any] | None = None,
) -> SolveResult:
    """Solve ``model`` within ``time_limit`` seconds, from ``start`` and with solver ``options``
    (HiGHS option names / SCIP parameter paths) when the backend allows.

    Never raises a solver library's exception: failures come back as status ``error``.
    """
    if (start is None and not options) or backend.name not in WARM_START_BACKENDS:
        return backend.solve(model, time_limit=time_limit)
    if not backend.available():
        return backend.solve(model, time_limit=time_limit)  # reports "unavailable"
    began = time.perf_counter()
    try:
        if backend.name == "highs":
            result = _highs(model, time_limit, start, options or {})
        else:
            result = _scip(model, time_limit, start, options or {})
    except Exception as err:
        return SolveResult(
            status=SolveStatus.ERROR,
            message=f"{backend.name} warm-started repair failed: {type(err).__name__}: {err}",
            solver=backend.name,
            time=time.perf_counter() - began,
        )
    result.solver = backend.name
    result.time = time.perf_counter() - began
    return result


def _highs(
    model: Model, time_limit: float, start: Mapping[str, float] | None, options: Mapping[str, Any]
) -> SolveResult:
    import highspy

    from agents.solvers.highs import model_to_highs, new_highs

    h = new_highs()
    h.setOptionValue("time_limit", float(time_limit))
    for key, value in options.items():
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            return SolveResult(
                status=SolveStatus.ERROR,
                message=f"HiGHS rejected option {key}={value!r}; check its name "
                "and type in the HiGHS option list",
            )
    model_to_highs(model, h)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = [float(start.get(v.name, 0.0)) for v in model.variables]
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    status_text = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    has_values = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    status = {
        "Optimal": SolveStatus.OPTIMAL,
        "Infeasible": SolveStatus.INFEASIBLE,
        "Time limit reached": SolveStatus.TIME_LIMIT,
    }.get(status_text, SolveStatus.FEASIBLE if has_values else SolveStatus.ERROR)
    if not has_values:
        return SolveResult(status=status, message=status_text)
    col_value = h.getSolution().col_value
    values = {v.name: float(x) for v, x in zip(model.variables, col_value, strict=False)}
    return SolveResult(
        status=status,
        objective=float(info.objective_function_value),
        values=values,
        message=status_text,
    )


def _scip(
    model: Model, time_limit: float, start: Mapping[str, float] | None, options: Mapping[str, Any]
) -> SolveResult:
    from pyscipopt import Model as ScipModel

    from agents.solvers.scip import model_to_scip

    scip = ScipModel(model.name)
    scip.hideOutput(True)
    scip.setParam("limits/time", float(time_limit))
    for key, value in options.items():
        scip.setParam(key, value)
    xs = model_to_scip(model, scip)
    if start is not None:
        sol = scip.createSol()
        for name, var in xs.items():
            scip.setSolVal(sol, var, float(start.get(name, 0.0)))
        scip.addSol(sol, free=True)
    scip.optimize()
    raw = scip.getStatus()
    status = {
        "optimal": SolveStatus.OPTIMAL,
        "infeasible": SolveStatus.INFEASIBLE,
        "timelimit": SolveStatus.TIME_LIMIT,
    }.get(raw, SolveStatus.FEASIBLE)
    if scip.getNSols() == 0:
        scip.freeProb()
        return SolveResult(
            status=status if status is not SolveStatus.FEASIBLE else SolveStatus.ERROR,
            message=f"SCIP status: {raw}",
        )
    best = scip.getBestSol()
    values = {name: float(scip.getSolVal(best, var)) for name, var in xs.items()}
    objective = float(scip.getSolObjVal(best))
    scip.freeProb()
    return SolveResult(
        status=status, objective=objective, values=values, message=f"SCIP status: {raw}"
    )
