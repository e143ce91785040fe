"""trace_core has no import cycles, and every module imports on its own (issue 22, item 4)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "trace_core"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path) -> set[str]:
    """trace_core modules ``module`` imports anywhere (functions too), except for typing."""
    found: set[str] = set()
    stack: list[ast.AST] = [ast.parse(path.read_text())]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.If) and _is_type_checking(item.test):
            stack.extend(item.orelse)
            continue
        if isinstance(item, ast.Import):
            found.update(a.name for a in item.names)
        elif isinstance(item, ast.ImportFrom):
            base = item.module or ""
            if item.level:
                anchor = package.split(".")[: len(package.split(".")) - item.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in item.names)
        stack.extend(ast.iter_child_nodes(item))
    return {name for name in found if name in MODULES and name != module}


def test_no_import_cycles_among_trace_core_modules() -> None:
    graph = networkx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        graph.add_edges_from((module, target) for target in _imports(module, path))
    # A submodule importing its own package's __init__ is how packages work, not a cycle.
    graph.remove_edges_from([(a, b) for a, b in graph.edges if a.startswith(b + ".")])
    assert graph.number_of_edges() > 20  # the check sees the real imports
    assert list(networkx.simple_cycles(graph)) == []


# The sandbox bootstrap is a script run as the child's main program (it reads sys.argv).
SCRIPTS = {"trace_core.sandbox._child"}


@pytest.mark.parametrize("module", sorted(set(MODULES) - SCRIPTS))
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
