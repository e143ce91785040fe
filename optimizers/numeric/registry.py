"""Name -> factory registry for numeric (torch) optimizers.

Optimizer modules call :func:`register` at import time; the registry imports the modules listed
in ``BUILTIN_MODULES`` lazily, on the first :func:`create` / :func:`available` call, so importing
``optimizers.numeric`` loads no torch. To add optimizers, write a module that calls ``register``
and append its dotted name to ``BUILTIN_MODULES`` (one line per module).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optimizers.errors import NothingToOptimizeError, OptimizerError
from trace_core.registry import Availability, Registry

if TYPE_CHECKING:
    import torch

#: Modules whose import registers optimizers. Append; do not reorder.
BUILTIN_MODULES: list[str] = [
    "optimizers.numeric.torch_builtin",
    "optimizers.numeric.library",
    "optimizers.numeric.zeroth_order",
    "optimizers.numeric.frugal",
    "optimizers.numeric.adadagrad",
    "optimizers.numeric.ranking",
    "optimizers.numeric.sparse_mezo",
    "optimizers.numeric.zo_variants",
    "optimizers.numeric.sgd_sai",
]

Factory = Callable[..., "torch.optim.Optimizer"]


class NumericOptimizerError(OptimizerError):
    """Base class of the numeric optimizer errors."""


class UnknownOptimizerError(NumericOptimizerError, KeyError):
    """No optimizer is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class OptimizerUnavailableError(NumericOptimizerError, ImportError):
    """The optimizer is registered but the library it needs is not installed."""


@dataclass(frozen=True)
class Entry:
    """One registered optimizer: how to build it and which library it needs."""

    name: str
    factory: Factory
    source: str
    """Import name of the library the optimizer needs (``torch``, ``pytorch_optimizer``, ...)."""
    zeroth_order: bool = False
    """True when ``step(closure)`` needs only loss values (the closure never calls backward)."""
    needs_grad: bool = True
    """True when the optimizer updates only tensors with ``requires_grad`` (first-order ones)."""
    required: tuple[tuple[str, str], ...] = ()
    """Keywords :func:`create` must be given, each with what to pass (for the error message)."""


_ENTRIES: Registry[Entry] = Registry(
    "numeric optimizer",
    plural="",
    error=UnknownOptimizerError,
    hint="Third-party optimizers can be added with optimizers.numeric.register()",
)
_LOADED: set[str] = set()
_LOCK = threading.RLock()


def register(
    name: str,
    factory: Factory,
    *,
    source: str,
    zeroth_order: bool = False,
    needs_grad: bool | None = None,
    required: Mapping[str, str] | None = None,
    replace: bool = False,
) -> None:
    """Register ``factory(params, **kw) -> torch.optim.Optimizer`` under ``name``.

    ``source`` is the import name of the library the factory needs; :func:`available` lists the
    name only when that library can be imported. ``needs_grad`` (default: not ``zeroth_order``)
    says the optimizer updates only tensors with ``requires_grad``; :func:`create` then refuses
    a parameter list where none has it. ``required`` maps keywords the factory cannot do
    without to what to pass (``{"oracle": "<callable ...>"}``); :func:`create` refuses a call
    that omits one, naming it. Registering a taken name raises unless
    ``replace=True`` (two modules silently fighting over one name would be a hard bug to find).
    """
    grads = (not zeroth_order) if needs_grad is None else needs_grad
    key = name.lower()
    with _LOCK:
        if key in _ENTRIES and not replace:
            raise NumericOptimizerError(
                f"numeric optimizer {key!r} is already registered (source "
                f"{_ENTRIES[key].source!r}); pass replace=True to override it"
            )
        _ENTRIES.register(
            key,
            Entry(key, factory, source, zeroth_order, grads, tuple((required or {}).items())),
            requires=[source],
            install_hint="install the torch extra: pip install 'optoforge[torch]'",
        )


