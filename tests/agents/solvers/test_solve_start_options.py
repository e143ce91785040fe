"""`SolverBackend.solve(model, time_limit, *, start=, options=)` with real HiGHS, SCIP, Gurobi."""

from __future__ import annotations

import random

import pytest

from agents.solvers import Model, ModelError, SolveStatus, get

pytestmark = pytest.mark.solver

# Stop at the first solution found: the solver keeps whatever it has then, so a warm start
# shows in the objective, and the option shows in the status (not "optimal").
FIRST_SOLUTION = {
    "highs": {"mip_max_improving_sols": 1, "presolve": "off", "mip_heuristic_effort": 0.0},
    "scip": {"limits/solutions": 1, "presolving/maxrounds": 0},
    "gurobi": {"SolutionLimit": 1},
}


def _knapsack(n: int = 40, seed: int = 3) -> Model:
    rng = random.Random(seed)
    m = Model(name="knapsack40")
    weights = {f"x{i}": rng.randint(20, 60) for i in range(n)}
    for name in weights:
        m.add_variable(name, type="binary")
    m.add_constraint("cap", weights, "<=", sum(weights.values()) // 2)
    m.set_objective({k: w + rng.randint(0, 10) for k, w in weights.items()}, "maximize")
    return m


def _backend(name: str):  # type: ignore[no-untyped-def]
    backend = get(name)
    if not backend.available():
        pytest.skip(f"{name} is not installed")
    return backend


@pytest.mark.parametrize("name", ["highs", "scip", "gurobi"])
def test_a_start_solution_is_accepted_and_kept(name: str) -> None:
    backend = _backend(name)
    model = _knapsack()
    best = backend.solve(model, 30)
    assert best.status is SolveStatus.OPTIMAL
    options = FIRST_SOLUTION[name]
    cold = backend.solve(model, 30, options=options)
    warm = backend.solve(model, 30, start=best.values, options=options)
    assert cold.status is not SolveStatus.OPTIMAL  # the option stopped the search early
    assert cold.objective is None or cold.objective < best.objective
    assert warm.objective == pytest.approx(best.objective)  # the start was used
    assert model.max_violation(warm.values) <= 1e-6


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("highs", {"random_seed": 7, "mip_rel_gap": 0.0}),
        ("scip", {"lp/threads": 1}),
        ("gurobi", {"Threads": 1}),
    ],
)
def test_valid_options_leave_the_answer_unchanged(name: str, options: dict) -> None:
    backend = _backend(name)
    result = backend.solve(_knapsack(20), 30, options=options)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == pytest.approx(backend.solve(_knapsack(20), 30).objective)


@pytest.mark.parametrize("name", ["highs", "scip", "gurobi"])
def test_an_option_the_solver_rejects_is_an_error_result_naming_it(name: str) -> None:
    result = _backend(name).solve(_knapsack(10), 10, options={"no_such_option": 1})
    assert result.status is SolveStatus.ERROR
    assert "no_such_option" in result.message


def test_a_start_naming_unknown_variables_is_refused() -> None:
    with pytest.raises(ModelError, match="does not have: nope"):
        _backend("highs").solve(_knapsack(5), 5, start={"nope": 1.0})
    with pytest.raises(ModelError, match="finite"):
        _backend("highs").solve(_knapsack(5), 5, start={"x0": float("nan")})


def test_scipy_starts_slsqp_from_the_start_point() -> None:
    backend = _backend("scipy")
    m = Model(name="qp")
    m.add_variable("x", -10, 10)
    m.set_objective({"x": -2}, constant=1, quadratic=[("x", "x", 1)])  # (x-1)^2, min 0 at 1
    result = backend.solve(m, 10, start={"x": 1.0}, options={"maxiter": 1})
    assert result.values["x"] == pytest.approx(1.0)
