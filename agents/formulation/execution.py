"""Running one generated program in the sandbox and classifying how it ended.

Shared by :class:`~agents.formulation.workflow.FormulationProgram` (which records each run as a
graph node) and anything that needs the same verdict on a program: a crash, a timeout, an
infeasible or unbounded model, no reported number, or an optimal objective.
"""

from __future__ import annotations

import time
from typing import Any

from agents.formulation.result import Attempt, AttemptOutcome, LLMUsage
from agents.solvers.run_outcome import classify_run

TAIL_CHARS = 3000
NO_PROGRAM_FEEDBACK = (
    "The reply contained no Python program. Reply with one fenced ```python block holding the "
    "complete program."
)


def tail(text: str | None, limit: int = TAIL_CHARS) -> str:
    """The last ``limit`` characters of ``text`` (marked when cut): what a log tail shows."""
    text = text or ""
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


def status_text(status: Any) -> str | None:
    """A solver status (enum or text) as lowercase text, or None."""
    if status is None:
        return None
    return str(getattr(status, "value", status)).strip().lower() or None


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def run_in_sandbox(
    program: str, *, timeout_s: float, memory_mb: int, solver_module: str | None = None
) -> dict[str, Any]:
    """Run ``program`` in :mod:`trace_core.sandbox` and return what happened as plain data.

    Keys: objective (float or None), raw_objective, status, values, returncode, timed_out,
    stdout and stderr tails, isolation, duration_s, and the verdict of
    :func:`agents.solvers.run_outcome.classify_run` (``outcome``, ``reason``): one rule set
    for every path that reads a program's result (a dead run has no objective; a licence
    limit or a missing solver is final).
    """
    from trace_core import sandbox

    started = time.perf_counter()
    run = sandbox.run(program, timeout_s=timeout_s, memory_mb=memory_mb)
    duration = float(getattr(run, "duration_s", 0.0) or time.perf_counter() - started)
    verdict = classify_run(run, solver_module=solver_module)
    alive = getattr(run, "returncode", None) == 0 and not getattr(run, "timed_out", False)
    raw = getattr(run, "objective", None) if alive else None
    return {
        "objective": verdict.objective,
        "raw_objective": None if verdict.objective is not None else _plain(raw),
        "status": verdict.status,
        "values": getattr(run, "values", None) if verdict.objective is not None else None,
        "returncode": getattr(run, "returncode", None),
        "timed_out": bool(getattr(run, "timed_out", False)),
        "stdout": tail(getattr(run, "stdout", "")),
        "stderr": tail(getattr(run, "stderr", "")),
        "isolation": status_text(getattr(run, "isolation", None)),
        "duration_s": duration,
        "outcome": str(verdict.outcome),
        "reason": verdict.reason,
    }


def classify(run: dict[str, Any], timeout_s: float) -> tuple[AttemptOutcome, str | None]:
    """How a run (from :func:`run_in_sandbox`) ended and what a repair should be told."""
    outcome, status, raw = AttemptOutcome(run["outcome"]), run["status"], run["raw_objective"]
    if outcome in (AttemptOutcome.LICENSE_LIMIT, AttemptOutcome.SOLVER_MISSING):
        return outcome, (
            f"Not sent for repair: {run['reason']}. Install or license the solver, or choose "
            "another one with --solver."
        )
    if outcome is AttemptOutcome.TIMEOUT:
        return outcome, (
            f"The program was stopped after {timeout_s:g} s. Make the model smaller or "
            "tighter (fewer variables, better bounds) so it solves quickly."
        )
    if outcome is AttemptOutcome.ERROR:
        return outcome, f"The program {run['reason']}. Its error output:\n{run['stderr']}"
    if outcome is AttemptOutcome.INFEASIBLE:
        return outcome, (
            f"The solver reported the model {status}. Check constraint directions, units, "
            "right-hand sides and variable bounds against the problem text."
        )
    if outcome is AttemptOutcome.UNBOUNDED:
        return outcome, (
            "The solver reported the model unbounded: a constraint or bound that the "
            "problem implies is missing, or the objective sense is wrong."
        )
    if outcome is AttemptOutcome.NO_RESULT:
        shown = f" It reported {raw!r}." if raw is not None else ""
        return outcome, (
            "The program finished but reported no numeric objective value."
            + shown
            + " Call report(objective, status, values) with the optimal objective value."
            f"\nIts output was:\n{run['stdout'] or '(empty)'}"
        )
    if outcome is AttemptOutcome.NOT_OPTIMAL:
        return outcome, f"The solver stopped with status {status!r} before proving optimality."
    return outcome, None


def make_attempt(
    index: int,
    reply: str,
    program: str | None,
    usage: LLMUsage,
    run: dict[str, Any] | None,
    timeout_s: float,
) -> Attempt:
    """The :class:`Attempt` record of one reply (``run`` is None when no program was found)."""
    if program is None or run is None:
        return Attempt(
            index=index,
            reply=reply,
            program=None,
            usage=usage,
            outcome=AttemptOutcome.NO_CODE,
            feedback=NO_PROGRAM_FEEDBACK,
        )
    outcome, feedback = classify(run, timeout_s)
    return Attempt(
        index=index,
        reply=reply,
        program=program,
        outcome=outcome,
        feedback=feedback,
        usage=usage,
        **{k: v for k, v in run.items() if k not in ("outcome", "reason")},
    )
