"""Bad input gets one line on stderr and the documented exit code, before anything is paid for.

Each test drives a command the way a user would (typer's CliRunner, or a real subprocess where
signals matter) and asserts the one-line message and the exit code: 2 bad input, 3 budget stop,
4 model unreachable, 130 interrupted (see ``agents.cli.common``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.cli import create_app
from tests.agents.cli import fakes
from tests.servers.chat_server import ChatServer, Reply

ROOT = Path(__file__).resolve().parents[3]
COUNTING = "py:tests.agents.cli.fakes:counting"
FAULT = "py:tests.agents.cli.fakes:fault_server"
NOT_UTF8 = b'{"id": "a", "question": "caf\xe9 \xff\xfe"}\n'


def _invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(create_app(), list(args), env=env)


def _one_line_error(result: Any, code: int, *needles: str) -> str:
    """Assert exit ``code`` and an ``error:`` line holding ``needles``; return that line."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]
    return str(lines[0])


@pytest.fixture(autouse=True)
def _count_calls() -> None:
    fakes.CALLS.clear()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    rows = [
        {"id": f"q{n}", "source": "S", "question": f"Maximize x with x <= {n}", "answer": n}
        for n in range(1, 4)
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _evaluate(dataset: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        "evaluate", str(dataset), "--llm", COUNTING, "--run-dir", str(run_dir),
        "--max-repairs", "0", "--workers", "1", "--no-progress", *extra,
    ]  # fmt: skip


# -- run directories ---------------------------------------------------------------------------
def test_evaluate_refuses_a_prompt_run_dir_even_with_overwrite(
    dataset: Path, tmp_path: Path
) -> None:
    from optimizers.prompting.rundir import PromptRun

    prompt_dir = tmp_path / "prompt-run"
    PromptRun(prompt_dir, {"command": "optimize", "budget": 30})
    (prompt_dir / "history.jsonl").write_text('{"strategy": "seed", "step": 0}\n')
    for flag in ("--resume", "--overwrite"):
        result = _invoke(*_evaluate(dataset, prompt_dir, flag))
        _one_line_error(result, 2, "holds a run of `optoforge prompt optimize`", "--run-dir")
    assert (prompt_dir / "history.jsonl").read_text() == '{"strategy": "seed", "step": 0}\n'
    assert fakes.CALLS == []


def test_evaluate_resume_with_another_dataset_names_the_difference(
    dataset: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    assert _invoke(*_evaluate(dataset, run_dir)).exit_code == 0
    other = tmp_path / "other.jsonl"
    other.write_text(dataset.read_text().replace("x <= 1", "x <= 9"))
    before = (run_dir / "results.jsonl").read_text()
    result = _invoke(*_evaluate(other, run_dir, "--resume"))
    _one_line_error(result, 2, "cannot resume", "dataset_sha256: the run has")
    assert (run_dir / "results.jsonl").read_text() == before


@pytest.mark.parametrize("command", ["evaluate", "library learn", "prompt optimize"])
def test_run_dir_that_is_a_file_is_refused_before_any_model_call(
    command: str, dataset: Path, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    if command == "evaluate":
        args = _evaluate(dataset, taken)
    elif command == "library learn":
        args = ["library", "learn", str(dataset), "--llm", COUNTING, "--run-dir", str(taken),
                "--library", str(tmp_path / "lib.sqlite"), "--no-progress"]  # fmt: skip
    else:
        task = tmp_path / "task.jsonl"
        task.write_text("".join(json.dumps({"input": n, "output": n}) + "\n" for n in range(8)))
        args = ["prompt", "optimize", "--task", str(task), "--llm", COUNTING,
                "--out", str(taken), "--no-progress"]  # fmt: skip
    _one_line_error(_invoke(*args), 2, "is a file, not a folder")
    assert taken.read_text() == "not a folder"
    assert fakes.CALLS == []


def test_run_dir_that_cannot_be_written_is_refused_before_any_model_call(
    dataset: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    result = _invoke(*_evaluate(dataset, blocker / "run"))
    _one_line_error(result, 2, "cannot be written")
    assert fakes.CALLS == []


# -- non-UTF-8 input ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command", ["evaluate", "library learn", "prompt", "formulate", "library import", "viz"]
)
def test_non_utf8_input_is_one_line(command: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(NOT_UTF8)
    library = str(tmp_path / "lib.sqlite")
    args = {
        "evaluate": ["evaluate", str(bad), "--llm", COUNTING, "--run-dir", str(tmp_path / "r")],
        "library learn": ["library", "learn", str(bad), "--llm", COUNTING, "--library", library,
                          "--run-dir", str(tmp_path / "r")],
        "prompt": ["prompt", "optimize", "--task", str(bad), "--llm", COUNTING,
                   "--out", str(tmp_path / "r")],
        "formulate": ["formulate", str(bad), "--llm", COUNTING],
        "library import": ["library", "import", str(bad), "--library", library],
        "viz": ["viz", str(bad)],
    }[command]  # fmt: skip
    _one_line_error(_invoke(*args), 2, "UTF-8")
    assert fakes.CALLS == []


# -- libraries ---------------------------------------------------------------------------------
def test_library_that_is_a_folder_or_not_a_database_is_one_line(
    dataset: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not sqlite" * 100)
    _one_line_error(_invoke("library", "show", "--library", str(folder)), 2, "is a folder")
    result = _invoke("library", "show", "--library", str(garbage))
    _one_line_error(result, 2, "cannot be opened as an optoforge library")
    result = _invoke(
        "library", "evaluate", str(dataset), "--llm", COUNTING, "--library", str(garbage),
        "--run-dir", str(tmp_path / "r"), "--no-progress",
    )  # fmt: skip
    _one_line_error(result, 2, "cannot be opened as an optoforge library")
    assert fakes.CALLS == []


@pytest.mark.parametrize("command", ["evolve", "evaluate", "show", "export"])
def test_mistyped_library_is_refused_and_not_created(
    command: str, dataset: Path, tmp_path: Path
) -> None:
    typo = tmp_path / "libary.sqlite"
    run = ["--llm", COUNTING, "--run-dir", str(tmp_path / "r"), "--no-progress"]
    args = {
        "evolve": ["library", "evolve", str(dataset), *run],
        "evaluate": ["library", "evaluate", str(dataset), *run],
        "show": ["library", "show"],
        "export": ["library", "export", str(tmp_path / "out.json")],
    }[command]
    _one_line_error(_invoke(*args, "--library", str(typo)), 2, f"no library at {typo}")
    assert not typo.exists()
    assert fakes.CALLS == []


def test_library_export_to_a_folder_is_refused_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    from agents.alphaopt.store import ExperienceLibrary

    library = tmp_path / "lib.sqlite"
    ExperienceLibrary(library).close()
    target = tmp_path / "exports"
    target.mkdir()
    result = _invoke("library", "export", str(target), "--library", str(library))
    _one_line_error(result, 2, "is a folder")
    assert list(tmp_path.rglob("*.tmp")) == []


def test_malformed_export_is_refused_and_imports_nothing(tmp_path: Path) -> None:
    from agents.alphaopt.store import EXPORT_FORMAT, ExperienceLibrary

    library = tmp_path / "lib.sqlite"
    with ExperienceLibrary(library) as store:
        before = len(store.all(include_inactive=True))
    bad = tmp_path / "export.json"
    good = {"taxonomy": ["t"], "condition": "c", "explanation": "e", "example": "x"}
    document = {"format": EXPORT_FORMAT, "insights": [good, {"taxonomy": 5}]}
    bad.write_text(json.dumps(document))
    result = _invoke("library", "import", str(bad), "--library", str(library))
    _one_line_error(result, 2, "malformed library export", "nothing was imported")
    with ExperienceLibrary(library) as store:
        assert len(store.all(include_inactive=True)) == before


# -- values that must be refused ---------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
@pytest.mark.parametrize("command", ["formulate", "evaluate"])
def test_timeout_that_is_not_a_positive_number_is_refused(
    command: str, value: str, dataset: Path, tmp_path: Path
) -> None:
    target = "Maximize x" if command == "formulate" else str(dataset)
    result = _invoke(command, target, "--llm", COUNTING, "--timeout", value)
    assert result.exit_code == 2
    assert "above 0" in result.output and "Traceback" not in result.output
    assert fakes.CALLS == []


def test_demo_refuses_negative_steps() -> None:
    result = _invoke("demo", "--steps", "-3")
    assert result.exit_code == 2
    assert "--steps" in result.output and "Traceback" not in result.output


_MISSING_FILE_ARGS = [
    ["formulate", "problems/knapsack.txt", "--llm", COUNTING],
    ["prompt", "optimize", "--task", "TASK", "--instruction", "prompts/seed.txt",
     "--llm", COUNTING, "--out", "OUT"],
]  # fmt: skip


@pytest.mark.parametrize("args", _MISSING_FILE_ARGS, ids=["formulate", "prompt-instruction"])
def test_missing_file_that_looks_like_a_path_is_not_sent_to_the_model(
    args: list[str], tmp_path: Path
) -> None:
    task = tmp_path / "task.jsonl"
    task.write_text("".join(json.dumps({"input": n, "output": n}) + "\n" for n in range(8)))
    args = [{"TASK": str(task), "OUT": str(tmp_path / "out")}.get(a, a) for a in args]
    _one_line_error(_invoke(*args), 2, "no ", ".txt")
    assert fakes.CALLS == []


def test_empty_dataset_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    result = _invoke(*_evaluate(empty, tmp_path / "run"))
    _one_line_error(result, 2, "has no items")


def test_garbage_lp_file_is_not_reported_as_optimal(tmp_path: Path) -> None:
    garbage = tmp_path / "model.lp"
    garbage.write_text("this is not a model\nat all\n")
    result = _invoke("solve", str(garbage))
    _one_line_error(result, 2, "could parse")
    assert "optimal" not in result.output


def test_dataset_field_of_the_wrong_type_names_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "items.jsonl"
    row = {"id": "a", "source": "S", "question": "Maximize x", "answer": "forty"}
    bad.write_text(json.dumps(row) + "\n")
    result = _invoke(*_evaluate(bad, tmp_path / "run"))
    _one_line_error(result, 2, "items.jsonl:1", "answer")
    assert fakes.CALLS == []


# -- models that fail, budgets, interrupts -----------------------------------------------------
def test_unreachable_model_is_an_error_not_a_zero_accuracy(dataset: Path, tmp_path: Path) -> None:
    env = {"FAULT_SERVER_URL": "http://127.0.0.1:9/v1"}  # the discard port: nothing listens
    args = _evaluate(dataset, tmp_path / "run", "--json")
    args[args.index(COUNTING)] = FAULT
    result = _invoke(*args, env=env)
    _one_line_error(result, 4, "could not be reached", "--resume")
    assert "accuracy" not in result.stdout


def test_server_that_never_answers_is_bounded_by_the_llm_timeout(
    dataset: Path, tmp_path: Path
) -> None:
    args = _evaluate(dataset, tmp_path / "run", "--llm-timeout", "0.3")
    args[args.index(COUNTING)] = FAULT
    with ChatServer(lambda body: Reply.slow(5.0)) as server:
        started = time.monotonic()
        result = _invoke(*args, env={"FAULT_SERVER_URL": server.url})
        waited = time.monotonic() - started
    _one_line_error(result, 4, "did not answer in time", "--llm-timeout")
    assert waited < 5.0 * server.count  # each try gave up at the timeout, not the reply


def test_ctrl_c_exits_130_says_how_to_resume_and_resume_finishes_without_duplicates(
    dataset: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    args = _evaluate(dataset, run_dir)
    args[args.index(COUNTING)] = FAULT
    with ChatServer(lambda body: Reply.slow(0.5, content=fakes.NO_CODE)) as server:
        env = dict(os.environ, PYTHONPATH=str(ROOT), FAULT_SERVER_URL=server.url)
        child = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while server.count < 2 and time.monotonic() < deadline:  # the second item is under way
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
        assert child.returncode == 130, stderr
        assert "Traceback" not in stderr
        assert "interrupted" in stderr and "--resume" in stderr and str(run_dir) in stderr
        result = _invoke(*args, "--resume", env={"FAULT_SERVER_URL": server.url})
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["id"] for line in (run_dir / "results.jsonl").open()]
    assert sorted(ids) == ["q1", "q2", "q3"]  # each item once: none lost, none duplicated


def test_demo_run_dir_is_refused_when_occupied_and_resumes_with_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.cli import demo

    monkeypatch.setattr(demo, "_local_llm", lambda: None)
    run_dir = tmp_path / "demo"
    first = _invoke("demo", "--example", "prompt", "--run-dir", str(run_dir))
    assert first.exit_code == 0, first.output
    history = (run_dir / "history.jsonl").read_text()
    again = _invoke("demo", "--example", "prompt", "--run-dir", str(run_dir))
    _one_line_error(again, 2, "already holds a run", "--resume")
    resumed = _invoke("demo", "--example", "prompt", "--run-dir", str(run_dir), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["run_dir"] == str(run_dir)
    assert (run_dir / "history.jsonl").read_text() == history  # nothing redone or duplicated


def test_library_learn_with_an_unreachable_model_stops_instead_of_failing_every_item(
    dataset: Path, tmp_path: Path
) -> None:
    library = str(tmp_path / "lib.sqlite")
    args = ["library", "learn", str(dataset), "--llm", FAULT, "--library", library,
            "--run-dir", str(tmp_path / "r"), "--no-progress"]  # fmt: skip
    result = _invoke(*args, env={"FAULT_SERVER_URL": "http://127.0.0.1:9/v1"})
    _one_line_error(result, 4, "could not be reached", "rerun the same command")


def test_library_run_dir_refuses_another_configuration_naming_it(
    dataset: Path, tmp_path: Path
) -> None:
    run = ["--llm", COUNTING, "--library", str(tmp_path / "lib.sqlite"),
           "--run-dir", str(tmp_path / "r"), "--no-progress", "--workers", "1"]  # fmt: skip
    first = _invoke("library", "learn", str(dataset), *run, "--attempts", "1")
    assert first.exit_code == 0, first.output
    calls = len(fakes.CALLS)
    again = _invoke("library", "learn", str(dataset), *run, "--attempts", "2")
    _one_line_error(again, 2, "attempts: the run has 1, this command 2")
    assert len(fakes.CALLS) == calls
