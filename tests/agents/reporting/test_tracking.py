"""MLflow tracking against a real local MLflow store (SQLite + artifact directory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agents.reporting.runs import evaluation_run, trainer_run

mlflow = pytest.importorskip("mlflow", reason="needs the track extra (mlflow)")


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One store for the module: creating MLflow's tables is the slow part."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def _client(uri: str):  # type: ignore[no-untyped-def]
    return mlflow.tracking.MlflowClient(tracking_uri=uri)


def test_a_trainer_run_is_logged_with_metrics_params_and_artifacts(
    tmp_path: Path, uri: str
) -> None:
    from agents.reporting import track_run

    run_id = track_run(trainer_run(tmp_path), uri=uri, command="formulate train")
    client = _client(uri)
    run = client.get_run(run_id)
    assert run.data.params["command"] == "formulate train"
    assert run.data.params["batch_size"] == "1"
    history = client.get_metric_history(run_id, "validation")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 1.0), (2, 1.0)]
    assert [m.value for m in client.get_metric_history(run_id, "calls")] == [1.0, 2.0, 3.0]
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert "report.html" in artifacts
    run_files = {a.path for a in client.list_artifacts(run_id, "run")}
    assert {"run/history.jsonl", "run/checkpoint.json", "run/initial.json"} <= run_files


def test_tracking_again_continues_the_same_run_without_duplicate_points(
    tmp_path: Path, uri: str
) -> None:
    from agents.evaluation.results import RunLog
    from agents.reporting import track_run

    run_dir = evaluation_run(tmp_path, n=3)
    first = track_run(run_dir, uri=uri, artifacts=False)
    # the command resumes and finishes two more items
    log = RunLog(run_dir)
    extra = evaluation_run(tmp_path / "more", n=5)
    for record in RunLog(extra).load()[3:]:
        log.append(record)
    second = track_run(run_dir, uri=uri, artifacts=False)
    assert second == first
    points = _client(uri).get_metric_history(first, "accuracy_so_far")
    assert [m.step for m in points] == [1, 2, 3, 4, 5]


def test_a_command_is_tracked_live_while_its_run_directory_grows(
    tmp_path: Path, uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Points reach MLflow while the command body still runs, each once; artifacts at the end."""
    import json
    import shutil
    import time

    from agents.cli.tracking import LiveTracker, tracked

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    done = trainer_run(tmp_path / "done")
    rows = (done / "history.jsonl").read_text().splitlines(keepends=True)
    run_dir = tmp_path / "live"
    run_dir.mkdir()
    for path in done.iterdir():
        if path.name != "history.jsonl" and path.is_file():
            shutil.copy(path, run_dir / path.name)
    client = _client(uri)
    seen_live: list[list[int]] = []
    started: list[LiveTracker] = []
    real_start = LiveTracker.start
    monkeypatch.setattr(LiveTracker, "start", lambda self: (started.append(self), real_start(self)))

    def validation_steps() -> list[int]:
        state = run_dir / "mlflow.json"
        if not state.exists():
            return []
        run_id = json.loads(state.read_text())["run_id"]
        return [m.step for m in client.get_metric_history(run_id, "validation")]

    with tracked(run_dir, "mlflow", "formulate train", interval=0.05):
        with (run_dir / "history.jsonl").open("a", encoding="utf-8") as history:
            for count, row in enumerate(rows, start=1):
                history.write(row)
                history.flush()
                deadline = time.monotonic() + 30
                while len(validation_steps()) < count and time.monotonic() < deadline:
                    time.sleep(0.05)
                seen_live.append(validation_steps())
        assert not (run_dir / "report.html").exists()
    assert seen_live == [[0], [0, 1], [0, 1, 2]]
    assert started and started[0].logged >= 3 and not started[0].is_alive()
    run_id = json.loads((run_dir / "mlflow.json").read_text())["run_id"]
    assert validation_steps() == [0, 1, 2]  # the final log added no duplicate point
    assert "report.html" in {a.path for a in client.list_artifacts(run_id)}
    assert client.get_run(run_id).data.params["command"] == "formulate train"
