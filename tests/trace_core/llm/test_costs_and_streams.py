"""Honest numbers: streamed usage when the server sends none, cut streams, unknown prices,
prices by endpoint, and the final message of a transient failure."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.servers.chat_server import ChatServer, Reply
from trace_core.llm import Budget, BudgetExceeded, LLMTransientError, register_price
from trace_core.llm.openai_backend import OpenAIBackend
from trace_core.llm.retry import RetryPolicy

pytestmark = pytest.mark.llm

ASK = [{"role": "user", "content": "count to ten, please"}]


def make(server: ChatServer, retry: RetryPolicy, model: str = "m", **kw: Any) -> OpenAIBackend:
    return OpenAIBackend(model, base_url=server.url, retry=retry, cache=False, **kw)


def no_usage_chunk(server: ChatServer) -> None:
    """Make ``server`` ignore ``stream_options`` (send no usage chunk), as llama.cpp's does."""

    def handler(body: dict[str, Any]) -> Reply:
        body.pop("stream_options", None)  # the body the stream is written from
        return Reply.text("one two three four five six seven eight nine ten")

    server.handler = handler


def test_streamed_tokens_are_counted_when_the_server_sends_no_usage(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    no_usage_chunk(chat_server)
    result = make(chat_server, fast_retry).complete(ASK, stream=True)
    assert result.usage.completion_tokens >= 10  # one chunk of 7 characters each at least
    assert result.usage.prompt_tokens > 0


def test_a_token_budget_stops_streamed_calls(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    no_usage_chunk(chat_server)
    budget = Budget(max_tokens=120)
    llm = make(chat_server, fast_retry, budget=budget, max_tokens=30)
    sent = 0
    with pytest.raises(BudgetExceeded):
        for _ in range(8):
            llm.complete(ASK, stream=True)
            sent += 1
    assert sent < 8 and chat_server.count == sent
    assert 0 < budget.tokens <= 120


def test_a_cut_stream_is_asked_again_without_streaming(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(Reply.cut_stream(), Reply.text("whole"))
    result = make(chat_server, fast_retry).complete(ASK, stream=True)
    assert result.text == "whole"
    assert [bool(r.get("stream")) for r in chat_server.requests] == [True, False]


def test_stream_errors_name_the_provider_and_the_final_error_says_it_gave_up(
    chat_server: ChatServer, waits: Any
) -> None:
    chat_server.handler = lambda body: Reply.error(503, "overloaded")
    retry = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.01, jitter=0, sleep=waits)
    with pytest.raises(LLMTransientError) as caught:
        make(chat_server, retry).complete(ASK, stream=True)
    message = str(caught.value)
    assert message.startswith("openai:m:") and "gave up after 3 attempts" in message
    assert "will be retried" not in message


def test_an_unknown_price_is_none_with_one_warning(
    chat_server: ChatServer, fast_retry: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    remote = make(chat_server, fast_retry, model="mystery-model")
    # Priced as if the server were a remote proxy (the tests may not leave the machine).
    remote._price_key = lambda: ("openai", "https://llm.example.com/v1")  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="trace_core.llm"):
        first = remote.complete(ASK)
        remote.complete([{"role": "user", "content": "again"}])
    assert first.cost is None
    assert remote.usage.summary()["cost"] is None and remote.usage.unpriced_calls == 2
    assert sum("no price known for mystery-model" in r.message for r in caplog.records) == 1


def test_a_local_server_is_free_even_for_a_name_openai_prices(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.handler = lambda body: Reply.text("hi", usage=(1000, 1000))
    assert make(chat_server, fast_retry, model="gpt-4o").complete(ASK).cost == 0.0


def test_a_price_registered_for_an_endpoint_applies_there(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    register_price("metered-model", 1_000_000.0, 0.0, endpoint=chat_server.url + "/")
    chat_server.handler = lambda body: Reply.text("hi", usage=(2, 1))
    assert make(chat_server, fast_retry, model="metered-model").complete(ASK).cost == 2.0
