"""Module-level functions for the Trace-compatibility tests (source must be readable)."""

from __future__ import annotations

import functools
from typing import Any

from trace_core import bundle, node


def shout(fn: Any) -> Any:
    """A decorator that upper-cases a function's string result."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs).upper()

    return wrapper


@bundle(trainable=True)
@shout
def greet(name):
    """Greet someone."""
    return "hello " + name


@bundle(traceable_code=True)
def pipeline(x, y):
    """Several steps whose ops stay visible."""
    z = x + y
    return z * 2


@bundle(trainable=True)
def double(x):
    """Double x."""
    return x * 2


def triple(x):
    """Triple x."""
    return x * 3


def dummy_method():
    """Return one."""
    return 1


class BaseAgent:
    """A Module subclass with a parameter and a trainable method (Trace's test_modules)."""

    def __init__(self) -> None:
        self._param = node(1, trainable=True)

    @bundle(trainable=True)
    def method1(self, x):
        """Return x."""
        return x


class NonModuleBase:
    """A plain base class whose bundled method a trainable subclass method calls."""

    @bundle()
    def method1(self):
        """Return one."""
        return 1
