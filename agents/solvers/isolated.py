"""Solve a neutral `Model` in a sandboxed child process instead of in this one.

Why: solver libraries are native code. A crash (segfault, abort), a native memory blow-up, or
a library clash (highspy, ortools and casadi each bundle their own HiGHS and crash when two
load in one process) then takes down only the child; the caller gets a `SolveResult` with
status ``error`` or ``time_limit`` instead of losing its process.
"""

from __future__ import annotations

import json
from pathlib import Path

from agents.solvers.base import SolveResult, SolveStatus
from agents.solvers.model import Model

_MARKER = "@@optoforge-solve-result@@"
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
_PROGRAM = """
import json, sys
sys.path.insert(0, {root!r})
from agents.solvers import Model, get
model = Model.model_validate_json(open("model.json").read())
result = get({solver!r}).solve(model, time_limit={time_limit!r})
report(result.objective, status=result.status.value, values=result.values)
meta = {{"time": result.time, "log_tail": result.log_tail, "message": result.message}}
print({marker!r} + json.dumps(meta))
"""


def solve_isolated(
    model: Model,
    solver: str = "highs",
    time_limit: float | None = None,
    *,
    timeout_s: float | None = None,
    memory_mb: int = 4096,
) -> SolveResult:
    """Solve ``model`` with backend ``solver`` inside `trace_core.sandbox.run`.

    ``timeout_s`` is the sandbox's wall-clock kill (default: ``time_limit`` + 60 s, or 600 s);
    the solver's own ``time_limit`` should be shorter so that it can return its incumbent.
    """
    from agents.solvers.registry import get
    from trace_core.sandbox import run

    get(solver)  # an unknown name fails here, with the list of known ones
    model.validate_model()
    if timeout_s is None:
        timeout_s = 600.0 if time_limit is None else time_limit + 60.0
    code = _PROGRAM.format(root=_REPO_ROOT, solver=solver, time_limit=time_limit, marker=_MARKER)
    ran = run(
        code,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        files={"model.json": model.model_dump_json()},
        read_only_paths=(_REPO_ROOT,),  # the child imports agents.solvers from this tree
    )
    if ran.timed_out:
        return SolveResult(
            status=SolveStatus.TIME_LIMIT,
            solver=solver,
            time=ran.duration_s,
            message=f"the sandbox killed the solve after {timeout_s:g} s",
        )
    if ran.result_source != "report" or ran.status is None:
        return SolveResult(
            status=SolveStatus.ERROR,
            solver=solver,
            time=ran.duration_s,
            message=f"the solver process failed (exit code {ran.returncode}): "
            f"{ran.stderr.strip()[-1500:] or 'no error output'}",
        )
    meta: dict[str, object] = {}
    for line in reversed(ran.stdout.splitlines()):
        if line.startswith(_MARKER):
            meta = json.loads(line[len(_MARKER) :])
            break
    values = {k: v for k, v in ran.values.items() if v is not None}
    return SolveResult(
        status=SolveStatus(ran.status),
        objective=ran.objective,
        values=values,
        solver=solver,
        time=float(meta.get("time", ran.duration_s)),  # type: ignore[arg-type]
        log_tail=str(meta.get("log_tail", "")),
        message=str(meta.get("message", "")),
    )
