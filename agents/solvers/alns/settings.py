"""`AlnsSettings`: how one ALNS search runs, every value checked when the settings are made."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from agents.solvers.alns.neighborhoods import OPERATORS, operator_names
from agents.solvers.alns.result import AlnsError

__all__ = ["Acceptance", "AlnsSettings", "SelectPolicy"]

SelectPolicy = Literal["epsilon_greedy", "ucb", "thompson"]
Acceptance = Literal["hill_climbing", "simulated_annealing"]


@dataclass(frozen=True)
class AlnsSettings:
    """The knobs of `AlnsSolver`; an unusable value raises `AlnsError` (a ``ValueError``).

    ``operators`` names destroy operators from :data:`.neighborhoods.OPERATORS` (all by
    default); ``policy`` is the bandit that picks them (``epsilon`` and ``alpha`` tune it);
    ``acceptance`` decides whether a repaired solution becomes the current one;
    ``sub_time_limit`` bounds each repair solve (default: ``time_limit / 30`` within [0.5, 10]
    seconds); ``destroy_rate`` is the initial share of integer variables freed by the
    rate-driven operators, adapted per operator (grown when a sub-MIP is solved to optimality
    without gain, shrunk when it times out); ``initial_fraction`` of the time limit goes to the
    plain solver for the starting incumbent (doubled until one is found); with ``quick_start``
    that solve stops at its first solution; ``warm_start`` hands the current solution to each
    repair solve; ``seed`` fixes every random choice.
    """

    operators: tuple[str, ...] = field(default_factory=lambda: tuple(OPERATORS))
    policy: SelectPolicy = "ucb"
    acceptance: Acceptance = "hill_climbing"
    epsilon: float = 0.15
    alpha: float = 0.5
    destroy_rate: float = 0.3
    sub_time_limit: float | None = None
    initial_fraction: float = 0.2
    quick_start: bool = True
    warm_start: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "operators", tuple(operator_names(list(self.operators))))
        if self.acceptance not in ("hill_climbing", "simulated_annealing"):
            raise AlnsError(
                f"unknown acceptance {self.acceptance!r}; "
                "use 'hill_climbing' or 'simulated_annealing'"
            )
        for name in ("destroy_rate", "initial_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise AlnsError(f"{name} must lie in (0, 1), got {value!r}")
        if self.policy not in ("epsilon_greedy", "ucb", "thompson"):
            raise AlnsError(
                f"unknown policy {self.policy!r}; use 'epsilon_greedy', 'ucb' or 'thompson'"
            )

    @classmethod
    def of(cls, settings: AlnsSettings | None = None, **changes: Any) -> AlnsSettings:
        """``settings`` (default: the defaults) with ``changes`` applied and checked;
        ``operators=None`` means all of them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise AlnsError(f"unknown ALNS setting(s) {unknown}; choose from {sorted(known)}")
        base = {f.name: getattr(settings, f.name) for f in fields(cls)} if settings else {}
        if "operators" in changes:
            names = changes.pop("operators")
            if names is not None:
                changes["operators"] = tuple(names)
        return cls(**{**base, **changes})
