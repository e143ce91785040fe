"""``--track mlflow`` for the long commands: log the run directory to MLflow as it grows.

The command's run directory is what gets logged (parameters, per-step metrics, the run page,
the files), through :func:`agents.reporting.track_run`; a resumed command continues the same
MLflow run and logs only what is new. While the command runs, a background thread looks at the
run directory every ``OPTOFORGE_TRACK_INTERVAL`` seconds (default 10) and logs the new metric
points when a file changed, so MLflow's charts follow a long run live. When the command ends,
however it ends (done, budget stop, Ctrl-C), the last points, the run page and the files are
logged. A tracking failure is a warning: it never changes the command's result or exit code.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

TRACKERS = ("mlflow",)
INTERVAL_ENV = "OPTOFORGE_TRACK_INTERVAL"
DEFAULT_INTERVAL_S = 10.0


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
        help="Log the run to MLflow while it runs and when it ends (MLFLOW_TRACKING_URI picks "
        "the server; default ./mlflow.db). A resumed run continues the same MLflow run.",
    ),
]
"""``--track``, for every long command."""


@contextmanager
def tracked(
    run_dir: Path | str | None,
    track: str | None,
    command: str,
    *,
    interval: float | None = None,
) -> Iterator[None]:
    """Run the command's body with ``run_dir`` logged live, then log it in full.

    ``interval`` is the seconds between looks at the run directory (default: the
    ``OPTOFORGE_TRACK_INTERVAL`` environment variable, else 10).
    """
    if not track or run_dir is None:
        yield
        return
    live = LiveTracker(Path(run_dir), command, interval if interval else _interval())
    live.start()
    try:
        yield
    finally:
        live.stop()
        if Path(run_dir).exists():
            _log(Path(run_dir), command)


def _interval() -> float:
    raw = os.environ.get(INTERVAL_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_INTERVAL_S
    except ValueError:
        value = DEFAULT_INTERVAL_S
    return value if value > 0 else DEFAULT_INTERVAL_S


class LiveTracker(threading.Thread):
    """Logs the new metric points of a growing run directory while its command runs.

    It looks every ``interval`` seconds and calls :func:`agents.reporting.track_run` (metrics
    only; artifacts wait for the end) when a file in the run directory changed. A run
    directory that cannot be read yet (no manifest, a half-written first row) is simply tried
    again at the next look; the final log when the command ends reports any real failure.
    """

    def __init__(self, run_dir: Path, command: str, interval: float) -> None:
        super().__init__(name="optoforge-track", daemon=True)
        self.run_dir = run_dir
        self.command = command
        self.interval = interval
        self.logged = 0  # successful live logs (for tests and diagnostics)
        self._halt = threading.Event()
        self._seen: tuple[tuple[str, int, int], ...] = ()

    def stop(self) -> None:
        """Stop looking; returns once a log in progress has finished."""
        self._halt.set()
        if self.is_alive():
            self.join()

    def run(self) -> None:
        """Look, log when changed, sleep; until :meth:`stop`."""
        while not self._halt.wait(self.interval):
            signature = _signature(self.run_dir)
            if not signature or signature == self._seen:
                continue
            try:
                from agents.reporting import track_run

                track_run(self.run_dir, command=self.command, artifacts=False)
            except Exception:  # retried at the next look; the final log reports failures
                continue
            self._seen = signature
            self.logged += 1


def _signature(run_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of the run's files (the tracker's own excluded)."""
    from agents.reporting.tracking import STATE_FILE

    try:
        paths = sorted(run_dir.iterdir()) if run_dir.is_dir() else [run_dir]
        stats = [(p.name, p.stat()) for p in paths if p.is_file() and p.name != STATE_FILE]
    except OSError:
        return ()
    return tuple((name, st.st_size, st.st_mtime_ns) for name, st in stats)


def _log(run_dir: Path, command: str) -> None:
    from agents.reporting import track_run

    try:
        run_id = track_run(run_dir, command=command)
    except Exception as err:  # tracking is a view of the run: it never fails the command
        typer.echo(f"warning: could not log {run_dir} to MLflow: {err}", err=True)
    else:
        typer.echo(f"tracked in MLflow: run {run_id}", err=True)
