"""``--track mlflow`` for the long commands: log the run directory to MLflow when they end.

The command's run directory is what gets logged (parameters, per-step metrics, the run page,
the files), through :func:`agents.reporting.track_run`; a resumed command continues the same
MLflow run and logs only what is new. Tracking happens when the command ends, however it ends
(done, budget stop, Ctrl-C), and a tracking failure is a warning: it never changes the
command's result or exit code.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

TRACKERS = ("mlflow",)


def _check_track(value: str | None) -> str | None:
    """Refuse an unknown tracker, or MLflow when it is not installed, before any paid work."""
    if value is None:
        return None
    if value not in TRACKERS:
        raise typer.BadParameter(f"unknown tracker {value!r}; use one of: {', '.join(TRACKERS)}")
    if importlib.util.find_spec("mlflow") is None:
        raise typer.BadParameter("--track mlflow needs MLflow: pip install 'optoforge[track]'")
    return value


TrackOpt = Annotated[
    str | None,
    typer.Option(
        "--track",
        callback=_check_track,
        help="Log the run to MLflow when the command ends (MLFLOW_TRACKING_URI picks the "
        "server; default ./mlflow.db). A resumed run continues the same MLflow run.",
    ),
]
"""``--track``, for every long command."""


@contextmanager
def tracked(run_dir: Path | str | None, track: str | None, command: str) -> Iterator[None]:
    """Run the command's body, then log ``run_dir`` when ``track`` asks for it."""
    try:
        yield
    finally:
        if track and run_dir is not None and Path(run_dir).exists():
            _log(Path(run_dir), command)


def _log(run_dir: Path, command: str) -> None:
    from agents.reporting import track_run

    try:
        run_id = track_run(run_dir, command=command)
    except Exception as err:  # tracking is a view of the run: it never fails the command
        typer.echo(f"warning: could not log {run_dir} to MLflow: {err}", err=True)
    else:
        typer.echo(f"tracked in MLflow: run {run_id}", err=True)
