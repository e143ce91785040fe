"""Log a run directory to MLflow: parameters, per-step metrics, the run page and the files.

Tracking reads the run directory (through :func:`~agents.reporting.readers.load_run`), so every
command is tracked the same way and a run can be logged during, after or long after it ran.
``mlflow.json`` in the run directory remembers the MLflow run id and the last step logged per
metric: a resumed command (or a second ``optoforge track``) continues the same MLflow run and
logs each point once.

Where runs go: ``MLFLOW_TRACKING_URI`` when set (any tracking server or database), else MLflow's
own local default (``sqlite:///mlflow.db`` in the current directory, artifacts in ``mlruns/``
beside the database). MLflow 3 refuses its old plain-file store unless told otherwise, so the local
SQLite store is the default, not ``./mlruns`` alone.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from agents.reporting.model import RunView
from agents.reporting.page import write_page
from agents.reporting.readers import load_run
from trace_core.durable import write_atomic
from trace_core.errors import OptoforgeError

STATE_FILE = "mlflow.json"
PAGE_FILE = "report.html"
_PARAM_CHARS = 500  # MLflow caps parameter values; long prompts belong in artifacts


class TrackingError(OptoforgeError, RuntimeError):
    """MLflow is missing or refused the run."""


def track_run(
    run_dir: str | Path,
    *,
    uri: str | None = None,
    experiment: str = "optoforge",
    command: str | None = None,
    extra_params: dict[str, Any] | None = None,
    artifacts: bool = True,
) -> str:
    """Log (or continue logging) the run at ``run_dir`` to MLflow; returns the MLflow run id.

    Raises:
        TrackingError: when mlflow is not installed (``pip install 'optoforge[track]'``).
        NotARunError: when ``run_dir`` holds no optoforge run.
    """
    try:
        import mlflow
    except ImportError as err:
        raise TrackingError("--track mlflow needs MLflow: pip install 'optoforge[track]'") from err
    view = load_run(run_dir)
    home = Path(run_dir) if Path(run_dir).is_dir() else Path(run_dir).parent
    # A run that is a file (a synthesizer output) keeps its own state beside it.
    state_path = home / STATE_FILE if Path(run_dir).is_dir() else Path(f"{run_dir}.{STATE_FILE}")
    state = _load_state(state_path)
    tracking_uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()
    if state.get("tracking_uri") not in (None, tracking_uri):
        state = {}  # logged elsewhere before: start a fresh run at this URI
    mlflow.set_tracking_uri(tracking_uri)
    _use_experiment(mlflow, experiment, tracking_uri)
    run_id = state.get("run_id")
    with mlflow.start_run(run_id=run_id, run_name=None if run_id else home.name) as run:
        if not run_id:
            mlflow.set_tags({"optoforge.kind": view.kind, "optoforge.path": view.path})
        # A run logged live may show some settings only later (e.g. once its checkpoint
        # exists): log each parameter the first time it is seen; MLflow refuses a change.
        params = _flat_params(view, command, extra_params)
        # (a state file from before this rule: everything was logged on the first call)
        known = set(state.get("params", params if run_id else []))
        fresh = {key: value for key, value in params.items() if key not in known}
        if fresh:
            mlflow.log_params(fresh)
        logged: dict[str, int] = dict(state.get("logged") or {})
        _log_metrics(mlflow, view, logged)
        state = {
            "run_id": run.info.run_id,
            "tracking_uri": tracking_uri,
            "logged": logged,
            "params": sorted(known | set(params)),
        }
        write_atomic(state_path, json.dumps(state, indent=1))
        if artifacts:
            _log_artifacts(mlflow, view, home)
        return str(run.info.run_id)


def _use_experiment(mlflow: Any, name: str, tracking_uri: str) -> None:
    """Select (creating when new) the experiment; a local SQLite store keeps its artifacts in
    ``mlruns/`` beside the database file, not in whatever directory the command ran from."""
    if mlflow.get_experiment_by_name(name) is None and tracking_uri.startswith("sqlite:///"):
        database = Path(tracking_uri.removeprefix("sqlite:///"))
        mlflow.create_experiment(name, artifact_location=(database.parent / "mlruns").as_uri())
    mlflow.set_experiment(name)


def _load_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _flat_params(
    view: RunView, command: str | None, extra: dict[str, Any] | None
) -> dict[str, str]:
    params: dict[str, Any] = {"kind": view.kind}
    if command:
        params["command"] = command
    params.update(view.config)
    params.update(extra or {})
    return {
        str(key)[:250]: (value if isinstance(value, str) else json.dumps(value, default=str))[
            :_PARAM_CHARS
        ]
        for key, value in params.items()
        if value is not None
    }


def _log_metrics(mlflow: Any, view: RunView, logged: dict[str, int]) -> None:
    """Log each (metric, step) point newer than the last one logged before."""
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    batch = []
    for name, points in view.metrics().items():
        key = name.replace(" ", "_")
        last = logged.get(key, -1)
        fresh = [(step, value) for step, value in points if step > last]
        batch += [Metric(key=key, value=value, timestamp=now, step=step) for step, value in fresh]
        if fresh:
            logged[key] = max(step for step, _ in fresh)
    client = mlflow.tracking.MlflowClient()
    run_id = mlflow.active_run().info.run_id
    for start in range(0, len(batch), 1000):  # MLflow's batch limit
        client.log_batch(run_id, metrics=batch[start : start + 1000])


def _log_artifacts(mlflow: Any, view: RunView, home: Path) -> None:
    """The run page and the run directory's files (the tracker's own state file excluded)."""
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.log_artifact(str(write_page(view, Path(tmp) / PAGE_FILE)))
    if Path(view.path).is_dir():
        for path in sorted(Path(view.path).iterdir()):
            if path.name == STATE_FILE:
                continue
            if path.is_dir():
                mlflow.log_artifacts(str(path), artifact_path=f"run/{path.name}")
            elif path.is_file():
                mlflow.log_artifact(str(path), artifact_path="run")
    else:
        mlflow.log_artifact(view.path, artifact_path="run")
