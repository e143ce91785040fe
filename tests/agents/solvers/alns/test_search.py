"""ALNS over a MIP backend: feasible neighborhoods, bandit selection, anytime results."""

from __future__ import annotations

import random
from collections import Counter

import pytest

pytest.importorskip("highspy")
pytest.importorskip("alns")
pytest.importorskip("mabwiser")

from agents.solvers import SolveStatus, get
from agents.solvers.alns import (
    OPERATORS,
    AlnsError,
    AlnsSolver,
    SearchContext,
    clean_values,
    combinatorial_auction,
    facility_location,
    relax,
    restrict,
    set_cover,
)
from agents.solvers.alns.selection import BanditSelector

pytestmark = pytest.mark.solver


def _all_ones(model):
    """A feasible but poor set-cover solution: take every column."""
    return {v.name: 1.0 for v in model.variables}


@pytest.fixture(scope="module")
def cover():
    return set_cover(n_rows=40, n_cols=80, density=0.08, seed=3)


@pytest.fixture(scope="module")
def cover_lp(cover):
    result = get("highs").solve(relax(cover))
    assert result.status is SolveStatus.OPTIMAL
    return result.values


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_every_operator_yields_a_sub_mip_whose_solutions_are_feasible(name, cover, cover_lp):
    incumbent = _all_ones(cover)
    # A second pooled solution for crossover: a greedy-ish cover that differs from all ones.
    other = clean_values(cover, get("highs").solve(cover, time_limit=5).values)
    ctx = SearchContext(
        model=cover,
        incumbent=incumbent,
        incumbent_objective=cover.objective_value(incumbent),
        rng=random.Random(0),
        destroy_rate=0.3,
        lp_values=cover_lp,
        pool=[incumbent, other],
    )
    hood = OPERATORS[name](ctx)
    assert hood is not None, f"{name} found no neighborhood on a pure-binary set cover"
    sub = restrict(cover, hood)
    if name != "proximity":  # proximity's cut demands a strictly better objective
        assert sub.is_feasible(incumbent), f"{name}'s neighborhood lost the incumbent"
    result = get("highs").solve(sub, time_limit=5)
    assert result.has_solution, f"{name}'s sub-MIP had no solution: {result.status}"
    values = clean_values(cover, result.values)
    assert cover.is_feasible(values, tol=1e-6)
    assert cover.objective_value(values) <= cover.objective_value(incumbent) + 1e-9


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_alns_with_a_single_operator_returns_a_feasible_improvement(name, cover):
    start = _all_ones(cover)
    solver = AlnsSolver("highs", operators=[name], sub_time_limit=2.0, seed=1)
    if name == "crossover":  # needs a second pooled solution; mutation supplies it first
        solver = AlnsSolver("highs", operators=["mutation", name], sub_time_limit=2.0, seed=1)
    result = solver.solve(cover, time_limit=30, initial=start, max_iterations=6)
    assert cover.is_feasible(result.values, tol=1e-6)
    assert result.objective == pytest.approx(cover.objective_value(result.values))
    assert result.objective < cover.objective_value(start)
    assert result.operators[name].selected >= 1
    assert "violated" not in result.message
    assert result.status in (SolveStatus.ITERATION_LIMIT, SolveStatus.OPTIMAL)


def test_maximization_and_mixed_integer_models_stay_feasible():
    auction = combinatorial_auction(n_items=20, n_bids=60, seed=2)
    start = {v.name: 0.0 for v in auction.variables}  # selling nothing is feasible
    result = AlnsSolver("highs", sub_time_limit=1.0, seed=0).solve(
        auction, time_limit=30, initial=start, max_iterations=10
    )
    assert auction.is_feasible(result.values, tol=1e-6)
    assert result.objective > 0
    assert result.bound is not None and result.bound >= result.objective - 1e-6

    plant = facility_location(n_customers=8, n_facilities=5, seed=1)
    opened = {v.name: (1.0 if v.name.startswith("open") else 0.0) for v in plant.variables}
    greedy = get("highs").solve(plant, time_limit=10)
    assert greedy.has_solution
    result = AlnsSolver("highs", sub_time_limit=1.0, seed=0).solve(
        plant, time_limit=30, max_iterations=5
    )
    assert plant.is_feasible(result.values, tol=1e-5)
    assert result.gap is not None and result.gap >= 0
    assert opened  # the generator names facilities open*


