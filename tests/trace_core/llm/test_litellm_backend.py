"""The litellm backend against the same local fault server (skipped without litellm)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import BaseModel

from tests.servers.chat_server import ChatServer, Reply
from tests.trace_core.llm.conftest import LITELLM_MARKS
from tests.trace_core.llm.conftest import litellm_backend_at as make
from trace_core.llm import LLMAuthError, LLMOutputError, get_llm
from trace_core.llm.litellm_backend import LiteLLMBackend
from trace_core.llm.retry import RetryPolicy

pytestmark = [*LITELLM_MARKS, pytest.mark.llm]

USER = [{"role": "user", "content": "ping"}]


class Answer(BaseModel):
    value: int


def test_completion_through_litellm(chat_server: ChatServer, fast_retry: RetryPolicy) -> None:
    chat_server.script(Reply.text("pong", usage=(4, 2)))
    result = make(chat_server, fast_retry).complete(USER)
    assert (result.text, result.usage.total_tokens) == ("pong", 6)
    assert chat_server.requests[0]["model"] == "test-model"


def test_streaming_through_litellm(chat_server: ChatServer, fast_retry: RetryPolicy) -> None:
    chat_server.script(Reply.text("streamed through litellm"))
    result = make(chat_server, fast_retry).complete(USER, stream=True)
    assert result.text == "streamed through litellm"


def test_async_through_litellm(chat_server: ChatServer, fast_retry: RetryPolicy) -> None:
    result = asyncio.run(make(chat_server, fast_retry).acomplete(USER))
    assert result.text == "echo: ping"


def test_structured_reply_is_repaired(chat_server: ChatServer, fast_retry: RetryPolicy) -> None:
    chat_server.script(Reply.text("value is five"), Reply.text('{"value": 5}'))
    result = make(chat_server, fast_retry).complete(USER, response_format=Answer)
    assert (result.parsed, result.repairs) == (Answer(value=5), 1)


def test_truncated_envelope_is_an_output_error(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    chat_server.script(*[Reply.truncated_body()] * 5)
    with pytest.raises(LLMOutputError):
        make(chat_server, fast_retry).complete(USER)
    assert chat_server.count == 1


def test_get_llm_builds_litellm_ids(chat_server: ChatServer, fast_retry: RetryPolicy) -> None:
    llm = get_llm(
        "litellm:openai/x", api_base=chat_server.url, api_key="k", retry=fast_retry, cache=False
    )
    assert llm.complete(USER).text == "echo: ping"


_NO_FETCH_PROBE = """
import socket
attempts = []
real = socket.getaddrinfo
def record(host, *args, **kwargs):
    attempts.append(host)
    raise socket.gaierror("offline")
socket.getaddrinfo = record
from trace_core.llm.litellm_backend import _import_litellm
_import_litellm()
print(attempts)
"""


@pytest.mark.slow
def test_importing_litellm_through_the_backend_fetches_nothing() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM")}
    out = subprocess.run(
        [sys.executable, "-c", _NO_FETCH_PROBE],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_keyless_local_server_needs_no_dummy_key(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    llm = LiteLLMBackend("openai/local-model", api_base=chat_server.url, retry=fast_retry)
    assert llm.complete(USER).text == "echo: ping"
    assert chat_server.count == 1


def test_a_missing_key_is_an_auth_error_not_retried(fast_retry: RetryPolicy) -> None:
    llm = LiteLLMBackend("openai/gpt-4o-mini", retry=fast_retry, cache=False)
    with pytest.raises(LLMAuthError, match="OPENAI_API_KEY") as caught:
        llm.complete(USER)
    assert caught.value.attempts == 1  # type: ignore[attr-defined]


def test_cache_identity_follows_openai_base_url(
    monkeypatch: pytest.MonkeyPatch, fast_retry: RetryPolicy
) -> None:
    with (
        ChatServer(lambda body: Reply.text("first")) as one,
        ChatServer(lambda body: Reply.text("second")) as two,
    ):
        monkeypatch.setenv("OPENAI_BASE_URL", one.url)
        a = LiteLLMBackend("openai/same-model", retry=fast_retry, cache=True)
        monkeypatch.setenv("OPENAI_BASE_URL", two.url)
        b = LiteLLMBackend("openai/same-model", retry=fast_retry, cache=True)
        assert (a.complete(USER).text, b.complete(USER).text) == ("first", "second")
        assert (one.count, two.count) == (1, 1)


def test_structured_output_is_negotiated_through_litellm(
    chat_server: ChatServer, fast_retry: RetryPolicy
) -> None:
    from trace_core.llm.json_modes import forget

    forget()

    def handler(body: dict[str, Any]) -> Reply:
        if (body.get("response_format") or {}).get("type") == "json_schema":
            return Reply.error(500, "response_format.type: Input should be 'text' or 'json_object'")
        return Reply.text('{"value": 3}')

    chat_server.handler = handler
    result = make(chat_server, fast_retry).complete(USER, response_format=Answer)
    assert result.parsed == Answer(value=3)
    assert [r["response_format"]["type"] for r in chat_server.requests] == [
        "json_schema",
        "json_object",
    ]
    assert chat_server.requests[1]["response_format"]["schema"]["required"] == ["value"]
