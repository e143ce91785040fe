"""Verification: a demonstration's program must solve to optimal, and its question must round-trip.

ReSocratic kept every program that did not crash (timeouts included) and never checked that a
question and its program agree. Here a program counts only when the sandbox reports status
"optimal" with a finite objective, and each back-translated question is formulated again from
scratch; the item is kept only if that independent solve reaches the same optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agents.resocratic.ledger import Ledger
from agents.resocratic.steps import extract_program
from agents.resocratic.templates import render


@dataclass
class SolveOutcome:
    """How a program ran: its optimal objective, or why it does not count."""

    objective: float | None
    status: str | None
    reason: str = ""  # "" when optimal

    @property
    def ok(self) -> bool:
        return not self.reason


def solve_program(code: str, *, timeout_s: float = 10.0, memory_mb: int = 2048) -> SolveOutcome:
    """Run ``code`` in the sandbox; it counts only if it reports an optimal, finite objective."""
    from agents import sandbox

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


@dataclass
class Formulation:
    """What :class:`QuestionSolver` returns; shaped like ``FormulationResult``."""

    question: str
    program: str | None
    objective: float | None
    status: str | None
    reason: str
    usage: Ledger = field(default_factory=Ledger)

    @property
    def ok(self) -> bool:
        return not self.reason


class QuestionSolver:
    """A minimal formulate step: one LLM call writes a program, the sandbox runs it.

    It stands in for ``agents.formulation.FormulationAgent`` until that lands on main; both
    expose ``solve(question)`` with ``ok`` / ``objective`` / ``usage`` on the result.
    """

    def __init__(
        self, llm: Any, *, timeout_s: float = 10.0, prompt_dir: str | Path | None = None
    ) -> None:
        self.llm = llm
        self.timeout_s = timeout_s
        self.prompt_dir = prompt_dir

    def solve(self, question: str) -> Formulation:
        messages = [
            {"role": "user", "content": render("formulate", self.prompt_dir, question=question)}
        ]
        usage = Ledger()
        completion = self.llm.complete(messages, temperature=0.0)
        usage.add(completion)
        program = extract_program(str(completion.text or ""))
        if program is None:
            return Formulation(question, None, None, None, "no program in reply", usage)
        outcome = solve_program(program, timeout_s=self.timeout_s)
        return Formulation(
            question, program, outcome.objective, outcome.status, outcome.reason, usage
        )


def default_formulator(llm: Any, *, timeout_s: float = 10.0) -> Formulator:
    """The round-trip formulator. To use the full agent (repairs, insights), swap in:
    ``return FormulationAgent(llm, solver="scip", max_repairs=1, timeout_s=timeout_s)``."""
    return QuestionSolver(llm, timeout_s=timeout_s)


def objectives_match(
    expected: float, got: Any, *, rel_tol: float = 1e-4, abs_tol: float = 1e-6
) -> bool:
    """True when ``got`` is a finite number within tolerance of ``expected``."""
    try:
        value = float(got)
    except (TypeError, ValueError):
        return False
    return math.isfinite(value) and math.isclose(expected, value, rel_tol=rel_tol, abs_tol=abs_tol)
