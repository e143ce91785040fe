"""Retrying transient provider failures (tenacity): backoff with jitter, honouring Retry-After.

Only `LLMTransientError` (429, 5xx, timeouts, dropped connections) is retried; a rejected request
(400/401/403/404) fails at once because sending it again cannot succeed.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity

from trace_core.llm.errors import LLMError, LLMRequestError, LLMTransientError

T = TypeVar("T")
_log = logging.getLogger("trace_core.llm")

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})
"""HTTP statuses that mean "try again later" (529: overloaded, used by some providers)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    ``max_attempts`` counts the first try. Waits grow as ``initial_wait * 2**n`` up to
    ``max_wait``, plus up to ``jitter`` seconds of random jitter so that many clients do not
    retry in lockstep. A Retry-After from the provider replaces the computed wait (capped at
    ``max_retry_after``). ``sleep`` replaces the real wait in both the sync and the async path;
    tests use it to record the waits instead of sleeping. ``on_retry(error, attempt, wait)``
    is called before each wait; every retry is also logged (logger ``trace_core.llm``).
    """

    max_attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] | None = None
    on_retry: Callable[[BaseException, int, float], None] | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")

    def wait_seconds(self, error: BaseException | None, attempt_number: int) -> float:
        """The wait before the next attempt after ``error`` ended attempt ``attempt_number``."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return max(0.0, min(float(retry_after), self.max_retry_after))
        backoff = tenacity.wait_exponential(multiplier=self.initial_wait, max=self.max_wait)
        jitter = tenacity.wait_random(0, self.jitter)
        state = _FakeState(attempt_number)
        return float(backoff(state)) + float(jitter(state))  # type: ignore[arg-type]

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return self.wait_seconds(error, state.attempt_number)

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        if error is None:
            return
        _log.info(
            "LLM attempt %d failed (%s); retrying in %.2fs", state.attempt_number, error, wait
        )
        if self.on_retry is not None:
            self.on_retry(error, state.attempt_number, wait)

    def _retrying_kwargs(self) -> dict[str, Any]:
        return {
            "stop": tenacity.stop_after_attempt(self.max_attempts),
            "wait": self._wait,
            "retry": tenacity.retry_if_exception_type(LLMTransientError),
            "before_sleep": self._before_sleep,
            "reraise": True,
        }

    def call(self, fn: Callable[[], T]) -> tuple[T, int]:
        """Run ``fn`` with retries; return its result and the number of attempts made."""
        retrying = tenacity.Retrying(sleep=self.sleep or time.sleep, **self._retrying_kwargs())
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    result = fn()
        except LLMError as err:
            _final(err, attempts)
            raise
        return result, attempts

    async def acall(self, fn: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        """Async `call`."""
        hook = self.sleep

        async def sleep(seconds: float) -> None:
            if hook is not None:
                hook(seconds)
            else:
                await asyncio.sleep(seconds)

        retrying = tenacity.AsyncRetrying(sleep=sleep, **self._retrying_kwargs())
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    result = await fn()
        except LLMError as err:
            _final(err, attempts)
            raise
        return result, attempts


class AttemptOptions:
    """The options of each attempt of one request: streamed until a stream is cut, then not.

    Some servers (llama.cpp's with ``interrupt_requests``) cut a running stream when another
    request arrives; under concurrency every retry is cut again. A plain request is not
    interrupted, and the caller gets the same reply at once. A refused structured-output
    request comes back from some servers as a 5xx; it is a refusal (`LLMRequestError`), not
    an outage to retry.
    """

    def __init__(self, send: dict[str, Any]) -> None:
        self.send = send
        self.cut = False

    def __enter__(self) -> dict[str, Any]:
        if self.cut:
            return {k: v for k, v in self.send.items() if k != "stream"}
        return self.send

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if not isinstance(exc, LLMTransientError):
            return
        if getattr(exc, "stream_cut", False):
            self.cut = True
        mode = self.send.get("json_mode")
        from trace_core.llm.json_modes import refused_mode

        if mode not in (None, "prompt") and refused_mode(exc):
            raise LLMRequestError(str(exc), status=exc.status) from exc


def _final(err: LLMError, attempts: int) -> None:
    """Record the attempts on ``err``; a transient error that ran out of retries says so."""
    err.attempts = attempts  # type: ignore[attr-defined]
    if isinstance(err, LLMTransientError) and err.args and attempts > 1:
        err.args = (
            f"{err.args[0]} (gave up after {attempts} attempts: check that the server is up and "
            "reachable, or raise RetryPolicy.max_attempts)",
            *err.args[1:],
        )


@dataclass
class _FakeState:
    """The one field tenacity's exponential wait reads from a retry state."""

    attempt_number: int


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
