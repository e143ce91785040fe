"""What an ALNS run returns (`AlnsResult`, per-operator `OperatorStats`) and its typed error.

Shared by the built-in search (:mod:`.search`) and the Balans engine (:mod:`.balans_engine`).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from agents.errors import AgentsError
from agents.solvers.base import SolveResult

__all__ = ["AlnsError", "AlnsResult", "OperatorStats"]


class AlnsError(AgentsError, ValueError):
    """The ALNS was configured with values it cannot use."""


class OperatorStats(BaseModel):
    """How one destroy operator fared: selections, outcomes, time spent in its repairs."""

    selected: int = 0
    best: int = 0
    better: int = 0
    accepted: int = 0
    rejected: int = 0
    not_applicable: int = 0  # no neighborhood (no LP solution, no second pooled solution, ...)
    no_solution: int = 0  # the sub-MIP returned nothing usable within its time limit
    seconds: float = 0.0
    destroy_rate: float | None = None  # final adaptive rate, for rate-driven operators


class AlnsResult(SolveResult):
    """A `SolveResult` plus what the search learned: bound, gap, trajectory, operator stats."""

    bound: float | None = None  # dual bound (the LP relaxation's objective) when known
    gap: float | None = None  # |incumbent - bound| / max(|incumbent|, 1e-9) when both exist
    iterations: int = 0
    operators: dict[str, OperatorStats] = Field(default_factory=dict)
    trajectory: list[tuple[float, float]] = Field(default_factory=list)  # (seconds, incumbent)
    engine: str = "optoforge"
