"""Structured output: JSON found in fences and prose, bounded repair, typed failure."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from trace_core.llm import LLMError, LLMOutputError, ScriptedLLM, extract_json

pytestmark = pytest.mark.llm

ASK = [{"role": "user", "content": "propose"}]


class Proposal(BaseModel):
    reasoning: str
    suggestion: dict[str, int]


GOOD = '{"reasoning": "raise x", "suggestion": {"x": 4}}'


@pytest.mark.parametrize(
    "text",
    [
        GOOD,
        f"```json\n{GOOD}\n```",
        f"Sure! Here is my answer:\n```\n{GOOD}\n```\nHope it helps.",
        f"My reply is {GOOD} and that is final.",
        f"  \n{GOOD}\n  ",
    ],
)
def test_json_is_found_bare_fenced_or_in_prose(text: str) -> None:
    assert extract_json(text) == {"reasoning": "raise x", "suggestion": {"x": 4}}


def test_first_complete_object_wins_over_a_broken_one() -> None:
    assert extract_json('draft {"a": 1, then {"a": 2}') == {"a": 2}


@pytest.mark.parametrize("text", ["", "no json here", '{"a": 1', "```json\n{oops}\n```"])
def test_text_without_json_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        extract_json(text)


def test_reply_in_prose_parses_without_a_repair() -> None:
    llm = ScriptedLLM([f"Here you go: {GOOD}"])
    result = llm.complete(ASK, response_format=Proposal)
    assert result.parsed == Proposal(reasoning="raise x", suggestion={"x": 4})
    assert result.repairs == 0 and len(llm.calls) == 1


def test_request_carries_the_schema_instruction() -> None:
    llm = ScriptedLLM([GOOD])
    llm.complete(ASK, response_format=Proposal)
    sent = llm.calls[0][-1]["content"]
    assert sent.startswith("propose")
    assert '"suggestion"' in sent and "JSON schema" in sent


def test_schema_instruction_can_be_left_out() -> None:
    llm = ScriptedLLM([GOOD])
    llm.complete(ASK, response_format=Proposal, schema_instruction=False)
    assert llm.calls[0] == ASK


def test_schema_violation_is_repaired_quoting_the_error() -> None:
    llm = ScriptedLLM(['{"reasoning": "r", "suggestion": {"x": "four"}}', GOOD])
    result = llm.complete(ASK, response_format=Proposal)
    assert result.parsed is not None and result.parsed.suggestion == {"x": 4}
    assert result.repairs == 1
    repair = llm.calls[1]
    assert repair[-2] == {"role": "assistant", "content": llm.calls[1][-2]["content"]}
    assert "suggestion.x" in repair[-1]["content"]


def test_repairs_are_bounded_then_output_error_carries_raw_text() -> None:
    llm = ScriptedLLM(["nope", "still nope", "never"], max_repairs=2)
    with pytest.raises(LLMOutputError) as caught:
        llm.complete(ASK, response_format=Proposal)
    assert caught.value.raw_text == "never"
    assert "no complete JSON" in caught.value.reason
    assert len(llm.calls) == 3


def test_zero_repairs_fails_on_first_bad_reply() -> None:
    llm = ScriptedLLM(["nope", GOOD])
    with pytest.raises(LLMOutputError):
        llm.complete(ASK, response_format=Proposal, max_repairs=0)
    assert llm.remaining == 1


def test_usage_adds_up_over_repairs() -> None:
    llm = ScriptedLLM(["nope", GOOD])
    result = llm.complete(ASK, response_format=Proposal)
    assert result.usage.total_tokens == sum(r.usage.total_tokens for r in llm.usage.records)
    assert result.attempts == 2


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_malformed_reply_gives_output_error_or_a_parse(text: str) -> None:
    llm = ScriptedLLM([text], max_repairs=0)
    try:
        result = llm.complete(ASK, response_format=Proposal)
    except LLMOutputError as err:
        assert err.raw_text == text
    else:
        assert isinstance(result.parsed, Proposal)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet='{}[]":,0123456789abc \n`', max_size=120))
def test_json_like_garbage_never_escapes_the_error_tree(text: str) -> None:
    llm = ScriptedLLM([text, text], max_repairs=1)
    try:
        llm.complete(ASK, response_format=Proposal)
    except LLMError as err:
        assert isinstance(err, LLMOutputError)
