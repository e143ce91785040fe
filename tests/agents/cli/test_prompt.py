"""``optoforge prompt optimize|ablate`` end to end with a scripted model, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.cli import create_app
from tests.optimizers.prompting.world import world_llm, write_task
from trace_core.llm import registry


@pytest.fixture
def task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(registry._PROVIDERS, "world", lambda model, **kw: world_llm())
    return write_task(tmp_path)


def _invoke(*args: str) -> object:
    return CliRunner().invoke(create_app(), ["prompt", *args])


def _on_world(command: str, task: Path, *args: str) -> object:
    """``prompt COMMAND --task TASK --llm world:x ARGS`` (the scripted world model)."""
    return _invoke(command, "--task", str(task), "--llm", "world:x", *args)


def test_optimize_writes_history_best_prompt_and_plot_per_strategy(
    task: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = _on_world(
        "optimize",
        task,
        "--budget",
        "50",
        "--seed",
        "1",
        "--strategy",
        "random,instruction",
        "--max-exemplars",
        "2",
        "--out",
        str(out),
        "--no-progress",
        "--json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["strategy"] for r in report["rows"]] == ["random", "instruction"]
    assert all(r["calls"] <= 50 for r in report["rows"])
    best = json.loads((out / "best_prompt.json").read_text())
    assert best["strategy"] == "random" and len(best["exemplars"]) == 2
    assert "=== user ===" in best["template"]
    assert best["val_score"] == max(r["val"] for r in report["rows"])
    steps = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert {s["strategy"] for s in steps} == {"random", "instruction"}
    assert steps[0]["kind"] == "seed"
    assert (out / "scores.png").read_bytes()[:4] == b"\x89PNG"


def test_ablate_writes_the_table_in_the_papers_order(task: Path, tmp_path: Path) -> None:
    out = tmp_path / "abl"
    result = _on_world(
        "ablate",
        task,
        "--budget",
        "40",
        "--max-exemplars",
        "2",
        "--out",
        str(out),
        "--no-progress",
    )
    assert result.exit_code == 0, result.output
    table = (out / "ablation.md").read_text()
    order = [
        table.index(f"\n| {s} |")
        for s in ("seed", "instruction", "random", "bootstrap", "combined")
    ]
    assert order == sorted(order)
    assert (out / "scores.png").exists()


def test_bad_task_line_is_reported_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"input": "a", "output": "A"}\n{"input": "b"}\n')
    result = _invoke("optimize", "--task", str(path), "--llm", "scripted:x", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "bad.jsonl:2: missing output" in result.output


def test_unknown_strategy_lists_the_known_ones(task: Path, tmp_path: Path) -> None:
    result = _on_world(
        "optimize",
        task,
        "--strategy",
        "magic",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 2
    assert "magic" in result.output and "bootstrap" in result.output
