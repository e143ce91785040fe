"""Faults every HTTP chat backend (openai, litellm) handles alike, against the local fault server.

The retry and error-mapping pipeline is `ChatBackend`'s; each backend only sends the request, so
one table of faults runs through both.
"""

from __future__ import annotations

import pytest

from tests.servers.chat_server import ChatServer, Reply
from tests.trace_core.llm.conftest import Make, WaitRecorder
from trace_core.llm import LLMAuthError, LLMRequestError
from trace_core.llm.retry import RetryPolicy

pytestmark = pytest.mark.llm

USER = [{"role": "user", "content": "ping"}]


@pytest.mark.parametrize(
    ("status", "failures"),
    [(429, 1), (500, 1), (503, 1), (500, 2), (502, 2), (503, 2), (504, 2)],
)
def test_transient_errors_are_retried_until_success(
    chat_server: ChatServer, fast_retry: RetryPolicy, http_backend: Make, status: int, failures: int
) -> None:
    chat_server.script(*[Reply.error(status)] * failures, Reply.text("fine"))
    result = http_backend(chat_server, fast_retry).complete(USER)
    attempts = failures + 1
    assert (result.text, result.attempts, chat_server.count) == ("fine", attempts, attempts)


@pytest.mark.parametrize("seconds", [3, 7])
def test_retry_after_header_sets_the_wait(
    chat_server: ChatServer,
    fast_retry: RetryPolicy,
    waits: WaitRecorder,
    http_backend: Make,
    seconds: int,
) -> None:
    chat_server.script(Reply.rate_limited(retry_after=seconds), Reply.text("after the wait"))
    result = http_backend(chat_server, fast_retry).complete(USER)
    assert result.text == "after the wait"
    assert waits.waits == [float(seconds)]


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, LLMRequestError), (401, LLMAuthError), (403, LLMAuthError), (404, LLMRequestError)],
)
def test_client_errors_are_never_retried(
    chat_server: ChatServer,
    fast_retry: RetryPolicy,
    http_backend: Make,
    status: int,
    error_type: type[Exception],
) -> None:
    chat_server.script(Reply.error(status), Reply.text("must not be reached"))
    with pytest.raises(error_type) as caught:
        http_backend(chat_server, fast_retry).complete(USER)
    assert chat_server.count == 1
    assert caught.value.status == status  # type: ignore[attr-defined]


def test_dropped_connection_is_retried(
    chat_server: ChatServer, fast_retry: RetryPolicy, http_backend: Make
) -> None:
    chat_server.script(Reply.dropped(), Reply.text("reconnected"))
    result = http_backend(chat_server, fast_retry).complete(USER)
    assert (result.text, result.attempts) == ("reconnected", 2)


def test_stream_cut_mid_reply_is_retried(
    chat_server: ChatServer, fast_retry: RetryPolicy, http_backend: Make
) -> None:
    chat_server.script(Reply.cut_stream(), Reply.text("complete this time"))
    result = http_backend(chat_server, fast_retry).complete(USER, stream=True)
    assert (result.text, result.attempts) == ("complete this time", 2)
