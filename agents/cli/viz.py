"""``optoforge viz``: draw a traced graph as DOT, and as SVG/PNG/PDF when graphviz is installed.

The graph is either a small demo workflow traced on the spot or a JSON file written by
``trace_core.save_graph``. Live graphs go through :func:`trace_core.visualize`; a saved graph
is only a JSON description (its nodes cannot be rebuilt), so it is drawn from that description
with the same shapes and colours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from agents.errors import AgentsError

_STYLE = {
    "parameter": 'shape=box, style="filled", fillcolor="#ffe9a8"',
    "constant": 'shape=ellipse, style="filled", fillcolor="#eeeeee"',
    "message": 'shape=ellipse, style="filled", fillcolor="#d6e9ff"',
    "exception": 'shape=octagon, style="filled", fillcolor="#ff9c9c", color=red',
}
_RENDERED = {"svg", "png", "pdf"}


class GraphFileError(AgentsError, ValueError):
    """A file is not a graph saved by ``trace_core.save_graph``."""


def demo_graph() -> Any:
    """A small traced workflow (price -> units sold -> revenue) to show what viz draws."""
    from trace_core.bundle import bundle, node

    price = node(12.0, name="price", trainable=True, description="unit price in dollars")
    demand = node(100.0, name="demand", description="customers at price 0")

    @bundle(description="[units_sold] Customers lost per dollar of price: 4.")
    def units_sold(price: float, demand: float) -> float:
        return max(0.0, demand - 4 * price)

    @bundle(description="[revenue] Price times units sold.")
    def revenue(price: float, units: float) -> float:
        return price * units

    return revenue(price, units_sold(price, demand))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _short(value: Any, limit: int = 40) -> str:
    text = value["__repr__"] if isinstance(value, dict) and "__repr__" in value else None
    text = text if text is not None else json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dot_from_saved_graph(document: Any, source: str = "graph") -> str:
    """DOT text for a graph document written by ``trace_core.save_graph``."""
    nodes = document.get("nodes") if isinstance(document, dict) else None
    if not isinstance(nodes, list):
        raise GraphFileError(f"{source}: no 'nodes' list; save graphs with trace_core.save_graph")
    lines = ["digraph trace {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
    for number, entry in enumerate(nodes):
        try:
            label, kind = str(entry["label"]), str(entry.get("kind", "constant"))
        except (KeyError, TypeError, AttributeError) as err:
            raise GraphFileError(f"{source}: node #{number} has no 'label'") from err
        title = label + (f"\n[{entry['op']}]" if entry.get("op") else "")
        style = _STYLE.get(kind, _STYLE["constant"])
        text = _quote(title + "\n" + _short(entry.get("value")))
        lines.append(f"  {_quote(label)} [label={text}, {style}];")
        for arg, parent in (entry.get("inputs") or {}).items():
            lines.append(f"  {_quote(str(parent))} -> {_quote(label)} [label={_quote(arg)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def viz(
    graph: Annotated[
        Path | None,
        typer.Argument(help="Graph JSON written by trace_core.save_graph (default: a demo)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write here: .dot text, or .svg/.png/.pdf rendered with graphviz."),
    ] = None,
) -> None:
    """Print a traced graph as DOT, or write it to --out (rendered when graphviz is installed)."""
    from agents.cli.common import InputFileError, fail, read_text_file

    if graph is not None:
        if not graph.exists():
            raise fail(f"graph file not found: {graph}")
        try:
            document = json.loads(read_text_file(graph, "graph file"))
            dot = dot_from_saved_graph(document, str(graph))
        except InputFileError as err:
            raise fail(str(err)) from None
        except (json.JSONDecodeError, GraphFileError) as err:
            raise fail(f"{graph}: not a saved trace_core graph ({err})") from None
    else:
        from trace_core.visualize import visualize

        dot = visualize(demo_graph())
    if out is None:
        typer.echo(dot, nl=False)
        return
    if out.suffix.lower().lstrip(".") in _RENDERED:
        from trace_core.errors import GraphvizNotFoundError
        from trace_core.visualize import write_dot

        try:
            write_dot(dot, out)
        except GraphvizNotFoundError:
            out = out.with_suffix(".dot")
            typer.echo("graphviz 'dot' is not installed; writing DOT text instead", err=True)
        else:
            typer.echo(f"wrote {out}", err=True)
            return
    out.write_text(dot, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``viz`` to the ``optoforge`` app."""
    app.command("viz")(viz)
