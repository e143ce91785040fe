"""Traced Python operators: ``+``, ``*``, ``[]``, attribute access, calls, iteration, methods.

``Node`` inherits :class:`TracedOperators`, so ordinary Python expressions on nodes record
``MessageNode`` results. ``==`` and ``hash`` keep identity semantics (nodes live in sets and
dicts); use :meth:`TracedOperators.eq` / :meth:`TracedOperators.ne` for traced equality.
``bool()``, ``len()`` and ``in`` must return plain Python values, so they are not traced
(use :meth:`TracedOperators.len` and :meth:`TracedOperators.contains` to trace them); control
flow that depends on a node's value is therefore invisible to the graph.
"""

from __future__ import annotations

import copy
import inspect
import operator
import textwrap
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trace_core.nodes import Node


class Op:
    """Describes one kind of traced operation: its name, callable, documentation, argument names.

    One ``Op`` is shared by every ``MessageNode`` it produces, so per-node memory stays small.
    ``source`` is the function's code shown to optimizers (empty for built-in operators).
    """

    __slots__ = ("__weakref__", "description", "fn", "keys", "name", "reads_attributes", "source")

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        description: str,
        keys: tuple[str, ...] = (),
        source: str = "",
    ) -> None:
        self.name = name
        self.fn = fn
        self.description = description
        self.keys = keys
        self.source = source
        # True when a result may hold nodes its inputs' values did not (getattr, getitem on an
        # object): only then is the result searched for nodes to link.
        self.reads_attributes = False

    def info(self) -> dict[str, Any]:
        """Name, description, source, file and first line of the op's function (Trace's info).

        ``source`` is the code optimizers see for trainable bundles, else the function's
        text when it can be read (empty for built-in operators).
        """
        code = getattr(self.fn, "__code__", None)
        source = self.source
        if not source and code is not None and not self.description.startswith("[" + "<"):
            try:
                source = textwrap.dedent(inspect.getsource(self.fn))
            except (OSError, TypeError):
                source = ""
        return {
            "fun_name": self.name,
            "description": self.description,
            "source": source,
            "file": code.co_filename if code is not None else None,
            "line_number": code.co_firstlineno if code is not None else None,
        }

    def __repr__(self) -> str:
        return f"Op({self.name!r})"

    # An op is shared code, like a function: copies of a node share it.
    def __copy__(self) -> Op:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Op:
        return self


def _builtin(name: str, fn: Callable[..., Any], doc: str, keys: tuple[str, ...]) -> Op:
    return Op(name, fn, f"[{name}] {doc}", keys)


_AB = ("a", "b")
ADD = _builtin("add", operator.add, "a + b", _AB)
SUB = _builtin("subtract", operator.sub, "a - b", _AB)
MUL = _builtin("multiply", operator.mul, "a * b", _AB)
TRUEDIV = _builtin("divide", operator.truediv, "a / b", _AB)
FLOORDIV = _builtin("floor_divide", operator.floordiv, "a // b", _AB)
MOD = _builtin("mod", operator.mod, "a % b", _AB)
POW = _builtin("power", operator.pow, "a ** b", _AB)
MATMUL = _builtin("matmul", operator.matmul, "a @ b", _AB)
LSHIFT = _builtin("lshift", operator.lshift, "a << b", _AB)
RSHIFT = _builtin("rshift", operator.rshift, "a >> b", _AB)
AND = _builtin("bitwise_and", operator.and_, "a & b", _AB)
OR = _builtin("bitwise_or", operator.or_, "a | b", _AB)
XOR = _builtin("bitwise_xor", operator.xor, "a ^ b", _AB)
LT = _builtin("less_than", operator.lt, "a < b", _AB)
LE = _builtin("less_equal", operator.le, "a <= b", _AB)
GT = _builtin("greater_than", operator.gt, "a > b", _AB)
GE = _builtin("greater_equal", operator.ge, "a >= b", _AB)
EQ = _builtin("equal", operator.eq, "a == b", _AB)
NE = _builtin("not_equal", operator.ne, "a != b", _AB)
NEG = _builtin("negative", operator.neg, "-x", ("x",))
POS = _builtin("positive", operator.pos, "+x", ("x",))
ABS = _builtin("abs", abs, "abs(x)", ("x",))
INVERT = _builtin("invert", operator.invert, "~x", ("x",))
GETITEM = _builtin("getitem", operator.getitem, "x[index]", ("x", "index"))
GETATTR = _builtin("getattr", getattr, "getattr(x, attribute)", ("x", "attribute"))
GETITEM.reads_attributes = GETATTR.reads_attributes = True
LEN = _builtin("len", len, "len(x)", ("x",))
CONTAINS = _builtin("contains", operator.contains, "item in x", ("x", "item"))
ITERATE = _builtin(
    "iterate",
    lambda x, i: (x if isinstance(x, list | tuple | str) else list(x))[i],
    "the i-th item when iterating over x (dict: its keys)",
    ("x", "i"),
)
CLONE = _builtin("clone", copy.deepcopy, "a deep copy of x", ("x",))
TO_LIST = _builtin("list", list, "list(x): the items of an iterable x", ("x",))
CALL = _builtin("call", lambda fn, *args, **kw: fn(*args, **kw), "fn(*args, **kwargs)", ("fn",))

