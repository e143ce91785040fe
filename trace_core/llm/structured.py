"""Structured output: find the JSON in a reply, validate it, and re-ask when it does not fit.

Models wrap JSON in code fences or prose, truncate it, or get a field wrong. `extract_json`
finds the first JSON value that parses; `StructuredSession` validates it against the requested
type and, on failure, builds a bounded repair re-ask that quotes the error. When the repairs run
out it raises `LLMOutputError` carrying the raw reply.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import TypeAdapter, ValidationError

from trace_core.llm.base import Message
from trace_core.llm.errors import LLMOutputError

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()


class _NoJSON(ValueError):
    """No JSON value was found in the text."""


def extract_json(text: str) -> Any:
    """Return the first JSON value in ``text``: the whole text, a fenced block, or embedded.

    Raises ``ValueError`` when no complete JSON object or array can be found.
    """
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    for block in _FENCE.findall(text):
        try:
            return json.loads(block.strip())
        except ValueError:
            continue
    for start, char in enumerate(text):
        if char not in "{[":
            continue
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except ValueError:
            continue
        return value
    raise _NoJSON("the reply contains no complete JSON object")


def schema_of(response_format: Any) -> dict[str, Any]:
    """The JSON schema of a pydantic model (or any type pydantic can validate)."""
    return TypeAdapter(response_format).json_schema()


def format_instruction(response_format: Any) -> str:
    """The instruction appended to a request that asks for structured output."""
    schema = json.dumps(schema_of(response_format), separators=(",", ":"))
    return (
        "Reply with only a JSON value that validates against this JSON schema, "
        f"with no other text:\n{schema}"
    )


def with_instruction(messages: list[Message], instruction: str) -> list[Message]:
    """A copy of ``messages`` whose last user turn also carries ``instruction``."""
    out = [dict(m) for m in messages]
    if out and out[-1].get("role") == "user" and isinstance(out[-1].get("content"), str):
        out[-1]["content"] = f"{out[-1]['content']}\n\n{instruction}"
    else:
        out.append({"role": "user", "content": instruction})
    return out


def parse_reply(text: str, response_format: Any) -> Any:
    """Extract and validate the JSON in ``text``; raise ``ValueError`` saying what is wrong."""
    data = extract_json(text)
    echo = _schema_echo(data, response_format)
    if echo:
        raise ValueError(echo)
    try:
        return TypeAdapter(response_format).validate_python(data)
    except ValidationError as err:
        raise ValueError(_short_validation_error(err)) from err


_SCHEMA_KEYS = frozenset({"properties", "$defs", "$schema", "required", "additionalProperties"})


def _schema_echo(data: Any, response_format: Any) -> str:
    """Why ``data`` looks like the JSON schema copied back rather than filled in ("" if not)."""
    if not isinstance(data, dict):
        return ""
    own = set(schema_of(response_format).get("properties") or {})
    echoed = (_SCHEMA_KEYS & set(data)) - own
    if not echoed or ("type" not in data and "properties" not in data):
        return ""
    return (
        "the reply repeats the JSON schema (keys "
        + ", ".join(sorted(echoed))
        + ") instead of giving values for it; fill in the fields"
    )


def _short_validation_error(err: ValidationError) -> str:
    lines = []
    for item in err.errors()[:8]:
        where = ".".join(str(p) for p in item.get("loc", ())) or "(root)"
        lines.append(f"{where}: {item.get('msg', 'invalid')}")
    return "the JSON does not match the schema: " + "; ".join(lines)


class StructuredSession:
    """The parse / repair loop of one structured call, independent of sync or async transport.

    Usage: send `messages`; pass each reply text to `accept`. It returns True with the result
    in `value`, or False after putting the repair re-ask into `messages`; it raises
    `LLMOutputError` when the repairs are used up.
    """

    def __init__(
        self,
        messages: list[Message],
        response_format: Any,
        *,
        max_repairs: int = 1,
        add_instruction: bool = True,
    ) -> None:
        self.response_format = response_format
        self.max_repairs = max_repairs
        self.repairs = 0
        self.value: Any = None
        self.messages = (
            with_instruction(messages, format_instruction(response_format))
            if add_instruction
            else list(messages)
        )

    def accept(self, text: str) -> bool:
        """Parse ``text`` into `value` (True); on failure prepare a repair re-ask or raise."""
        try:
            self.value = parse_reply(text, self.response_format)
            return True
        except ValueError as err:
            reason = str(err)
        if self.repairs >= self.max_repairs:
            raise LLMOutputError(
                f"the model's reply could not be parsed as {_type_name(self.response_format)} "
                f"after {self.repairs} repair re-ask(s): {reason}. The raw reply is in "
                "`.raw_text`; try a stronger model or a simpler schema.",
                raw_text=text,
                reason=reason,
            )
        self.repairs += 1
        self.messages = [
            *self.messages,
            {"role": "assistant", "content": text},
            {
                "role": "user",
                "content": (
                    f"Your reply could not be used: {reason}. Reply again with only the "
                    "corrected JSON value, no prose and no code fences."
                ),
            },
        ]
        return False


def _type_name(response_format: Any) -> str:
    return getattr(response_format, "__name__", None) or repr(response_format)
