"""Deep copy and pickle for LLM objects that hold locks, thread-local connections and clients.

Trace users deep-copy an optimizer (and its LLM) per rollout or worker. Locks, thread-local
SQLite connections and HTTP clients cannot be copied; a copy gets fresh ones (clients are made
again on first use), and per-process counters of in-flight work start at zero. Everything else
(model, options, usage records, budget spent, cache path) is copied. An API key is kept by a
deep copy but never written by pickle: an unpickled backend reads it from the environment
again (``_key_from_env``), like a new one.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any, ClassVar

_LOCK = type(threading.Lock())
_RLOCK = type(threading.RLock())


class CopySafe:
    """Mixin: ``copy.deepcopy`` and ``pickle`` work although the object holds locks."""

    #: Attributes a copy starts afresh, with a factory for the fresh value.
    _COPY_RESET: ClassVar[dict[str, Callable[[], Any]]] = {}
    #: Attributes pickle never writes (secrets); restored by :meth:`_key_from_env`.
    _PICKLE_DROP: ClassVar[tuple[str, ...]] = ()

    def _portable_state(self, keep_secrets: bool) -> dict[str, Any]:
        state = dict(self.__dict__)
        fresh: dict[str, str] = {}
        for key, value in list(state.items()):
            if isinstance(value, _LOCK | _RLOCK | threading.local):
                fresh[key] = "rlock" if isinstance(value, _RLOCK) else type(value).__name__
                del state[key]
            elif key in self._COPY_RESET or (not keep_secrets and key in self._PICKLE_DROP):
                del state[key]
        state["__fresh__"] = fresh
        return state

    def __getstate__(self) -> dict[str, Any]:
        return self._portable_state(keep_secrets=False)

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        fresh = state.pop("__fresh__", {})
        self.__dict__.update(state)
        for key, kind in fresh.items():
            if kind == "local":
                setattr(self, key, threading.local())
            else:
                setattr(self, key, threading.RLock() if kind == "rlock" else threading.Lock())
        for key, factory in self._COPY_RESET.items():
            setattr(self, key, factory())
        for key in self._PICKLE_DROP:
            if key not in self.__dict__:
                setattr(self, key, self._key_from_env())

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        clone.__setstate__(copy.deepcopy(self._portable_state(keep_secrets=True), memo))
        return clone

    def _key_from_env(self) -> Any:
        """The secret an unpickled object uses (default ``None``: read it where it is used)."""
        return None
