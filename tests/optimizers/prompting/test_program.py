"""The prompt program: template rendering, the exemplar parameter's rules, tracing."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizers.prompting import PromptProgram, PromptTemplate, TemplateError
from trace_core import InvalidUpdate
from trace_core.llm import ScriptedLLM

PAIRS = [("upper: cat", "CAT"), ("reverse: owl", "lwo"), ("double: bee", "beebee")]


def test_exemplars_render_before_the_input_and_instruction_is_the_system_message() -> None:
    program = PromptProgram("Apply the rule.", PAIRS, exemplars=["e2"])
    messages = program.messages("upper: dog")
    assert messages[0] == {"role": "system", "content": "Apply the rule."}
    user = messages[1]["content"]
    assert user.index("Input: reverse: owl\nOutput: lwo") < user.index("Input: upper: dog")
    assert user.endswith("Input: upper: dog\nOutput:")
    assert "upper: cat" not in user


def test_exemplar_parameter_accepts_pool_ids_and_pairs_and_stores_pairs() -> None:
    program = PromptProgram("x", PAIRS, max_exemplars=2)
    program.exemplars.set(["e1", {"input": "double: bee", "output": "beebee"}])
    assert program.exemplars.data == [
        {"input": "upper: cat", "output": "CAT"},
        {"input": "double: bee", "output": "beebee"},
    ]


@pytest.mark.parametrize(
    "value",
    [
        [{"input": "upper: cat", "output": "WRONG"}],  # not a pool member
        ["e1", "e2", "e3"],  # over the cap of 2
        ["e1", "e1"],  # duplicate
        ["e9"],  # unknown id
        "e1",  # not a list
    ],
)
def test_exemplar_parameter_rejects_values_outside_its_constraint(value: object) -> None:
    program = PromptProgram("x", PAIRS, max_exemplars=2, exemplars=["e3"])
    with pytest.raises(InvalidUpdate):
        program.exemplars.set(value)
    assert program.exemplars.data == [{"input": "double: bee", "output": "beebee"}]


def test_user_template_file_changes_the_messages(tmp_path: Path) -> None:
    path = tmp_path / "qa.md"
    path.write_text(
        "=== system ===\nRULES: $instruction\n=== example ===\nQ: $input => $output\n"
        "=== examples ===\nSee:\n$examples\n=== user ===\n${examples}Q: $input =>\n"
    )
    program = PromptProgram("be brief", PAIRS, exemplars=["e1"], template=str(path))
    messages = program.messages("reverse: dog")
    assert messages[0]["content"] == "RULES: be brief"
    assert messages[1]["content"] == "See:\nQ: upper: cat => CAT\n\nQ: reverse: dog =>"


def test_template_without_input_placeholder_is_refused_naming_the_section() -> None:
    with pytest.raises(TemplateError, match="user"):
        PromptTemplate.parse("=== system ===\n$instruction\n=== user ===\nhello\n")


def test_program_call_is_traced_from_both_parameters() -> None:
    from trace_core import parameters_of

    llm = ScriptedLLM(lambda messages: "CAT")
    program = PromptProgram("Apply the rule.", PAIRS, llm=llm, exemplars=["e1"])
    out = program("upper: cat")
    assert out.data == "CAT"
    assert {p.name for p in parameters_of(out)} == {"instruction", "exemplars"}
    assert [p.name for p in program.parameters()] == ["instruction", "exemplars"]


def test_fork_has_its_own_pool() -> None:
    from optimizers.prompting import Exemplar

    program = PromptProgram("x", PAIRS)
    fork = program.fork()
    fork.pool.add(Exemplar(id="b1", input="upper: dog", output="DOG", source="bootstrap"))
    assert len(fork.pool) == 4 and len(program.pool) == 3


def test_save_and_load_round_trip_the_instruction_and_exemplars(tmp_path: Path) -> None:
    program = PromptProgram("Apply the rule.", PAIRS, exemplars=["e3", "e1"])
    program.save(tmp_path / "prompt.json")
    other = PromptProgram("seed", PAIRS)
    other.load(tmp_path / "prompt.json")
    assert other.instruction.data == "Apply the rule."
    assert other.messages("upper: dog") == program.messages("upper: dog")


def test_saved_template_text_parses_back_to_the_same_messages() -> None:
    template = PromptTemplate.load()
    again = PromptTemplate.parse(template.text)
    pairs = [{"input": "a", "output": "A"}]
    assert again.render("i", pairs, "b") == template.render("i", pairs, "b")


def test_scoring_a_prompt_ends_on_a_refused_request_instead_of_counting_it_wrong() -> None:
    """A test score must not be lowered by a request the model never answered."""
    from optimizers.prompting import score_prompt
    from trace_core.llm import LLMRequestError

    llm = ScriptedLLM(["CAT", LLMRequestError("context too long", status=400)])
    program = PromptProgram("Apply the rule.", PAIRS, llm=llm)
    exact = lambda output, target: float(output == target)  # noqa: E731
    assert score_prompt(program, PAIRS[:1], exact) == 1.0
    with pytest.raises(LLMRequestError, match="context too long"):
        score_prompt(program, PAIRS[1:2], exact)
