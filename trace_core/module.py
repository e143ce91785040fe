"""``@model`` / ``Module``: objects that own parameters, found and saved as a group.

``parameters()`` walks the instance (attributes, nested modules, lists, tuples, dicts) with an
explicit stack and collects every ``ParameterNode``, plus one code parameter per trainable
bundled method (per instance, so two agents of the same class learn separate code).
``save(path)`` / ``load(path)`` write and read JSON keyed by attribute path (``prompt``,
``tools[0]``, ``solve.__code``): paths are stable across processes, unlike labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from trace_core.bundle import BundledFunction
from trace_core.bundle_code import CODE_ATTR
from trace_core.nodes import Node, ParameterNode
from trace_core.serialize import load_parameters, save_parameters

T = TypeVar("T", bound=type)


class Module:
    """Base class (or ``@model`` mixin) for objects holding trainable parameters."""

    def named_parameters(self) -> dict[str, ParameterNode]:
        """Attribute path -> parameter, for every parameter reachable from this object."""
        found: dict[str, ParameterNode] = {}
        seen_params: set[int] = set()
        visited: set[int] = set()
        stack: list[tuple[str, Any]] = [("", self)]
        while stack:
            path, obj = stack.pop()
            if isinstance(obj, ParameterNode):
                if id(obj) not in seen_params:
                    seen_params.add(id(obj))
                    found[path] = obj
                continue
            if id(obj) in visited:
                continue
            children = _children(path, obj)
            if children is None:
                continue
            visited.add(id(obj))
            stack.extend(reversed(children))
        return found

    def parameters(self) -> list[ParameterNode]:
        """Every parameter of this object (code parameters of trainable methods included)."""
        return list(self.named_parameters().values())

    def zero_feedback(self) -> None:
        """Clear the feedback of every parameter."""
        for param in self.parameters():
            param.zero_feedback()

    def save(self, path: str | Path) -> Path:
        """Write every parameter's value to a JSON file; non-JSON values raise, naming it."""
        return save_parameters(self.named_parameters(), path)

    def load(self, path: str | Path, *, strict: bool = True) -> None:
        """Set parameters from a file written by :meth:`save` (validated; all or nothing)."""
        load_parameters(self.named_parameters(), path, strict=strict)


def _children(path: str, obj: Any) -> list[tuple[str, Any]] | None:
    prefix = f"{path}." if path else ""
    if isinstance(obj, BundledFunction):
        # A trainable bundle stored on an instance (self.m = bundle(trainable=True)(fn)).
        code = obj.code_parameter()
        return [(f"{prefix}__code" if path else "__code", code)] if code is not None else None
    if isinstance(obj, Module) and not isinstance(obj, list | tuple | dict):
        children = [
            (prefix + key, value)
            for key, value in getattr(obj, "__dict__", {}).items()
            if not key.startswith(CODE_ATTR)
        ]
        for name, bundled in _trainable_methods(type(obj)):
            children.append((f"{prefix}{name}.__code", bundled.code_parameter(obj)))
        return children
    if isinstance(obj, list | tuple):
        return [(f"{path}[{i}]", item) for i, item in enumerate(obj)]
    if isinstance(obj, dict):
        # Parameters used as keys count too (saved under "path.keys[i]").
        out: list[tuple[str, Any]] = []
        for i, (key, item) in enumerate(obj.items()):
            if isinstance(key, Node):
                out += [(f"{prefix}keys[{i}]", key), (f"{prefix}values[{i}]", item)]
            else:
                out.append((f"{path}[{key!r}]", item))
        return out
    return None


def _trainable_methods(cls: type) -> list[tuple[str, BundledFunction]]:
    methods: dict[str, BundledFunction] = {}
    for klass in reversed(cls.__mro__):
        for name, attr in vars(klass).items():
            if isinstance(attr, BundledFunction) and attr.trainable:
                methods[name] = attr
    return sorted(methods.items())


def model(cls: T) -> T:
    """Class decorator: make ``cls`` a :class:`Module` (same name, module and docstring)."""
    if issubclass(cls, Module):
        return cls
    namespace = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    return type(cls.__name__, (cls, Module), namespace)  # type: ignore[return-value]
