"""Fixtures of the LLM tests: the fault server and fast retry policies."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.servers.chat_server import ChatServer
from trace_core.llm.backend import ChatBackend
from trace_core.llm.litellm_backend import LiteLLMBackend
from trace_core.llm.openai_backend import OpenAIBackend
from trace_core.llm.retry import RetryPolicy

LITELLM_MARKS = [
    # find_spec, not importorskip: litellm takes seconds to import; pay that only when run.
    pytest.mark.skipif(importlib.util.find_spec("litellm") is None, reason="litellm missing"),
    # litellm's own pydantic models warn on import; not ours to fix.
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    """An OpenAI-compatible fault server on 127.0.0.1 (random port), stopped after the test."""
    with ChatServer() as server:
        yield server


class WaitRecorder:
    """A `RetryPolicy.sleep` that records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def waits() -> WaitRecorder:
    """Records the retry waits of a policy built with ``sleep=waits``."""
    return WaitRecorder()


@pytest.fixture
def fast_retry(waits: WaitRecorder) -> RetryPolicy:
    """Five attempts, no real sleeping (the computed waits go to ``waits``)."""
    return RetryPolicy(max_attempts=5, initial_wait=0.01, max_wait=0.05, jitter=0.01, sleep=waits)


def openai_backend_at(server: ChatServer, retry: RetryPolicy, **kw: Any) -> OpenAIBackend:
    """The openai backend talking to ``server`` (no cache, 5 s per attempt unless given)."""
    kw.setdefault("cache", False)
    kw.setdefault("timeout", 5.0)
    return OpenAIBackend("test-model", base_url=server.url, retry=retry, **kw)


def litellm_backend_at(server: ChatServer, retry: RetryPolicy, **kw: Any) -> LiteLLMBackend:
    """The litellm backend talking to ``server`` as an OpenAI-compatible one (no cache)."""
    kw.setdefault("timeout", 5.0)
    return LiteLLMBackend(
        "openai/test-model",
        api_base=server.url,
        api_key="sk-local",
        retry=retry,
        cache=False,
        **kw,
    )


#: Builds a backend against a fault server: ``make(server, retry, **options)``.
Make = Callable[..., ChatBackend]


@pytest.fixture(
    params=[
        pytest.param(openai_backend_at, id="openai"),
        pytest.param(litellm_backend_at, id="litellm", marks=LITELLM_MARKS),
    ]
)
def http_backend(request: pytest.FixtureRequest) -> Make:
    """Each HTTP chat backend in turn (openai, litellm): tests of what they share use this."""
    make: Make = request.param
    return make
