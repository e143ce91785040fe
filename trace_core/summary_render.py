"""The entries of a summary (variables, values) and how they render as text, truncated with a
marker when cut."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field


def render_value(value: Any, limit: int | None) -> tuple[str, bool]:
    """Text for a value (str as is, else repr), truncated to ``limit`` chars with a marker."""
    text = value if isinstance(value, str) else _safe_repr(value)
    if limit is not None and len(text) > limit:
        return f"{text[:limit]}...[{len(text) - limit} chars cut]", True
    return text, False


def render_tail(text: str, limit: int | None) -> tuple[str, bool]:
    """The last ``limit`` chars of ``text``, marked when the start is cut."""
    if limit is not None and len(text) > limit:
        return f"[{len(text) - limit} chars cut]...{text[-limit:]}", True
    return text, False


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as err:  # a broken __repr__ must not break the optimizer
        return f"<{type(value).__name__}: repr failed: {err}>"


def render_feedback(messages: Sequence[Any]) -> str:
    """Feedback messages as text: strings as is, other values as JSON (or repr)."""
    parts = []
    for message in messages:
        if isinstance(message, str):
            parts.append(message)
        else:
            try:
                parts.append(json.dumps(message, default=repr))
            except (TypeError, ValueError):
                parts.append(_safe_repr(message))
    return "\n".join(parts)


class Variable(BaseModel):
    """A trainable parameter as the optimizer sees it; ``name`` is the key replies must use."""

    name: str = Field(description="name shown in the prompt: the node name, or label if shared")
    label: str = Field(description="name:k, unique in the process")
    type: str
    value: str = Field(description="rendered value (code: the source)")
    constraint: str | None = None
    description: str | None = None
    is_code: bool = False
    truncated: bool = False


class Value(BaseModel):
    """A non-trainable value: an input, an intermediate result or an output."""

    name: str
    label: str
    type: str
    value: str
    description: str | None = None
    truncated: bool = False


def _variable_line(v: Variable) -> str:
    if v.is_code:
        return f"(code) {v.name}:\n{v.value.rstrip()}"
    return f"({v.type}) {v.name}={v.value}"


def _value_line(v: Value) -> str:
    return f"({v.type}) {v.name}={v.value}"


def _values_text(values: list[Value], cut: int) -> str:
    lines = [_value_line(v) for v in values]
    if cut:
        lines.append(f"... {cut} more cut to fit the size budget ...")
    return "\n".join(lines)
