"""SCIP backend (pyscipopt): LP, MILP, QP, QCQP and their mixed-integer forms, solved globally.

SCIP wants a linear objective, so a quadratic objective part is moved into an epigraph
variable (``min c'x + t`` with ``t >= quadratic part``; the reverse for maximization).
"""

from __future__ import annotations

import math
from typing import Any

from agents.solvers.base import Options, SolverBackend, SolveResult, SolveStatus, Start, solver_log
from agents.solvers.model import Capability, ConstraintSense, Model, ObjectiveSense, VarType

_EPIGRAPH = "__optoforge_quadratic_objective"

_VTYPES = {VarType.CONTINUOUS: "C", VarType.INTEGER: "I", VarType.BINARY: "B"}

_STATUS = {
    "optimal": SolveStatus.OPTIMAL,
    "infeasible": SolveStatus.INFEASIBLE,
    "unbounded": SolveStatus.UNBOUNDED,
    "inforunbd": SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    "timelimit": SolveStatus.TIME_LIMIT,
    "nodelimit": SolveStatus.ITERATION_LIMIT,
    "totalnodelimit": SolveStatus.ITERATION_LIMIT,
    "stallnodelimit": SolveStatus.ITERATION_LIMIT,
    "gaplimit": SolveStatus.FEASIBLE,
    "sollimit": SolveStatus.FEASIBLE,
    "bestsollimit": SolveStatus.FEASIBLE,
    "restartlimit": SolveStatus.ITERATION_LIMIT,
}


def model_to_scip(model: Model, scip: Any) -> dict[str, Any]:
    """Add ``model`` to a `pyscipopt.Model`; returns the SCIP variables by name."""
    from pyscipopt import quicksum

    xs: dict[str, Any] = {}
    for var in model.variables:
        xs[var.name] = scip.addVar(
            name=var.name,
            vtype=_VTYPES[var.type],
            lb=None if var.lower == -math.inf else var.lower,
            ub=None if var.upper == math.inf else var.upper,
        )
    for con in model.constraints:
        expr = quicksum(c * xs[v] for v, c in con.coefficients.items())
        if con.quadratic:
            expr += quicksum(t.coefficient * xs[t.var1] * xs[t.var2] for t in con.quadratic)
        if con.sense is ConstraintSense.LE:
            scip.addCons(expr <= con.rhs, name=con.name)
        elif con.sense is ConstraintSense.GE:
            scip.addCons(expr >= con.rhs, name=con.name)
        else:
            scip.addCons(expr == con.rhs, name=con.name)
    objective = quicksum(c * xs[v] for v, c in model.objective.items())
    maximize = model.sense is ObjectiveSense.MAXIMIZE
    if model.has_quadratic_objective:
        t = scip.addVar(name=_EPIGRAPH, vtype="C", lb=None, ub=None)
        quad = quicksum(q.coefficient * xs[q.var1] * xs[q.var2] for q in model.objective_quadratic)
        scip.addCons(t <= quad if maximize else t >= quad, name=_EPIGRAPH)
        objective += t
    scip.setObjective(objective, sense="maximize" if maximize else "minimize")
    if model.objective_constant:
        scip.addObjoffset(model.objective_constant)
    return xs


class ScipBackend(SolverBackend):
    """SCIP via pyscipopt: every class of the neutral model, to global optimality."""

    name = "scip"
    capabilities = frozenset(Capability)
    library = "pyscipopt"
    time_limit_option = "limits/time"

    def _solve(
        self, model: Model, time_limit: float | None, start: Start, options: Options
    ) -> SolveResult:
        from pyscipopt import Model as ScipModel

        with solver_log() as log:
            scip = ScipModel(model.name)
            scip.hideOutput(True)  # the banner and log go to the private log file only
            scip.setLogfile(str(log.path))
            refused = self._set_parameters(
                scip.setParam, time_limit, options, (LookupError, TypeError, ValueError)
            )
            if refused is not None:
                scip.setLogfile(None)
                return refused
            xs = model_to_scip(model, scip)
            if start is not None:
                sol = scip.createSol()
                for name, var in xs.items():
                    scip.setSolVal(sol, var, start.get(name, 0.0))
                scip.addSol(sol, free=True)
            scip.optimize()
            raw = scip.getStatus()
            status = _STATUS.get(raw, SolveStatus.ERROR)
            values: dict[str, float] = {}
            objective = None
            if scip.getNSols() > 0 and status not in (
                SolveStatus.INFEASIBLE,
                SolveStatus.UNBOUNDED,
            ):
                sol = scip.getBestSol()
                values = {name: float(scip.getSolVal(sol, x)) for name, x in xs.items()}
                objective = float(scip.getSolObjVal(sol))
            elapsed = scip.getSolvingTime()
            scip.setLogfile(None)
            tail = log.tail()
            scip.freeProb()
        if status is SolveStatus.ITERATION_LIMIT and values:
            status = SolveStatus.FEASIBLE
        return SolveResult(
            status=status,
            objective=objective,
            values=values,
            time=elapsed,
            log_tail=tail,
            message=f"SCIP status: {raw}",
        )


def model_from_scip(scip: Any, name: str = "model") -> Model:
    """Convert a problem read by SCIP (linear and quadratic constraints) to a neutral `Model`."""
    from agents.solvers.highs import _senses  # ranged rows split the same way everywhere

    inf = scip.infinity()

    def bound(value: float) -> float:
        return math.inf if value >= inf else -math.inf if value <= -inf else float(value)

    kinds = {
        "BINARY": VarType.BINARY,
        "INTEGER": VarType.INTEGER,
        "IMPLINT": VarType.INTEGER,
        "CONTINUOUS": VarType.CONTINUOUS,
    }
    model = Model(name=name)
    objective: dict[str, float] = {}
    for var in scip.getVars():
        model.add_variable(
            var.name,
            bound(var.getLbOriginal()),
            bound(var.getUbOriginal()),
            kinds.get(var.vtype(), VarType.CONTINUOUS),
        )
        if var.getObj():
            objective[var.name] = var.getObj()
    for cons in scip.getConss():
        quadratic: list[tuple[str, str, float]] = []
        if cons.isLinear():
            linear = dict(scip.getValsLinear(cons))
        elif cons.isNonlinear():
            bilinear, squares, lin = scip.getTermsQuadratic(cons)
            quadratic = [(a.name, b.name, c) for a, b, c in bilinear]
            quadratic += [(v.name, v.name, c) for v, c, _ in squares if c]
            linear = {v.name: c for v, c in lin}
            for v, _, c in squares:
                if c:
                    linear[v.name] = linear.get(v.name, 0.0) + c
        else:
            raise ValueError(f"constraint {cons.name!r} is neither linear nor quadratic")
        for sense, rhs, suffix in _senses(bound(scip.getLhs(cons)), bound(scip.getRhs(cons))):
            model.add_constraint(cons.name + suffix, linear, sense, rhs, quadratic=quadratic)
    model.set_objective(objective, scip.getObjectiveSense(), constant=scip.getObjoffset())
    return model
