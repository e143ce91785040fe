"""Bandit choice of destroy operators, plugged into the ``alns`` library's iteration loop.

``alns.select.MABSelector`` hands the whole choice to ``mabwiser``, whose context-free policies
score never-tried arms as 0 and so can lock onto the first operator that earns any reward.
:class:`BanditSelector` instead tries every operator once (round robin) and then lets the
bandit (:class:`agents.solvers.tuning.ParameterTuner`: epsilon-greedy, UCB1 or Thompson
sampling over mabwiser) choose, rewarded in [0, 1] by the iteration's outcome.
"""

from __future__ import annotations

from typing import Any

from agents.solvers.tuning import ParameterTuner, Policy

# Reward per alns outcome (BEST, BETTER, ACCEPT, REJECT): an accepted sideways move is worth
# little, so an operator that only reproduces the incumbent does not out-earn one that improves.
OUTCOME_REWARDS = (1.0, 0.5, 0.1, 0.0)


class BanditSelector:
    """An ``alns`` operator-selection scheme (one repair operator) driven by a bandit."""

    def __init__(
        self,
        num_destroy: int,
        *,
        policy: Policy = "ucb",
        epsilon: float = 0.15,
        alpha: float = 0.5,
        seed: int = 0,
        rewards: tuple[float, float, float, float] = OUTCOME_REWARDS,
    ) -> None:
        self.rewards = rewards
        self.bandit = ParameterTuner(
            list(range(num_destroy)),
            cost_cap=1.0,
            policy=policy,
            epsilon=epsilon,
            alpha=alpha,
            seed=seed,
        )
        self.choices: list[int] = []

    def __call__(self, rng: Any, best: Any, current: Any) -> tuple[int, int]:
        arm = int(self.bandit.choose())  # type: ignore[call-overload]
        self.choices.append(arm)
        return arm, 0

    def update(self, candidate: Any, d_idx: int, r_idx: int, outcome: Any) -> None:
        """Reward the destroy operator ``d_idx`` by how its candidate turned out (``outcome``)."""
        self.bandit.observe_reward(d_idx, self.rewards[int(outcome)])
