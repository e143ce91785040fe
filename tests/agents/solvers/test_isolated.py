"""Solving in a sandboxed child gives the same answer, and a stuck solve cannot hang us."""

from __future__ import annotations

import pytest

from agents.solvers import SolveStatus, UnknownSolverError, get, solve_isolated
from tests.agents.solvers.test_backends import _knapsack, _market_split

pytestmark = [pytest.mark.solver, pytest.mark.slow]


def test_isolated_solve_matches_in_process_solve() -> None:
    if not get("highs").available():
        pytest.skip("highspy not installed")
    inside = get("highs").solve(_knapsack())
    outside = solve_isolated(_knapsack(), "highs")
    assert outside.status is SolveStatus.OPTIMAL
    assert outside.objective == inside.objective == 20.0
    assert outside.values == pytest.approx(inside.values)
    assert "HiGHS" in outside.log_tail


def test_isolated_solve_killed_by_sandbox_reports_time_limit() -> None:
    if not get("scip").available():
        pytest.skip("pyscipopt not installed")
    result = solve_isolated(_market_split(), "scip", timeout_s=2.0)
    assert result.status is SolveStatus.TIME_LIMIT
    assert "sandbox killed" in result.message


def test_isolated_solve_refuses_unknown_solver_before_starting() -> None:
    with pytest.raises(UnknownSolverError, match="known solvers"):
        solve_isolated(_knapsack(), "cplexx")
