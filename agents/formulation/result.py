"""What a formulation run returns: every attempt, the final program, objective and usage."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agents.solvers.run_outcome import RunOutcome
from trace_core.llm.meter import LLMUsage

__all__ = ["Attempt", "AttemptOutcome", "FormulationResult", "LLMUsage"]


# One outcome vocabulary for every path that reads a program's result (issue 19).
AttemptOutcome = RunOutcome


class Attempt(BaseModel):
    """One generated program and what happened when it ran in the sandbox."""

    index: int = Field(description="1 for the first program, 2 for the first repair, ...")
    reply: str = Field(description="the LLM's full reply")
    program: str | None
    outcome: AttemptOutcome
    objective: float | None = None
    raw_objective: Any = None
    status: str | None = None
    values: dict[str, Any] | None = None
    feedback: str | None = Field(default=None, description="what a repair is told went wrong")
    returncode: int | None = None
    timed_out: bool = False
    stdout: str = ""
    stderr: str = ""
    isolation: str | None = None
    duration_s: float = 0.0
    usage: LLMUsage = Field(default_factory=LLMUsage)

    @property
    def executed(self) -> bool:
        """The program ran to completion (exit status 0, no timeout)."""
        return self.returncode == 0 and not self.timed_out


class FormulationResult(BaseModel):
    """The outcome of :meth:`FormulationAgent.solve`."""

    question: str
    solver: str
    attempts: list[Attempt]
    formulation: str | None = Field(default=None, description="model text, when describe=True")
    insights: list[str] = Field(default_factory=list, description="library text injected")
    insight_ids: list[Any] = Field(default_factory=list)
    usage: LLMUsage = Field(default_factory=LLMUsage)
    stopped: str | None = Field(
        default=None, description="why repairs ended early (a spent budget), else None"
    )

    @property
    def final(self) -> Attempt:
        """The last attempt (the repaired one when repairs happened)."""
        return self.attempts[-1]

    @property
    def program(self) -> str | None:
        """The last program generated (the repaired one when repairs happened)."""
        return self.final.program

    @property
    def objective(self) -> Any:
        """The final objective: a float, None, or whatever non-numeric value was reported."""
        final = self.final
        return final.objective if final.objective is not None else final.raw_objective

    @property
    def status(self) -> str | None:
        """The solver status the last attempt reported, or None."""
        return self.final.status

    @property
    def outcome(self) -> AttemptOutcome:
        """How the last attempt ended."""
        return self.final.outcome

    @property
    def ok(self) -> bool:
        """True when the last attempt ran and reported an optimal objective."""
        return self.final.outcome is AttemptOutcome.OK

    @property
    def executed(self) -> bool:
        """True when the last attempt's program ran."""
        return self.final.executed

    @property
    def repairs(self) -> int:
        """How many repair attempts followed the first."""
        return len(self.attempts) - 1

    @property
    def error(self) -> str | None:
        """Why no result was produced (crash, timeout, no program, licence, no solver)."""
        final = self.final
        failed = {
            AttemptOutcome.ERROR,
            AttemptOutcome.TIMEOUT,
            AttemptOutcome.NO_CODE,
            AttemptOutcome.LICENSE_LIMIT,
            AttemptOutcome.SOLVER_MISSING,
        }
        return final.feedback if final.outcome in failed else None