def _load_builtins() -> None:
    with _LOCK:
        for module in BUILTIN_MODULES:
            if module not in _LOADED:
                _LOADED.add(module)
                importlib.import_module(module)


def entry(name: str) -> Entry:
    """Return the registry entry for ``name`` (case-insensitive), or raise a listing error."""
    _load_builtins()
    return _ENTRIES.load(name)


def availability(name: str) -> Availability:
    """Whether optimizer ``name``'s library can be imported here, and if not what to install."""
    _load_builtins()
    return _ENTRIES.availability(name)


def available() -> list[str]:
    """Names of the registered optimizers whose library is importable, sorted."""
    _load_builtins()
    return sorted(_ENTRIES.available())


def registered() -> list[str]:
    """Every registered name, importable or not, sorted."""
    _load_builtins()
    return sorted(_ENTRIES.names())


def create(name: str, params: Iterable[Any], **kw: Any) -> torch.optim.Optimizer:
    """Build the optimizer registered as ``name`` over ``params``.

    ``params`` is what ``torch.optim`` accepts (tensors or param-group dicts); tensor
    ``ParameterNode`` objects are accepted too and replaced by their tensors. ``nonfinite``
    ("raise", the default, "skip" or "ignore") says what a step does when a gradient (or, for
    zeroth-order optimizers, the loss) is NaN/inf: raise :class:`NonFiniteError`, skip the step
    leaving parameters and state untouched, or step anyway. Other keywords go to the optimizer.
    """
    from optimizers.numeric.nonfinite import guard

    found = entry(name)
    usable = _ENTRIES.availability(found.name)
    if not usable:
        raise OptimizerUnavailableError(f"{usable.reason} (the library is not installed)")
    policy = kw.pop("nonfinite", "raise")
    if found.zeroth_order:  # no gradients to check: the optimizer checks its loss values
        kw["nonfinite"] = policy
    tensors = require_tensors(found.name, _as_torch_params(params), needs_grad=found.needs_grad)
    for keyword, what in found.required:
        if keyword not in kw:
            raise TypeError(f"{found.name} needs {keyword}={what}")
    optimizer = found.factory(tensors, **kw)
    return guard(optimizer, policy, zeroth_order=found.zeroth_order)


def require_tensors(
    optimizer: str, params: Iterable[Any], *, needs_grad: bool = False
) -> list[Any]:
    """``params`` as a list, refused with `NothingToOptimizeError` when nothing would move.

    That is when it holds no tensor at all, or (``needs_grad``: a first-order optimizer) no
    tensor with ``requires_grad``, so every step would silently leave everything unchanged.
    """
    items = list(params)
    tensors = [p for item in items for p in (item["params"] if isinstance(item, dict) else [item])]
    if not tensors:
        raise NothingToOptimizeError(
            f"{optimizer} got an empty parameter list, so it could never change anything; pass "
            "the tensors to train (e.g. model.parameters())"
        )
    if needs_grad and not any(getattr(p, "requires_grad", False) for p in tensors):
        raise NothingToOptimizeError(
            f"{optimizer} updates tensors from their gradients, but none of the {len(tensors)} "
            "tensors has requires_grad=True, so no step would change them; create them with "
            "requires_grad=True, or use a zeroth-order optimizer (mezo, sparse_mezo), which "
            "needs only loss values"
        )
    return items


def _as_torch_params(params: Iterable[Any]) -> list[Any]:
    """Replace tensor ParameterNodes (anything with a tensor ``.data``) by their tensors."""
    import torch

    def unwrap(p: Any) -> Any:
        if isinstance(p, torch.Tensor):
            return p
        data = getattr(p, "data", None)
        if isinstance(data, torch.Tensor):
            return data
        raise TypeError(
            "numeric optimizers take torch tensors or tensor ParameterNodes, "
            f"got {type(p).__name__}"
        )

    items = list(params)
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            group = dict(item)
            group["params"] = [unwrap(p) for p in group["params"]]
            out.append(group)
        else:
            out.append(unwrap(item))
    return out
