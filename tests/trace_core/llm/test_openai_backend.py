"""The openai backend end to end against the local fault server (real SDK, real HTTP)."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from tests.servers.chat_server import ChatServer, Reply
from tests.trace_core.llm.conftest import WaitRecorder
from tests.trace_core.llm.conftest import openai_backend_at as make
from trace_core.llm import (
    LLMAuthError,
    LLMError,
    LLMOutputError,
    LLMRateLimited,
    LLMTransientError,
    get_llm,
)
from trace_core.llm.openai_backend import OpenAIBackend
from trace_core.llm.retry import RetryPolicy

pytestmark = pytest.mark.llm

USER = [{"role": "user", "content": "ping"}]


class Answer(BaseModel):
    value: int
    unit: str


def test_plain_completion_returns_text_usage_and_model(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.text("pong", usage=(7, 3)))
    result = make(chat_server, fast_retry).complete(USER)
    assert result.text == "pong"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (7, 3)
    assert result.usage.total_tokens == 10
    assert result.model == "openai:test-model"
    assert result.attempts == 1 and not result.cached
    assert chat_server.requests[0]["model"] == "test-model"
    assert chat_server.requests[0]["messages"] == USER


def test_generation_options_reach_the_server(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    make(chat_server, fast_retry).complete(USER, temperature=0.0, max_tokens=12, seed=3)
    sent = chat_server.requests[0]
    assert (sent["temperature"], sent["max_tokens"], sent["seed"]) == (0.0, 12, 3)


def test_streaming_reply_is_joined_with_usage(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.text("a streamed answer, in several chunks", usage=(5, 9)))
    result = make(chat_server, fast_retry).complete(USER, stream=True)
    assert result.text == "a streamed answer, in several chunks"
    assert result.usage.total_tokens == 14
    assert chat_server.requests[0]["stream"] is True


def test_server_specific_options_go_in_the_body(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    make(chat_server, fast_retry).complete(USER, repeat_penalty=1.1, top_k=5)
    sent = chat_server.requests[0]
    assert (sent["repeat_penalty"], sent["top_k"]) == (1.1, 5)


def test_async_streaming_and_plain(chat_server: ChatServer, fast_retry: RetryPolicy) -> None:
    llm = make(chat_server, fast_retry)

    async def both() -> tuple[str, str]:
        plain = await llm.acomplete([{"role": "user", "content": "one"}])
        streamed = await llm.acomplete([{"role": "user", "content": "two"}], stream=True)
        return plain.text, streamed.text

    assert asyncio.run(both()) == ("echo: one", "echo: two")


def test_retry_after_ms_header_is_preferred(
    chat_server: ChatServer, fast_retry: RetryPolicy, waits: WaitRecorder
) -> None:
    chat_server.script(
        Reply.error(429, headers={"retry-after-ms": "250", "Retry-After": "9"}),
        Reply.text("ok"),
    )
    make(chat_server, fast_retry).complete(USER)
    assert waits.waits == [0.25]


def test_rate_limit_that_never_clears_raises_rate_limited_after_all_attempts(
    chat_server: ChatServer, waits: WaitRecorder
) -> None:
    policy = RetryPolicy(max_attempts=3, sleep=waits)
    chat_server.script(*[Reply.rate_limited(retry_after=2)] * 3)
    with pytest.raises(LLMRateLimited) as caught:
        make(chat_server, policy).complete(USER)
    assert chat_server.count == 3
    assert caught.value.retry_after == 2.0
    assert caught.value.attempts == 3  # type: ignore[attr-defined]
    assert waits.waits == [2.0, 2.0]


def test_backoff_without_retry_after_grows_exponentially(
    chat_server: ChatServer, waits: WaitRecorder
) -> None:
    policy = RetryPolicy(max_attempts=4, initial_wait=1.0, max_wait=100.0, jitter=0.0, sleep=waits)
    chat_server.script(*[Reply.error(503)] * 3, Reply.text("ok"))
    make(chat_server, policy).complete(USER)
    assert waits.waits == [1.0, 2.0, 4.0]


def test_slow_reply_past_the_timeout_is_retried(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.slow(3.0), Reply.text("quick"))
    result = make(chat_server, fast_retry, timeout=0.3).complete(USER)
    assert (result.text, result.attempts) == ("quick", 2)


def test_exhausted_transient_failures_raise_a_transient_error(
    chat_server: ChatServer, waits: WaitRecorder
) -> None:
    chat_server.script(*[Reply.dropped()] * 2)
    with pytest.raises(LLMTransientError):
        make(chat_server, RetryPolicy(max_attempts=2, sleep=waits)).complete(USER)
    assert chat_server.count == 2


def test_truncated_envelope_is_an_output_error_with_the_raw_body(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.truncated_body("half of this"))
    with pytest.raises(LLMOutputError) as caught:
        make(chat_server, fast_retry).complete(USER)
    assert caught.value.raw_text.startswith('{"id": "chatcmpl-fault"')


def test_invalid_json_inside_a_valid_envelope_is_repaired(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.text('{"value": 3, "unit": '), Reply.text('{"value": 3, "unit": "m"}'))
    result = make(chat_server, fast_retry).complete(USER, response_format=Answer)
    assert result.parsed == Answer(value=3, unit="m")
    assert (result.repairs, result.attempts, chat_server.count) == (1, 2, 2)
    repair_ask = chat_server.requests[1]["messages"][-1]["content"]
    assert "could not be used" in repair_ask


def test_refusal_gives_output_error_carrying_the_refusal(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.refused("I can't do that."), Reply.refused("I can't do that."))
    with pytest.raises(LLMOutputError) as caught:
        make(chat_server, fast_retry).complete(USER, response_format=Answer)
    assert caught.value.raw_text == "I can't do that."


def test_refusal_is_returned_as_text_without_a_schema(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.refused("I can't do that."))
    assert make(chat_server, fast_retry).complete(USER).text == "I can't do that."


def test_json_schema_mode_sends_the_schema(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.text('{"value": 1, "unit": "s"}'))
    llm = make(chat_server, fast_retry, json_mode="json_schema")
    llm.complete(USER, response_format=Answer)
    sent = chat_server.requests[0]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"]["required"] == ["value", "unit"]


def test_api_key_never_appears_in_errors_or_repr(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    secret = "sk-test-DO-NOT-LEAK-1234567890"
    chat_server.script(Reply.error(401, f"Incorrect API key provided: {secret}"))
    llm = make(chat_server, fast_retry, api_key=secret)
    with pytest.raises(LLMAuthError) as caught:
        llm.complete(USER)
    assert secret not in str(caught.value)
    assert secret not in repr(llm)
    assert chat_server.count == 1


def test_get_llm_builds_openai_backend_for_a_compatible_server(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    llm = get_llm("openai:served-model", base_url=chat_server.url, retry=fast_retry, cache=False)
    assert llm.complete(USER).text == "echo: ping"
    assert chat_server.requests[0]["model"] == "served-model"


def test_construction_sends_nothing(chat_server: ChatServer, fast_retry: RetryPolicy) -> None:
    make(chat_server, fast_retry)
    assert chat_server.count == 0


def test_unreachable_server_is_a_transient_error_not_a_crash(waits: WaitRecorder) -> None:
    llm = OpenAIBackend(
        "m", base_url="http://127.0.0.1:9/v1", retry=RetryPolicy(max_attempts=2, sleep=waits)
    )
    with pytest.raises(LLMError) as caught:
        llm.complete(USER, cache=False)
    assert isinstance(caught.value, LLMTransientError)
    assert len(waits.waits) == 1


@pytest.mark.parametrize(
    "body",
    [
        "",
        "null",
        "[]",
        '{"choices": []}',
        '{"choices": [{}]}',
        '{"choices": [{"message": null}]}',
        "<html>502 Bad Gateway</html>",
        '{"id": "x", "choices": [{"message": {"content": "cut',
    ],
)
def test_malformed_envelopes_are_output_errors(
    chat_server: ChatServer, fast_retry: RetryPolicy, body: str
) -> None:
    chat_server.script(Reply(content=None, raw_body=body))
    with pytest.raises(LLMOutputError):
        make(chat_server, fast_retry).complete(USER, response_format=Answer)
    assert chat_server.count == 1


_ENVELOPE = st.one_of(
    st.text(max_size=80),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=8,
    ).map(lambda v: json.dumps({"choices": [{"message": {"content": v}}]})),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_ENVELOPE)
def test_any_body_from_the_server_gives_output_error_or_a_parse(
    chat_server: ChatServer, fast_retry: RetryPolicy, body: str
) -> None:
    chat_server.script(Reply(content=None, raw_body=body))
    try:
        result = make(chat_server, fast_retry).complete(USER, response_format=Answer, max_repairs=0)
    except LLMOutputError:
        return
    assert isinstance(result.parsed, Answer)


def test_each_retry_is_reported_with_its_error_and_wait(chat_server: ChatServer) -> None:
    seen: list[tuple[str, int, float]] = []
    policy = RetryPolicy(
        sleep=lambda s: None, on_retry=lambda e, n, w: seen.append((type(e).__name__, n, w))
    )
    chat_server.script(Reply.rate_limited(retry_after=4), Reply.error(503), Reply.text("ok"))
    make(chat_server, policy).complete(USER)
    assert [(name, n) for name, n, _ in seen] == [("LLMRateLimited", 1), ("LLMTransientError", 2)]
    assert seen[0][2] == 4.0
