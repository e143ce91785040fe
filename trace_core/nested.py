"""Nodes found inside values: a list, tuple, dict or set holding nodes.

Traced code often builds containers of nodes (``node("+").join([a, b])``, ``node([x, y])``, a
bundle returning ``(x, y)``). An operation must compute on plain values and must link every
node it read as a parent, or feedback would never reach it. :func:`lift` does both: it returns
the value with each node replaced by its plain value, and collects the nodes it replaced.

Only the built-in container types are searched (not arbitrary objects), so the check costs
one type test on the common case of a scalar value.
"""

from __future__ import annotations

from typing import Any

from trace_core.operators import TracedOperators

CONTAINERS = frozenset({list, tuple, dict, set, frozenset})


def holds_nodes(value: Any) -> bool:
    """True if ``value`` is a node or a built-in container with a node somewhere inside."""
    if isinstance(value, TracedOperators):
        return True
    if value.__class__ not in CONTAINERS:
        return False
    stack = [value]
    while stack:
        current = stack.pop()
        items = current.values() if isinstance(current, dict) else current
        if isinstance(current, dict) and any(isinstance(k, TracedOperators) for k in current):
            return True
        for item in items:
            if isinstance(item, TracedOperators):
                return True
            if item.__class__ in CONTAINERS:
                stack.append(item)
    return False


def lift(value: Any, found: list[Any]) -> Any:
    """``value`` with every node inside replaced by its plain value; nodes go to ``found``.

    A node's own value is lifted too (a node holding a list of nodes). Containers without
    nodes are returned as they are (not copied).
    """
    if isinstance(value, TracedOperators):
        found.append(value)
        inner = value._data
        return lift(inner, found) if holds_nodes(inner) else inner
    if not holds_nodes(value):
        return value
    if isinstance(value, dict):
        return {lift(k, found): lift(v, found) for k, v in value.items()}
    return type(value)(lift(v, found) for v in value)


def not_yet_in(parents: list[Any], found: list[Any]) -> list[Any]:
    """The nodes of ``found`` that are not in ``parents``, each once, in the order found."""
    known = set(parents)
    fresh: list[Any] = []
    for node in found:
        if node not in known:
            known.add(node)
            fresh.append(node)
    return fresh


def link_nested(
    keys: tuple[str, ...], parents: list[Any], inner: list[Any], where: str
) -> tuple[str, ...]:
    """Append the nodes found inside values to ``parents``; their keys are ``where[i]``."""
    extra = not_yet_in(parents, inner)
    parents.extend(extra)
    return tuple(keys) + tuple(f"{where}[{i}]" for i in range(len(extra)))
