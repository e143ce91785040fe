"""Containers of nodes: lists, dicts and tuples of nodes and parameters as first-class values.

Trace users keep parameters in ``Seq`` and ``Map``. Here ``NodeList``, ``NodeDict`` and
``NodeTuple`` are the built-in ``list``/``dict``/``tuple`` with :class:`~trace_core.Module`'s
``parameters()``, ``save()`` and ``load()``; they pickle and deep-copy like the built-ins (nodes
inside are copied detached). ``Seq`` and ``Map`` are aliases for Trace code.
:func:`apply_op` applies an operation element-wise over containers (Trace's ``apply_op``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trace_core.module import Module
from trace_core.operators import TracedOperators


class NodeList(list[Any], Module):
    """A list of nodes (or anything) that finds the parameters inside it.

    ``NodeList([a, b])`` and, as Trace's ``Seq(a, b)``, ``NodeList(a, b)`` are the same.
    """

    def __init__(self, *items: Any) -> None:
        single = len(items) == 1 and not isinstance(items[0], TracedOperators | str)
        super().__init__(items[0] if single and hasattr(items[0], "__iter__") else items)


class NodeDict(dict[Any, Any], Module):
    """A dict of nodes (or anything) that finds the parameters inside it, keys included."""


class NodeTuple(tuple[Any, ...], Module):
    """A tuple of nodes (or anything) that finds the parameters inside it."""

    def __new__(cls, *items: Any) -> NodeTuple:
        """``NodeTuple([a, b])`` or ``NodeTuple(a, b)``, like :class:`NodeList`."""
        single = len(items) == 1 and not isinstance(items[0], TracedOperators | str)
        return super().__new__(cls, items[0] if single and hasattr(items[0], "__iter__") else items)


Seq = NodeList
Map = NodeDict


def apply_op(op: Callable[..., Any], output: Any, *args: Any, **kwargs: Any) -> Any:
    """Apply ``op`` element-wise: ``output`` (a list, tuple or dict) gives the shape.

    Each argument that has the same kind of container contributes its element at the same
    index or key; any other argument (a node, a plain value) is broadcast to every element.
    Lists and dicts in ``output`` are filled in place; the result is returned either way. When
    ``output`` is not a container, this is just ``op(*args, **kwargs)``.
    """
    inputs = [*args, *kwargs.values()]
    if all(isinstance(x, TracedOperators) for x in inputs):
        return op(*args, **kwargs)  # nothing to broadcast over
    if isinstance(output, list | tuple):
        kind: type[Any] = list if isinstance(output, list) else tuple
        items = [
            apply_op(
                op,
                out,
                *[a[i] if isinstance(a, kind) else a for a in args],
                **{k: v[i] if isinstance(v, kind) else v for k, v in kwargs.items()},
            )
            for i, out in enumerate(output)
        ]
        if isinstance(output, list):
            output[:] = items
            return output
        return type(output)(items)
    if isinstance(output, dict):
        for key in output:
            output[key] = apply_op(
                op,
                output[key],
                *[a[key] if isinstance(a, dict) else a for a in args],
                **{k: v[key] if isinstance(v, dict) else v for k, v in kwargs.items()},
            )
        return output
    return op(*args, **kwargs)
