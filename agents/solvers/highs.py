"""HiGHS backend (highspy): LP, MILP and convex QP; also the MPS / LP file reader and writer.

HiGHS states a quadratic objective as ``c'x + 1/2 x'Qx`` with the lower triangle of Q stored
column-wise; `_hessian` and `_model_from_highs` translate to and from the neutral model's
``coefficient * x_i * x_j`` terms.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from agents.solvers.base import (
    Options,
    SolverBackend,
    SolveResult,
    SolveStatus,
    Start,
    solver_log,
    stdout_fd_silenced,
)
from agents.solvers.model import (
    Capability,
    ConstraintSense,
    Model,
    ObjectiveSense,
    QuadraticTerm,
    Variable,
    VarType,
)


def _highspy() -> Any:
    import highspy

    return highspy


_banner_shown = False


def new_highs() -> Any:
    """A `highspy.Highs` that writes nothing to stdout (banner and log silenced)."""
    global _banner_shown
    highspy = _highspy()
    if _banner_shown:
        h = highspy.Highs()
    else:
        # HiGHS prints its banner from the first constructor call in a process, before any
        # option can be set; swallow that one print at the file-descriptor level.
        with stdout_fd_silenced():
            h = highspy.Highs()
        _banner_shown = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


def model_to_highs(model: Model, h: Any, *, names: bool = True) -> None:
    """Load ``model`` (linear constraints, optional quadratic objective) into ``h``.

    ``names=False`` skips passing variable and constraint names (only files need them).
    """
    if model.has_quadratic_constraints:
        raise ValueError("HiGHS cannot represent quadratic constraints")
    highspy = _highspy()
    inf = highspy.kHighsInf
    index = model.variable_index()
    n = len(model.variables)
    lower = [_clip(v.lower, inf) for v in model.variables]
    upper = [_clip(v.upper, inf) for v in model.variables]
    h.addVars(n, lower, upper)
    if model.objective:
        idx = [index[name] for name in model.objective]
        h.changeColsCost(len(idx), idx, list(model.objective.values()))
    integral = [i for i, v in enumerate(model.variables) if v.is_integral]
    if integral:
        kinds = [highspy.HighsVarType.kInteger] * len(integral)
        h.changeColsIntegrality(len(integral), integral, kinds)
    if model.constraints:
        row_lo: list[float] = []
        row_up: list[float] = []
        starts: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for con in model.constraints:
            lo, up = _row_bounds(con.sense, con.rhs, inf)
            row_lo.append(lo)
            row_up.append(up)
            starts.append(len(cols))
            cols.extend(index[name] for name in con.coefficients)
            vals.extend(con.coefficients.values())
        h.addRows(len(row_lo), row_lo, row_up, len(vals), starts, cols, vals)
    if names:
        for i, var in enumerate(model.variables):
            h.passColName(i, var.name)
        for row, con in enumerate(model.constraints):
            h.passRowName(row, con.name)
    if model.has_quadratic_objective:
        start, rows, vals = _hessian(model, index)
        h.passHessian(n, len(vals), highspy.HessianFormat.kTriangular, start, rows, vals)
    h.changeObjectiveOffset(model.objective_constant)
    if model.sense is ObjectiveSense.MAXIMIZE:
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)


def model_from_highs(h: Any, name: str = "model") -> Model:
    """Convert the model loaded in ``h`` (e.g. by ``readModel``) to a neutral `Model`."""
    highspy = _highspy()
    hmodel = h.getModel()
    lp = hmodel.lp_
    n, m = lp.num_col_, lp.num_row_
    col_names = list(lp.col_names_) or [f"x{i}" for i in range(n)]
    row_names = list(lp.row_names_) or [f"c{i}" for i in range(m)]
    integrality = list(lp.integrality_)
    variables = []
    for j in range(n):
        kind = VarType.CONTINUOUS
        if integrality and integrality[j] == highspy.HighsVarType.kInteger:
            lo, up = lp.col_lower_[j], lp.col_upper_[j]
            kind = (
                VarType.BINARY
                if (lo, up) in ((0.0, 1.0), (0.0, 0.0), (1.0, 1.0))
                else VarType.INTEGER
            )
        variables.append(
            Variable(
                name=col_names[j],
                lower=_unclip(lp.col_lower_[j]),
                upper=_unclip(lp.col_upper_[j]),
                type=kind,
            )
        )
    rows: list[dict[str, float]] = [{} for _ in range(m)]
    matrix = lp.a_matrix_
    colwise = matrix.format_ != highspy.MatrixFormat.kRowwise
    outer = n if colwise else m
    for k in range(outer):
        for p in range(matrix.start_[k], matrix.start_[k + 1]):
            row, col = (matrix.index_[p], k) if colwise else (k, matrix.index_[p])
            rows[row][col_names[col]] = rows[row].get(col_names[col], 0.0) + matrix.value_[p]
    model = Model(name=name, variables=variables)
    for i in range(m):
        lo, up = _unclip(lp.row_lower_[i]), _unclip(lp.row_upper_[i])
        for sense, rhs, suffix in _senses(lo, up):
            model.add_constraint(row_names[i] + suffix, rows[i], sense, rhs)
    model.objective = {col_names[j]: c for j, c in enumerate(lp.col_cost_) if c != 0}
    model.objective_constant = float(lp.offset_)
    model.sense = (
        ObjectiveSense.MAXIMIZE
        if lp.sense_ == highspy.ObjSense.kMaximize
        else ObjectiveSense.MINIMIZE
    )
    hess = hmodel.hessian_
    if hess.dim_ > 0 and len(hess.value_) > 0:
        model.objective_quadratic = _terms_from_hessian(hess, col_names)
    return model


class HighsBackend(SolverBackend):
    """HiGHS via highspy: LP, MILP and convex continuous QP."""

    name = "highs"
    capabilities = frozenset({Capability.LP, Capability.MILP, Capability.QP})
    library = "highspy"
    time_limit_option = "time_limit"

    def _solve(
        self, model: Model, time_limit: float | None, start: Start, options: Options
    ) -> SolveResult:
        highspy = _highspy()
        with solver_log() as log:
            h = new_highs()
            # Log to a private file only: the tail goes into the result, nothing to stdout.
            h.setOptionValue("log_file", str(log.path))
            h.setOptionValue("output_flag", True)
            ok = highspy.HighsStatus.kOk
            refused = self._set_parameters(
                lambda k, v: h.setOptionValue(k, v) == ok, time_limit, options
            )
            if refused is not None:
                h.setOptionValue("output_flag", False)  # closes the log file
                return refused
            model_to_highs(model, h, names=False)
            if start is not None:
                solution = highspy.HighsSolution()
                solution.col_value = [start.get(v.name, 0.0) for v in model.variables]
                solution.value_valid = True
                h.setSolution(solution)
            h.run()
            status = h.getModelStatus()
            info = h.getInfo()
            solution = h.getSolution()
            run_time = h.getRunTime()
            h.setOptionValue("output_flag", False)  # closes the log file
            tail = log.tail()
        mapped = _STATUS_NAMES.get(h.modelStatusToString(status), SolveStatus.ERROR)
        if not model.variables and mapped is SolveStatus.ERROR:
            mapped = SolveStatus.OPTIMAL  # HiGHS calls an empty model "empty"; it is solved
        has_values = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        values: dict[str, float] = {}
        objective = None
        if has_values or mapped is SolveStatus.OPTIMAL:
            values = {
                v.name: float(x) for v, x in zip(model.variables, solution.col_value, strict=False)
            }
            objective = (
                float(info.objective_function_value)
                if model.variables
                else model.objective_constant
            )
        return SolveResult(
            status=mapped,
            objective=objective,
            values=values,
            time=run_time,
            log_tail=tail,
            message=h.modelStatusToString(status),
        )


_STATUS_NAMES = {
    "Optimal": SolveStatus.OPTIMAL,
    "Infeasible": SolveStatus.INFEASIBLE,
    "Unbounded": SolveStatus.UNBOUNDED,
    "Primal infeasible or unbounded": SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    "Time limit reached": SolveStatus.TIME_LIMIT,
    "Iteration limit reached": SolveStatus.ITERATION_LIMIT,
    "Objective bound": SolveStatus.FEASIBLE,
    "Objective target": SolveStatus.FEASIBLE,
    "Solution limit reached": SolveStatus.FEASIBLE,
}


def _clip(value: float, inf: float) -> float:
    return max(-inf, min(inf, value))


def _unclip(value: float) -> float:
    if value >= 1e30:
        return math.inf
    if value <= -1e30:
        return -math.inf
    return float(value)


def _row_bounds(sense: ConstraintSense, rhs: float, inf: float) -> tuple[float, float]:
    if sense is ConstraintSense.LE:
        return -inf, rhs
    if sense is ConstraintSense.GE:
        return rhs, inf
    return rhs, rhs


def _senses(lo: float, up: float) -> list[tuple[ConstraintSense, float, str]]:
    """Neutral constraints for a row ``lo <= a'x <= up`` (a ranged row becomes two)."""
    if lo == up:
        return [(ConstraintSense.EQ, lo, "")]
    out = []
    if math.isfinite(lo) and math.isfinite(up):
        return [(ConstraintSense.GE, lo, "_lo"), (ConstraintSense.LE, up, "_up")]
    if math.isfinite(lo):
        out.append((ConstraintSense.GE, lo, ""))
    if math.isfinite(up):
        out.append((ConstraintSense.LE, up, ""))
    return out  # a free row (both infinite) carries no constraint


