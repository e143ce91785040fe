"""Online bandit selection of solver parameters across a stream of related instances.

"Learning to Relax" (Khodak et al.) shows that a bandit which picks the SOR relaxation parameter
omega for each linear system of a sequence, seeing only the iteration count it caused, approaches
the best fixed omega in hindsight; a contextual bandit that also sees instance features approaches
the per-instance optimum. This module gives that loop for any discrete parameter set:

- :class:`ParameterTuner` (context-free: epsilon-greedy, UCB1, Thompson sampling) and
  :class:`ContextualTuner` (LinUCB on Chebyshev features, as the paper's ChebCB) choose an arm
  and learn from the cost it caused;
- :func:`tune_stream` runs a tuner over a stream with a cost function and reports per-instance
  choices, costs and cumulative cost;
- :func:`sor` / :func:`optimal_sor_omega` / :func:`sor_stream` are the paper's setting: SOR
  iteration counts on systems whose optimal omega is known analytically (they live in
  :mod:`agents.solvers.sor` and are re-exported here);
- :func:`mip_cost` / :func:`mip_features` generalize to a discrete set of MIP solver settings.

Bandits come from ``mabwiser`` (maintained; the same library ``alns`` and ``balans`` build on).
Costs become rewards in [0, 1] as ``1 - min(cost, cap) / cap``, which is the normalization of the
paper (iterations divided by the iteration cap) and keeps rewards stationary.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from agents.solvers.errors import TuningError
from agents.solvers.sor import (
    LinearSystem,
    SORResult,
    jacobi_spectral_radius,
    optimal_sor_omega,
    sor,
    sor_cost,
    sor_stream,
    tridiagonal,
)

if TYPE_CHECKING:
    from agents.solvers.model import Model

Policy = Literal["epsilon_greedy", "ucb", "thompson"]
ContextPolicy = Literal["linucb", "lingreedy"]

__all__ = [
    "MIP_FEATURE_BOUNDS",
    "ContextualTuner",
    "LinearSystem",
    "MIPSetting",
    "ParameterTuner",
    "SORResult",
    "StreamReport",
    "TuningError",
    "chebyshev_features",
    "default_mip_settings",
    "jacobi_spectral_radius",
    "mip_cost",
    "mip_features",
    "optimal_sor_omega",
    "sor",
    "sor_cost",
    "sor_stream",
    "tridiagonal",
    "tune_stream",
]


def _reward(cost: float, cap: float) -> float:
    if not math.isfinite(cost) or cost < 0:
        raise TuningError(f"cost must be a finite non-negative number, got {cost!r}")
    return 1.0 - min(cost, cap) / cap


def _check_arms(arms: Sequence[Hashable], cap: float) -> list[Hashable]:
    arm_list = list(arms)
    if len(arm_list) < 1 or len(set(arm_list)) != len(arm_list):
        raise TuningError(f"arms must be a non-empty list of distinct values, got {arm_list!r}")
    if not cap > 0:
        raise TuningError(f"cost_cap must be positive (the cost of a failed run), got {cap!r}")
    return arm_list


class _BanditTuner:
    """What both tuners share: distinct arms, the cost cap, a mabwiser bandit fitted as it goes."""

    def __init__(self, arms: Sequence[Hashable], cost_cap: float, learning: Any, seed: int) -> None:
        from mabwiser.mab import MAB

        self.arms = _check_arms(arms, cost_cap)
        self.cost_cap = float(cost_cap)
        self._mab = MAB(self.arms, learning, seed=seed)
        self._fitted = False

    def _check_arm(self, arm: Hashable) -> None:
        if arm not in self.arms:
            raise TuningError(f"unknown arm {arm!r}; the tuner's arms are {self.arms!r}")

    def _learn(self, arm: Hashable, reward: float, *contexts: list[list[float]]) -> None:
        """Teach the bandit one outcome (``contexts``: the instance's features, if contextual)."""
        fit = self._mab.partial_fit if self._fitted else self._mab.fit
        fit([arm], [reward], *contexts)
        self._fitted = True


class ParameterTuner(_BanditTuner):
    """Context-free bandit over a discrete set of parameter values, learning from costs.

    ``choose()`` returns the value to use for the next instance; ``observe(arm, cost)`` reports
    the cost it caused (iterations, seconds). Every arm is tried once before the policy takes
    over, so the first ``len(arms)`` choices are a round robin.
    """

    def __init__(
        self,
        arms: Sequence[Hashable],
        *,
        cost_cap: float,
        policy: Policy = "ucb",
        epsilon: float = 0.1,
        alpha: float = 0.5,
        seed: int = 0,
    ) -> None:
        from mabwiser.mab import LearningPolicy

        self.policy = policy
        learning: Any
        if policy == "epsilon_greedy":
            learning = LearningPolicy.EpsilonGreedy(epsilon=epsilon)
        elif policy == "ucb":
            learning = LearningPolicy.UCB1(alpha=alpha)
        elif policy == "thompson":
            learning = LearningPolicy.ThompsonSampling()
        else:
            raise TuningError(
                f"unknown policy {policy!r}; use 'epsilon_greedy', 'ucb' or 'thompson'"
            )
        super().__init__(arms, cost_cap, learning, seed)
        self._rng = random.Random(seed)
        self.history: list[tuple[Hashable, float]] = []

    def choose(self) -> Hashable:
        """The parameter value to use for the next instance."""
        tried = {a for a, _ in self.history}
        untried = [arm for arm in self.arms if arm not in tried]
        if untried:
            return untried[0]
        return self._mab.predict()

    def observe(self, arm: Hashable, cost: float) -> None:
        """Learn from the cost ``arm`` caused on the last instance (lower is better)."""
        self.observe_reward(arm, _reward(cost, self.cost_cap), cost=cost)

    def observe_reward(self, arm: Hashable, reward: float, *, cost: float = math.nan) -> None:
        """Learn from a reward in [0, 1] directly (higher is better), e.g. an ALNS outcome."""
        self._check_arm(arm)
        if not 0.0 <= reward <= 1.0:
            raise TuningError(f"reward must lie in [0, 1], got {reward!r}")
        if self.policy == "thompson":
            # Beta-Bernoulli Thompson sampling needs 0/1 rewards: a Bernoulli draw with mean
            # `reward` keeps the expected reward, so the posterior still ranks arms correctly.
            reward = float(self._rng.random() < reward)
        self.history.append((arm, float(cost)))
        self._learn(arm, reward)

    def counts(self) -> dict[Hashable, int]:
        """How often each arm was chosen so far."""
        out = dict.fromkeys(self.arms, 0)
        for arm, _ in self.history:
            out[arm] += 1
        return out


def chebyshev_features(context: Sequence[float], degree: int, bounds: Sequence[tuple]) -> list:
    """Chebyshev polynomials T_0..T_degree of each context value scaled to [-1, 1].

    The paper's contextual bandit (ChebCB) regresses cost on this basis: smooth in the context,
    well conditioned, and linear in its coefficients so LinUCB applies.
    """
    feats: list[float] = []
    for value, (low, high) in zip(context, bounds, strict=True):
        z = 0.0 if high == low else 2.0 * (float(value) - low) / (high - low) - 1.0
        z = min(1.0, max(-1.0, z))
        feats.extend(math.cos(k * math.acos(z)) for k in range(degree + 1))
    return feats


class ContextualTuner(_BanditTuner):
    """Contextual bandit: chooses a parameter value from instance features, learning from costs.

    Features are mapped to Chebyshev polynomials (``degree``) within ``bounds`` (one (low, high)
    pair per feature, values outside are clipped) and a linear bandit (LinUCB by default) learns
    each arm's reward as a function of them, so different instances can get different values.
    """

    def __init__(
        self,
        arms: Sequence[Hashable],
        *,
        cost_cap: float,
        bounds: Sequence[tuple[float, float]],
        degree: int = 2,
        policy: ContextPolicy = "linucb",
        alpha: float = 0.5,
        epsilon: float = 0.05,
        l2_lambda: float = 1.0,
        seed: int = 0,
    ) -> None:
        from mabwiser.mab import LearningPolicy

        self.bounds = [(float(lo), float(hi)) for lo, hi in bounds]
        self.degree = degree
        learning: Any
        if policy == "linucb":
            learning = LearningPolicy.LinUCB(alpha=alpha, l2_lambda=l2_lambda)
        elif policy == "lingreedy":
            learning = LearningPolicy.LinGreedy(epsilon=epsilon, l2_lambda=l2_lambda)
        else:
            raise TuningError(f"unknown contextual policy {policy!r}; use 'linucb' or 'lingreedy'")
        super().__init__(arms, cost_cap, learning, seed)
        self.history: list[tuple[Hashable, float, tuple[float, ...]]] = []

    def _features(self, context: Sequence[float]) -> list[float]:
        if len(context) != len(self.bounds):
            raise TuningError(
                f"context has {len(context)} values but bounds were given for {len(self.bounds)}"
            )
        return chebyshev_features(context, self.degree, self.bounds)

    def choose(self, context: Sequence[float]) -> Hashable:
        """The parameter value to use for an instance with these features."""
        feats = self._features(context)
        if len(self.history) < len(self.arms):
            return self.arms[len(self.history)]
        return self._mab.predict([feats])

    def observe(self, arm: Hashable, cost: float, context: Sequence[float]) -> None:
        """Learn from the cost ``arm`` caused on an instance with these features."""
        self._check_arm(arm)
        feats = self._features(context)
        reward = _reward(cost, self.cost_cap)
        self.history.append((arm, float(cost), tuple(float(c) for c in context)))
        self._learn(arm, reward, [feats])


@dataclass
class StreamReport:
    """What a tuner did over a stream: one choice and cost per instance."""

    choices: list[Hashable] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)

    @property
    def total_cost(self) -> float:
        """Sum of the costs the tuner's choices caused."""
        return float(sum(self.costs))

    def cumulative(self) -> list[float]:
        """Running total of cost after each instance."""
        return [float(c) for c in np.cumsum(self.costs)]


