"""Fixtures of the LLM tests: the fault server and fast retry policies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.chat_server import ChatServer
from trace_core.llm.retry import RetryPolicy


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
