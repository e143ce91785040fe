"""The one usage total of the project (`LLMUsage`) and a thread-safe running `Meter` of it.

Every layer that reports what its LLM calls spent (an optimizer step, a formulation result, a
synthesis ledger, an AlphaOPT run, a prompt search) uses `LLMUsage`: calls, tokens and dollars,
saved as the same five JSON fields everywhere. `Meter` totals it across threads and also per
thread, so concurrent workers can say what each item cost.
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel

_TOKENS = ("prompt_tokens", "completion_tokens", "total_tokens")


def _int(source: Any, name: str) -> int:
    return int(getattr(source, name, 0) or 0)


class LLMUsage(BaseModel):
    """Calls, tokens and dollars of some LLM calls: one call's, one step's or a whole run's.

    Cached calls count like any other here; a backend's cache hit already reports zero cost.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0

    @classmethod
    def of(cls, completion: Any) -> LLMUsage:
        """The usage of one ``Completion`` (any object with ``usage`` and ``cost``) as one call."""
        return cls().add(completion)

    def add(self, completion: Any) -> LLMUsage:
        """Count one completed call in place; returns ``self`` so ``total = total.add(c)`` works."""
        usage = getattr(completion, "usage", None)
        tokens = {name: _int(usage, name) for name in _TOKENS}
        cost = float(getattr(completion, "cost", 0.0) or 0.0)
        return self.add_totals(LLMUsage(calls=1, cost=cost, **tokens))

    def add_totals(self, other: Any) -> LLMUsage:
        """Add a total that already counts its calls (another `LLMUsage`, or any object with the
        same fields; None adds nothing). Returns ``self``."""
        if other is None:
            return self
        for name in ("calls", *_TOKENS):
            setattr(self, name, getattr(self, name) + _int(other, name))
        self.cost += float(getattr(other, "cost", 0.0) or 0.0)
        return self

    def merge(self, other: LLMUsage) -> None:
        """Add another total to this one (same as `add_totals`)."""
        self.add_totals(other)

    def __add__(self, other: LLMUsage) -> LLMUsage:
        return type(self)().add_totals(self).add_totals(other)


class Meter:
    """Thread-safe running `LLMUsage` of a run, also kept per calling thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = LLMUsage()
        self._local = threading.local()

    def add(self, completion: Any) -> None:
        """Count one completed call (its tokens and cost)."""
        self.add_usage(LLMUsage.of(completion))

    def add_usage(self, usage: LLMUsage) -> None:
        """Add ``usage`` to the run's total and to the calling thread's."""
        with self._lock:
            self._usage = self._usage + usage
        self._local.usage = self.thread_usage + usage

    @property
    def thread_usage(self) -> LLMUsage:
        """What the calling thread has spent (per-item accounting under concurrent workers)."""
        usage: LLMUsage = getattr(self._local, "usage", LLMUsage())
        return usage

    @property
    def usage(self) -> LLMUsage:
        """What all threads have spent so far."""
        with self._lock:
            return self._usage