def _hessian(model: Model, index: dict[str, int]) -> tuple[list[int], list[int], list[float]]:
    """Lower-triangular column-wise Q with ``1/2 x'Qx == sum of the objective's terms``."""
    entries: dict[tuple[int, int], float] = defaultdict(float)
    for term in model.objective_quadratic:
        i, j = index[term.var1], index[term.var2]
        row, col = max(i, j), min(i, j)
        entries[(row, col)] += 2 * term.coefficient if i == j else term.coefficient
    start, rows, vals = [0], [], []
    for col in range(len(model.variables)):
        for row in sorted(r for (r, c) in entries if c == col):
            if entries[(row, col)] != 0:
                rows.append(row)
                vals.append(entries[(row, col)])
        start.append(len(rows))
    return start, rows, vals


def _terms_from_hessian(hess: Any, names: list[str]) -> list[QuadraticTerm]:
    """Neutral terms from a HiGHS Hessian (triangular or square, column-wise)."""
    highspy = _highspy()
    square = hess.format_ == highspy.HessianFormat.kSquare
    terms: list[QuadraticTerm] = []
    for col in range(hess.dim_):
        for p in range(hess.start_[col], hess.start_[col + 1]):
            row, q = hess.index_[p], hess.value_[p]
            if row == col or square:
                terms.append(QuadraticTerm(var1=names[row], var2=names[col], coefficient=q / 2))
            elif row > col:
                terms.append(QuadraticTerm(var1=names[row], var2=names[col], coefficient=q))
    return terms
