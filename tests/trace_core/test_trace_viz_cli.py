"""``optoforge viz``: saved graph JSON -> DOT text or a rendered file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trace_core import node, save_graph
from trace_core.viz_cli import register


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)

    @application.command()
    def _other() -> None:  # a second command keeps typer in multi-command mode
        """Unused."""

    return application


@pytest.fixture
def saved_graph(tmp_path: Path) -> tuple[Path, str]:
    w = node(2, name="w", trainable=True)
    out = w * 21
    return save_graph(out, tmp_path / "graph.json"), out.label


def test_viz_prints_dot_for_a_saved_graph(app: typer.Typer, saved_graph: tuple[Path, str]) -> None:
    path, out_label = saved_graph
    result = CliRunner().invoke(app, ["viz", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("digraph")
    assert f'"{out_label}"' in result.stdout
    assert "42" in result.stdout


def test_viz_reports_an_unreadable_file(app: typer.Typer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = CliRunner().invoke(app, ["viz", str(bad)])
    assert result.exit_code == 2
    assert "nodes" in result.output


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot not installed")
def test_viz_renders_svg(app: typer.Typer, saved_graph: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = saved_graph
    target = tmp_path / "graph.svg"
    result = CliRunner().invoke(app, ["viz", str(path), "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert "<svg" in target.read_text()
