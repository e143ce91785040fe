"""One registry helper: names mapped to lazily imported objects, and one ``py:`` spec resolver.

LLM providers, solver backends, numeric optimizers and metrics are all looked up by name. A
`Registry` maps each name to a target, either the object itself or a ``"module:attr"`` path that
is imported only when the name is first used, so naming a backend never imports its library. It
says which names exist (`names`), whether one can be used here and why not (`availability`), and
raises one typed error for an unknown name that lists the known ones.

`resolve_spec` reads the ``py:package.module:factory`` specs that ``--llm`` and ``--embedder``
accept and calls the zero-argument factory; `import_target` imports a ``"module:attr"`` path.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from trace_core.errors import TraceError

T = TypeVar("T")

SPEC_PREFIX = "py:"


class RegistryError(TraceError):
    """Base class of the registry errors."""


class UnknownNameError(RegistryError, LookupError):
    """A registry was asked for a name it does not hold; the message lists the known names."""

    def __str__(self) -> str:  # LookupError would quote the message like a dict key
        return str(self.args[0]) if self.args else ""


class SpecError(RegistryError, ValueError):
    """A ``module:attr`` or ``py:module:factory`` spec is malformed or cannot be imported."""


@dataclass(frozen=True)
class Availability:
    """Whether a registered name can be used on this machine, and if not, why (and the fix)."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class _Entry:
    target: Any
    requires: tuple[str, ...]
    install_hint: str


def import_target(path: str, *, error: type[Exception] = SpecError, what: str = "") -> Any:
    """Import ``"package.module:attr"`` and return the attribute.

    Raises ``error`` (default `SpecError`) naming the path and what went wrong; ``what`` prefixes
    the message (e.g. ``"--llm 'py:x:y'"``) so the user sees which setting to fix.
    """
    prefix = f"{what}: " if what else ""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise error(f"{prefix}write package.module:attribute, got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise error(
            f"{prefix}cannot import {module_name}.{attr}: {err}; make sure the module is "
            "installed or on PYTHONPATH"
        ) from err
    try:
        return getattr(module, attr)
    except AttributeError as err:
        raise error(f"{prefix}module {module_name!r} has no attribute {attr!r}") from err


def is_spec(value: str | None) -> bool:
    """True when ``value`` is a ``py:package.module:factory`` spec."""
    return bool(value) and str(value).startswith(SPEC_PREFIX)


def resolve_spec(spec: str, *, error: type[Exception] = SpecError, what: str = "spec") -> Any:
    """Build the object a ``py:package.module:factory`` spec names by calling ``factory()``.

    Used for custom LLM objects (``--llm``) and embedders (``--embedder``): a zero-argument
    factory keeps the spec a plain string that survives pickling to worker processes.
    """
    if not is_spec(spec):
        raise error(f"{what} {spec!r}: write py:package.module:factory")
    label = f"{what} {spec!r}"
    factory = import_target(spec[len(SPEC_PREFIX) :], error=error, what=label)
    if not callable(factory):
        raise error(f"{label}: {type(factory).__name__} is not callable; name a factory function")
    return factory()


def _importable(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


class Registry(MutableMapping[str, Any], Generic[T]):
    """Names mapped to objects of type ``T``, imported lazily from ``"module:attr"`` paths.

    ``kind`` names what the registry holds in messages ("solver", "LLM provider"; ``plural``
    defaults to ``kind + "s"``, ``""`` says just "known"); ``error`` is
    the typed exception raised for an unknown name (it must accept one message argument), so each
    package keeps its own error class; its message lists the known names (sorted unless
    ``sort_known=False``) and ends with ``hint``. Insertion order is kept: it is a preference order.
    Reading the registry as a mapping gives the registered targets (paths or objects).
    """

    def __init__(
        self,
        kind: str,
        *,
        plural: str | None = None,
        error: Callable[[str], Exception] = UnknownNameError,
        hint: str = "",
        normalize: Callable[[str], str] = str.lower,
        sort_known: bool = True,
    ) -> None:
        self.kind = kind
        self.plural = f"{kind}s" if plural is None else plural
        self._error = error
        self._hint = hint
        self._normalize = normalize
        self._sort_known = sort_known
        self._entries: dict[str, _Entry] = {}
        self._loaded: dict[str, T] = {}
        self._lock = threading.RLock()

    def register(
        self,
        name: str,
        target: str | T,
        *,
        requires: Sequence[str] = (),
        install_hint: str = "",
    ) -> None:
        """Add or replace ``name``: an object, or a ``"module:attr"`` path imported on first use.

        ``requires`` lists the import names of the packages the target needs; `availability`
        reports the first one missing, with ``install_hint`` (e.g. ``pip install 'optoforge[x]'``).
        """
        key = self._normalize(name)
        with self._lock:
            self._entries[key] = _Entry(target, tuple(requires), install_hint)
            self._loaded.pop(key, None)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (no error when it is not registered)."""
        key = self._normalize(name)
        with self._lock:
            self._entries.pop(key, None)
            self._loaded.pop(key, None)

    def names(self) -> list[str]:
        """Every registered name, usable here or not, in registration order."""
        return list(self._entries)

    def unknown(self, name: str) -> Exception:
        """The typed error for an unknown ``name``, listing the known names."""
        names = sorted(self._entries) if self._sort_known else list(self._entries)
        known = ", ".join(names) or "(none)"
        hint = f". {self._hint}" if self._hint else ""
        label = f"known {self.plural}" if self.plural else "known"
        return self._error(f"unknown {self.kind} {name!r}; {label}: {known}{hint}")

    def key(self, name: str) -> str:
        """The registered key for ``name``; raises the registry's error when it is unknown."""
        key = self._normalize(name)
        if key not in self._entries:
            raise self.unknown(name)
        return key

    def load(self, name: str) -> T:
        """The object registered as ``name``, importing its module on first use."""
        key = self.key(name)
        with self._lock:
            if key not in self._loaded:
                target = self._entries[key].target
                if isinstance(target, str):
                    target = import_target(target, what=f"{self.kind} {key!r}")
                self._loaded[key] = target
            return self._loaded[key]

    def availability(self, name: str) -> Availability:
        """Whether ``name``'s required packages can be imported here; if not, which and the fix."""
        entry = self._entries[self.key(name)]
        for package in entry.requires:
            if not _importable(package):
                fix = f": {entry.install_hint}" if entry.install_hint else ""
                return Availability(False, f"{self.kind} {name!r} needs {package!r}{fix}")
        return Availability(True)

    def available(self) -> list[str]:
        """The names whose required packages can be imported here, in registration order."""
        return [name for name in self._entries if self.availability(name)]

    # MutableMapping: name -> registered target (path or object).
    def __getitem__(self, name: str) -> Any:
        return self._entries[self._normalize(name)].target  # KeyError, as a mapping should

    def __setitem__(self, name: str, target: Any) -> None:
        self.register(name, target)

    def __delitem__(self, name: str) -> None:
        self.unregister(self.key(name))

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._normalize(name) in self._entries
