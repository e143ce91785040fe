"""Structured output against servers that differ: JSON mode negotiation, pinning, strict replies,
cut replies, through the local fault server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from tests.servers.chat_server import ChatServer, Reply
from trace_core.llm import LLMOutputError, LLMRequestError
from trace_core.llm.json_modes import forget, known_mode
from trace_core.llm.openai_backend import OpenAIBackend
from trace_core.llm.retry import RetryPolicy

pytestmark = pytest.mark.llm

ASK = [{"role": "user", "content": "x is 3; it should be 5"}]


class Answer(BaseModel):
    value: int


@pytest.fixture(autouse=True)
def _fresh_negotiation(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OPTOFORGE_JSON_MODE", raising=False)
    monkeypatch.delenv("OPTOFORGE_MAX_TOKENS", raising=False)
    forget()
    yield
    forget()


def make(server: ChatServer, fast_retry: RetryPolicy, **kw: Any) -> OpenAIBackend:
    return OpenAIBackend("m", base_url=server.url, retry=fast_retry, cache=False, **kw)


def llama_cpp_like(body: dict[str, Any]) -> Reply:
    """Answers like llama-cpp-python's server: json_schema is a 500, json_object+schema works."""
    kind = (body.get("response_format") or {}).get("type")
    if kind == "json_schema":
        return Reply.error(500, "response_format.type: Input should be 'text' or 'json_object'")
    if kind == "json_object" and "schema" in body["response_format"]:
        return Reply.text('{"value": 5}')
    # No schema sent: the small model copies the schema from the prompt back.
    return Reply.text('{"description": "Answer", "properties": {}, "type": "object"}')


def test_negotiation_falls_back_to_json_object_with_schema_and_remembers_it(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.handler = llama_cpp_like
    llm = make(chat_server, fast_retry)
    first = llm.complete(ASK, response_format=Answer)
    assert first.parsed == Answer(value=5)
    kinds = [r["response_format"]["type"] for r in chat_server.requests]
    assert kinds == ["json_schema", "json_object"]  # the refusal was not retried as transient
    assert chat_server.requests[1]["response_format"]["schema"]["required"] == ["value"]
    assert known_mode(llm.endpoint_key()) == "json_object"
    llm.complete([{"role": "user", "content": "again"}], response_format=Answer)
    assert [r["response_format"]["type"] for r in chat_server.requests[2:]] == ["json_object"]


def test_pinned_tool_mode_reads_the_reply_from_the_tool_call(
    chat_server: ChatServer, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPTOFORGE_JSON_MODE", "tool")
    chat_server.script(Reply.tool_call('{"value": 7}'))
    result = make(chat_server, fast_retry).complete(ASK, response_format=Answer)
    assert result.parsed == Answer(value=7)
    body = chat_server.requests[0]
    assert body["tool_choice"]["function"]["name"] == "reply"
    assert body["tools"][0]["function"]["parameters"]["required"] == ["value"]
    assert "response_format" not in body


def test_a_pinned_mode_the_server_refuses_says_how_to_change_it(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.handler = llama_cpp_like
    with pytest.raises(LLMRequestError, match="--json-mode") as caught:
        make(chat_server, fast_retry, json_mode="json_schema").complete(ASK, response_format=Answer)
    assert chat_server.count == 1
    assert "json_object" in str(caught.value)


def test_prompt_mode_sends_nothing_native(chat_server: ChatServer, fast_retry: RetryPolicy) -> None:
    chat_server.script(Reply.text('{"value": 1}'))
    make(chat_server, fast_retry, json_mode="prompt").complete(ASK, response_format=Answer)
    body = chat_server.requests[0]
    assert "response_format" not in body and "tools" not in body
    assert '"value"' in body["messages"][-1]["content"]  # the schema is in the prompt


def test_a_copied_back_schema_is_an_output_error_not_an_empty_suggestion(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    from optimizers.replies import SuggestionReply

    echo = json.dumps({"description": "Your reasoning", "properties": {}, "type": "object"})
    chat_server.handler = lambda body: Reply.text(echo)
    with pytest.raises(LLMOutputError, match="repeats the JSON schema"):
        make(chat_server, fast_retry, json_mode="prompt").complete(
            ASK, response_format=SuggestionReply
        )
    assert chat_server.count == 2  # one repair re-ask, then the error


def test_optoprime_records_a_schema_echo_as_the_step_error(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    from optimizers import OptoPrime
    from trace_core import node

    echo = json.dumps({"description": "reply", "properties": {}, "type": "object"})
    chat_server.handler = lambda body: Reply.text(echo)
    x = node(3, name="x", trainable=True)
    opt = OptoPrime([x], llm=make(chat_server, fast_retry, json_mode="prompt"))
    opt.backward(x, "x should be 5")
    result = opt.step()
    assert result.error is not None and "schema" in result.error
    assert (x.data, result.updates) == (3, {})


def test_default_max_tokens_is_sent_and_configurable(
    chat_server: ChatServer, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(chat_server, fast_retry).complete(ASK)
    monkeypatch.setenv("OPTOFORGE_MAX_TOKENS", "77")
    make(chat_server, fast_retry).complete(ASK)
    make(chat_server, fast_retry, max_tokens=0).complete(ASK)
    sent = [r.get("max_tokens") for r in chat_server.requests]
    assert sent == [1024, 77, None]


def test_a_reply_cut_at_max_tokens_is_asked_again_with_a_larger_limit(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.text('{"val', finish_reason="length"), Reply.text('{"value": 2}'))
    result = make(chat_server, fast_retry, max_tokens=50, json_mode="prompt").complete(
        ASK, response_format=Answer
    )
    assert result.parsed == Answer(value=2) and result.repairs == 0
    assert [r["max_tokens"] for r in chat_server.requests] == [50, 100]


def test_a_reply_cut_every_time_is_reported_as_cut(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.handler = lambda body: Reply.text('{"val', finish_reason="length")
    with pytest.raises(LLMOutputError, match="cut off at max_tokens=100") as caught:
        make(chat_server, fast_retry, max_tokens=50, json_mode="prompt").complete(
            ASK, response_format=Answer
        )
    assert "stronger model" not in str(caught.value)
    assert [r["max_tokens"] for r in chat_server.requests] == [50, 100]


def test_a_plain_reply_cut_at_max_tokens_says_so(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.text("half a sent", finish_reason="length"))
    result = make(chat_server, fast_retry).complete(ASK)
    assert result.truncated and result.text == "half a sent"
