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
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar, overload

from trace_core.code_policy import (
    check_source,
    compile_function,
    function_source,
    signature_key,
)
from trace_core.errors import ExecutionError, MissingInputsError, SandboxUnavailableError
from trace_core.nodes import ExceptionNode, MessageNode, Node, ParameterNode
from trace_core.operators import Op
from trace_core.tracing import _MODE, Constraint, tracing

F = TypeVar("F", bound=Callable[..., Any])

_CODE_ATTR = "__trace_code_"
_COMPILED_CACHE_SIZE = 16


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


class BundledFunction:
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
    ) -> None:
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
        needs_source = trainable or isolation == "sandbox"
        self.source = function_source(fn) if needs_source else ""
        self.op = Op(fn.__name__, fn, f"[{fn.__name__}] {text}", self._positional, self.source)
        self._compiled: dict[str, Callable[..., Any]] = {self.source: fn} if needs_source else {}
        self._function_code: ParameterNode | None = None
        self._instance_code: weakref.WeakKeyDictionary[Any, ParameterNode] = (
            weakref.WeakKeyDictionary()
        )

    # -- code parameters -------------------------------------------------------------------
    def code_parameter(self, instance: Any = None) -> ParameterNode | None:
        """The code ``ParameterNode`` (per instance for methods); ``None`` if not trainable."""
        if not self.trainable:
            return None
        if instance is None:
            if self._function_code is None:
                self._function_code = self._new_code_parameter()
            return self._function_code
        store = getattr(instance, "__dict__", None)
        key = _CODE_ATTR + self.fn.__name__
        if store is not None:
            stored: ParameterNode | None = store.get(key)
            if stored is None:
                stored = store[key] = self._new_code_parameter()
            return stored
        param = self._instance_code.get(instance)
        if param is None:
            param = self._instance_code[instance] = self._new_code_parameter()
        return param

    def _new_code_parameter(self) -> ParameterNode:
        name = self.fn.__name__
        sig = _plain_signature(self.fn)
        return ParameterNode(
            self.source,
            name=f"__code_{name}",
            description=f"[{name}] source code of the function {name}; it is run on each call",
            constraint=f"keep the signature def {name}{sig} and the same kind of return value",
            validator=self._validate_source,
            is_code=True,
        )

    def _validate_source(self, source: Any) -> str:
        if not isinstance(source, str):
            raise TypeError(f"code must be a str of Python source, got {type(source).__name__}")
        if self.isolation == "sandbox":
            # Never execute sandboxed code in this process, not even its def statement.
            check_source(
                source,
                expected_signature=self._signature,
                check_policy=not self.allow_unsafe_code,
            )
        else:
            self._function_for(source)
        return source

    def _function_for(self, source: str) -> Callable[..., Any]:
        fn = self._compiled.get(source)
        if fn is None:
            fn = compile_function(
                source,
                self._namespace(),
                expected_signature=self._signature,
                check_policy=not self.allow_unsafe_code,
                label=self.fn.__name__,
            )
            if len(self._compiled) >= _COMPILED_CACHE_SIZE:
                oldest = next(k for k in self._compiled if k != self.source)
                del self._compiled[oldest]
            self._compiled[source] = fn
        return fn

    def _namespace(self) -> dict[str, Any]:
        """Globals for recompiled code: the module's, plus closure values if there are any."""
        closure = inspect.getclosurevars(self.fn).nonlocals
        return {**self.fn.__globals__, **closure}

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
        parents, keys, call_args, call_kwargs = self._inputs(code, args, kwargs)
        # The body runs untraced (it is this one op) while its .data reads are recorded.
        reads: list[Node] = []
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
        return self._output(result, error, reads, parents, keys)

    async def _acall(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        code = self.code_parameter(instance) if self.trainable else None
        if _MODE.get() is not True:
            return await self._invoke(code, instance, *_plain_arguments(args, kwargs))
        parents, keys, call_args, call_kwargs = self._inputs(code, args, kwargs)
        reads: list[Node] = []
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
        return self._output(result, error, reads, parents, keys)

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
            for arg in args:
                if isinstance(arg, Node):
                    parents.append(arg)
                    values.append(arg._data)
                elif isinstance(arg, list | tuple):
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
    ) -> MessageNode:
        if reads:
            if keys is None:
                keys = list(self._positional[: len(parents)])
            self._add_hidden_inputs(reads, parents, keys)
        key_tuple = None if keys is None else tuple(keys)
        if error is not None:
            exc_node = ExceptionNode.from_exception(error, self.op, tuple(parents), key_tuple)
            raise ExecutionError(exc_node) from error
        if isinstance(result, Node):
            result = result._data
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
            return value._data
        if isinstance(value, list | tuple) and any(isinstance(v, Node) for v in value):
            items = []
            for j, item in enumerate(value):
                items.append(BundledFunction._unwrap(item, f"{key}[{j}]", parents, keys))
            return type(value)(items)
        parents.append(Node(value))
        keys.append(key)
        return value

    def _add_hidden_inputs(self, reads: list[Node], parents: list[Node], keys: list[str]) -> None:
        known = set(parents)
        hidden: list[Node] = []
        for read in reads:
            if read not in known:
                known.add(read)
                hidden.append(read)
        if not hidden:
            return
        if not self.allow_external_dependencies:
            labels = ", ".join(n.label for n in hidden)
            raise MissingInputsError(
                f"{self.fn.__qualname__} read node(s) {labels} that were not passed as "
                "arguments, so the graph would miss them; pass them as arguments, or use "
                "@bundle(allow_external_dependencies=True) to record them as extra inputs"
            )
        for i, read in enumerate(hidden):
            parents.append(read)
            keys.append(f"external[{i}]")

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


def _plain_signature(fn: Callable[..., Any]) -> str:
    """``(a, b=2, *args)``: the signature without annotations, as a prompt can quote it."""
    sig = inspect.signature(fn)
    bare = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=bare, return_annotation=inspect.Signature.empty))


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
    *,
    trainable: bool = False,
    description: str | None = None,
    catch_execution_error: bool = True,
    allow_external_dependencies: bool = False,
    allow_unsafe_code: bool = False,
    isolation: Literal["sandbox"] | None = None,
    sandbox_timeout_s: float = 30.0,
) -> Callable[[F], BundledFunction]:
    """Typing stub: ``@bundle(...)`` with options returns the decorator."""


def bundle(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    trainable: bool = False,
    description: str | None = None,
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
        )

    if fn is not None:
        return wrap(fn)
    return wrap
