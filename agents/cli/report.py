"""``optoforge report`` (a run page for any run directory) and ``optoforge track`` (MLflow)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from agents.cli.common import fail


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``track`` to the ``optoforge`` app."""
    app.command("report")(report)
    app.command("track")(track)


def report(
    run: Annotated[Path, typer.Argument(help="A run directory (or a synthesize output file).")],
    out: Annotated[
        Path | None, typer.Option(help="Where to write the page (default: RUN/report.html).")
    ] = None,
    live: Annotated[
        bool, typer.Option(help="Rewrite the page every --interval seconds until Ctrl-C.")
    ] = False,
    interval: Annotated[int, typer.Option(min=1, help="Seconds between live updates.")] = 5,
) -> None:
    """Write one self-contained HTML page showing what a run did: scores, changes, items, cost."""
    from agents.reporting.page import write_page
    from agents.reporting.readers import NotARunError, load_run

    target = out or ((run if run.is_dir() else run.parent) / "report.html")
    try:
        path = write_page(load_run(run), target, refresh_s=interval if live else None)
    except NotARunError as err:
        raise fail(str(err)) from None
    except OSError as err:
        raise fail(f"cannot write {target}: {err.strerror or err}") from None
    typer.echo(str(path))
    if not live:
        return
    typer.echo(f"live: rewriting every {interval} s; open it in a browser; Ctrl-C stops", err=True)
    try:
        while True:
            time.sleep(interval)
            write_page(load_run(run), target, refresh_s=interval)
    except KeyboardInterrupt:
        write_page(load_run(run), target)  # the final page stops reloading itself
        typer.echo("live mode stopped; the page is up to date", err=True)


def track(
    run: Annotated[Path, typer.Argument(help="A run directory (or a synthesize output file).")],
    uri: Annotated[
        str | None,
        typer.Option(help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else ./mlflow.db)."),
    ] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "optoforge",
) -> None:
    """Log a run directory to MLflow (again: only what is new is logged, into the same run)."""
    from agents.reporting.readers import NotARunError
    from agents.reporting.tracking import TrackingError, track_run

    try:
        run_id = track_run(run, uri=uri, experiment=experiment)
    except (NotARunError, TrackingError) as err:
        raise fail(str(err)) from None
    typer.echo(run_id)
