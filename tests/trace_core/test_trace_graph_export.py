"""Graph walks and exports: topological order, subgraph, networkx, DOT/SVG, JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trace_core import (
    ExecutionError,
    bundle,
    graph_to_json,
    node,
    save_graph,
    subgraph,
    to_networkx,
    topological_order,
    visualize,
)


def _small_graph() -> tuple:
    w = node(2, name="w", trainable=True)
    c = node(10, name="c")
    h = w * 3
    out = h + c
    return w, c, h, out


def test_topological_order_puts_parents_first() -> None:
    w, c, h, out = _small_graph()
    order = topological_order(out)
    position = {n: i for i, n in enumerate(order)}
    assert set(order) == {w, c, h, out, h.parents[1]}
    for n in order:
        assert all(position[p] < position[n] for p in n.parents)


def test_subgraph_keeps_only_nodes_between_parameters_and_output() -> None:
    w, _, h, out = _small_graph()
    assert subgraph(out) == [w, h, out]


def test_to_networkx_has_labels_kinds_and_argument_edges() -> None:
    w, c, h, out = _small_graph()
    g = to_networkx(out)
    assert g.number_of_nodes() == 5
    assert g.nodes[w.label]["kind"] == "parameter"
    assert g.nodes[out.label]["op"] == "add"
    assert g.nodes[out.label]["value"] == 16
    assert g.edges[h.label, out.label]["arg"] == "a"
    assert g.edges[c.label, out.label]["arg"] == "b"


def test_visualize_returns_dot_with_every_node_and_edge() -> None:
    w, c, h, out = _small_graph()
    dot = visualize(out)
    assert dot.startswith("digraph")
    for n in (w, c, h, out):
        assert f'"{n.label}"' in dot
    assert f'"{h.label}" -> "{out.label}"' in dot
    assert "shape=box" in dot  # the parameter


def test_visualize_marks_exceptions_red(tmp_path: Path) -> None:
    @bundle
    def fail(x: int) -> int:
        raise RuntimeError("nope")

    with pytest.raises(ExecutionError) as info:
        fail(node(1))
    dot = visualize(info.value.exception_node, tmp_path / "g.dot")
    assert "color=red" in dot
    assert (tmp_path / "g.dot").read_text() == dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot not installed")
def test_visualize_renders_svg_with_graphviz(tmp_path: Path) -> None:
    _, _, _, out = _small_graph()
    path = tmp_path / "graph.svg"
    visualize(out, path)
    assert "<svg" in path.read_text()


def test_graph_to_json_round_trips_through_json(tmp_path: Path) -> None:
    w, c, h, out = _small_graph()
    out.backward("fb")
    path = save_graph(out, tmp_path / "g.json")
    doc = json.loads(path.read_text())
    assert doc == graph_to_json(out)
    by_label = {n["label"]: n for n in doc["nodes"]}
    assert by_label[out.label]["inputs"] == {"a": h.label, "b": c.label}
    assert by_label[w.label]["kind"] == "parameter"
    assert by_label[w.label]["feedback"] == ["fb"]
    assert by_label[out.label]["value"] == 16


def test_graph_json_keeps_unserializable_values_as_repr() -> None:
    n = node({1, 2}) | {3}
    doc = graph_to_json(n)
    assert doc["nodes"][-1]["value"] == {"__repr__": "{1, 2, 3}"}


def test_saved_graph_json_draws_the_same_nodes_as_the_live_graph(tmp_path: Path) -> None:
    from trace_core.visualize import dot_from_graph_json

    _, _, _, out = _small_graph()
    doc = json.loads(save_graph(out, tmp_path / "g.json").read_text())
    assert dot_from_graph_json(doc) == visualize(out)
    with pytest.raises(ValueError, match="nodes"):
        dot_from_graph_json({})
