"""The demonstration format validator: order, formal lines, truncation, levels and tags."""

from __future__ import annotations

import pytest

from agents.resocratic.demonstration import DemonstrationError, validate
from agents.resocratic.seeds import builtin_seeds

GOOD = """## Scenario
A shop sells tea and coffee.

## Define Variables
How many kilograms of each to stock.
// {"symbol": "t", "description": "kg of tea", "range": "t >= 0", "type": "continuous"}
// {"symbol": "c", "description": "kg of coffee", "range": "c >= 0", "type": "integer"}

## Define Objective Function
Tea earns $4 per kg and coffee $6; maximize profit.
// Maximize: 4*t + 6*c

## Constraint 1
The shelf holds 50 kg.
// t + c <= 50

## Constraint 2
At least 10 kg of tea.
// t >= 10
"""


def test_valid_demonstration_has_level_and_mixed_integer_linear_tags() -> None:
    demo, problem = validate(GOOD)
    assert problem == ""
    assert demo.level == 4
    assert demo.sense == "maximize"
    assert demo.tags() == ["linear", "mixed-integer"]


def test_prefix_expansion_gives_one_problem_per_constraint_count() -> None:
    demo, _ = validate(GOOD)
    assert [p.level for p in demo.prefixes()] == [3, 4]
    assert "Constraint 2" not in demo.prefixes()[0].render()


def test_bad_constraint_truncates_at_first_bad_section() -> None:
    text = GOOD.replace("// t >= 10", "// t >= 10 + z")  # z was never declared
    demo, problem = validate(text)
    assert demo.level == 3
    assert "unknown symbol 'z'" in problem


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("## Define Variables", "## Variables"), "expected '## Define Variables'"),
        (("// Maximize: 4*t + 6*c", "// Best: 4*t + 6*c"), "Maximize"),
        (("// t + c <= 50", "// t + c"), "not one comparison"),
        (('"type": "integer"', '"type": "natural"'), "type 'natural'"),
        (("How many kilograms of each to stock.\n", ""), "no natural-language line"),
        (("// t + c <= 50", "// t + c <= 50\nsome text after"), "text after"),
    ],
)
def test_broken_core_sections_are_rejected_with_the_reason(
    edit: tuple[str, str], message: str
) -> None:
    if "after" in message:
        text = GOOD.replace("## Constraint 2\nAt least 10 kg of tea.\n// t >= 10\n", "")
        text = text.replace(*edit)
    else:
        text = GOOD.replace(*edit)
    with pytest.raises(DemonstrationError, match=message):
        validate(text)


def test_products_of_variables_make_a_nonlinear_tag() -> None:
    demo, _ = validate(GOOD.replace("// Maximize: 4*t + 6*c", "// Maximize: 4*t*c"))
    assert demo.tags()[0] == "nonlinear"


def test_every_shipped_seed_is_a_valid_demonstration_of_its_type() -> None:
    for seed in builtin_seeds():
        demo, problem = validate(seed.demonstration)
        assert problem == ""
        assert demo.tags()[0] == seed.type, seed.id


@pytest.mark.solver
def test_every_shipped_seed_solves_to_optimal() -> None:
    pytest.importorskip("pyscipopt")
    from tests.agents.resocratic.formal import program
    from trace_core import sandbox

    demos = {seed.id: validate(seed.demonstration)[0] for seed in builtin_seeds()}
    run = sandbox.run(program(demos), timeout_s=60)
    assert run.returncode == 0, run.stderr
    assert set(run.values) == set(demos)
    assert [k for k, v in run.values.items() if v is None] == []
    assert run.values["fence-garden"] == pytest.approx(450.0)  # 30 m x 15 m
    assert run.values["tank-design"] == pytest.approx(48.0, rel=1e-4)  # 4 x 4 x 2
