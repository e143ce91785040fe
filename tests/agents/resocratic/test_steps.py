"""Step-by-step generation, back-translation checks: no solver runs needed."""

from __future__ import annotations

from agents.resocratic.demonstration import validate
from agents.resocratic.seeds import builtin_seeds
from agents.resocratic.steps import StepContext, check_question, generate_demonstration
from tests.agents.resocratic.scripted import SEED_PHRASES, World, garden_case, pottery_case

BAKERY = frozenset({"bakery-mix"})


def _bakery() -> tuple:
    return tuple(s for s in builtin_seeds() if s.id == "bakery-mix")


def test_each_step_sees_the_sections_written_before_it() -> None:
    world = World([garden_case(BAKERY)], SEED_PHRASES)
    ctx = StepContext(world.llm())
    demo, problem = generate_demonstration(ctx, _bakery(), n_constraints=2)
    assert problem == "" and demo is not None and demo.level == 4
    prompts = [call[-1]["content"] for call in ctx.llm.calls]
    assert len(prompts) == 5  # scenario, variables, objective, two constraints
    assert "garden centre" not in prompts[0]
    assert all("garden centre orders tomato" in p for p in prompts[1:])
    assert "// Minimize: 3*T + 2*S" in prompts[4] and "// S <= 10" not in prompts[4]
    assert ctx.ledger.calls == 5 and ctx.ledger.total_tokens > 0


def test_step_calls_sample_at_temperature_with_a_rollout_key() -> None:
    seen: list[dict] = []

    class Recorder:
        def __init__(self, inner):
            self.inner = inner

        def complete(self, messages, **opts):
            seen.append(opts)
            return self.inner.complete(messages, **opts)

    world = World([pottery_case(BAKERY)], SEED_PHRASES)
    ctx = StepContext(Recorder(world.llm()), rollout="r7")
    generate_demonstration(ctx, _bakery(), n_constraints=1)
    assert seen and all(o == {"temperature": 0.7, "rollout_id": "r7"} for o in seen)


def test_bad_later_constraint_keeps_the_valid_prefix() -> None:
    case = garden_case(BAKERY)
    case.sections[4] = "## Constraint 2\nSquash is limited.\n// S <= 10 * Q"
    ctx = StepContext(World([case], SEED_PHRASES).llm())
    demo, problem = generate_demonstration(ctx, _bakery(), n_constraints=2)
    assert demo is not None and demo.level == 3
    assert "unknown symbol 'Q'" in problem


def test_nonsense_replies_give_no_demonstration() -> None:
    ctx = StepContext(World([], SEED_PHRASES).llm())
    demo, problem = generate_demonstration(ctx, _bakery(), n_constraints=3)
    assert demo is None
    assert "Scenario" in problem
    assert len(ctx.llm.calls) == 1  # gave up at the first bad step


def test_question_checks() -> None:
    case = pottery_case(BAKERY)
    demo, _ = validate("\n\n".join(case.sections))
    table, text = case.questions[(3, "table")], case.questions[(3, "no-table")]
    assert check_question(table, demo, "table") == ""
    assert check_question(text, demo, "no-table") == ""
    assert check_question(text, demo, "table") == "table variant has no markdown table"
    assert check_question(table, demo, "no-table") == "no-table variant holds a table"
    assert check_question(text.replace("40", "forty"), demo, "no-table").endswith("drops data: 40")
    leaked = text + "\n// 2*M + 4*B <= 40"
    assert check_question(leaked, demo, "no-table") == "question shows '//' formal lines"


def test_exponents_are_not_data_a_question_must_repeat() -> None:
    case = pottery_case(BAKERY)
    case.sections[2] = case.sections[2].replace("5*M + 8*B", "5*M^2 + 8*B")
    demo, _ = validate("\n\n".join(case.sections))
    assert check_question(case.questions[(3, "no-table")], demo, "no-table") == ""
