"""Verification: a demonstration's program must solve to optimal, and its question must round-trip.

ReSocratic kept every program that did not crash (timeouts included) and never checked that a
question and its program agree. Here a program counts only when the sandbox reports status
"optimal" with a finite objective, and each back-translated question is formulated again from
scratch; the item is kept only if that independent solve reaches the same optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class SolveOutcome:
    """How a program ran: its optimal objective, or why it does not count."""

    objective: float | None
    status: str | None
    reason: str = ""  # "" when optimal

    @property
    def ok(self) -> bool:
        """True when the program counts (no rejection reason)."""
        return not self.reason


def solve_program(code: str, *, timeout_s: float = 10.0, memory_mb: int = 2048) -> SolveOutcome:
    """Run ``code`` in the sandbox; it counts only if it reports an optimal, finite objective."""
    from trace_core import sandbox

    run = sandbox.run(code, timeout_s=timeout_s, memory_mb=memory_mb)
    status = (run.status or "").strip().lower() or None
    if run.timed_out:
        return SolveOutcome(None, status, "timeout")
    if run.returncode != 0:
        return SolveOutcome(None, status, "crash")
    if status != "optimal":
        return SolveOutcome(None, status, f"status {status or 'missing'}")
    if run.objective is None or not math.isfinite(run.objective):
        return SolveOutcome(None, status, "no objective")
    return SolveOutcome(float(run.objective), status)


class Formulator(Protocol):
    """Anything that turns a question into a solved program (``FormulationAgent`` fits)."""

    def solve(self, question: str) -> Any:
        """Return an object with ``ok``, ``objective`` and ``usage`` (calls, tokens, cost)."""
        ...


def default_formulator(llm: Any, *, timeout_s: float = 10.0, max_repairs: int = 1) -> Formulator:
    """The round-trip formulator: the project's FormulationAgent on the same LLM (pyscipopt).

    One repair round gives a crashed re-formulation a fair chance; it is never shown the answer.
    """
    from agents.formulation import FormulationAgent

    return FormulationAgent(llm, solver="scip", max_repairs=max_repairs, timeout_s=timeout_s)


def objectives_match(
    expected: float, got: Any, *, rel_tol: float = 1e-4, abs_tol: float = 1e-6
) -> bool:
    """True when ``got`` is a finite number within the evaluation tolerance of ``expected``."""
    from agents.evaluation.scoring import Tolerance, as_number

    value = as_number(got)
    if value is None or not math.isfinite(value):
        return False
    return Tolerance(rel=rel_tol, abs=abs_tol).accepts(value, expected)