def tune_stream(
    instances: Iterable[Any],
    cost: Callable[[Any, Hashable], float],
    tuner: ParameterTuner | ContextualTuner,
    *,
    features: Callable[[Any], Sequence[float]] | None = None,
) -> StreamReport:
    """Solve each instance with the tuner's chosen parameter and feed the cost back.

    ``cost(instance, arm)`` runs the solver and returns the cost (lower is better);
    ``features(instance)`` is required for a :class:`ContextualTuner`.
    """
    report = StreamReport()
    for instance in instances:
        if isinstance(tuner, ContextualTuner):
            if features is None:
                raise TuningError("a ContextualTuner needs features=callable(instance)")
            context = list(features(instance))
            arm = tuner.choose(context)
            value = float(cost(instance, arm))
            tuner.observe(arm, value, context)
        else:
            arm = tuner.choose()
            value = float(cost(instance, arm))
            tuner.observe(arm, value)
        report.choices.append(arm)
        report.costs.append(value)
    return report


# ------------------------------------------------------------ MIP settings: the generalization


@dataclass(frozen=True)
class MIPSetting:
    """One arm for MIP tuning: a backend name and solver options passed to it."""

    name: str
    backend: str = "highs"
    options: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        return self.name


def mip_features(model: Model) -> tuple[float, ...]:
    """Cheap instance features for contextual MIP tuning.

    (log10 #variables, log10 #constraints, constraint density, integer fraction).
    """
    n_vars = max(len(model.variables), 1)
    n_cons = max(len(model.constraints), 1)
    nnz = sum(len(c.coefficients) for c in model.constraints)
    integer = sum(1 for v in model.variables if v.is_integral)
    return (
        math.log10(n_vars),
        math.log10(n_cons),
        nnz / (n_vars * n_cons),
        integer / n_vars,
    )