def test_bandit_choices_follow_rewards_on_a_rigged_problem():
    """Arm 2 always yields a new best, arm 0 sometimes improves, arm 1 never does."""
    from alns.Outcome import Outcome

    rng = random.Random(0)
    for policy in ("epsilon_greedy", "ucb", "thompson"):
        selector = BanditSelector(3, policy=policy, seed=4, epsilon=0.1, alpha=0.2)
        for _ in range(300):
            d_idx, _ = selector(None, None, None)
            if d_idx == 2:
                outcome = Outcome.BEST
            elif d_idx == 0:
                outcome = Outcome.BETTER if rng.random() < 0.5 else Outcome.REJECT
            else:
                outcome = Outcome.REJECT
            selector.update(None, d_idx, 0, outcome)
        counts = Counter(selector.choices[100:])
        assert counts[2] > counts[0] > counts[1] or counts[2] >= 180, (policy, counts)
        assert counts[2] >= 120, (policy, counts)


def test_alns_favours_the_operator_that_improves():
    """Inside a real search, the bandit picks rins (improves) over crossover (not applicable)."""
    cover = set_cover(n_rows=60, n_cols=150, density=0.06, seed=5)
    solver = AlnsSolver(
        "highs",
        operators=["crossover", "mutation"],
        policy="ucb",
        alpha=0.2,
        seed=2,
        sub_time_limit=1.0,
    )
    start = _all_ones(cover)
    # Crossover needs two pooled solutions; with only the start pooled it is never applicable
    # until mutation has found another one, so mutation must dominate early choices.
    result = solver.solve(cover, time_limit=60, initial=start, max_iterations=12)
    stats = result.operators
    assert stats["mutation"].selected > stats["crossover"].selected


def test_timeout_returns_the_incumbent_gap_and_operator_stats():
    model = set_cover(n_rows=150, n_cols=300, density=0.05, seed=9)
    start = _all_ones(model)
    result = AlnsSolver("highs", sub_time_limit=0.5, seed=0).solve(
        model, time_limit=2.0, initial=start
    )
    assert result.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL)
    assert result.has_solution and model.is_feasible(result.values, tol=1e-6)
    assert result.objective <= model.objective_value(start)
    assert result.gap is not None and result.gap >= 0
    assert set(result.operators) == set(OPERATORS)
    assert result.trajectory and result.trajectory[-1][1] == pytest.approx(result.objective)


def test_time_limit_too_short_for_any_solution_still_returns_a_result():
    model = set_cover(n_rows=150, n_cols=300, density=0.05, seed=9)
    result = AlnsSolver("highs", seed=0).solve(model, time_limit=0.01)
    assert result.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    if result.has_solution:
        assert model.is_feasible(result.values, tol=1e-6)


def test_infeasible_start_and_bad_configuration_are_refused_with_a_fix():
    model = set_cover(n_rows=10, n_cols=20, density=0.2, seed=0)
    with pytest.raises(AlnsError, match="pass a feasible"):
        AlnsSolver("highs").solve(model, 5, initial={v.name: 0.0 for v in model.variables})
    with pytest.raises(ValueError, match="choose from"):
        AlnsSolver("highs", operators=["teleport"])
    with pytest.raises(AlnsError, match="policy"):
        AlnsSolver("highs", policy="greedy")  # type: ignore[arg-type]


def test_alns_over_scip_warm_starts_its_repairs_and_stays_feasible():
    pytest.importorskip("pyscipopt")
    cover = set_cover(n_rows=40, n_cols=80, density=0.08, seed=4)
    start = _all_ones(cover)
    result = AlnsSolver(
        "scip", operators=["mutation", "local_branching", "proximity"], seed=0
    ).solve(cover, time_limit=30, initial=start, max_iterations=5)
    assert result.solver == "alns+scip"
    assert cover.is_feasible(result.values, tol=1e-6)
    assert result.objective < cover.objective_value(start)
    assert sum(s.no_solution for s in result.operators.values()) <= 2


def test_cold_repairs_keep_solutions_feasible(cover):
    start = _all_ones(cover)
    result = AlnsSolver("highs", warm_start=False, seed=3, sub_time_limit=1.0).solve(
        cover, time_limit=30, initial=start, max_iterations=6
    )
    assert cover.is_feasible(result.values, tol=1e-6)
    assert result.objective < cover.objective_value(start)


def test_simulated_annealing_returns_the_best_solution_seen_not_the_last(cover):
    start = _all_ones(cover)
    result = AlnsSolver(
        "highs", acceptance="simulated_annealing", policy="thompson", seed=5, sub_time_limit=1.0
    ).solve(cover, time_limit=30, initial=start, max_iterations=8)
    assert cover.is_feasible(result.values, tol=1e-6)
    # The trajectory only ever improves and ends at the returned objective.
    objectives = [z for _, z in result.trajectory]
    assert objectives == sorted(objectives, reverse=True)
    assert objectives[-1] == pytest.approx(result.objective)
    assert result.objective < cover.objective_value(start)
