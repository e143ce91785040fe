"""Lazy attribute loading for package ``__init__`` modules.

Packages re-export their public names at the top (``from trace_core import node``) without
importing heavy modules (torch, openai, solvers) until a name is actually used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that imports ``exports[name]`` (a submodule) on first use."""

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(module_name, package)
        value = getattr(module, name)
        importlib.import_module(package).__dict__[name] = value
        return value

    return __getattr__
