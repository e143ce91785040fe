"""Graph walks: topological order, ancestors, the parameter-to-output subgraph, networkx export.

Every walk uses an explicit stack, never recursion, so a 100,000-node chain works under
Python's default recursion limit. Walks start from outputs and follow parents (the only edges a
graph stores). The walks know nodes only by their ``_parents`` tuple (read directly: it is the
hot loop of every backward) and their ``trainable`` / ``kind`` constants, so this module does
not import ``nodes`` and ``Node.backward`` can use it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from trace_core.operators import TracedOperators

if TYPE_CHECKING:
    import networkx

    from trace_core.nodes import Node, ParameterNode


_OP_KINDS = ("message", "exception")


def _as_list(outputs: Node | Iterable[Node]) -> list[Node]:
    # Every node is a TracedOperators; a node is also iterable, so test it first.
    return [outputs] if isinstance(outputs, TracedOperators) else list(outputs)  # type: ignore[list-item]


def reverse_topological_order(outputs: Node | Iterable[Node]) -> list[Node]:
    """Every ancestor of ``outputs`` (outputs included), each before all of its parents.

    Kahn's algorithm from the outputs: count each node's children inside the graph, then emit
    a node once all its children are emitted. Two flat loops, no recursion, O(nodes + edges).
    """
    roots = _as_list(outputs)
    children: dict[Node, int] = {}
    stack: list[Node] = []
    for root in roots:
        if root not in children:
            children[root] = 0
            stack.append(root)
    while stack:
        node = stack.pop()
        for parent in node._parents:
            count = children.get(parent)
            if count is None:
                children[parent] = 1
                stack.append(parent)
            else:
                children[parent] = count + 1
    order: list[Node] = []
    ready = [root for root in dict.fromkeys(roots) if children[root] == 0]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node._parents:
            count = children[parent] - 1
            children[parent] = count
            if count == 0:
                ready.append(parent)
    return order


def topological_order(outputs: Node | Iterable[Node]) -> list[Node]:
    """Every ancestor of ``outputs`` (outputs included), each after all of its parents."""
    order = reverse_topological_order(outputs)
    order.reverse()
    return order


def ancestors(outputs: Node | Iterable[Node]) -> set[Node]:
    """Every node ``outputs`` was computed from, outputs included (in no particular order)."""
    seen: set[Node] = set(_as_list(outputs))
    stack = list(seen)
    while stack:
        for parent in stack.pop()._parents:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def parameters_of(outputs: Node | Iterable[Node]) -> list[ParameterNode]:
    """The trainable parameters ``outputs`` depend on, in topological order."""
    return [n for n in topological_order(outputs) if n.trainable]  # type: ignore[misc]


def subgraph(
    outputs: Node | Iterable[Node], parameters: Iterable[Node] | None = None
) -> list[Node]:
    """Nodes on some path from a parameter to an output, in topological order.

    With ``parameters=None`` every trainable ancestor counts. This is the part of the graph
    whose values could change if a parameter changed: what an optimizer needs to read.
    """
    order = topological_order(outputs)
    if parameters is None:
        sources: set[Node] = {n for n in order if n.trainable}
    else:
        sources = set(parameters)
    reached: set[Node] = set()
    result: list[Node] = []
    for node in order:
        if node in sources or any(p in reached for p in node._parents):
            reached.add(node)
            result.append(node)
    return result


def to_networkx(outputs: Node | Iterable[Node]) -> networkx.DiGraph:
    """The graph behind ``outputs`` as a ``networkx.DiGraph`` keyed by node label.

    Node attributes: ``name``, ``kind`` (constant / parameter / message / exception), ``op``,
    ``value`` (the Python value) and ``trainable``. Edges go parent -> child with ``arg``, the
    argument name the parent was passed as.
    """
    import networkx

    graph = networkx.DiGraph()
    for node in topological_order(outputs):
        attrs: dict[str, Any] = {
            "name": node.name,
            "kind": kind_of(node),
            "value": node._data,
            "trainable": node.trainable,
            "op": node.op.name if node.kind in _OP_KINDS else None,
        }
        graph.add_node(node.label, **attrs)
        if node.kind in _OP_KINDS:
            for arg, parent in node.inputs.items():
                graph.add_edge(parent.label, node.label, arg=arg)
    return graph


def kind_of(node: Node) -> str:
    """``constant``, ``parameter``, ``message`` or ``exception``."""
    return node.kind
