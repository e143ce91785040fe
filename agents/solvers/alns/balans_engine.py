"""Run the published Balans meta-solver (``balans`` on PyPI) on a neutral `Model`.

Balans (Cai, Kadioglu et al., IJCAI'25) is the reference implementation of bandit-driven ALNS
for MIP. Version 2.x drives SCIP or Gurobi through their own model objects and reads the
instance from a file, prints progress to stdout, and keeps its clock in module globals. This
adapter writes the model to a temporary MPS file, runs Balans with stdout silenced, and maps
its answer back to variable names, so it can be compared with :class:`AlnsSolver` (which works
on any backend, HiGHS included, and in memory) on equal terms.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from agents.solvers.alns.result import AlnsError, AlnsResult
from agents.solvers.base import SolveStatus
from agents.solvers.model import Model

BALANS_SOLVERS = ("scip", "gurobi")


def balans_available() -> bool:
    """True when ``balans`` and its SCIP interface import here."""
    try:
        import balans.solver  # noqa: F401
        import pyscipopt  # noqa: F401
    except ImportError:
        return False
    return True


def solve_with_balans(
    model: Model,
    *,
    time_limit: float = 60.0,
    mip_solver: str = "scip",
    seed: int = 0,
    sub_time_limit: float | None = None,
) -> AlnsResult:
    """Solve ``model`` with Balans' default operator portfolio for ``time_limit`` seconds."""
    if mip_solver not in BALANS_SOLVERS:
        raise AlnsError(
            f"balans drives only {BALANS_SOLVERS}; got {mip_solver!r} (use the 'optoforge' "
            "engine for HiGHS)"
        )
    if not balans_available():
        raise AlnsError("balans is not installed: pip install balans pyscipopt")
    from alns.stop import MaxRuntime
    from balans.solver import Balans

    sub = sub_time_limit or min(10.0, max(0.5, time_limit / 30.0))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="optoforge-balans-") as tmp:
        path = _write_mps(model, Path(tmp) / "model.mps")
        solver = Balans(
            seed=max(seed, 1),  # balans draws its ALNS seed from randint(0, seed)
            mip_solver=mip_solver,
            stop=MaxRuntime(time_limit),
            timelimit_first_solution=max(sub, 0.1 * time_limit),
            timelimit_alns_iteration=sub,
            timelimit_local_branching_iteration=sub,
            timelimit_crossover_random_feasible=sub,
        )
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            result: Any = solver.solve(str(path))
    elapsed = time.perf_counter() - start
    if result is None:
        return AlnsResult(
            status=SolveStatus.ERROR,
            time=elapsed,
            solver=f"balans+{mip_solver}",
            engine="balans",
            message="balans found no operator applicable to this model",
            log_tail=log.getvalue()[-4000:],
        )
    index_to_val = result.best_state.solution()
    variables = solver.instance.mip.variables
    values = {var.name: float(index_to_val[var.getIndex()]) for var in variables}
    objective = float(result.best_state.objective())
    objectives = list(result.statistics.objectives)
    runtimes = list(result.statistics.runtimes)
    trajectory = _trajectory(objectives, runtimes, elapsed, model.sense.value == "maximize")
    counts = result.statistics.destroy_operator_counts
    from agents.solvers.alns.result import OperatorStats

    operators = {
        name: OperatorStats(
            selected=int(sum(c)),
            best=int(c[0]),
            better=int(c[1]),
            accepted=int(c[2]),
            rejected=int(c[3]),
        )
        for name, c in counts.items()
    }
    return AlnsResult(
        status=SolveStatus.TIME_LIMIT,
        objective=objective,
        values=values,
        time=elapsed,
        iterations=max(len(objectives) - 1, 0),
        operators=operators,
        trajectory=trajectory,
        solver=f"balans+{mip_solver}",
        engine="balans",
        log_tail=log.getvalue()[-4000:],
    )


def _write_mps(model: Model, path: Path) -> Path:
    """Write ``model`` as MPS through SCIP, the library Balans reads it back with."""
    import pyscipopt

    from agents.solvers.scip import model_to_scip

    scip = pyscipopt.Model()
    scip.hideOutput()
    model_to_scip(model, scip)
    scip.writeProblem(str(path), verbose=False)
    return path


def _trajectory(
    objectives: list[float], runtimes: list[float], elapsed: float, maximize: bool
) -> list[tuple[float, float]]:
    """Best-so-far objective after each iteration, timed from the iteration runtimes.

    Balans reports per-iteration runtimes only, so the time before the first iteration (the
    initial solve) is the total minus their sum.
    """
    if not objectives:
        return []
    offset = max(0.0, elapsed - sum(runtimes))
    points: list[tuple[float, float]] = []
    best = math.inf if not maximize else -math.inf
    clock = offset
    for i, obj in enumerate(objectives):
        if i > 0 and i - 1 < len(runtimes):
            clock += runtimes[i - 1]
        better = obj > best if maximize else obj < best
        if better:
            best = obj
            points.append((clock, float(obj)))
    return points
