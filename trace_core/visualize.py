"""``visualize()``: the graph as Graphviz DOT text; SVG/PNG files when ``dot`` is installed.

Parameters are drawn as boxes, exceptions in red, ops as ellipses labelled with the op name.
DOT text needs no library; rendering shells out to the graphviz ``dot`` program.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from trace_core.errors import GraphvizNotFoundError
from trace_core.graph import kind_of, topological_order
from trace_core.nodes import MessageNode, Node
from trace_core.summary import render_value

_STYLE = {
    "parameter": 'shape=box, style="filled", fillcolor="#ffe9a8"',
    "constant": 'shape=ellipse, style="filled", fillcolor="#eeeeee"',
    "message": 'shape=ellipse, style="filled", fillcolor="#d6e9ff"',
    "exception": 'shape=octagon, style="filled", fillcolor="#ff9c9c", color=red',
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(outputs: Node | Iterable[Node], *, max_value_chars: int = 40) -> str:
    """DOT text for the graph behind ``outputs``."""
    lines = ["digraph trace {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
    for node in topological_order(outputs):
        kind = kind_of(node)
        value, _ = render_value(node._data, max_value_chars)
        title = node.label
        if isinstance(node, MessageNode):
            title += f"\\n[{node.op.name}]"
        lines.append(
            f"  {_quote(node.label)} [label={_quote(title + chr(10) + value)}, {_STYLE[kind]}];"
        )
        if isinstance(node, MessageNode):
            for arg, parent in node.inputs.items():
                lines.append(
                    f"  {_quote(parent.label)} -> {_quote(node.label)} [label={_quote(arg)}];"
                )
    lines.append("}")
    return "\n".join(lines) + "\n"


def visualize(
    node: Node | Iterable[Node], path: str | Path | None = None, *, max_value_chars: int = 40
) -> str:
    """Return DOT text; with ``path`` also write it (.dot, .gv) or render it (.svg, .png, .pdf).

    Rendering needs graphviz's ``dot`` on PATH, else ``GraphvizNotFoundError``.
    """
    dot_text = to_dot(node, max_value_chars=max_value_chars)
    if path is None:
        return dot_text
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    if suffix in ("dot", "gv", ""):
        target.write_text(dot_text, encoding="utf-8")
        return dot_text
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
    return dot_text
