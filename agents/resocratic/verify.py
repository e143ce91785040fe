"""Verification: a demonstration's program must solve to optimal, and its question must round-trip.

ReSocratic kept every program that did not crash (timeouts included) and never checked that a
question and its program agree. Here a program counts only when its run classifies as optimal
with a finite objective (:func:`agents.solvers.run_outcome.classify_run`, the rules every
path shares), and each back-translated question is formulated again from
scratch; the item is kept only if that independent solve reaches the same optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from agents.solvers.run_outcome import RunOutcome, classify_run


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

    verdict = classify_run(sandbox.run(code, timeout_s=timeout_s, memory_mb=memory_mb))
    reasons = {
        RunOutcome.TIMEOUT: "timeout",
        RunOutcome.ERROR: "crash",
        RunOutcome.NO_RESULT: "no objective",
        RunOutcome.LICENSE_LIMIT: verdict.reason,
        RunOutcome.SOLVER_MISSING: verdict.reason,
    }
    if verdict.outcome is RunOutcome.OK:
        return SolveOutcome(verdict.objective, verdict.status)
    reason = reasons.get(verdict.outcome) or f"status {verdict.status or 'missing'}"
    return SolveOutcome(None, verdict.status, reason)


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
