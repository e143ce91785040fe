"""``optoforge viz``: the demo graph and saved graph files, as DOT and rendered SVG."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.cli import create_app


@pytest.fixture
def trace_layer() -> None:
    try:
        from trace_core import save_graph, visualize  # noqa: F401
    except ImportError:
        pytest.skip("needs trace_core's graph layer")


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(create_app(), list(args), catch_exceptions=False)


@pytest.mark.usefixtures("trace_layer")
def test_demo_graph_prints_dot_with_every_node_and_edge() -> None:
    result = _invoke("viz")
    assert result.exit_code == 0
    dot = result.stdout
    assert dot.startswith("digraph trace {") and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == 4  # price, demand -> units_sold; price, units_sold -> revenue
    assert "624.0" in dot  # revenue = 12 * (100 - 48)


@pytest.mark.usefixtures("trace_layer")
def test_saved_graph_file_is_drawn_from_its_json(tmp_path: Path) -> None:
    from agents.cli.viz import demo_graph
    from trace_core import save_graph

    saved = save_graph(demo_graph(), tmp_path / "graph.json")
    result = _invoke("viz", str(saved), "--out", str(tmp_path / "graph.dot"))
    assert result.exit_code == 0
    dot = (tmp_path / "graph.dot").read_text()
    labels = [node["label"] for node in json.loads(saved.read_text())["nodes"]]
    assert all(f'"{label}" [label=' in dot for label in labels)
    assert dot.count(" -> ") == 4 and "shape=box" in dot  # the trainable price


@pytest.mark.usefixtures("trace_layer")
def test_svg_is_rendered_when_graphviz_is_installed(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` not installed")
    result = _invoke("viz", "--out", str(tmp_path / "graph.svg"))
    assert result.exit_code == 0
    assert "<svg" in (tmp_path / "graph.svg").read_text()


def test_file_that_is_not_a_graph_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    result = _invoke("viz", str(bad))
    assert result.exit_code == 2
    assert "not a saved trace_core graph" in result.stderr
