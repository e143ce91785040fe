"""Every available backend solves what it claims, with the same statuses and no stdout noise."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from agents.solvers import (
    Capability,
    Model,
    SolveStatus,
    UnknownSolverError,
    available_backends,
    get,
    names,
)

pytestmark = pytest.mark.solver

BACKENDS = [name for name in ("highs", "scip", "scipy", "gurobi") if get(name).available()]


def _lp() -> Model:
    """max 3x + 5y s.t. x <= 4, 2y <= 12, 3x + 2y <= 18; optimum 36 at (2, 6)."""
    m = Model(name="wyndor")
    m.add_variable("x")
    m.add_variable("y")
    m.add_constraint("plant1", {"x": 1}, "<=", 4)
    m.add_constraint("plant2", {"y": 2}, "<=", 12)
    m.add_constraint("plant3", {"x": 3, "y": 2}, "<=", 18)
    m.set_objective({"x": 3, "y": 5}, "maximize")
    return m


def _knapsack() -> Model:
    """0/1 knapsack, capacity 10: best is items a, c (value 19, constant 1 added)."""
    m = Model(name="knapsack")
    items = {"a": (5, 10), "b": (4, 7), "c": (5, 9), "d": (3, 2)}
    for name in items:
        m.add_variable(name, type="binary")
    m.add_constraint("cap", {k: w for k, (w, _) in items.items()}, "<=", 10)
    m.set_objective({k: v for k, (_, v) in items.items()}, "maximize", constant=1)
    return m


def _qp() -> Model:
    """min (x-1)^2 + (y-2)^2 s.t. x + y <= 2: optimum 0.5 at (0.5, 1.5)."""
    m = Model(name="qp")
    m.add_variable("x", -10, 10)
    m.add_variable("y", -10, 10)
    m.add_constraint("sum", {"x": 1, "y": 1}, "<=", 2)
    m.set_objective({"x": -2, "y": -4}, constant=5, quadratic=[("x", "x", 1), ("y", "y", 1)])
    return m


def _qcqp() -> Model:
    """max x + y on the unit disc: sqrt(2)."""
    m = Model(name="disc")
    m.add_variable("x", -2, 2)
    m.add_variable("y", -2, 2)
    m.add_constraint("disc", {}, "<=", 1, quadratic=[("x", "x", 1), ("y", "y", 1)])
    m.set_objective({"x": 1, "y": 1}, "maximize")
    return m


def _miqcp() -> Model:
    """max x + 2y, integers with x^2 + y^2 <= 10: 7 at (1, 3)."""
    m = Model(name="miqcp")
    m.add_variable("x", -5, 5, "integer")
    m.add_variable("y", -5, 5, "integer")
    m.add_constraint("disc", {}, "<=", 10, quadratic=[("x", "x", 1), ("y", "y", 1)])
    m.set_objective({"x": 1, "y": 2}, "maximize")
    return m


CASES = [
    pytest.param(_lp, 36.0, {"x": 2.0, "y": 6.0}, id="lp"),
    pytest.param(_knapsack, 20.0, {"a": 1.0, "b": 0.0, "c": 1.0, "d": 0.0}, id="milp"),
    pytest.param(_qp, 0.5, {"x": 0.5, "y": 1.5}, id="qp"),
    pytest.param(_qcqp, math.sqrt(2), {"x": math.sqrt(0.5), "y": math.sqrt(0.5)}, id="qcqp"),
    pytest.param(_miqcp, 7.0, {"x": 1.0, "y": 3.0}, id="miqcp"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("build", "optimum", "solution"), CASES)
def test_backend_finds_known_optimum_of_every_class_it_supports(
    backend: str, build: object, optimum: float, solution: dict[str, float]
) -> None:
    model = build()  # type: ignore[operator]
    solver = get(backend)
    if not solver.supports(model):
        result = solver.solve(model)
        assert result.status is SolveStatus.UNSUPPORTED
        assert model.problem_class.value in result.message
        return
    result = solver.solve(model, time_limit=20)
    assert result.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE), result.message
    assert result.objective == pytest.approx(optimum, rel=1e-5, abs=1e-6)
    for name, value in solution.items():
        assert result.values[name] == pytest.approx(value, abs=1e-3)
    assert model.is_feasible(result.values, tol=1e-5)
    assert result.solver == backend


@pytest.mark.parametrize("backend", BACKENDS)
def test_infeasible_and_unbounded_models_get_their_status(backend: str) -> None:
    infeasible = Model()
    infeasible.add_variable("x", 0, 1)
    infeasible.add_constraint("c", {"x": 1}, ">=", 2)
    infeasible.set_objective({"x": 1})
    unbounded = Model()
    unbounded.add_variable("x", 0, math.inf)
    unbounded.set_objective({"x": 1}, "maximize")
    solver = get(backend)
    assert solver.solve(infeasible).status in (
        SolveStatus.INFEASIBLE,
        SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    )
    assert solver.solve(unbounded).status in (
        SolveStatus.UNBOUNDED,
        SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    )


def _market_split(rows: int = 4, cols: int = 30, seed: int = 7) -> Model:
    """Cornuejols-Dawande market split: tiny, and very hard for branch and bound."""
    import random

    rng = random.Random(seed)
    m = Model(name="market_split")
    for j in range(cols):
        m.add_variable(f"x{j}", type="binary")
    for i in range(rows):
        coefs = {f"x{j}": float(rng.randint(0, 99)) for j in range(cols)}
        m.add_variable(f"s{i}", -math.inf, math.inf)
        m.add_variable(f"a{i}", 0, math.inf)
        m.add_constraint(f"split{i}", {**coefs, f"s{i}": 1.0}, "=", sum(coefs.values()) // 2)
        m.add_constraint(f"abs{i}_p", {f"a{i}": 1.0, f"s{i}": -1.0}, ">=", 0)
        m.add_constraint(f"abs{i}_n", {f"a{i}": 1.0, f"s{i}": 1.0}, ">=", 0)
    m.set_objective({f"a{i}": 1.0 for i in range(rows)})
    return m


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b in ("highs", "scip")])
def test_hard_milp_stops_at_time_limit_with_its_status(backend: str) -> None:
    result = get(backend).solve(_market_split(), time_limit=0.5)
    assert result.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL)
    if result.status is SolveStatus.TIME_LIMIT:
        assert result.time < 5.0  # bounded: the limit was applied (not a timing benchmark)


def test_highs_reports_nonconvex_qp_as_error_not_exception() -> None:
    if "highs" not in BACKENDS:
        pytest.skip("highspy not installed")
    m = Model()
    m.add_variable("x", -1, 1)
    m.set_objective({}, quadratic=[("x", "x", -1.0)])  # concave: HiGHS refuses
    result = get("highs").solve(m)
    assert result.status is SolveStatus.ERROR
    assert result.objective is None


def test_solver_banners_never_reach_stdout() -> None:
    # A fresh process: libraries print banners only on first use in a process.
    code = (
        "from agents.solvers import get\n"
        "from tests.agents.solvers.test_backends import _knapsack, _qcqp\n"
        f"for name in {BACKENDS!r}:\n"
        "    get(name).solve(_knapsack()); get(name).solve(_qcqp())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[3],
    )
    assert out.stdout == ""


def test_log_tail_holds_the_solver_log() -> None:
    if "highs" not in BACKENDS:
        pytest.skip("highspy not installed")
    assert "HiGHS" in get("highs").solve(_lp()).log_tail


def test_unknown_solver_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSolverError, match="known solvers: gurobi, highs, scip, scipy"):
        get("cplexx")


def test_capabilities_are_declared_for_every_backend() -> None:
    for name in names():
        caps = get(name).capabilities
        assert Capability.LP in caps and Capability.MILP in caps
    assert set(available_backends()) == set(BACKENDS)


def test_invalid_time_limit_is_refused_with_fix() -> None:
    from agents.solvers import ModelError

    with pytest.raises(ModelError, match="positive number of seconds"):
        get("scipy").solve(_lp(), time_limit=-1)


def test_solve_without_a_name_picks_the_first_capable_backend() -> None:
    from agents.solvers import solve

    if not {"highs", "scip"} <= set(BACKENDS):
        pytest.skip("needs highspy and pyscipopt")
    assert solve(_lp()).solver == "highs"
    quadratic = solve(_qcqp())  # HiGHS has no quadratic constraints: SCIP takes it
    assert (quadratic.solver, quadratic.status) == ("scip", SolveStatus.OPTIMAL)
