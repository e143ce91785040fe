"""Graph nodes: constants, trainable parameters, operation results and recorded errors.

A graph is made only of child -> parent references (``MessageNode._parents``); there is no
process-global list of nodes, so a graph is freed as soon as its outputs are dropped. Every
class uses ``__slots__``. ``Node.name`` is the name given (default: from the value's type or
the op); ``Node.label`` is ``name:k``, ``k`` from a per-process counter (unique).
"""

from __future__ import annotations

import itertools
import traceback
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from trace_core.errors import ExecutionError, GraphReleasedError
from trace_core.nested import CONTAINERS, lift, link_nested
from trace_core.operators import Op, TracedOperators
from trace_core.propagators import backward as _propagate
from trace_core.tensors import assign_tensor, is_scalar_tensor_with_grad
from trace_core.tracing import _MODE, Constraint
from trace_core.validation import constraint_tuple, validate_update

if TYPE_CHECKING:
    from trace_core.propagators import Propagator

_COUNTER = itertools.count()

# Outputs whose backward() ran without retain_graph=True (weak: dropping a graph frees it).
_RELEASED: weakref.WeakSet[Node] = weakref.WeakSet()


# A number above every existing node's serial and below every later one's (a C call: cheap).
next_serial: Callable[[], int] = _COUNTER.__next__


def _plain(value: Any) -> Any:
    return value.data if isinstance(value, Node) else value


# Slots a copy does not keep, with the value a detached copy starts with.
_DETACHED: dict[str, Any] = {"_parents": (), "_feedback": None, "_outputs": None}


