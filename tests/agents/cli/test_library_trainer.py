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
    from agents.reporting import load_run

    page = load_run(learned)  # the run page shows the trainer's steps and the items' records
    assert page.kind == "trainer" and len(page.steps) == 2
    assert sorted(i.outcome for i in page.items) == ["learned", "solved"]
    assert page.summary["insights added"] == 1 and page.summary["steps"] == 2

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


def test_learn_sigkilled_after_its_first_step_resumes_to_the_same_library_without_repaying(
    dataset: Path, tmp_path: Path, sandbox_ready: None
) -> None:
    """A real child process, killed (its whole group) once a step is in history.jsonl."""
    import os
    import subprocess
    import sys

    from tests.agents.cli.processes import kill_after_first_line

    root = Path(__file__).resolve().parents[3]

    def command(name: str) -> list[str]:
        return [
            sys.executable, "-m", "agents.cli", "library", "learn", str(dataset),
            "--llm", "py:tests.agents.alphaopt.script:make_journaled_llm",
            "--library", str(tmp_path / f"{name}.sqlite"), "--run-dir", str(tmp_path / name),
            "--max-repairs", "0", "--attempts", "1", "--verify-rounds", "1",
            "--batch-size", "1", "--no-progress", "--json",
        ]  # fmt: skip

    def env(name: str) -> dict[str, str]:
        return {
            **os.environ,
            "OPTOFORGE_CACHE": "1",
            "OPTOFORGE_CACHE_DIR": str(tmp_path / f"cache-{name}"),
            "ALPHAOPT_SCRIPT_JOURNAL": str(tmp_path / f"paid-{name}"),
        }

    def finish(name: str) -> dict[str, Any]:
        done = subprocess.run(
            command(name), env=env(name), cwd=root, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def steps(name: str) -> list[tuple[list[int], list[float]]]:
        rows = [json.loads(line) for line in (tmp_path / name / "history.jsonl").open()]
        return [(row["batch"], row["scores"]) for row in rows]

    expected = finish("ref")
    child = subprocess.Popen(
        command("killed"),
        env=env("killed"),
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    kill_after_first_line(child, tmp_path / "killed" / "history.jsonl", timeout_s=300)
    assert len(steps("killed")) == 1
    got = finish("killed")

    for key in ("items", "failed_items", "statuses", "insights_added", "library_size"):
        assert got[key] == expected[key], key
    assert steps("killed") == steps("ref")
    # Every call that reached the model was made once: finished items were not redone, and the
    # calls of the item cut off by the kill came back from the LLM cache.
    paid = (tmp_path / "paid-killed").read_text().splitlines()
    assert paid == (tmp_path / "paid-ref").read_text().splitlines()
