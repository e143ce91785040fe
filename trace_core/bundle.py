"""``node()``, ``@bundle`` and ``no_trace()``: how Python values and functions enter the graph.

A bundled function is one traced operation: its arguments become the parents of the
``MessageNode`` it returns, its body runs on plain values (so it is not traced inside), and
reading any other node's ``.data`` inside the body is detected as a hidden dependency. With
``trainable=True`` the function's source is a code ``ParameterNode``; optimizers rewrite it with
``set(new_source)``, which compiles it and checks the signature and code policy first.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar, overload

from trace_core.bundle_code import TrainableCode
from trace_core.code_policy import decorators_of, function_source, signature_key
from trace_core.errors import ExecutionError, MissingInputsError, SandboxUnavailableError
from trace_core.nested import CONTAINERS, holds_nodes, lift, not_yet_in
from trace_core.nested_call import NestedMessageNode, call_nested
from trace_core.nodes import ExceptionNode, MessageNode, Node, ParameterNode, next_serial
from trace_core.operators import Op
from trace_core.tracing import _MODE, Constraint, tracing

F = TypeVar("F", bound=Callable[..., Any])

_MAY_HOLD_NODES = CONTAINERS | {Node, ParameterNode, MessageNode, NestedMessageNode}  # searched

# "[name] text": Trace's convention, the bracketed name is the op's name.
_NAMED = re.compile(r"^\[([^\]]+)\]\s*(.*)$", re.DOTALL)


def node(
    value: Any,
    name: str | None = None,
    trainable: bool = False,
    description: str | None = None,
    constraint: Constraint | list[Constraint] | None = None,
) -> Node:
    """Wrap ``value`` as a graph node; a trainable one is a ``ParameterNode``.

    A Node is returned unchanged. ``constraint`` (text shown to optimizers, a predicate
    enforced by ``set()``, or a list of both) applies to trainable nodes only.
    """
    if isinstance(value, Node):
        return value
    if trainable:
        return ParameterNode(value, name, description, constraint)
    return Node(value, name, description)


@contextmanager
def no_trace() -> Iterator[None]:
    """Inside this block bundled functions and operators return plain values, recording nothing."""
    with tracing(False):
        yield


#: Trace's spelling of :func:`no_trace` (there, ops still make nodes, only unlinked).
stop_tracing = no_trace


class BundledFunction(TrainableCode):
    """A function wrapped by ``@bundle``; calling it with nodes returns a ``MessageNode``."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        trainable: bool,
        description: str | None,
        catch_execution_error: bool,
        allow_external_dependencies: bool,
        allow_unsafe_code: bool,
        isolation: Literal["sandbox"] | None,
        sandbox_timeout_s: float,
        traceable_code: bool = False,
    ) -> None:
        if traceable_code and isolation == "sandbox":
            raise ValueError("traceable_code=True records nodes in this process; no sandbox")
        if isolation not in (None, "sandbox"):
            raise ValueError(f"isolation must be None or 'sandbox', got {isolation!r}")
        self._is_async = inspect.iscoroutinefunction(fn)
        if self._is_async and isolation == "sandbox":
            raise ValueError("isolation='sandbox' supports plain functions, not async ones")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.trainable = trainable
        self.catch_execution_error = catch_execution_error
        self.allow_external_dependencies = allow_external_dependencies
        self.allow_unsafe_code = allow_unsafe_code
        self.isolation = isolation
        self.sandbox_timeout_s = sandbox_timeout_s
        self.traceable_code = traceable_code
        signature = inspect.signature(fn)
        params = list(signature.parameters.values())
        self._is_method = bool(params) and params[0].name == "self"
        if self._is_method:
            params = params[1:]
        self._positional = tuple(
            p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
        var = [p.name for p in params if p.kind is p.VAR_POSITIONAL]
        self._varargs = var[0] if var else "args"
        self._signature = signature_key(fn)
        doc = inspect.getdoc(fn) or ""
        text = description or (doc.splitlines()[0] if doc else fn.__name__)
        named = _NAMED.match(text)
        op_name = named.group(1) if named else fn.__name__
        needs_source = trainable or isolation == "sandbox"
        self.source = function_source(fn) if needs_source else ""
        self._decorators = decorators_of(self.source) if self.source else frozenset()
        op_text = text if named else f"[{op_name}] {text}"
        self.op = Op(op_name, fn, op_text, self._positional, self.source)
        self._compiled: dict[str, Callable[..., Any]] = {self.source: fn} if needs_source else {}
        self._function_code: ParameterNode | None = None
        self._instance_code: weakref.WeakKeyDictionary[Any, ParameterNode] = (
            weakref.WeakKeyDictionary()
        )

    # -- calling ------------------------------------------------------------------------------
    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self._entry, instance)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._is_method and args:
            return self._entry(args[0], *args[1:], **kwargs)
        if self._is_async:
            return self._acall(None, args, kwargs)
        return self._call(None, args, kwargs)

    def _entry(self, instance: Any, *args: Any, **kwargs: Any) -> Any:
        if self._is_async:
            return self._acall(instance, args, kwargs)
        return self._call(instance, args, kwargs)

    def _call(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        code = self.code_parameter(instance) if self.trainable else None
        if _MODE.get() is not True:
            return self._invoke(code, instance, *_plain_arguments(args, kwargs))
        if self.traceable_code:
            return call_nested(self, code, instance, args, kwargs)
        parents, keys, call_args, call_kwargs = self._inputs(code, args, kwargs)
        # The body runs untraced (it is this one op) while its .data reads are recorded.
        reads: list[Node] = []
        mark = next_serial()  # nodes made after this are the body's own, not dependencies
        token = _MODE.set(reads)
        error: Exception | None = None
        result = None
        try:
            result = self._invoke(code, instance, call_args, call_kwargs)
        except SandboxUnavailableError:
            raise  # a set-up problem, not something an optimizer should learn from
        except Exception as exc:
            if not self.catch_execution_error:
                raise
            error = exc
        finally:
            _MODE.reset(token)
        return self._output(result, error, reads, parents, keys, mark)

    async def _acall(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        code = self.code_parameter(instance) if self.trainable else None
        if _MODE.get() is not True:
            return await self._invoke(code, instance, *_plain_arguments(args, kwargs))
        parents, keys, call_args, call_kwargs = self._inputs(code, args, kwargs)
        reads: list[Node] = []
        mark = next_serial()
        # Context variables are per task, so other tasks keep tracing while this one awaits.
        token = _MODE.set(reads)
        error: Exception | None = None
        result = None
        try:
            result = await self._invoke(code, instance, call_args, call_kwargs)
        except Exception as exc:
            if not self.catch_execution_error:
                raise
            error = exc
        finally:
            _MODE.reset(token)
        return self._output(result, error, reads, parents, keys, mark)

    def _inputs(
        self, code: ParameterNode | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[list[Node], list[str] | None, list[Any], dict[str, Any]]:
        """Parents and argument names of one call, and the plain values the body receives.

        Names are ``None`` when they are the op's own positional names (the common case),
        so a MessageNode does not carry its own copy.
        """
        parents: list[Node] = []
        if not kwargs and code is None and len(args) <= len(self._positional):
            values: list[Any] = []
            containers = CONTAINERS
            for arg in args:
                if isinstance(arg, Node):
                    data = arg._data
                    if data.__class__ in containers:
                        break  # its value may hold nodes: take the general path
                    parents.append(arg)
                    values.append(data)
                elif arg.__class__ in containers:
                    break  # may hold nodes: take the general path
                else:
                    parents.append(Node(arg))
                    values.append(arg)
            else:
                return parents, None, values, {}
            parents = []
        keys: list[str] = []
        call_args = [self._unwrap(a, self._key(i), parents, keys) for i, a in enumerate(args)]
        call_kwargs = {k: self._unwrap(v, k, parents, keys) for k, v in kwargs.items()}
        if code is not None:
            parents.append(code)
            keys.append("__code")
        return parents, keys, call_args, call_kwargs

    def _output(
        self,
        result: Any,
        error: Exception | None,
        reads: list[Node],
        parents: list[Node],
        keys: list[str] | None,
        mark: int,
    ) -> MessageNode:
        if not reads and error is None and result.__class__ not in _MAY_HOLD_NODES:
            return MessageNode(
                result, self.op, tuple(parents), None if keys is None else tuple(keys)
            )
        reads = [r for r in reads if r.serial < mark] if reads else reads
        if reads:
            if keys is None:
                keys = list(self._positional[: len(parents)])
            self._add_hidden_inputs(reads, parents, keys)
        if error is None and result.__class__ in _MAY_HOLD_NODES:
            # A returned node (say self.x, an attribute that is a node) is an input too.
            inner: list[Node] = []
            result = lift(result, inner)
            returned = not_yet_in(parents, [found for found in inner if found.serial < mark])
            if returned:
                if keys is None:
                    keys = list(self._positional[: len(parents)])
                keys.extend(f"returned[{i}]" for i in range(len(returned)))
                parents.extend(returned)
        key_tuple = None if keys is None else tuple(keys)
        if error is not None:
            exc_node = ExceptionNode.from_exception(error, self.op, tuple(parents), key_tuple)
            raise ExecutionError(exc_node) from error
        return MessageNode(result, self.op, tuple(parents), key_tuple)

    def _key(self, index: int) -> str:
        if index < len(self._positional):
            return self._positional[index]
        return f"{self._varargs}[{index - len(self._positional)}]"

    @staticmethod
    def _unwrap(value: Any, key: str, parents: list[Node], keys: list[str]) -> Any:
        if isinstance(value, Node):
            parents.append(value)
            keys.append(key)
            data = value._data
            if data.__class__ in CONTAINERS and holds_nodes(data):
                data = _lift_into(data, f"{key}.nested", parents, keys)
            return data
        if isinstance(value, list | tuple) and any(isinstance(v, Node) for v in value):
            items = []
            for j, item in enumerate(value):
                items.append(BundledFunction._unwrap(item, f"{key}[{j}]", parents, keys))
            return type(value)(items)
        if value.__class__ in CONTAINERS and holds_nodes(value):
            return _lift_into(value, key, parents, keys)
        parents.append(Node(value))
        keys.append(key)
        return value

    def _add_hidden_inputs(self, reads: list[Node], parents: list[Node], keys: list[str]) -> None:
        hidden = not_yet_in(parents, reads)
        if not hidden:
            return
        if not self.allow_external_dependencies:
            labels = ", ".join(n.label for n in hidden)
            raise MissingInputsError(
                f"{self.fn.__qualname__} read node(s) {labels} that were not passed as "
                "arguments, so the graph would miss them; pass them as arguments, or use "
                "@bundle(allow_external_dependencies=True) to record them as extra inputs"
            )
        parents.extend(hidden)
        keys.extend(f"external[{i}]" for i in range(len(hidden)))

    def _invoke(
        self,
        code: ParameterNode | None,
        instance: Any,
        args: list[Any],
        kwargs: dict[str, Any],
    ) -> Any:
        if instance is not None:
            args = [instance, *args]
        source = code._data if code is not None else self.source
        if self.isolation == "sandbox":
            from trace_core.sandboxed import call_in_sandbox

            return call_in_sandbox(
                source, self.fn.__name__, tuple(args), kwargs, timeout_s=self.sandbox_timeout_s
            )
        fn = self._function_for(source) if code is not None else self.fn
        return fn(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle and deepcopy by reference, like plain functions: a bundle is shared code.
        if "<locals>" in self.fn.__qualname__:
            raise TypeError(f"cannot pickle bundle {self.fn.__qualname__} defined in a function")
        return (_resolve_bundle, (self.fn.__module__, self.fn.__qualname__))

    def __deepcopy__(self, memo: dict[int, Any]) -> BundledFunction:
        return self

    def __copy__(self) -> BundledFunction:
        return self

    def __repr__(self) -> str:
        return f"<bundle {self.fn.__qualname__}{' trainable' if self.trainable else ''}>"


def _resolve_bundle(module: str, qualname: str) -> Any:
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        # getattr_static: a class attribute must come back as the bundle, not bound.
        target = inspect.getattr_static(target, part)
    return target


def _lift_into(value: Any, key: str, parents: list[Node], keys: list[str]) -> Any:
    """``value`` without nodes; each node found becomes a parent named ``key[i]``."""
    inner: list[Node] = []
    plain = lift(value, inner)
    for i, found in enumerate(inner):
        parents.append(found)
        keys.append(f"{key}[{i}]")
    return plain


def _plain_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    return [_plain(a) for a in args], {k: _plain(v) for k, v in kwargs.items()}


def _plain(value: Any) -> Any:
    # .data (not ._data): inside an enclosing bundle's body this read must be recorded.
    if isinstance(value, Node):
        return value.data
    if isinstance(value, list | tuple) and any(isinstance(v, Node) for v in value):
        return type(value)(_plain(v) for v in value)
    return value


@overload
def bundle(fn: F, /) -> BundledFunction:
    """Typing stub: ``@bundle`` applied directly to a function."""


@overload
def bundle(
    description_: str | None = None,
    /,
    *,
    trainable: bool = False,
    description: str | None = None,
    traceable_code: bool = False,
    overwrite_python_recursion: bool = True,
    catch_execution_error: bool = True,
    allow_external_dependencies: bool = False,
    allow_unsafe_code: bool = False,
    isolation: Literal["sandbox"] | None = None,
    sandbox_timeout_s: float = 30.0,
) -> Callable[[F], BundledFunction]:
    """Typing stub: ``@bundle(...)`` with options returns the decorator."""


def bundle(
    fn: Callable[..., Any] | str | None = None,
    /,
    *,
    trainable: bool = False,
    description: str | None = None,
    traceable_code: bool = False,
    overwrite_python_recursion: bool = True,
    catch_execution_error: bool = True,
    allow_external_dependencies: bool = False,
    allow_unsafe_code: bool = False,
    isolation: Literal["sandbox"] | None = None,
    sandbox_timeout_s: float = 30.0,
) -> BundledFunction | Callable[[F], BundledFunction]:
    """Make a function one traced operation (usable as ``@bundle`` or ``@bundle(...)``).

    - ``trainable``: the source becomes a code parameter optimizers may rewrite.
    - ``catch_execution_error``: an exception is recorded as an ``ExceptionNode`` and raised
      as ``ExecutionError`` carrying it (otherwise the original exception propagates).
    - ``allow_external_dependencies``: nodes read inside the body without being passed are
      recorded as extra inputs instead of raising ``MissingInputsError``.
    - ``allow_unsafe_code``: skip the code policy for new source (imports, exec, os, ...).
    - ``traceable_code``: the body receives nodes and its ops are recorded as a nested graph
      (see ``trace_core.nested_call``).
    - ``overwrite_python_recursion`` is accepted for Trace code and changes nothing: a body
      always runs untraced, so a recursive call inside it sees plain values (Trace's True).
    - a string first argument is the description, as in Trace's ``bundle("[name] doc")``;
      a ``[name]`` prefix names the op.
    - ``isolation="sandbox"``: run each call in ``trace_core.sandbox`` (arguments and results
      must pickle; only the function's own source is available there).
    """

    def wrap(f: Callable[..., Any]) -> BundledFunction:
        return BundledFunction(
            f,
            trainable=trainable,
            description=description,
            catch_execution_error=catch_execution_error,
            allow_external_dependencies=allow_external_dependencies,
            allow_unsafe_code=allow_unsafe_code,
            isolation=isolation,
            sandbox_timeout_s=sandbox_timeout_s,
            traceable_code=traceable_code,
        )

    if isinstance(fn, str):
        if description is not None:
            raise TypeError("give the description once: positionally or as description=")
        description = fn
    elif fn is not None:
        return wrap(fn)
    return wrap
