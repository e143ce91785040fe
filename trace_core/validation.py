"""The type rule a parameter update must satisfy (``ParameterNode.set``).

The new value must have the old value's type, except for lossless numeric conversions
(int parameter: ``10.0 -> 10`` but not ``10.5``; float parameter: ``3 -> 3.0``). ``bool``
accepts only ``bool`` and ``str`` only ``str``. Containers are checked element by element when
the old container was homogeneous, so an optimizer cannot turn ``[1, 2]`` into ``["a"]``.
A list is accepted for a tuple parameter (JSON has no tuples) and converted.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

from trace_core.errors import InvalidUpdate, TraceError


class TypeRuleError(TraceError, ValueError):
    """The new value does not fit the old value's type; the message says what was expected."""


def coerce_like(old: Any, new: Any, where: str = "value") -> Any:
    """Return ``new`` converted to ``old``'s type, or raise ``TypeRuleError``."""
    if old is None:
        return new
    if isinstance(old, bool):
        if isinstance(new, bool):
            return new
        raise TypeRuleError(f"{where} must be a bool (True/False), got {_describe(new)}")
    if isinstance(old, numbers.Integral):
        return _coerce_int(new, where)
    if isinstance(old, numbers.Real) and not _is_tensor(old):
        if isinstance(new, numbers.Real) and not isinstance(new, bool) and not _is_tensor(new):
            return float(new)
        raise TypeRuleError(f"{where} must be a number, got {_describe(new)}")
    if isinstance(old, str):
        if isinstance(new, str):
            return new
        raise TypeRuleError(f"{where} must be a str, got {_describe(new)}")
    if isinstance(old, list | tuple):
        return _coerce_sequence(old, new, where)
    if isinstance(old, dict):
        return _coerce_dict(old, new, where)
    if _is_tensor(old):
        return _coerce_tensor(old, new, where)
    if isinstance(new, type(old)):
        return new
    raise TypeRuleError(f"{where} must be a {type(old).__name__}, got {_describe(new)}")


def _coerce_int(new: Any, where: str) -> int:
    if isinstance(new, bool) or _is_tensor(new):
        raise TypeRuleError(f"{where} must be an int, got {_describe(new)}")
    if isinstance(new, numbers.Integral):
        return int(new)
    if isinstance(new, numbers.Real):
        as_float = float(new)
        if as_float.is_integer():
            return int(as_float)
        raise TypeRuleError(f"{where} must be an int; {new!r} is not a whole number")
    raise TypeRuleError(f"{where} must be an int, got {_describe(new)}")


def _homogeneous_type(items: Any) -> Any:
    """The first item if every item has the same type (and there is one), else ``None``."""
    first = None
    for i, item in enumerate(items):
        if i == 0:
            first = item
        elif type(item) is not type(first):
            return None
    return first


def _coerce_sequence(old: list[Any] | tuple[Any, ...], new: Any, where: str) -> Any:
    if not isinstance(new, list | tuple):
        raise TypeRuleError(f"{where} must be a {type(old).__name__}, got {_describe(new)}")
    template = _homogeneous_type(old)
    items = list(new)
    if template is not None:
        items = [coerce_like(template, item, f"{where}[{i}]") for i, item in enumerate(items)]
    return tuple(items) if isinstance(old, tuple) else items


def _coerce_dict(old: dict[Any, Any], new: Any, where: str) -> dict[Any, Any]:
    if not isinstance(new, dict):
        raise TypeRuleError(f"{where} must be a dict, got {_describe(new)}")
    template = _homogeneous_type(old.values())
    if template is None:
        return dict(new)
    return {k: coerce_like(template, v, f"{where}[{k!r}]") for k, v in new.items()}


def _coerce_tensor(old: Any, new: Any, where: str) -> Any:
    import torch

    try:
        tensor = torch.as_tensor(new, dtype=old.dtype, device=old.device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeRuleError(f"{where} must be a tensor-like value: {err}") from None
    if tensor.shape != old.shape:
        raise TypeRuleError(
            f"{where} must keep the tensor shape {tuple(old.shape)}, got {tuple(tensor.shape)}"
        )
    return tensor


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "grad_fn")


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def validate_update(
    label: str,
    old: Any,
    value: Any,
    validator: Callable[[Any], Any] | None,
    constraints: Sequence[Any],
) -> Any:
    """``value`` as parameter ``label`` would store it, or ``InvalidUpdate`` saying why not.

    ``validator`` (code parameters) replaces the type rule; predicate ``constraints`` must hold.
    """
    if validator is not None:
        try:
            value = validator(value)
        except InvalidUpdate:
            raise
        except (TypeRuleError, ValueError, TypeError, SyntaxError) as err:
            raise InvalidUpdate(label, str(err)) from err
    else:
        try:
            value = coerce_like(old, value)
        except TypeRuleError as err:
            raise InvalidUpdate(label, str(err)) from None
    for check in constraints:
        if isinstance(check, str):
            continue
        name = getattr(check, "__name__", None) or repr(check)
        try:
            ok = check(value)
        except Exception as err:
            raise InvalidUpdate(label, f"constraint {name} raised {err!r}") from err
        if not ok:
            raise InvalidUpdate(label, f"value {value!r:.80} violates constraint {name}")
    return value


def constraint_tuple(constraint: Any) -> tuple[Any, ...]:
    """A parameter's ``constraint`` argument (one entry, a list or None) as a checked tuple."""
    if constraint is None:
        return ()
    items = tuple(constraint) if isinstance(constraint, list | tuple) else (constraint,)
    for item in items:
        if not (isinstance(item, str) or callable(item)):
            raise TypeError(
                f"constraint must be text or a predicate callable, got {type(item).__name__}"
            )
    return items
