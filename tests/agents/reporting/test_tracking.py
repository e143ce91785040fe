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
