"""The tracing mode: whether operations on nodes record a graph right now.

One context variable (one lookup per op) holds the mode, so threads and asyncio tasks each have
their own:

- ``True``: operations record nodes (the default);
- ``False``: inside ``no_trace()``, operations return plain values;
- a list: inside a bundled function's body, not recording, and every ``Node.data`` read is
  appended to the list (hidden-dependency detection).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_MODE: ContextVar[bool | list[Any]] = ContextVar("trace_core_mode", default=True)

#: A parameter constraint: text shown to optimizers or a predicate enforced by ``set()``.
Constraint = str | Callable[[Any], bool]


def tracing_enabled() -> bool:
    """True unless inside ``no_trace()`` (or inside a bundled function's body)."""
    return _MODE.get() is True


@contextmanager
def tracing(enabled: bool) -> Iterator[None]:
    """Turn recording on or off for the enclosed block (``no_trace()`` is ``tracing(False)``).

    Turning it off inside a bundled function's body changes nothing: the body is already
    untraced, and its ``.data`` reads keep being recorded.
    """
    current = _MODE.get()
    if enabled == (current is True) or (not enabled and current is not True):
        yield
        return
    token = _MODE.set(enabled)
    try:
        yield
    finally:
        _MODE.reset(token)
