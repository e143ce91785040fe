"""The one run directory: manifest checks, crash-safe journal, atomic state, overwrite rules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from trace_core.errors import OptoforgeError
from trace_core.runs import MANIFEST, Journal, RunDir, RunDirError, check_writable_dir

CONFIG = {"dataset": "abc123", "model": "openai:a", "seed": 0}


def test_run_dir_error_is_an_optoforge_error() -> None:
    assert issubclass(RunDirError, OptoforgeError)


def test_manifest_records_command_config_and_details(tmp_path: Path) -> None:
    RunDir(tmp_path / "run", "evaluate", CONFIG, details={"workers": 4})
    manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
    assert (manifest["command"], manifest["config"], manifest["workers"]) == (
        "evaluate",
        CONFIG,
        4,
    )


def test_resume_with_another_configuration_names_each_difference(tmp_path: Path) -> None:
    run = RunDir(tmp_path, "evaluate", CONFIG, artifacts=["results.jsonl"])
    run.journal("results.jsonl").append({"id": "a"})
    changed = {**CONFIG, "dataset": "def456", "seed": 1}
    with pytest.raises(RunDirError) as err:
        RunDir(tmp_path, "evaluate", changed, resume=True, artifacts=["results.jsonl"])
    assert "dataset: the run has 'abc123', this command 'def456'" in str(err.value)
    assert "seed: the run has 0, this command 1" in str(err.value)
    assert "model" not in str(err.value)


def test_another_commands_run_is_refused_even_with_overwrite(tmp_path: Path) -> None:
    run = RunDir(tmp_path, "prompt optimize", CONFIG, artifacts=["history.jsonl"])
    run.journal("history.jsonl").append({"step": 0})
    for flags in ({}, {"resume": True}, {"overwrite": True}):
        with pytest.raises(RunDirError, match="holds a run of `optoforge prompt optimize`"):
            RunDir(tmp_path, "evaluate", CONFIG, artifacts=["results.jsonl"], **flags)
    assert Journal(tmp_path / "history.jsonl").records() == [{"step": 0}]


def test_occupied_folder_needs_resume_or_overwrite_and_overwrite_deletes_only_ours(
    tmp_path: Path,
) -> None:
    run = RunDir(tmp_path, "evaluate", CONFIG, artifacts=["results.jsonl"])
    run.journal("results.jsonl").append({"id": "a"})
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="--resume to continue it, --overwrite"):
        RunDir(tmp_path, "evaluate", CONFIG, artifacts=["results.jsonl"])
    assert RunDir(tmp_path, "evaluate", CONFIG, resume=True, artifacts=["results.jsonl"]).resumed
    RunDir(tmp_path, "evaluate", CONFIG, overwrite=True, artifacts=["results.jsonl"])
    assert not (tmp_path / "results.jsonl").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_run_dir_that_is_a_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "taken"
    path.write_text("data")
    with pytest.raises(RunDirError, match="is a file, not a folder"):
        RunDir(path, "evaluate", CONFIG)
    assert path.read_text() == "data"


def test_run_dir_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(RunDirError, match="cannot be written"):
        check_writable_dir(tmp_path / "file" / "run")


def test_journal_drops_a_torn_last_line_and_appends_after_it(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.append({"n": 1})
    with journal.path.open("a") as handle:
        handle.write('{"n": 2, "tor')
    assert journal.records() == [{"n": 1}]
    journal.append({"n": 3})
    assert journal.records() == [{"n": 1}, {"n": 3}]


def test_journal_names_a_corrupt_line_in_the_middle(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"n": 1}\nnot json\n{"n": 3}\n')
    with pytest.raises(RunDirError, match=r"j.jsonl:2: not valid JSON"):
        Journal(path).records()


def test_state_file_is_replaced_whole(tmp_path: Path) -> None:
    run = RunDir(tmp_path, "train", CONFIG)
    run.write_state("state/checkpoint.json", {"step": 1})
    run.write_state("state/checkpoint.json", {"step": 2})
    assert run.read_state("state/checkpoint.json") == {"step": 2}
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["checkpoint.json"]


_WRITER = """
import sys
from trace_core.runs import Journal
journal = Journal(sys.argv[1])
n = 0
while True:
    journal.append({"n": n, "pad": "x" * 500})
    n += 1
    if n == 50:
        print("ready", flush=True)
"""


def test_sigkilled_writer_leaves_every_acknowledged_record_readable(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGKILL)
    child.wait()
    records = Journal(path).records()
    assert len(records) >= 50
    assert [r["n"] for r in records] == list(range(len(records)))


def test_a_flat_manifest_of_an_older_run_resumes_when_its_configuration_matches(
    tmp_path: Path,
) -> None:
    (tmp_path / MANIFEST).write_text(json.dumps(CONFIG))
    (tmp_path / "history.jsonl").write_text('{"step": 0}\n')
    run = RunDir(tmp_path, "prompt optimize", CONFIG, resume=True, artifacts=["history.jsonl"])
    assert run.resumed
    assert json.loads((tmp_path / MANIFEST).read_text())["command"] == "prompt optimize"
    (tmp_path / MANIFEST).write_text(json.dumps({**CONFIG, "seed": 7}))
    with pytest.raises(RunDirError, match="seed: the run has 7, this command 0"):
        RunDir(tmp_path, "prompt optimize", CONFIG, resume=True, artifacts=["history.jsonl"])
