"""Running one generated program in the sandbox and classifying how it ended.

Shared by :class:`~agents.formulation.workflow.FormulationProgram` (which records each run as a
graph node) and anything that needs the same verdict on a program: a crash, a timeout, an
infeasible or unbounded model, no reported number, or an optimal objective.
"""

from __future__ import annotations

import time
from typing import Any

from agents.evaluation.scoring import as_number
from agents.formulation.result import Attempt, AttemptOutcome, LLMUsage

TAIL_CHARS = 3000
_INFEASIBLE = {"infeasible", "inf_or_unbd", "infeasible_or_unbounded"}
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


def run_in_sandbox(program: str, *, timeout_s: float, memory_mb: int) -> dict[str, Any]:
    """Run ``program`` in :mod:`trace_core.sandbox` and return what happened as plain data.

    Keys: objective (float or None), raw_objective, status, values, returncode, timed_out,
    stdout and stderr tails, isolation, duration_s.
    """
    from trace_core import sandbox

    started = time.perf_counter()
    run = sandbox.run(program, timeout_s=timeout_s, memory_mb=memory_mb)
    duration = float(getattr(run, "duration_s", 0.0) or time.perf_counter() - started)
    raw = getattr(run, "objective", None)
    objective = as_number(raw)
    return {
        "objective": objective,
        "raw_objective": None if objective is not None else _plain(raw),
        "status": status_text(getattr(run, "status", None)),
        "values": getattr(run, "values", None),
        "returncode": getattr(run, "returncode", None),
        "timed_out": bool(getattr(run, "timed_out", False)),
        "stdout": tail(getattr(run, "stdout", "")),
        "stderr": tail(getattr(run, "stderr", "")),
        "isolation": status_text(getattr(run, "isolation", None)),
        "duration_s": duration,
    }


def classify(run: dict[str, Any], timeout_s: float) -> tuple[AttemptOutcome, str | None]:
    """How a run (from :func:`run_in_sandbox`) ended and what a repair should be told."""
    status, objective, raw = run["status"], run["objective"], run["raw_objective"]
    if run["timed_out"]:
        return AttemptOutcome.TIMEOUT, (
            f"The program was stopped after {timeout_s:g} s. Make the model smaller or "
            "tighter (fewer variables, better bounds) so it solves quickly."
        )
    if run["returncode"] != 0:
        return AttemptOutcome.ERROR, (
            f"The program failed (exit status {run['returncode']}). Its error output:\n"
            f"{run['stderr']}"
        )
    if status in _INFEASIBLE:
        return AttemptOutcome.INFEASIBLE, (
            f"The solver reported the model {status}. Check constraint directions, units, "
            "right-hand sides and variable bounds against the problem text."
        )
    if status == "unbounded":
        return AttemptOutcome.UNBOUNDED, (
            "The solver reported the model unbounded: a constraint or bound that the "
            "problem implies is missing, or the objective sense is wrong."
        )
    if objective is None:
        shown = f" It reported {raw!r}." if raw is not None else ""
        return AttemptOutcome.NO_RESULT, (
            "The program finished but reported no numeric objective value."
            + shown
            + " Call report(objective, status, values) with the optimal objective value."
            f"\nIts output was:\n{run['stdout'] or '(empty)'}"
        )
    if status not in (None, "optimal"):
        return AttemptOutcome.NOT_OPTIMAL, (
            f"The solver stopped with status {status!r} before proving optimality."
        )
    return AttemptOutcome.OK, None


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
        **run,
    )
