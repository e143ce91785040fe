"""``optoforge synthesize``: seed-file errors, JSON report, and a SIGKILLed run that resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agents.cli.synthesize import register
from tests.agents.cli.processes import kill_after_first_line
from tests.agents.resocratic.scripted import seed_file

ROOT = Path(__file__).resolve().parents[3]
LLM = "py:tests.agents.resocratic.scripted:make_llm"


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test app."""

    register(app)
    return app


def test_bad_seed_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    seeds = seed_file(tmp_path / "seeds.jsonl")
    with seeds.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "broken", "type": "linear", "demonstration": "## Scenario\\nx"}\n')
    args = ["synthesize", "--n", "1", "--out", str(tmp_path / "o.jsonl"), "--seeds", str(seeds)]
    result = CliRunner().invoke(_app(), [*args, "--llm", LLM, "--no-progress"])
    assert result.exit_code == 2
    assert f"{seeds}:3: demonstration" in result.output
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.solver
def test_sigkilled_run_resumes_without_duplicating_items(tmp_path: Path) -> None:
    pytest.importorskip("pyscipopt")
    seeds = seed_file(tmp_path / "seeds.jsonl")
    out = tmp_path / "items.jsonl"
    cmd = [
        sys.executable, "-m", "agents.cli", "synthesize", "--n", "4", "--out", str(out),
        "--seeds", str(seeds), "--no-builtin-seeds", "--llm", LLM, "--workers", "2",
        "--min-constraints", "2", "--max-constraints", "2", "--max-samples", "5",
        "--no-progress", "--json",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    kill_after_first_line(proc, out, timeout_s=90)
    before = out.read_text("utf-8").splitlines()
    assert 1 <= len(before) < 4  # killed mid-run

    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    after = out.read_text("utf-8").splitlines()
    rows = [json.loads(line) for line in after]
    ids = [r["id"] for r in rows]
    assert after[: len(before)] == before  # earlier items untouched
    assert len(ids) == 4 and len(set(ids)) == 4
    assert len({r["question"] for r in rows}) == 4
    # Pottery twice (table, no-table) and one of the two garden variants at levels 3 and 4:
    # which garden variant wins the dedup race depends on which of its samples ran first.
    assert sorted(r["answer"] for r in rows) in (
        [90.0, 100.0, 100.0, 125.0],
        [100.0, 100.0, 120.0, 170.0],
    )
    state = [json.loads(line) for line in Path(f"{out}.state.jsonl").read_text().splitlines()]
    tasks = [entry["task"] for entry in state if "task" in entry]
    assert len(tasks) == len(set(tasks))  # no sample was finished twice
    report = json.loads(done.stdout)
    assert report["items_in_file"] == 4
    assert {row["stage"] for row in report["stages"]} >= {"generated", "solved", "verified"}
