"""Gurobi backend (gurobipy), used only when gurobipy is installed and licensed.

The pip wheel ships a size-limited license; a model over the limit yields status
``license_limit`` with the message "model too large for this license", never a traceback.
Environments are created with output switched off *before* they start, so neither the license
banner nor the log reaches stdout; the log goes to a private file whose tail is returned.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from agents.solvers.base import (
    Options,
    SolverBackend,
    SolveResult,
    SolverLog,
    SolveStatus,
    Start,
    solver_log,
)
from agents.solvers.model import Capability, ConstraintSense, Model, ObjectiveSense, VarType

# gurobipy.GRB.Error.SIZE_LIMIT_EXCEEDED: the license caps variables / constraints.
_SIZE_LIMIT_EXCEEDED = 10010
_NO_LICENSE = 10009

_STATUS = {
    2: SolveStatus.OPTIMAL,
    3: SolveStatus.INFEASIBLE,
    4: SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    5: SolveStatus.UNBOUNDED,
    7: SolveStatus.ITERATION_LIMIT,
    8: SolveStatus.ITERATION_LIMIT,  # node limit
    9: SolveStatus.TIME_LIMIT,
    10: SolveStatus.FEASIBLE,  # solution limit
    13: SolveStatus.FEASIBLE,  # suboptimal
    15: SolveStatus.FEASIBLE,  # user objective limit
}


def _env(log_file: str = "") -> Any:
    import gurobipy as gp

    env = gp.Env(empty=True)
    env.setParam("OutputFlag", 1 if log_file else 0)
    env.setParam("LogToConsole", 0)
    if log_file:
        env.setParam("LogFile", log_file)
    env.start()
    return env


@cache
def _licensed() -> bool:
    try:
        _env().dispose()
    except Exception:
        return False
    return True


class GurobiBackend(SolverBackend):
    """Gurobi: LP, MILP, QP, (non)convex QCQP and their mixed-integer forms."""

    name = "gurobi"
    capabilities = frozenset(Capability)
    time_limit_option = "TimeLimit"

    @classmethod
    def available(cls) -> bool:
        """True when gurobipy is installed and its license lets a model be created."""
        return _licensed()

    def _solve(
        self, model: Model, time_limit: float | None, start: Start, options: Options
    ) -> SolveResult:
        import gurobipy as gp

        with solver_log() as log:
            env = _env(str(log.path))
            try:
                return self._run(gp, env, model, time_limit, log, start, options)
            except gp.GurobiError as err:
                if err.errno == _SIZE_LIMIT_EXCEEDED:
                    return SolveResult(
                        status=SolveStatus.LICENSE_LIMIT,
                        message="model too large for this license "
                        f"({len(model.variables)} variables, {len(model.constraints)} "
                        f"constraints; Gurobi says: {err}); use a full Gurobi license or "
                        "another backend (highs, scip)",
                        log_tail=log.tail(),
                    )
                return SolveResult(
                    status=SolveStatus.ERROR,
                    message=f"Gurobi error {err.errno}: {err}",
                    log_tail=log.tail(),
                )
            finally:
                env.dispose()

    def _run(
        self,
        gp: Any,
        env: Any,
        model: Model,
        time_limit: float | None,
        log: SolverLog,
        start: Start,
        options: Options,
    ) -> SolveResult:
        grb = gp.GRB
        with gp.Model(model.name, env=env) as g:
            refused = self._set_parameters(g.setParam, time_limit, options, (gp.GurobiError,))
            if refused is not None:
                return refused
            if model.has_quadratic_constraints or not _objective_convex_hint(model):
                g.Params.NonConvex = 2
            vtypes = {
                VarType.CONTINUOUS: grb.CONTINUOUS,
                VarType.INTEGER: grb.INTEGER,
                VarType.BINARY: grb.BINARY,
            }
            xs = {
                v.name: g.addVar(
                    lb=-grb.INFINITY if v.lower == -math.inf else v.lower,
                    ub=grb.INFINITY if v.upper == math.inf else v.upper,
                    vtype=vtypes[v.type],
                    name=v.name,
                )
                for v in model.variables
            }
            for con in model.constraints:
                expr = gp.quicksum(c * xs[v] for v, c in con.coefficients.items())
                if con.quadratic:
                    expr = expr + gp.quicksum(
                        t.coefficient * xs[t.var1] * xs[t.var2] for t in con.quadratic
                    )
                if con.sense is ConstraintSense.LE:
                    cons = expr <= con.rhs
                elif con.sense is ConstraintSense.GE:
                    cons = expr >= con.rhs
                else:
                    cons = expr == con.rhs
                if con.quadratic:
                    g.addQConstr(cons, name=con.name)
                else:
                    g.addLConstr(cons, name=con.name)
            obj = gp.quicksum(c * xs[v] for v, c in model.objective.items())
            obj = obj + gp.quicksum(
                t.coefficient * xs[t.var1] * xs[t.var2] for t in model.objective_quadratic
            )
            if start is not None:
                for name, x in xs.items():
                    x.Start = start.get(name, 0.0)
            g.setObjective(
                obj + model.objective_constant,
                grb.MAXIMIZE if model.sense is ObjectiveSense.MAXIMIZE else grb.MINIMIZE,
            )
            g.optimize()
            status = _STATUS.get(g.Status, SolveStatus.ERROR)
            values: dict[str, float] = {}
            objective = None
            if g.SolCount > 0:
                values = {name: float(x.X) for name, x in xs.items()}
                objective = float(g.ObjVal)
            return SolveResult(
                status=status,
                objective=objective,
                values=values,
                time=float(g.Runtime),
                log_tail=log.tail(),
                message=f"Gurobi status code {g.Status}",
            )


def _objective_convex_hint(model: Model) -> bool:
    """Cheap check: a diagonal objective with the right signs is convex; else ask for NonConvex."""
    for t in model.objective_quadratic:
        if t.var1 != t.var2:
            return False
        if (t.coefficient < 0) == (model.sense is ObjectiveSense.MINIMIZE) and t.coefficient:
            return False
    return True