class Node(TracedOperators):
    """A value in the graph. Constants are plain ``Node``; see the subclasses for the rest."""

    __slots__ = ("__weakref__", "_data", "_description", "_feedback", "_id", "_name", "_parents")

    _parents: tuple[Node, ...]
    #: True for ``ParameterNode`` (what optimizers may change); a class constant.
    trainable: bool = False
    #: ``constant``, ``parameter``, ``message`` or ``exception``; a class constant.
    kind: str = "constant"

    def __init__(self, value: Any, name: str | None = None, description: str | None = None):
        self._data = value
        self._name = name
        self._description = description
        self._id = next(_COUNTER)
        self._parents = ()
        self._feedback: list[Any] | None = None

    @property
    def data(self) -> Any:
        """The node's value. Reads inside a bundled function body are recorded."""
        mode = _MODE.get()
        if mode.__class__ is list:
            mode.append(self)
        return self._data

    @property
    def name(self) -> str:
        """The name as given, or one derived from the value's type."""
        return self._name or type(self._data).__name__

    @property
    def serial(self) -> int:
        """Creation order in this process (the ``k`` of :attr:`label`)."""
        return self._id

    @property
    def label(self) -> str:
        """``name:k``, unique in this process; prompts and files use it to split same names."""
        return f"{self.name}:{self._id}"

    @property
    def description(self) -> str | None:
        """Free-text description shown to optimizers."""
        return self._description

    @property
    def parents(self) -> list[Node]:
        """The nodes this node was computed from (empty for constants and parameters)."""
        return list(self._parents)

    @property
    def feedback(self) -> list[Any]:
        """Feedback messages that reached this node, in arrival order (empty when none)."""
        return list(self._feedback) if self._feedback else []

    def zero_feedback(self) -> None:
        """Forget the feedback received so far."""
        self._feedback = None

    @staticmethod
    def deliver_feedback(nodes: Iterable[Node], message: Any, output: Node) -> bool:
        """Give each of ``nodes`` the same ``message`` from ``output``; True if one is a
        parameter. The default propagator's fast path: one loop, no call per node."""
        reached = False
        for node in nodes:
            received = node._feedback
            if received is None:
                node._feedback = [message]
            else:
                received.append(message)
            if node.trainable:
                reached = True
                outputs = node._outputs
                if outputs is None:
                    node._outputs = [output]  # type: ignore[attr-defined]
                else:
                    outputs.append(output)
        return reached

    def receive_feedback(self, message: Any, output: Node) -> None:
        """Record ``message``, sent by a backward pass from ``output`` (used by propagators)."""
        self.deliver_feedback((self,), message, output)

    def backward(
        self,
        feedback: Any = None,
        propagator: Propagator | None = None,
        *,
        retain_graph: bool = False,
    ) -> None:
        """Send ``feedback`` to every ancestor, in reverse topological order, iteratively.

        ``feedback`` is text or any JSON value. When this node's value is a scalar torch tensor
        with a ``grad_fn``, torch's ``backward(retain_graph=...)`` runs too, so tensor
        parameters get ``.grad`` (then ``feedback`` may be omitted). On an ``ExceptionNode``
        the default feedback is the error itself. A warning is issued when no trainable
        parameter is reached. As in Trace (and torch), a second backward from the same output
        raises ``GraphReleasedError`` unless the earlier one passed ``retain_graph=True``:
        feedback would otherwise pile up twice on every ancestor.
        """
        if self in _RELEASED:
            raise GraphReleasedError(
                f"backward() already ran from {self.label}; call zero_feedback() on the "
                "parameters and run the program again, or pass retain_graph=True to the "
                "earlier backward() to send feedback through the same graph twice"
            )
        tensor = is_scalar_tensor_with_grad(self._data)
        if tensor:
            self._data.backward(retain_graph=retain_graph)
        if feedback is not None or not tensor:
            message = self._default_feedback() if feedback is None else feedback
            _propagate(self, message, propagator)
        if not retain_graph:
            _RELEASED.add(self)

    def _default_feedback(self) -> Any:
        raise ValueError(
            f"backward() on {self.label} needs feedback (text or a JSON value); only scalar "
            "tensor losses and exception nodes have a default"
        )

    # -- tracing ------------------------------------------------------------------------
    def _trace(self, op: Op, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> Any:
        if _MODE.get() is not True:
            plain_kw = {k: _plain(v) for k, v in kwargs.items()} if kwargs else {}
            return op.fn(*[_plain(a) for a in args], **plain_kw)
        parents = [a if isinstance(a, Node) else Node(a) for a in args]
        keys: tuple[str, ...] | None = None
        values = [p._data for p in parents]
        kw_values: dict[str, Any] = {}
        if len(parents) > len(op.keys) or kwargs:
            extra = tuple(f"args[{i}]" for i in range(len(parents) - len(op.keys)))
            keys = op.keys[: len(parents)] + extra
            if kwargs:
                for key, value in kwargs.items():
                    kw_node = value if isinstance(value, Node) else Node(value)
                    parents.append(kw_node)
                    kw_values[key] = kw_node._data
                keys = keys + tuple(kwargs)
        inner: list[Node] = []
        if any(v.__class__ in CONTAINERS for v in values):
            values = [lift(v, inner) for v in values]
        if kw_values and any(v.__class__ in CONTAINERS for v in kw_values.values()):
            kw_values = {k: lift(v, inner) for k, v in kw_values.items()}
        if inner:
            keys = link_nested(keys or op.keys[: len(parents)], parents, inner, "nested")
        try:
            result = op.fn(*values, **kw_values)
        except Exception as exc:
            raise ExecutionError(
                ExceptionNode.from_exception(exc, op, tuple(parents), keys)
            ) from exc
        if result.__class__ in CONTAINERS or isinstance(result, Node):
            inner = []
            result = lift(result, inner)
            if inner:
                keys = link_nested(keys or op.keys[: len(parents)], parents, inner, "returned")
        return MessageNode(result, op, tuple(parents), keys)

    def _trace2(self, op: Op, a: Any, b: Any) -> Any:
        if _MODE.get() is not True:
            return op.fn(_plain(a), _plain(b))
        if not isinstance(a, Node):
            a = Node(a)
        if not isinstance(b, Node):
            b = Node(b)
        try:
            result = op.fn(a._data, b._data)
        except Exception as exc:
            if a._data.__class__ in CONTAINERS or b._data.__class__ in CONTAINERS:
                return self._trace(op, (a, b))  # maybe nodes inside the values: unwrap first
            raise ExecutionError(ExceptionNode.from_exception(exc, op, (a, b), None)) from exc
        if result.__class__ in _MAY_HOLD_NODES:
            # Rare: a container result, or a node read from an object. Take the general path,
            # which unwraps nodes inside the inputs and links the nodes inside the result (the
            # operators traced here are pure, so computing again is safe).
            return self._trace(op, (a, b))
        return MessageNode(result, op, (a, b))

    def _record(self, op: Op, value: Any, args: tuple[Any, ...]) -> Any:
        if _MODE.get() is not True:
            return value
        parents = [a if isinstance(a, Node) else Node(a) for a in args]
        if value.__class__ in CONTAINERS or isinstance(value, Node):
            inner: list[Node] = []
            value = lift(value, inner)  # an item that is (or holds) a node: link it
            if inner:
                keys = link_nested(op.keys[: len(parents)], parents, inner, "returned")
                return MessageNode(value, op, tuple(parents), keys)
        return MessageNode(value, op, tuple(parents))

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        # copy, deepcopy and pickle make a detached copy (as Trace does): value, name and
        # description, no parents, feedback or outputs, so no graph is copied or recursed.
        state = {}
        for klass in type(self).__mro__:
            for key in getattr(klass, "__slots__", ()):
                if key in _DETACHED or key == "__weakref__" or key in state:
                    continue
                try:
                    state[key] = object.__getattribute__(self, key)
                except AttributeError:
                    continue
        return None, state

    def __setstate__(self, state: Any) -> None:
        # A copy is a new node, so it gets its own label.
        slots = state[1] if isinstance(state, tuple) else state
        for key, value in (slots or {}).items():
            object.__setattr__(self, key, value)
        for key, empty in _DETACHED.items():
            if hasattr(type(self), key):
                object.__setattr__(self, key, empty)
        self._id = next(_COUNTER)

    def __repr__(self) -> str:
        text = repr(self._data)
        if len(text) > 60:
            text = text[:57] + "..."
        return f"{type(self).__name__}({self.label}, {text})"

    # Identity semantics: nodes are dict keys and set members; use .eq() for traced equality.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other


class ParameterNode(Node):
    """A trainable value. It changes only through :meth:`set`, which validates the new value.

    ``constraint`` entries are text (shown to optimizers) or predicates (enforced by ``set``).
    Code parameters (``is_code``) hold a function's source; their validator compiles new source
    and checks its signature and the code policy.
    """

    __slots__ = ("_constraints", "_outputs", "_validator", "is_code")

    trainable = True
    kind = "parameter"

    def __init__(
        self,
        value: Any,
        name: str | None = None,
        description: str | None = None,
        constraint: Constraint | list[Constraint] | None = None,
        *,
        validator: Callable[[Any], Any] | None = None,
        is_code: bool = False,
    ) -> None:
        super().__init__(value, name, description)
        self._constraints = constraint_tuple(constraint)
        self._validator = validator
        self._outputs: list[Node] | None = None
        self.is_code = is_code

    @property
    def constraint(self) -> str | None:
        """The text constraints (what optimizers are told), joined; ``None`` when there are none."""
        texts = [c for c in self._constraints if isinstance(c, str)]
        return "; ".join(texts) if texts else None

    @property
    def constraints(self) -> tuple[Constraint, ...]:
        """Every constraint: text entries and predicate callables."""
        return self._constraints

    @property
    def feedback_outputs(self) -> list[Node]:
        """The output nodes whose ``backward()`` reached this parameter (aligned with feedback)."""
        return list(self._outputs) if self._outputs else []

    def zero_feedback(self) -> None:
        """Clear feedback and :attr:`feedback_outputs` (ready for the next backward pass)."""
        super().zero_feedback()
        self._outputs = None

    def validate(self, value: Any) -> Any:
        """Return ``value`` as it would be stored by :meth:`set`, or raise ``InvalidUpdate``."""
        if isinstance(value, Node):
            value = value._data
        return validate_update(self.label, self._data, value, self._validator, self._constraints)

    def set(self, value: Any) -> None:
        """Validate ``value`` and make it the parameter's value; ``InvalidUpdate`` otherwise.

        Tensor parameters are updated in place, so torch optimizers holding them stay valid.
        """
        new = self.validate(value)
        if not assign_tensor(self._data, new):
            self._data = new


class MessageNode(Node):
    """The result of one traced operation; its parents are the operation's inputs."""

    __slots__ = ("_keys", "_op")

    kind = "message"

    def __init__(
        self,
        value: Any,
        op: Op,
        parents: tuple[Node, ...],
        keys: tuple[str, ...] | None = None,
    ) -> None:
        self._data = value
        self._name = None
        self._description = None
        self._id = next(_COUNTER)
        self._parents = parents
        self._feedback = None
        self._op = op
        self._keys = keys

    @property
    def name(self) -> str:
        """This node's own name, else its operation's name."""
        return self._name or self._op.name

    @property
    def op(self) -> Op:
        """The operation that produced this node (shared by all its results)."""
        return self._op

    @property
    def description(self) -> str:
        """This node's own description, else its operation's description."""
        return self._description or self._op.description

    @property
    def inputs(self) -> dict[str, Node]:
        """Parents by argument name, e.g. ``{"a": x, "b": y}`` for ``x + y``."""
        keys = self._keys if self._keys is not None else self._op.keys
        return dict(zip(keys, self._parents, strict=False))

    @property
    def nested(self) -> Node | None:
        """For a ``traceable_code`` bundle call: the output node of the graph its body built."""
        return None

    @property
    def info(self) -> dict[str, Any]:
        """Trace's ``info``: op name, source, file, line, inputs, external dependencies, output."""
        inputs = self.inputs
        nested = self.nested
        return {
            **self._op.info(),
            "inputs": inputs,
            "external_dependencies": [n for k, n in inputs.items() if k.startswith("external[")],
            "output": nested if nested is not None else self._data,
        }


class ExceptionNode(MessageNode):
    """An exception raised by a traced operation, kept as a value so it can be the feedback."""

    __slots__ = ("_traceback_text",)
    _traceback_text: str  # set by from_exception

    kind = "exception"

    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        op: Op,
        parents: tuple[Node, ...],
        keys: tuple[str, ...] | None,
    ) -> ExceptionNode:
        """Record ``exc`` raised by ``op`` on ``parents``, with its traceback formatted now."""
        node = cls(exc, op, parents, keys)
        node._traceback_text = "".join(traceback.format_exception(exc)).rstrip()
        return node

    @property
    def traceback_text(self) -> str:
        """The traceback formatted when the exception was recorded ("" when built directly)."""
        return getattr(self, "_traceback_text", "")

    def _default_feedback(self) -> Any:
        exc = self.exception
        return f"{type(exc).__name__}: {exc}"

    @property
    def exception(self) -> BaseException:
        """The exception object that was raised."""
        exc: BaseException = self._data
        return exc


# Result types that may hold nodes (exact classes, so one set lookup per op).
_MAY_HOLD_NODES = CONTAINERS | {Node, ParameterNode, MessageNode, ExceptionNode}
