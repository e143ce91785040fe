"""``optoforge viz``: draw a traced graph as DOT (and SVG/PNG when graphviz is installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def demo_graph() -> Any:
    """A small traced workflow (price -> units sold -> revenue) to show what viz draws."""
    from trace_core import bundle, node

    price = node(12.0, name="price", trainable=True, description="unit price in dollars")
    demand = node(100.0, name="demand", description="customers at price 0")

    @bundle(description="[units_sold] Customers lost per dollar of price: 4.")
    def units_sold(price: float, demand: float) -> float:
        return max(0.0, demand - 4 * price)

    @bundle(description="[revenue] Price times units sold.")
    def revenue(price: float, units: float) -> float:
        return price * units

    return revenue(price, units_sold(price, demand))


def load_graph(path: Path) -> Any:
    """The output node of a graph saved as JSON by ``trace_core.serialize``."""
    from trace_core import serialize

    return serialize.load_graph(path)


def viz(
    graph: Annotated[
        Path | None,
        typer.Argument(help="Graph JSON saved by trace_core (default: a small demo graph)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write here; .svg/.png render with graphviz, else DOT text."),
    ] = None,
) -> None:
    """Print a traced graph as DOT, or write it to --out (rendered when graphviz is installed)."""
    from trace_core import visualize

    from agents.formulation.commands import fail

    if graph is not None and not graph.is_file():
        raise fail(f"graph file not found: {graph}")
    try:
        output = load_graph(graph) if graph is not None else demo_graph()
    except (ValueError, KeyError, TypeError) as err:
        raise fail(f"{graph}: not a saved trace_core graph ({err})") from None
    if out is None:
        typer.echo(visualize(output))
        return
    dot = visualize(output, path=str(out))
    if not out.exists():  # no graphviz to render with: keep the DOT so nothing is lost
        fallback = out.with_suffix(".dot")
        fallback.write_text(dot, encoding="utf-8")
        typer.echo(f"graphviz 'dot' not found; wrote DOT text to {fallback}", err=True)
    else:
        typer.echo(f"wrote {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``viz`` to the ``optoforge`` app."""
    app.command("viz")(viz)
