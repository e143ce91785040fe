"""Lazy attribute loading for package ``__init__`` modules.

Packages re-export their public names at the top (``from trace_core import node``) without
importing heavy modules (torch, openai, solvers) until a name is actually used.

A public name may equal a submodule's name (``trace_core.bundle`` the function lives in
``trace_core/bundle.py``). Importing a submodule makes Python set it as an attribute of its
package, which would shadow the exported function; the package's module class is therefore
switched to one whose ``__setattr__`` keeps the exported object instead.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any


class _ExportingPackage(types.ModuleType):
    """A package module that never lets a same-named submodule replace an exported name."""

    _lazy_exports: Mapping[str, str]

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("_lazy_exports", {})
        if (
            isinstance(value, types.ModuleType)
            and name in exports
            and value.__name__ == f"{self.__name__}.{name}"
            and hasattr(value, name)
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that imports ``exports[name]`` (a submodule) on first use."""
    module = sys.modules.get(package)
    if module is not None and type(module) is types.ModuleType:
        module.__class__ = _ExportingPackage
        module.__dict__["_lazy_exports"] = exports

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(module_name, package)
        value = getattr(module, name)
        importlib.import_module(package).__dict__[name] = value
        return value

    return __getattr__
