"""One option list for several commands: a command that takes another's options by name.

Typer builds a command's options from ``inspect.signature``, which honours ``__signature__``.
A command that shares options with another (less some) gets them here instead of repeating
twenty annotated parameters; they reach it as keyword arguments (``**options``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def with_options(shared: Callable[..., Any], *, drop: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Declare the decorated command with its own named parameters, then ``shared``'s.

    ``drop`` names ``shared`` parameters the command does not take. The command collects the
    shared ones with ``**options``; a name declared in both places is a programming error.
    """

    def apply(command: F) -> F:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.kind in _NAMED]
        taken = {p.name for p in own}
        extra = [
            p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for p in inspect.signature(shared, eval_str=True).parameters.values()
            if p.name not in drop
        ]
        clash = taken & {p.name for p in extra}
        if clash:
            raise ValueError(f"{command.__name__}: {sorted(clash)} declared twice")
        command.__signature__ = signature.replace(parameters=own + extra)  # type: ignore[attr-defined]
        return command

    return apply
