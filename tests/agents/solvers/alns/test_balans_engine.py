"""The published balans meta-solver behind our model (SCIP only; slow to import)."""

from __future__ import annotations

import pytest

pytest.importorskip("balans")
pytest.importorskip("pyscipopt")

from agents.solvers.alns import AlnsError, combinatorial_auction, solve_with_balans

pytestmark = [pytest.mark.solver, pytest.mark.slow]


def test_balans_returns_a_feasible_named_solution_for_a_maximization_model() -> None:
    model = combinatorial_auction(n_items=15, n_bids=40, seed=4)
    result = solve_with_balans(model, time_limit=3.0, seed=2)
    assert result.engine == "balans"
    assert set(result.values) == {v.name for v in model.variables}
    assert model.is_feasible(result.values, tol=1e-6)
    assert result.objective == pytest.approx(model.objective_value(result.values))
    assert result.objective > 0


def test_balans_refuses_highs_and_says_what_to_use() -> None:
    model = combinatorial_auction(n_items=5, n_bids=8, seed=0)
    with pytest.raises(AlnsError, match="optoforge"):
        solve_with_balans(model, time_limit=1.0, mip_solver="highs")