_METHOD_OPS: dict[tuple[str, str], Op] = {}


def method_op(type_name: str, method: str) -> Op:
    """The shared ``Op`` for calling ``method`` on a value of type ``type_name``."""
    key = (type_name, method)
    op = _METHOD_OPS.get(key)
    if op is None:
        name = f"{type_name}.{method}"

        def call(obj: Any, *args: Any, **kwargs: Any) -> Any:
            return getattr(obj, method)(*args, **kwargs)

        op = Op(name, call, f"[{name}] calls x.{method}(...) on the value", ("x",))
        _METHOD_OPS[key] = op
    return op


class BoundMethod:
    """``node.method`` where the node's value has a callable ``method``: calling it is one op.

    Without this, ``text.upper()`` would record two ops (an attribute read and a call).
    """

    __slots__ = ("_method", "_node")

    def __init__(self, node: Node, method: str) -> None:
        self._node = node
        self._method = method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        op = method_op(type(self._node._data).__name__, self._method)
        return self._node._trace(op, (self._node, *args), kwargs)

    def __repr__(self) -> str:
        return f"<traced method {self._method} of {self._node!r}>"


class TracedOperators:
    """Operator overloads for ``Node``; each builds a MessageNode through ``Node._trace``."""

    __slots__ = ()

    _data: Any

    def _trace(self, op: Op, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError

    def _trace2(self, op: Op, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def _record(self, op: Op, value: Any, args: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def __add__(self, other: Any) -> Any:
        return self._trace2(ADD, self, other)

    def __radd__(self, other: Any) -> Any:
        return self._trace2(ADD, other, self)

    def __sub__(self, other: Any) -> Any:
        return self._trace2(SUB, self, other)

    def __rsub__(self, other: Any) -> Any:
        return self._trace2(SUB, other, self)

    def __mul__(self, other: Any) -> Any:
        return self._trace2(MUL, self, other)

    def __rmul__(self, other: Any) -> Any:
        return self._trace2(MUL, other, self)

    def __truediv__(self, other: Any) -> Any:
        return self._trace2(TRUEDIV, self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return self._trace2(TRUEDIV, other, self)

    def __floordiv__(self, other: Any) -> Any:
        return self._trace2(FLOORDIV, self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return self._trace2(FLOORDIV, other, self)

    def __mod__(self, other: Any) -> Any:
        return self._trace2(MOD, self, other)

    def __rmod__(self, other: Any) -> Any:
        return self._trace2(MOD, other, self)

    def __pow__(self, other: Any) -> Any:
        return self._trace2(POW, self, other)

    def __rpow__(self, other: Any) -> Any:
        return self._trace2(POW, other, self)

    def __matmul__(self, other: Any) -> Any:
        return self._trace2(MATMUL, self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return self._trace2(MATMUL, other, self)

    def __lshift__(self, other: Any) -> Any:
        return self._trace2(LSHIFT, self, other)

    def __rlshift__(self, other: Any) -> Any:
        return self._trace2(LSHIFT, other, self)

    def __rshift__(self, other: Any) -> Any:
        return self._trace2(RSHIFT, self, other)

    def __rrshift__(self, other: Any) -> Any:
        return self._trace2(RSHIFT, other, self)

    def __and__(self, other: Any) -> Any:
        return self._trace2(AND, self, other)

    def __rand__(self, other: Any) -> Any:
        return self._trace2(AND, other, self)

    def __or__(self, other: Any) -> Any:
        return self._trace2(OR, self, other)

    def __ror__(self, other: Any) -> Any:
        return self._trace2(OR, other, self)

    def __xor__(self, other: Any) -> Any:
        return self._trace2(XOR, self, other)

    def __rxor__(self, other: Any) -> Any:
        return self._trace2(XOR, other, self)

    def __lt__(self, other: Any) -> Any:
        return self._trace2(LT, self, other)

    def __le__(self, other: Any) -> Any:
        return self._trace2(LE, self, other)

    def __gt__(self, other: Any) -> Any:
        return self._trace2(GT, self, other)

    def __ge__(self, other: Any) -> Any:
        return self._trace2(GE, self, other)

    def eq(self, other: Any) -> Any:
        """Traced ``self == other`` (``==`` itself compares node identity)."""
        return self._trace2(EQ, self, other)

    def ne(self, other: Any) -> Any:
        """Traced ``self != other``."""
        return self._trace2(NE, self, other)

    def __neg__(self) -> Any:
        return self._trace(NEG, (self,))

    def __pos__(self) -> Any:
        return self._trace(POS, (self,))

    def __abs__(self) -> Any:
        return self._trace(ABS, (self,))

    def __invert__(self) -> Any:
        return self._trace(INVERT, (self,))

    def __getitem__(self, index: Any) -> Any:
        return self._trace2(GETITEM, self, index)

    def getattr(self, attribute: str) -> Any:
        """Traced attribute read, for attributes that ``Node`` itself defines (``name``...)."""
        return self._trace2(GETATTR, self, attribute)

    def __getattr__(self, attribute: str) -> Any:
        # Only reached when normal lookup fails. Private and dunder names are never traced, so
        # copy/pickle probes and unset slots behave like ordinary Python objects.
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        try:
            value = getattr(self._data, attribute)
        except AttributeError:
            raise AttributeError(
                f"neither the node nor its value ({type(self._data).__name__}) "
                f"has attribute {attribute!r}"
            ) from None
        if callable(value) and not isinstance(value, type | TracedOperators):
            return BoundMethod(self, attribute)  # type: ignore[arg-type]
        return self._trace2(GETATTR, self, attribute)

    def clone(self) -> Any:
        """Traced deep copy of the value: a new node whose parent is this one (Trace's clone)."""
        return self._trace(CLONE, (self,))

    def detach(self) -> Any:
        """A copy of this node without parents or feedback (Trace's ``detach``)."""
        return copy.deepcopy(self)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Traced ``value.method(*args, **kwargs)`` as one op (Trace's ``Node.call``)."""
        return BoundMethod(self, method)(*args, **kwargs)  # type: ignore[arg-type]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._trace(CALL, (self, *args), kwargs)

    def len(self) -> Any:
        """Traced ``len(value)``."""
        return self._trace(LEN, (self,))

    def contains(self, item: Any) -> Any:
        """Traced ``item in value``."""
        return self._trace2(CONTAINS, self, item)

    def __iter__(self) -> Iterator[Any]:
        """Yield one traced node per item (list, tuple, str, dict keys, set, any iterable)."""
        data = self._data
        if isinstance(data, list | tuple | str):
            items = data
        else:
            try:
                items = list(data)
            except TypeError:
                # Not iterable (say a bundle returned None and the caller unpacks it): record
                # the failure as an exception node and raise ExecutionError, like any op.
                self._trace(TO_LIST, (self,))
                raise
        for i, item in enumerate(items):
            yield self._record(ITERATE, item, (self, i))

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, item: Any) -> bool:
        return (item._data if isinstance(item, TracedOperators) else item) in self._data

    def __bool__(self) -> bool:
        return bool(self._data)
