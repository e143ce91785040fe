"""``optoforge prompt optimize|ablate --resume``: a killed run finishes as if never stopped,
without paying twice for a model call; a changed or occupied run directory is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.cli import create_app
from optimizers.prompting.journal import CallJournal, JournaledLLM
from tests.optimizers.prompting.world import world_llm, write_task
from trace_core.llm import Completion, ScriptedLLM, registry

ROOT = Path(__file__).resolve().parents[3]
WORLD = "py:tests.optimizers.prompting.killable:make_world"
OPTIONS = ["--budget", "30", "--max-exemplars", "2", "--seed", "1", "--no-progress"]


@pytest.fixture
def task(tmp_path: Path) -> Path:
    return write_task(tmp_path)


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(create_app(), ["prompt", *args])


def _optimize(task: Path, out: Path, *extra: str) -> list[str]:
    return ["optimize", "--task", str(task), "--llm", WORLD, "--out", str(out), *OPTIONS, *extra]


def _subprocess(args: list[str], log: Path, kill_at: int = 0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PROMPT_CALL_LOG=str(log), PYTHONPATH=str(ROOT))
    if kill_at:
        env["PROMPT_KILL_AT_CALL"] = str(kill_at)
    command = [sys.executable, "-m", "agents.cli", "prompt", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _history(out: Path) -> list[tuple[str, int]]:
    lines = (out / "history.jsonl").read_text().splitlines()
    return [(step["strategy"], step["step"]) for step in map(json.loads, lines)]


def test_sigkilled_optimize_resumes_to_the_uninterrupted_result_paying_each_call_once(
    task: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, whole_log = tmp_path / "whole", tmp_path / "whole.log"
    monkeypatch.setenv("PROMPT_CALL_LOG", str(whole_log))
    args = [*_optimize(task, whole), "--strategy", "random,instruction"]
    assert _invoke(*args).exit_code == 0
    total = _calls(whole_log)

    cut, cut_log = tmp_path / "cut", tmp_path / "cut.log"
    kill_at = 45  # inside the second strategy: the first is finished, the second half done
    assert kill_at < total
    args = [*_optimize(task, cut), "--strategy", "random,instruction"]
    killed = _subprocess(args, cut_log, kill_at=kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    before = _calls(cut_log)
    assert before == kill_at - 1
    assert (cut / "strategies" / "random.json").exists()
    assert not (cut / "best_prompt.json").exists()

    resumed = _subprocess([*args, "--resume", "--json"], cut_log)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 of 2 strategies finished (random)" in resumed.stderr
    new = _calls(cut_log) - before  # the resumed run asks only what was never answered
    assert before + new == total
    report = json.loads(resumed.stdout)
    assert report["best"] == json.loads((whole / "best_prompt.json").read_text())
    rows = json.loads((whole / "results.json").read_text())
    assert json.loads((cut / "results.json").read_text()) == rows
    history = _history(cut)
    assert len(history) == len(set(history)) and history == _history(whole)


def test_resume_refuses_a_changed_configuration_and_names_each_difference(
    task: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    assert _invoke(*_optimize(task, out), "--strategy", "seed").exit_code == 0
    result = _invoke(*_optimize(task, out), "--strategy", "seed", "--budget", "31", "--resume")
    assert result.exit_code == 2
    assert "budget: the run has 30, this command 31" in result.output
    task.write_text(task.read_text() + json.dumps({"input": "upper: ant", "output": "ANT"}) + "\n")
    result = _invoke(*_optimize(task, out), "--strategy", "random", "--resume")
    assert result.exit_code == 2
    assert "task_sha256" in result.output and "strategies" in result.output


def test_occupied_run_dir_needs_resume_or_overwrite(task: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _invoke(*_optimize(task, out), "--strategy", "seed").exit_code == 0
    refused = _invoke(*_optimize(task, out), "--strategy", "seed")
    assert refused.exit_code == 2
    assert "--resume" in refused.output and "--overwrite" in refused.output
    again = _invoke(*_optimize(task, out), "--strategy", "seed", "--overwrite")
    assert again.exit_code == 0, again.output
    assert _history(out) == [("seed", 0)]


def test_ablate_resumes_after_a_crash_with_the_same_table_and_no_call_paid_twice(
    task: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []

    def provider(crash_at: int) -> Any:
        inner = world_llm()

        def reply(messages: list[dict[str, Any]]) -> str:
            if len(asked) + 1 == crash_at:
                raise RuntimeError("the machine went down")
            asked.append(1)
            return inner.complete(messages).text

        return ScriptedLLM(reply, model="world")

    def ablate(out: Path, crash_at: int = 0, *extra: str) -> Any:
        monkeypatch.setitem(registry._PROVIDERS, "world", lambda model, **kw: provider(crash_at))
        args = ["ablate", "--task", str(task), "--llm", "world:x", "--out", str(out), *extra]
        return _invoke(*args, *OPTIONS[:4], "--no-progress")

    assert ablate(tmp_path / "whole").exit_code == 0
    total, asked[:] = len(asked), []
    crashed = ablate(tmp_path / "cut", total * 2 // 3)
    assert isinstance(crashed.exception, RuntimeError)
    assert ablate(tmp_path / "cut", 0, "--resume").exit_code == 0
    assert len(asked) == total
    table = (tmp_path / "whole" / "ablation.md").read_text()
    assert (tmp_path / "cut" / "ablation.md").read_text() == table


def test_journal_replays_answers_in_order_and_drops_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    answers = iter(["first", "second"])
    model = ScriptedLLM(lambda messages: next(answers))
    recorder = JournaledLLM(model, CallJournal(path))
    question = [{"role": "user", "content": "same question"}]
    assert [recorder.complete(question).text for _ in range(2)] == ["first", "second"]
    with path.open("ab") as fh:
        fh.write(b'{"key": "torn')
    journal = CallJournal(path)
    assert len(journal) == 2 and path.read_bytes().endswith(b"\n")
    replayer = JournaledLLM(ScriptedLLM([]), journal)
    replies = [replayer.complete(question) for _ in range(2)]
    assert [r.text for r in replies] == ["first", "second"]
    assert all(isinstance(r, Completion) for r in replies) and journal.replayed == 2
