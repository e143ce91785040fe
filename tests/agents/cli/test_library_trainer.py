"""``optoforge library learn|evolve`` run on the Trainer and keep their summaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.agents.alphaopt.script import BONES, MEALS, SAMPLE

LLM = "py:tests.agents.alphaopt.script:make_llm"
LEARN_KEYS = {
    "items", "failed_items", "statuses", "insights_added", "insights_merged", "library",
    "library_size", "run_dir", "tokens", "cost", "run_cost",
}  # fmt: skip
EVOLVE_KEYS = {
    "rounds", "statuses", "refinement", "library", "library_size", "run_dir", "tokens", "cost",
}  # fmt: skip


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    lines = [
        line
        for line in SAMPLE.read_text().splitlines()
        if f'"{MEALS}"' in line or f'"{BONES}"' in line
    ]
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _invoke(*args: str) -> Any:
    from agents.cli import create_app

    return CliRunner().invoke(create_app(), list(args))


def test_learn_and_evolve_write_trainer_runs_and_keep_their_summaries(
    dataset: Path, tmp_path: Path, sandbox_ready: None
) -> None:
    library, learned, evolved = tmp_path / "lib.sqlite", tmp_path / "learn", tmp_path / "evolve"
    common = ["--library", str(library), "--llm", LLM, "--max-repairs", "0", "--no-progress"]
    learn = ["library", "learn", str(dataset), *common, "--run-dir", str(learned)]
    learn += ["--attempts", "1", "--verify-rounds", "1", "--batch-size", "1", "--json"]

    result = _invoke(*learn)

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary) == LEARN_KEYS
    assert summary["statuses"] == {"learned": 1, "solved": 1} and summary["library_size"] == 1
    history = (learned / "history.jsonl").read_text().splitlines()
    assert len(history) == 2  # one step per item with --batch-size 1
    assert (learned / "scores.png").exists() and (learned / "checkpoint.json").exists()
    assert json.loads((learned / "run.json").read_text())["command"] == "library learn"

    # Another batch size resumes from the item states (nothing is solved again) and sets the
    # earlier steps aside.
    again = _invoke(*learn[:-3], "--batch-size", "2", "--json")
    assert again.exit_code == 0, again.output
    resumed = json.loads(again.stdout)
    assert resumed["statuses"] == summary["statuses"] and resumed["tokens"] == 0
    assert len((learned / "superseded" / "1" / "history.jsonl").read_text().splitlines()) == 2
    assert len((learned / "history.jsonl").read_text().splitlines()) == 1

    evolve = ["library", "evolve", str(dataset), *common, "--run-dir", str(evolved), "--json"]
    result = _invoke(*evolve, "--rounds", "2")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary) == EVOLVE_KEYS and summary["rounds"] == 2
    assert summary["statuses"] == {"solved": 4}  # both items, both rounds
    assert len((evolved / "history.jsonl").read_text().splitlines()) == 2  # a batch per round
