"""`optoforge formulate train` in the scripted world, with real sandbox runs.

The scripted model writes integer variables only when its prompt mentions indivisible counts;
the packaged rules do not, so every answer starts wrong (the LP optimum). Training must find
the rule: OptoPrime by rewriting the system rules, AlphaOPT by learning an insight.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.cli.app import create_app
from agents.evaluation.dataset import write_dataset
from agents.formulation.scripted_world import world_items
from tests.agents.cli.processes import kill_after_first_line

WORLD = "py:agents.formulation.scripted_world:make_llm"
ROOT = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.solver, pytest.mark.slow, pytest.mark.usefixtures("sandbox_ready")]


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    items = world_items()
    # Training rows shaped like ReSocratic's synthesized JSONL (program and provenance kept):
    # a synthesized file is a training set as it is.
    synthesized = [
        item.model_copy(update={"program": "...", "provenance": {"method": "resocratic"}})
        for item in items[:4]
    ]
    write_dataset(synthesized, tmp_path / "train.jsonl")
    write_dataset(items[4:7], tmp_path / "val.jsonl")
    return tmp_path / "train.jsonl", tmp_path / "val.jsonl"


def _train(data: tuple[Path, Path], run_dir: Path, *extra: str) -> dict[str, Any]:
    args = ["formulate", "train", str(data[0]), "--val", str(data[1]), "--llm", WORLD]
    args += ["--steps", "2", "--batch-size", "2", "--run-dir", str(run_dir), "--json", *extra]
    result = CliRunner().invoke(create_app(), args)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize(
    ("optimizer", "changed"),
    [
        ("optoprime", ["system_rules"]),
        ("alphaopt", ["insights"]),
        ("optoprime+alphaopt", ["insights", "system_rules"]),
        ("gepa", ["system_rules"]),
    ],
)
def test_training_raises_validation_accuracy(
    data: tuple[Path, Path], tmp_path: Path, optimizer: str, changed: list[str]
) -> None:
    if optimizer == "gepa":
        pytest.importorskip("optimizers.gepa", reason="the GEPA adapter is not in this build")
    report = _train(data, tmp_path / "run", "--optimizer", optimizer)
    assert report["val_before"] == 0.0 and report["val_after"] == 1.0
    assert report["changed"] == changed
    assert report["steps"] == 2 and report["calls"] > 0 and report["tokens"] > 0
    run = tmp_path / "run"
    for name in ("history.jsonl", "checkpoint.json", "scores.png", "best.json"):
        assert (run / name).is_file(), name
    assert len((run / "history.jsonl").read_text().splitlines()) == 2


def test_trained_program_is_used_by_formulate(data: tuple[Path, Path], tmp_path: Path) -> None:
    report = _train(data, tmp_path / "run", "--optimizer", "optoprime")
    item = world_items()[7]  # in neither set
    args = ["formulate", item.question, "--llm", WORLD, "--json"]
    plain = json.loads(CliRunner().invoke(create_app(), args).stdout)
    trained = json.loads(
        CliRunner().invoke(create_app(), [*args, "--program", report["program"]]).stdout
    )
    assert plain["objective"] != pytest.approx(item.answer)
    assert trained["objective"] == pytest.approx(item.answer)
    args = ["evaluate", str(data[1]), "--llm", WORLD, "--program", report["program"]]
    args += ["--json", "--run-dir", str(tmp_path / "eval"), "--no-progress"]
    evaluated = CliRunner().invoke(create_app(), args)
    assert json.loads(evaluated.stdout)["accuracy"] == 1.0


def test_formulate_graph_renders_with_viz(tmp_path: Path) -> None:
    item = world_items()[0]
    graph = tmp_path / "graph.json"
    app = create_app()
    solved = CliRunner().invoke(
        app, ["formulate", item.question, "--llm", WORLD, "--graph", str(graph)]
    )
    assert solved.exit_code == 0, solved.output
    shown = CliRunner().invoke(app, ["viz", str(graph), "--out", str(tmp_path / "g.dot")])
    assert shown.exit_code == 0, shown.output
    dot = (tmp_path / "g.dot").read_text()
    for op in ("system_rules", "call_llm", "extract_code", "run_program", "read_answer"):
        assert op in dot


def test_unknown_optimizer_is_a_one_line_error(data: tuple[Path, Path], tmp_path: Path) -> None:
    args = ["formulate", "train", str(data[0]), "--val", str(data[1]), "--llm", WORLD]
    result = CliRunner().invoke(create_app(), [*args, "--optimizer", "adam"])
    assert result.exit_code == 2
    assert "optoprime" in result.stderr and "Traceback" not in result.output


def _command(data: tuple[Path, Path], run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "agents.cli", "formulate", "train", str(data[0]),
        "--val", str(data[1]), "--llm", WORLD, "--optimizer", "optoprime",
        "--steps", "3", "--batch-size", "1", "--run-dir", str(run_dir), "--json",
        "--no-progress", *extra,
    ]  # fmt: skip


def _env(tmp_path: Path, name: str) -> dict[str, str]:
    env = dict(os.environ)
    env["OPTOFORGE_CACHE_DIR"] = str(tmp_path / f"cache-{name}")
    env["OPTOFORGE_CACHE"] = "1"
    env["OPTOFORGE_WORLD_JOURNAL"] = str(tmp_path / f"journal-{name}")
    return env


def _finish(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` from the repository root to the end, its output captured as text."""
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_sigkill_mid_training_resumes_to_the_same_result_without_repaying(
    data: tuple[Path, Path], tmp_path: Path
) -> None:
    reference = _finish(_command(data, tmp_path / "ref"), _env(tmp_path, "ref"))
    assert reference.returncode == 0, reference.stderr
    expected = json.loads(reference.stdout)

    run_dir = tmp_path / "killed"
    env = _env(tmp_path, "killed")
    child = subprocess.Popen(
        _command(data, run_dir),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    history = run_dir / "history.jsonl"
    kill_after_first_line(child, history, timeout_s=300)
    assert history.read_text().count("\n") < 3

    resumed = _finish(_command(data, run_dir, "--resume"), env)
    assert resumed.returncode == 0, resumed.stderr
    got = json.loads(resumed.stdout)
    for key in ("val_before", "val_after", "steps", "best_step", "changed"):
        assert got[key] == expected[key], key
    assert (run_dir / "best.json").read_text() == (tmp_path / "ref" / "best.json").read_text()

    def steps(path: Path) -> list[dict[str, Any]]:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        return [{k: r[k] for k in ("batch", "scores", "updates", "val_score")} for r in rows]

    assert steps(history) == steps(tmp_path / "ref" / "history.jsonl")
    # Every call that reached the model was made once: the resumed run got the rest from the
    # LLM cache, so the journal of paid calls is as long as the uninterrupted run's.
    paid = (tmp_path / "journal-killed").read_text().splitlines()
    assert len(paid) == len((tmp_path / "journal-ref").read_text().splitlines())
    # ...and the run's own call journal (llm_calls.jsonl) counted every one of them.
    assert got["calls"] == expected["calls"] == len(paid)


def test_budget_stops_training_cleanly_with_the_program_saved(
    data: tuple[Path, Path], tmp_path: Path
) -> None:
    report = _train(data, tmp_path / "run", "--budget-calls", "5")
    assert report["stopped"] and "budget" in report["stopped"]
    assert report["steps"] == 0 and report["val_before"] == 0.0
    assert Path(report["program"]).is_file()
