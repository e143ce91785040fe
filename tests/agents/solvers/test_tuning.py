"""Online parameter tuning: the SOR setting of "Learning to Relax" and its MIP generalization."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("mabwiser")
pytest.importorskip("scipy")

from agents.solvers.tuning import (
    ContextualTuner,
    ParameterTuner,
    TuningError,
    optimal_sor_omega,
    sor,
    sor_cost,
    sor_stream,
    tridiagonal,
    tune_stream,
)

N = 30
OMEGAS = [round(1.0 + 0.1 * k, 1) for k in range(10)]  # 1.0 .. 1.9
STEP = 0.1 + 1e-9
MAX_ITER = 300


def test_sor_solves_the_system_it_is_given() -> None:
    system = sor_stream(1, n=N, seed=3)[0]
    result = sor(system.A, system.b, 1.5, tol=1e-10, max_iter=5000)
    assert result.converged
    np.testing.assert_allclose(system.A @ result.x, system.b, atol=1e-8)


def test_young_formula_matches_the_closed_form_for_tridiagonal_matrices() -> None:
    rho = 2 * math.cos(math.pi / (N + 1)) / 2.0
    expected = 2 / (1 + math.sqrt(1 - rho**2))
    assert optimal_sor_omega(tridiagonal(N)) == pytest.approx(expected, rel=1e-9)


def test_diagonal_scaling_keeps_the_optimal_omega_of_the_stream() -> None:
    omega_star = optimal_sor_omega(tridiagonal(N, 0.05))
    for system in sor_stream(3, n=N, shifts=(0.05, 0.05), seed=1):
        assert optimal_sor_omega(system.A) == pytest.approx(omega_star, rel=1e-9)


def test_young_omega_beats_every_other_grid_value_in_iterations() -> None:
    system = sor_stream(1, n=N, shifts=(0.05, 0.05), seed=2)[0]
    omega_star = optimal_sor_omega(system.A)
    iterations = {w: sor(system.A, system.b, w, max_iter=MAX_ITER).iterations for w in OMEGAS}
    best = min(iterations, key=iterations.__getitem__)
    assert abs(best - omega_star) <= STEP


@pytest.mark.parametrize("policy", ["epsilon_greedy", "ucb", "thompson"])
def test_tuner_converges_to_the_best_fixed_omega(policy: str) -> None:
    """Every system of the stream has the same analytic optimum; the tuner must find it."""
    stream = sor_stream(120, n=N, shifts=(0.05, 0.05), seed=7)
    omega_star = optimal_sor_omega(stream[0].A)
    cost = sor_cost(max_iter=MAX_ITER)
    tuner = ParameterTuner(
        OMEGAS, cost_cap=MAX_ITER, policy=policy, alpha=0.1, epsilon=0.05, seed=1
    )
    report = tune_stream(stream, cost, tuner)

    # Best fixed omega in hindsight, measured on the same stream.
    sample = stream[::6]
    mean = {w: sum(cost(s, w) for s in sample) / len(sample) for w in OMEGAS}
    hindsight = min(mean, key=mean.__getitem__)
    assert abs(hindsight - omega_star) <= STEP

    late = Counter(report.choices[-50:])
    favourite, _ = late.most_common(1)[0]
    assert abs(favourite - hindsight) <= STEP
    late_mean = float(np.mean(report.costs[-50:]))
    assert late_mean < 0.5 * mean[1.0]
    if policy == "thompson":
        # Beta-Bernoulli rewards are noisy draws: it still ranks arms, only more slowly.
        assert late_mean <= 2.0 * mean[hindsight]
    else:
        assert late[hindsight] >= 30
        assert late_mean <= 1.25 * mean[hindsight]


def test_contextual_tuner_beats_the_context_free_one_when_the_optimum_moves() -> None:
    stream = sor_stream(160, n=N, shifts=(0.0, 0.6), seed=11)
    cost = sor_cost(max_iter=MAX_ITER)
    plain = tune_stream(stream, cost, ParameterTuner(OMEGAS, cost_cap=MAX_ITER, alpha=0.1))
    contextual = tune_stream(
        stream,
        cost,
        ContextualTuner(OMEGAS, cost_cap=MAX_ITER, bounds=[(0.0, 0.6)], alpha=0.2),
        features=lambda s: s.features,
    )
    assert sum(contextual.costs[80:]) < sum(plain.costs[80:])

    # On the last systems its choices track each system's own analytic optimum more closely.
    def median_error(choices: list) -> float:
        errors = [
            abs(w - optimal_sor_omega(s.A)) for w, s in zip(choices, stream[-40:], strict=True)
        ]
        return float(np.median(errors))

    assert median_error(contextual.choices[-40:]) < median_error(plain.choices[-40:])


def test_tuner_refuses_an_unknown_arm_and_a_bad_cost() -> None:
    tuner = ParameterTuner([1.0, 1.5], cost_cap=10)
    with pytest.raises(TuningError, match="unknown arm"):
        tuner.observe(1.7, 3.0)
    with pytest.raises(TuningError, match="finite non-negative"):
        tuner.observe(1.0, math.nan)


def test_tuner_tries_every_arm_before_exploiting() -> None:
    tuner = ParameterTuner(["a", "b", "c"], cost_cap=10)
    seen = []
    for _ in range(3):
        arm = tuner.choose()
        seen.append(arm)
        tuner.observe(arm, 1.0)
    assert sorted(seen) == ["a", "b", "c"]
