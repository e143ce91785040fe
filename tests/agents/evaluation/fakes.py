"""A fake agent for harness tests: answers from a table, no LLM and no solver."""

from __future__ import annotations

import threading
from typing import Any

from agents.evaluation.dataset import Item
from agents.formulation.result import Attempt, AttemptOutcome, FormulationResult, LLMUsage

ITEMS = [
    Item(id="a", source="Alpha", question="qa", answer=10.0, tags=["linear"]),
    Item(id="b", source="Alpha", question="qb", answer=20.0, tags=["linear", "integer"]),
    Item(id="c", source="Beta", question="qc", answer=30.0, tags=["integer"]),
    Item(id="d", source="Beta", question="qd", answer=40.0),
    Item(id="e", source="Beta", question="qe", answer=50.0, tags=["linear"]),
]

# question -> (objective, status, returncode, repairs)
ANSWERS: dict[str, tuple[Any, str | None, int, int]] = {
    "qa": (10.0, "optimal", 0, 0),  # correct
    "qb": (20.0, "optimal", 0, 1),  # correct after one repair
    "qc": (31.0, "optimal", 0, 0),  # wrong
    "qd": (None, "infeasible", 0, 3),  # infeasible after all repairs
    "qe": (None, None, 1, 3),  # crashed every time
}


class FakeAgent:
    """Answers from ``ANSWERS``; counts the questions it was asked."""

    def __init__(self, fail_on: str | None = None, fatal: BaseException | None = None):
        self.asked: list[str] = []
        self.fail_on = fail_on
        self.fatal = fatal
        self._lock = threading.Lock()

    def solve(self, question: str) -> FormulationResult:
        with self._lock:
            self.asked.append(question)
        if self.fatal is not None:
            raise self.fatal
        if question == self.fail_on:
            raise RuntimeError("the LLM said something unparseable")
        objective, status, returncode, repairs = ANSWERS[question]
        usage = LLMUsage(
            calls=1, prompt_tokens=100, completion_tokens=50, total_tokens=150, cost=0.001
        )
        attempts = [
            Attempt(
                index=k + 1,
                reply="",
                program="x = 1\n",
                outcome=AttemptOutcome.ERROR,
                returncode=1,
                feedback="Traceback: boom",
                usage=usage,
            )
            for k in range(repairs)
        ]
        if returncode == 0:
            outcome = {"optimal": AttemptOutcome.OK, "infeasible": AttemptOutcome.INFEASIBLE}
            attempts.append(
                Attempt(
                    index=repairs + 1,
                    reply="",
                    program="report(1)\n",
                    outcome=outcome[status or "optimal"],
                    objective=objective,
                    status=status,
                    returncode=0,
                    usage=usage,
                )
            )
        else:
            attempts.append(attempts[0].model_copy(update={"index": repairs + 1}))
        return FormulationResult(
            question=question,
            solver="scip",
            attempts=attempts,
            usage=LLMUsage(
                calls=len(attempts),
                prompt_tokens=100,
                completion_tokens=50,
                total_tokens=150,
                cost=0.001,
            ),
        )
