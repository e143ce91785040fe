"""The trainable code of a bundle: its source as a code ``ParameterNode``, and the functions
compiled from new source.

Kept apart from the call path (``trace_core.bundle``): this is what an optimizer touches when
it rewrites a function. A code parameter is made per function, or per instance for methods
(stored in the instance's ``__dict__`` so it is saved, copied and pickled with it).
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trace_core.code_policy import check_source, compile_function, function_source
from trace_core.nodes import ParameterNode
from trace_core.operators import Op
from trace_core.serialize import load_parameters, save_parameters

CODE_ATTR = "__trace_code_"
_COMPILED_CACHE_SIZE = 16


class TrainableCode:
    """Mixin of ``BundledFunction``: code parameters and compiled source (see module doc)."""

    fn: Callable[..., Any]
    trainable: bool
    source: str
    isolation: str | None
    allow_unsafe_code: bool
    _signature: tuple[tuple[str, str, bool], ...]
    _decorators: frozenset[str]
    _compiled: dict[str, Callable[..., Any]]
    _function_code: ParameterNode | None
    _instance_code: weakref.WeakKeyDictionary[Any, ParameterNode]
    op: Op

    # -- Trace-style access to the function's info and parameters ------------------------------
    @property
    def info(self) -> dict[str, Any]:
        """Trace's ``bundle.info``: ``fun_name``, ``description``, ``source`` (decorators below
        ``@bundle`` included), ``file`` and ``line_number`` where that source starts."""
        info = self.op.info()
        info["source"] = self.source or function_source(self.fn)
        return info

    @property
    def parameter(self) -> ParameterNode | None:
        """The code parameter of a trainable function (Trace's ``fun.parameter``)."""
        return self.code_parameter()

    def named_parameters(self) -> dict[str, ParameterNode]:
        """``{"__code": code parameter}`` for a trainable function, else empty."""
        code = self.code_parameter()
        return {"__code": code} if code is not None else {}

    def parameters(self) -> list[ParameterNode]:
        """The function's trainable parameters (its code parameter when trainable)."""
        return list(self.named_parameters().values())

    def save(self, path: str | Path) -> Path:
        """Write the function's current code to a JSON file (like ``Module.save``)."""
        return save_parameters(self.named_parameters(), path)

    def load(self, path: str | Path, *, strict: bool = True) -> None:
        """Set the function's code from a file written by :meth:`save` (validated)."""
        load_parameters(self.named_parameters(), path, strict=strict)

    def code_parameter(self, instance: Any = None) -> ParameterNode | None:
        """The code ``ParameterNode`` (per instance for methods); ``None`` if not trainable."""
        if not self.trainable:
            return None
        if instance is None:
            if self._function_code is None:
                self._function_code = self._new_code_parameter()
            return self._function_code
        store = getattr(instance, "__dict__", None)
        key = CODE_ATTR + self.fn.__name__
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
                allowed_decorators=self._decorators,
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
                allowed_decorators=self._decorators,
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


def _plain_signature(fn: Callable[..., Any]) -> str:
    """``(a, b=2, *args)``: the signature without annotations, as a prompt can quote it."""
    sig = inspect.signature(fn)
    bare = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=bare, return_annotation=inspect.Signature.empty))
