"""``optoforge viz GRAPH.json``: draw a graph saved with ``trace_core.save_graph``."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``viz`` command to the ``optoforge`` app."""

    @app.command()
    def viz(
        graph: Path = typer.Argument(..., help="graph JSON written by trace_core.save_graph"),
        out: Path | None = typer.Option(
            None, "--out", "-o", help="write .dot, or render .svg/.png/.pdf (needs graphviz)"
        ),
        max_value_chars: int = typer.Option(40, help="truncate values shown in nodes"),
    ) -> None:
        """Print a saved trace graph as Graphviz DOT, or render it to a file."""
        from trace_core.errors import GraphvizNotFoundError
        from trace_core.visualize import dot_from_graph_json, write_dot

        try:
            document = json.loads(graph.read_text(encoding="utf-8"))
            dot_text = dot_from_graph_json(document, max_value_chars=max_value_chars)
        except (OSError, ValueError, KeyError) as err:
            typer.echo(f"cannot read graph {graph}: {err}", err=True)
            raise typer.Exit(2) from err
        if out is None:
            typer.echo(dot_text, nl=False)
            return
        try:
            write_dot(dot_text, out)
        except GraphvizNotFoundError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1) from err
        typer.echo(f"wrote {out}", err=True)