def mip_cost(time_limit: float) -> Callable[[Model, Hashable], float]:
    """A cost function for :func:`tune_stream`: seconds to solve a MIP with a setting.

    A run that does not prove optimality within ``time_limit`` costs ``2 * time_limit`` (the
    PAR2 convention of solver tuning), so a setting that times out is never preferred to one
    that finishes.
    """

    def cost(model: Model, setting: Hashable) -> float:
        from agents.solvers import get
        from agents.solvers.base import SolveStatus

        if not isinstance(setting, MIPSetting):
            raise TuningError(f"MIP tuning arms must be MIPSetting values, got {setting!r}")
        began = time.perf_counter()
        result = get(setting.backend).solve(model, time_limit, options=dict(setting.options))
        if result.status is SolveStatus.ERROR:
            raise TuningError(f"setting {setting.name!r} failed: {result.message}")
        if result.status is not SolveStatus.OPTIMAL:
            return 2.0 * time_limit
        return time.perf_counter() - began

    return cost


def default_mip_settings(backends: Sequence[str] = ("highs", "scip")) -> list[MIPSetting]:
    """A small portfolio of MIP settings per installed backend (the arms of MIP tuning)."""
    from agents.solvers import get

    portfolio = {
        "highs": [
            MIPSetting("highs-default", "highs"),
            MIPSetting("highs-heuristic-heavy", "highs", (("mip_heuristic_effort", 0.3),)),
            MIPSetting("highs-no-presolve", "highs", (("presolve", "off"),)),
        ],
        "scip": [
            MIPSetting("scip-default", "scip"),
            MIPSetting("scip-no-presolve", "scip", (("presolving/maxrounds", 0),)),
        ],
    }
    settings = []
    for name in backends:
        if name in portfolio and get(name).available():
            settings.extend(portfolio[name])
    if not settings:
        raise TuningError(
            f"none of the backends {list(backends)} is installed; pip install highspy"
        )
    return settings


MIP_FEATURE_BOUNDS = [(0.0, 6.0), (0.0, 6.0), (0.0, 1.0), (0.0, 1.0)]
