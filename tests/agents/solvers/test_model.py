"""The neutral Model validates its data and tells the user how to fix it."""

from __future__ import annotations

import math

import pytest

from agents.solvers import Capability, Model, ModelError, VarType
from tests.import_probe import modules_loaded_by


def _small() -> Model:
    m = Model(name="small")
    m.add_variable("x", 0, 4, "integer")
    m.add_variable("y", type="binary")
    m.add_constraint("cap", {"x": 1, "y": 2}, "<=", 5)
    m.set_objective({"x": 1, "y": 1}, "maximize", constant=3)
    return m


def test_constraint_on_unknown_variable_names_it_and_the_fix() -> None:
    m = _small()
    with pytest.raises(ModelError, match=r"'z'.*add_variable"):
        m.add_constraint("bad", {"z": 1.0}, "<=", 1)


def test_duplicate_variable_name_is_refused() -> None:
    with pytest.raises(ModelError, match="already exists"):
        _small().add_variable("x")


def test_lower_bound_above_upper_bound_is_refused() -> None:
    with pytest.raises(ModelError, match=r"lower bound 3\.0 > upper bound 1\.0"):
        Model().add_variable("a", 3, 1)


def test_binary_variable_gets_unit_bounds_and_rejects_wider_ones() -> None:
    m = Model()
    assert m.add_variable("b", type=VarType.BINARY).upper == 1.0
    with pytest.raises(ModelError, match="within \\[0, 1\\]"):
        m.add_variable("c", 0, 5, "binary")


def test_nan_coefficient_is_refused() -> None:
    m = Model()
    m.add_variable("x")
    with pytest.raises(ModelError, match="finite"):
        m.add_constraint("c", {"x": math.nan}, "<=", 1)


def test_construction_from_data_checks_references() -> None:
    with pytest.raises(ValueError, match="does not define"):
        Model(variables=[{"name": "x"}], objective={"y": 1.0})


@pytest.mark.parametrize(
    ("integer", "quad_obj", "quad_con", "expected"),
    [
        (False, False, False, Capability.LP),
        (True, False, False, Capability.MILP),
        (False, True, False, Capability.QP),
        (False, False, True, Capability.NLP),
        (True, True, False, Capability.MINLP),
    ],
)
def test_problem_class_follows_variables_and_terms(
    integer: bool, quad_obj: bool, quad_con: bool, expected: Capability
) -> None:
    m = Model()
    m.add_variable("x", 0, 10, "integer" if integer else "continuous")
    m.add_constraint("c", {"x": 1}, "<=", 5, quadratic=[("x", "x", 1.0)] if quad_con else ())
    m.set_objective({"x": 1}, quadratic=[("x", "x", 2.0)] if quad_obj else ())
    assert m.problem_class is expected


def test_json_round_trip_keeps_infinite_bounds() -> None:
    m = _small()
    m.add_variable("free", -math.inf, math.inf)
    again = Model.model_validate_json(m.model_dump_json())
    assert again == m
    assert again.variable("free").lower == -math.inf


def test_objective_value_includes_constant_and_feasibility_checks_integrality() -> None:
    m = _small()
    assert m.objective_value({"x": 3, "y": 1}) == 7.0
    assert m.is_feasible({"x": 3, "y": 1})
    assert not m.is_feasible({"x": 2.5, "y": 1})
    assert not m.is_feasible({"x": 4, "y": 1})  # 4 + 2 > 5


def test_importing_solvers_and_looking_up_backends_loads_no_solver_library() -> None:
    code = (
        "from agents.solvers import Model, get, names\n"
        "backends = [get(n) for n in names()]\n"
        "Model().add_variable('x')\n"
    )
    loaded = modules_loaded_by(code)
    for heavy in ("highspy", "pyscipopt", "gurobipy", "scipy", "numpy", "torch", "openai"):
        assert heavy not in loaded
