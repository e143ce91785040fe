"""How a structured request asks an OpenAI-compatible server for JSON, negotiated per endpoint.

Servers differ: OpenAI, vLLM, LM Studio and recent ollama take ``response_format`` of type
``json_schema``; llama.cpp's Python server rejects that type but constrains decoding with a
grammar when sent ``{"type": "json_object", "schema": ...}``; others only know tool calls, and
some know nothing but the prompt. The modes, tried in this order until the server accepts one:

- ``json_schema``: ``response_format={"type": "json_schema", ...}`` (the openai SDK's ``parse``);
- ``json_object``: ``response_format={"type": "json_object", "schema": ...}`` (llama.cpp);
- ``tool``: one forced function call whose parameters are the schema (instructor's TOOLS mode);
- ``prompt``: nothing native; the schema is in the prompt and bad replies get a repair re-ask.

The first mode an endpoint accepts is remembered for the process (`remember`), so negotiation
costs at most a few rejected requests per endpoint. Users pin a mode with ``json_mode=`` on a
backend, ``OPTOFORGE_JSON_MODE`` or ``--json-mode``; ``auto`` (the default) negotiates.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from trace_core.llm.errors import LLMConfigError, LLMError, LLMRequestError, LLMTransientError

ENV_VAR = "OPTOFORGE_JSON_MODE"
MODES: tuple[str, ...] = ("json_schema", "json_object", "tool", "prompt")
AUTO = "auto"
TOOL_NAME = "reply"

# Words a server uses when it refuses the structured-output part of a request. llama.cpp's
# server reports its request validation as HTTP 500, so a 5xx naming these is a refusal too.
_REFUSAL_WORDS = (
    "response_format",
    "json_schema",
    "json_object",
    "tool_choice",
    "tools",
    "function",
    "not supported",
    "unsupported",
    "grammar",
)

_WORKING: dict[tuple[str, ...], str] = {}
_LOCK = threading.Lock()


def check_mode(mode: str | None) -> str | None:
    """``mode`` when it names a mode or ``auto``; `LLMConfigError` saying the choices otherwise."""
    if mode is None or mode == AUTO or mode in MODES:
        return mode
    raise LLMConfigError(
        f"unknown JSON mode {mode!r}: use one of {AUTO}, {', '.join(MODES)} "
        f"(json_mode=..., {ENV_VAR} or --json-mode)"
    )


def pinned_mode(json_mode: str | None) -> str | None:
    """The mode the user fixed (argument, else ``OPTOFORGE_JSON_MODE``); None: negotiate."""
    mode = check_mode(json_mode or os.environ.get(ENV_VAR) or None)
    return None if mode in (None, AUTO) else mode


def candidates(endpoint: tuple[str, ...], pinned: str | None) -> list[str]:
    """The modes to try for ``endpoint``, best first: the pinned one, else the remembered one
    and then the others (a server may change behind a URL)."""
    if pinned is not None:
        return [pinned]
    with _LOCK:
        known = _WORKING.get(endpoint)
    if known is None:
        return list(MODES)
    return [known, *(m for m in MODES if m != known)]


def remember(endpoint: tuple[str, ...], mode: str) -> None:
    """Record that ``endpoint`` accepted ``mode``; later calls use it first."""
    with _LOCK:
        _WORKING[endpoint] = mode


def forget(endpoint: tuple[str, ...] | None = None) -> None:
    """Drop what was learned about ``endpoint`` (every endpoint when None)."""
    with _LOCK:
        if endpoint is None:
            _WORKING.clear()
        else:
            _WORKING.pop(endpoint, None)


def known_mode(endpoint: tuple[str, ...]) -> str | None:
    """The mode ``endpoint`` is known to accept, if any."""
    with _LOCK:
        return _WORKING.get(endpoint)


def refused_mode(err: LLMError) -> bool:
    """True when ``err`` says the server refused the structured-output part of the request.

    Only such errors move negotiation to the next mode; auth errors, 404s, rate limits and
    outages are not about the mode and are raised (or retried) as they are.
    """
    status = getattr(err, "status", None)
    text = str(err).lower()
    if isinstance(err, LLMRequestError):
        return status in (400, 415, 422, None) or any(w in text for w in _REFUSAL_WORDS)
    if isinstance(err, LLMTransientError) and status is not None and 500 <= status < 600:
        return any(w in text for w in _REFUSAL_WORDS)
    return False


def request_params(mode: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions parameters that ask for JSON in ``mode``."""
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": TOOL_NAME, "schema": schema, "strict": False},
            }
        }
    if mode == "json_object":
        return {"response_format": {"type": "json_object", "schema": schema}}
    if mode == "tool":
        return {
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": TOOL_NAME,
                        "description": "Give the reply as this function's arguments.",
                        "parameters": schema,
                    },
                }
            ],
            "tool_choice": {"type": "function", "function": {"name": TOOL_NAME}},
        }
    return {}
