"""``visualize()``: the graph as Graphviz DOT text; SVG/PNG files when ``dot`` is installed.

Parameters are drawn as boxes, exceptions in red, ops as ellipses labelled with the op name.
DOT text needs no library; rendering shells out to the graphviz ``dot`` program. Graphs saved
with :func:`trace_core.save_graph` can be drawn later with :func:`dot_from_graph_json`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from trace_core.errors import GraphvizNotFoundError
from trace_core.graph import kind_of, topological_order
from trace_core.nodes import MessageNode, Node
from trace_core.summary_render import render_value

_STYLE = {
    "parameter": 'shape=box, style="filled", fillcolor="#ffe9a8"',
    "constant": 'shape=ellipse, style="filled", fillcolor="#eeeeee"',
    "message": 'shape=ellipse, style="filled", fillcolor="#d6e9ff"',
    "exception": 'shape=octagon, style="filled", fillcolor="#ff9c9c", color=red',
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot(entries: Iterable[tuple[str, str, str | None, str, Mapping[str, str]]]) -> str:
    """DOT text from (label, kind, op name, value text, {argument: parent label}) entries."""
    lines = ["digraph trace {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
    for label, kind, op, value, inputs in entries:
        title = label if op is None else f"{label}\n[{op}]"
        style = _STYLE.get(kind, _STYLE["constant"])
        lines.append(f"  {_quote(label)} [label={_quote(title + chr(10) + value)}, {style}];")
        for arg, parent in inputs.items():
            lines.append(f"  {_quote(parent)} -> {_quote(label)} [label={_quote(arg)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_dot(outputs: Node | Iterable[Node], *, max_value_chars: int = 40) -> str:
    """DOT text for the graph behind ``outputs``."""
    return _dot(
        (
            node.label,
            kind_of(node),
            node.op.name if isinstance(node, MessageNode) else None,
            render_value(node._data, max_value_chars)[0],
            {k: p.label for k, p in node.inputs.items()} if isinstance(node, MessageNode) else {},
        )
        for node in topological_order(outputs)
    )


def dot_from_graph_json(document: Mapping[str, Any], *, max_value_chars: int = 40) -> str:
    """DOT text for a graph saved by :func:`trace_core.save_graph` / ``graph_to_json``."""
    nodes = document.get("nodes")
    if not isinstance(nodes, list):
        raise ValueError("not an optoforge graph document: it has no 'nodes' list")
    return _dot(
        (
            str(entry["label"]),
            str(entry.get("kind", "constant")),
            entry.get("op"),
            render_value(_saved_value(entry.get("value")), max_value_chars)[0],
            entry.get("inputs") or {},
        )
        for entry in nodes
    )


def _saved_value(value: Any) -> Any:
    """A saved value, with non-JSON values (saved as ``{"__repr__": text}``) as their text."""
    if isinstance(value, dict) and set(value) == {"__repr__"}:
        return value["__repr__"]
    return value


def write_dot(dot_text: str, path: str | Path) -> Path:
    """Write DOT text (``.dot``/``.gv``) or render it with graphviz (``.svg``, ``.png``...)."""
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    if suffix in ("dot", "gv", ""):
        target.write_text(dot_text, encoding="utf-8")
        return target
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizNotFoundError(
            f"rendering {target.name} needs graphviz's `dot` (apt-get install graphviz); "
            "or save with a .dot suffix and render it elsewhere"
        )
    subprocess.run(
        [exe, f"-T{suffix}", "-o", str(target)],
        input=dot_text.encode(),
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


def visualize(
    node: Node | Iterable[Node], path: str | Path | None = None, *, max_value_chars: int = 40
) -> str:
    """Return DOT text; with ``path`` also write it (.dot, .gv) or render it (.svg, .png, .pdf).

    Rendering needs graphviz's ``dot`` on PATH, else ``GraphvizNotFoundError``.
    """
    dot_text = to_dot(node, max_value_chars=max_value_chars)
    if path is not None:
        write_dot(dot_text, path)
    return dot_text
