"""Feedback propagation: the Propagator protocol, the default propagator, per-op overrides.

``backward`` visits the output's ancestors once each, in reverse topological order (an
explicit order, no recursion). For each node it combines the messages its children sent
(``aggregate``, optional on a propagator), stores the result in ``node.feedback``, and asks the
propagator what to send to each parent (``propagate``). With the default
:class:`FeedbackPropagator` the message is the user's feedback object itself, passed by
reference, and no override is registered, so backward is a single graph walk: O(nodes + edges)
time and one list entry per node, unlike propagators that copy the whole subgraph along every
edge. Optimizers read the graph itself through :func:`trace_core.summarize`, not messages.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from trace_core.errors import DisconnectedFeedbackWarning
from trace_core.graph import ancestors, reverse_topological_order

if TYPE_CHECKING:
    from collections.abc import Mapping

    from trace_core.nodes import MessageNode, Node


@runtime_checkable
class Propagator(Protocol):
    """What ``Node.backward`` needs to move feedback from an output to its ancestors.

    A propagator may also define ``aggregate(node, messages) -> message`` to merge what several
    children sent to one node; without it :meth:`FeedbackPropagator.aggregate` is used.
    """

    def init(self, output: Node, feedback: Any) -> Any:
        """The message the output node itself receives."""
        ...

    def propagate(self, node: MessageNode, message: Any) -> Mapping[Node, Any]:
        """Messages for ``node``'s parents given the message ``node`` received."""
        ...


class FeedbackPropagator:
    """Default: every ancestor receives the output's feedback unchanged (shared, not copied).

    ``aggregate`` merges messages arriving at one node from several children: identical
    objects (the usual case) collapse to one; otherwise texts are joined by blank lines,
    numbers summed, anything else kept as a list.
    """

    def init(self, output: Node, feedback: Any) -> Any:
        """The output's feedback, unchanged: the message starts as the feedback itself."""
        return feedback

    def propagate(self, node: MessageNode, message: Any) -> dict[Node, Any]:
        """Pass ``message`` unchanged to every parent of ``node``."""
        return dict.fromkeys(node.parents, message)

    def aggregate(self, node: Node, messages: list[Any]) -> Any:
        """Combine messages reaching ``node``, dropping copies of the same message object."""
        seen: set[int] = set()
        distinct = []
        for message in messages:
            if id(message) not in seen:
                seen.add(id(message))
                distinct.append(message)
        if len(distinct) == 1:
            return distinct[0]
        if all(isinstance(m, str) for m in distinct):
            return "\n\n".join(distinct)
        if all(isinstance(m, int | float) and not isinstance(m, bool) for m in distinct):
            return sum(distinct)
        return distinct


_OVERRIDES: dict[str, Propagator] = {}
_DEFAULT = FeedbackPropagator()


def register(op_name: str, propagator: Propagator) -> None:
    """Use ``propagator.propagate`` for nodes made by the op named ``op_name``.

    Applies to every ``backward`` call in the process until :func:`unregister`.
    """
    if not isinstance(propagator, Propagator):
        raise TypeError("propagator must define init(output, feedback) and propagate(node, msg)")
    _OVERRIDES[op_name] = propagator


def unregister(op_name: str) -> None:
    """Remove an override added with :func:`register` (no error if there is none)."""
    _OVERRIDES.pop(op_name, None)


def registered() -> dict[str, Propagator]:
    """A copy of the current per-op overrides."""
    return dict(_OVERRIDES)


def _aggregate(propagator: Any, node: Node, messages: list[Any]) -> Any:
    combine = getattr(propagator, "aggregate", None)
    if combine is None:
        combine = _DEFAULT.aggregate
    return combine(node, messages)


def backward(output: Node, feedback: Any, propagator: Propagator | None = None) -> None:
    """Propagate ``feedback`` from ``output`` to every ancestor (see module docstring)."""
    prop: Propagator = propagator if propagator is not None else _DEFAULT
    if type(prop) is FeedbackPropagator and not _OVERRIDES:
        # Fast path: every ancestor receives the very same message object, exactly once, so
        # the visiting order does not matter and a plain graph walk suffices.
        message = prop.init(output, feedback)
        reached_parameter = output.deliver_feedback(ancestors(output), message, output)
    else:
        reached_parameter = _propagate(output, feedback, prop, reverse_topological_order(output))
    if not reached_parameter:
        warnings.warn(
            f"feedback given to {output.label} reaches no trainable parameter; nothing can "
            "learn from it (check that the output was computed from a node(..., "
            "trainable=True) and not inside no_trace())",
            DisconnectedFeedbackWarning,
            stacklevel=3,
        )


def _propagate(output: Node, feedback: Any, prop: Propagator, order: list[Node]) -> bool:
    """General path: per-node messages, aggregation, per-op overrides. True if a param got one."""
    overrides = _OVERRIDES
    pending: dict[Node, list[Any]] = {output: [prop.init(output, feedback)]}
    reached_parameter = False
    for node in order:
        messages = pending.pop(node, None)
        if messages is None:
            continue
        message = messages[0] if len(messages) == 1 else _aggregate(prop, node, messages)
        node.receive_feedback(message, output)
        if node.trainable:
            reached_parameter = True
        if not node.parents:
            continue
        op_node = cast("MessageNode", node)  # only op results have parents
        node_prop = overrides.get(op_node.op.name, prop) if overrides else prop
        for parent, parent_message in node_prop.propagate(op_node, message).items():
            waiting = pending.get(parent)
            if waiting is None:
                pending[parent] = [parent_message]
            else:
                waiting.append(parent_message)
    return reached_parameter
