"""``--track mlflow`` on a long command, against a real local MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.cli.app import create_app
from agents.evaluation.dataset import write_dataset
from agents.formulation.scripted_world import world_items

mlflow = pytest.importorskip("mlflow", reason="needs the track extra (mlflow)")
WORLD = "py:agents.formulation.scripted_world:make_llm"

pytestmark = [pytest.mark.solver, pytest.mark.slow, pytest.mark.usefixtures("sandbox_ready")]


def test_formulate_train_is_tracked_and_a_resume_continues_the_same_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    items = world_items()
    write_dataset(items[:4], tmp_path / "train.jsonl")
    write_dataset(items[4:6], tmp_path / "val.jsonl")
    run_dir = tmp_path / "run"
    args = ["formulate", "train", str(tmp_path / "train.jsonl"), "--val"]
    args += [str(tmp_path / "val.jsonl"), "--llm", WORLD, "--batch-size", "2", "--json"]
    args += ["--run-dir", str(run_dir), "--track", "mlflow", "--no-progress"]
    first = CliRunner().invoke(create_app(), [*args, "--steps", "1"])
    assert first.exit_code == 0, first.output
    run_id = json.loads((run_dir / "mlflow.json").read_text())["run_id"]
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    assert [m.step for m in client.get_metric_history(run_id, "validation")] == [0]
    assert client.get_run(run_id).data.params["command"] == "formulate train"
    assert "report.html" in {a.path for a in client.list_artifacts(run_id)}

    second = CliRunner().invoke(create_app(), [*args, "--steps", "2", "--resume"])
    assert second.exit_code == 0, second.output
    assert json.loads((run_dir / "mlflow.json").read_text())["run_id"] == run_id
    assert [m.step for m in client.get_metric_history(run_id, "validation")] == [0, 1]
    assert len(client.search_runs([client.get_run(run_id).info.experiment_id])) == 1


def test_an_unknown_tracker_is_refused_before_any_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        create_app(), ["evaluate", str(tmp_path / "x.jsonl"), "--track", "wandb"]
    )
    assert result.exit_code == 2
    assert "unknown tracker 'wandb'" in result.output
