"""Gurobi's size-limited pip license gives a clear status, not a traceback."""

from __future__ import annotations

import pytest

from agents.solvers import Model, SolveStatus, get

pytestmark = pytest.mark.solver


def _too_big(n: int = 2100) -> Model:
    m = Model(name="too_big")
    for i in range(n):
        m.add_variable(f"x{i}", 0, 1)
    m.add_constraint("budget", {f"x{i}": 1.0 for i in range(n)}, "<=", 5)
    m.set_objective({f"x{i}": 1.0 for i in range(n)}, "maximize")
    return m


def test_model_over_the_size_limited_license_reports_license_limit() -> None:
    backend = get("gurobi")
    if not backend.available():
        pytest.skip("gurobipy is not installed or not licensed")
    result = backend.solve(_too_big())
    if result.status is SolveStatus.OPTIMAL:
        pytest.skip("this machine has an unrestricted Gurobi license")
    assert result.status is SolveStatus.LICENSE_LIMIT
    assert "model too large for this license" in result.message
    assert result.objective is None


def test_small_model_solves_under_the_same_license() -> None:
    backend = get("gurobi")
    if not backend.available():
        pytest.skip("gurobipy is not installed or not licensed")
    result = backend.solve(_too_big(50))
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == pytest.approx(5.0)
