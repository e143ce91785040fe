"""Environment settings of the request pipeline: default completion length, request timeout."""

from __future__ import annotations

import os

from trace_core.llm.errors import LLMConfigError

MAX_TOKENS_ENV = "OPTOFORGE_MAX_TOKENS"
DEFAULT_MAX_TOKENS = 1024
"""Reply length cap sent when nobody set one: servers default to unlimited, and a request the
client abandoned (timeout) keeps generating and delays the next one."""


def default_max_tokens() -> int:
    """Completion tokens asked for when a call sets none: ``$OPTOFORGE_MAX_TOKENS``, else 1024."""
    raw = os.environ.get(MAX_TOKENS_ENV)
    if not raw:
        return DEFAULT_MAX_TOKENS
    try:
        return int(raw)
    except ValueError as err:
        raise LLMConfigError(f"{MAX_TOKENS_ENV} must be a whole number, got {raw!r}") from err


TIMEOUT_ENV = "OPTOFORGE_LLM_TIMEOUT"


def request_timeout(timeout: float | None) -> float:
    """Seconds per request attempt: ``timeout``, else ``$OPTOFORGE_LLM_TIMEOUT``, else 60."""
    if timeout is not None:
        return float(timeout)
    raw = os.environ.get(TIMEOUT_ENV)
    try:
        return float(raw) if raw else 60.0
    except ValueError as err:
        raise LLMConfigError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from err
