"""``@bundle(traceable_code=True)``: the body's own operations are recorded as a nested graph.

Trace users bundle a large function and still want its inner steps visible to the optimizer.
Here the body receives nodes instead of plain values and runs with tracing on, so every op
inside records a node. The call itself is one ``NestedMessageNode`` whose parents are the
call's inputs (feedback flows through it like any op) and whose :attr:`nested` is the output
of the inner graph, which ``summarize(..., expand_nested=True)`` shows in place of the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trace_core.errors import ExecutionError
from trace_core.nested import lift, link_nested
from trace_core.nodes import ExceptionNode, MessageNode, Node, ParameterNode
from trace_core.operators import Op

if TYPE_CHECKING:
    from trace_core.bundle import BundledFunction


class NestedMessageNode(MessageNode):
    """A call of a ``traceable_code`` bundle: its body's own graph is kept in :attr:`nested`.

    Backward goes from this node to the call's inputs, as for any op; the nested graph is what
    ``summarize(..., expand_nested=True)`` shows in place of the single call line.
    """

    __slots__ = ("_nested",)

    def __init__(
        self,
        value: Any,
        op: Op,
        parents: tuple[Node, ...],
        keys: tuple[str, ...] | None,
        nested: Node,
    ) -> None:
        super().__init__(value, op, parents, keys)
        self._nested = nested

    @property
    def nested(self) -> Node | None:
        """The output node of the graph the bundle's body built."""
        return self._nested


def call_nested(
    bundled: BundledFunction,
    code: ParameterNode | None,
    instance: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> MessageNode:
    """Run ``bundled``'s body on nodes, recording its ops; return the call's node."""
    call_args = [a if isinstance(a, Node) else Node(a) for a in args]
    call_kwargs = {k: v if isinstance(v, Node) else Node(v) for k, v in kwargs.items()}
    parents: list[Node] = [*call_args, *call_kwargs.values()]
    keys = [bundled._key(i) for i in range(len(call_args))] + list(call_kwargs)
    inner: list[Node] = []
    for parent in list(parents):
        lift(parent._data, inner)
    key_tuple = link_nested(tuple(keys), parents, inner, "nested")
    if code is not None:
        parents.append(code)
        key_tuple += ("__code",)
    try:
        result = bundled._invoke(code, instance, call_args, call_kwargs)
    except Exception as exc:
        if not bundled.catch_execution_error:
            raise
        cause = exc.exception_node.exception if isinstance(exc, ExecutionError) else exc
        exc_node = ExceptionNode.from_exception(cause, bundled.op, tuple(parents), key_tuple)
        raise ExecutionError(exc_node) from exc
    if isinstance(result, Node):
        return NestedMessageNode(result._data, bundled.op, tuple(parents), key_tuple, result)
    found: list[Node] = []
    value = lift(result, found)
    return MessageNode(value, bundled.op, tuple(parents), key_tuple)
