"""Imports point one way, read from the source (every import, function-level ones included).

Packages: ``agents`` -> ``optimizers`` -> ``trace_core``. Inside ``agents`` each part may
import only parts of a lower rank: errors, then solvers, evaluation, formulation, then the
applications of formulation (alphaopt, resocratic, reporting; none imports another), then
``agents.training`` (which composes formulation with the library) and the CLI on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"trace_core": 0, "optimizers": 1, "agents": 2}
AGENT_PARTS = {
    "errors": 0,
    "solvers": 1,
    "evaluation": 2,
    "formulation": 3,
    "alphaopt": 4,
    "resocratic": 4,
    "reporting": 4,
    "training": 5,
    "cli": 6,
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def _part(module: str) -> str | None:
    """The agents part a module name belongs to (``agents.alphaopt.store`` -> alphaopt)."""
    names = module.split(".")
    if names[0] != "agents" or len(names) < 2:
        return None
    return names[1]


def _package_violations(root: Path, package: str) -> list[str]:
    return [
        f"{path.relative_to(root)}:{line} imports {module}"
        for path in sorted((root / package).rglob("*.py"))
        for line, module in _imports(path)
        if PACKAGES.get(module.split(".")[0], -1) > PACKAGES[package]
    ]


def _agents_violations(root: Path) -> list[str]:
    wrong = []
    for path in sorted((root / "agents").rglob("*.py")):
        mine = _part(".".join(path.relative_to(root).with_suffix("").parts))
        if mine not in AGENT_PARTS:
            continue
        for line, module in _imports(path):
            theirs = _part(module)
            if theirs is None or theirs == mine or theirs not in AGENT_PARTS:
                continue
            if AGENT_PARTS[theirs] >= AGENT_PARTS[mine]:
                wrong.append(f"{path.relative_to(root)}:{line} imports {module}")
    return wrong


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_package_imports_a_higher_one(package: str) -> None:
    assert _package_violations(ROOT, package) == []


def test_every_part_of_agents_has_a_rank() -> None:
    parts = {p.stem if p.is_file() else p.name for p in (ROOT / "agents").iterdir()}
    parts -= {"__init__", "__main__", "__pycache__", "py", "prompts"}
    assert parts <= set(AGENT_PARTS), f"give {sorted(parts - set(AGENT_PARTS))} a rank here"


def test_agents_parts_import_only_lower_ranks() -> None:
    assert _agents_violations(ROOT) == []


def test_the_checks_catch_imports_that_point_up_even_inside_a_function(tmp_path: Path) -> None:
    (tmp_path / "trace_core").mkdir()
    (tmp_path / "trace_core" / "x.py").write_text("def f():\n    import optimizers.base\n")
    (tmp_path / "agents" / "formulation").mkdir(parents=True)
    (tmp_path / "agents" / "formulation" / "y.py").write_text(
        "from agents.evaluation import dataset\n"
        "def g():\n    from agents.alphaopt.store import ExperienceLibrary\n"
    )
    (tmp_path / "agents" / "alphaopt").mkdir()
    (tmp_path / "agents" / "alphaopt" / "z.py").write_text("import agents.resocratic.pipeline\n")
    assert _package_violations(tmp_path, "trace_core") == [
        "trace_core/x.py:2 imports optimizers.base"
    ]
    assert _agents_violations(tmp_path) == [
        "agents/alphaopt/z.py:1 imports agents.resocratic.pipeline",
        "agents/formulation/y.py:3 imports agents.alphaopt.store",
    ]
