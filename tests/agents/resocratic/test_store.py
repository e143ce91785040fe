"""The resumable output store: torn lines, id uniqueness, limits, changed settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.resocratic.stats import SynthesisStats
from agents.resocratic.store import OutputFileError, RunStore, state_path


def test_torn_last_line_from_a_kill_is_cut_and_ids_stay_unique(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    out.write_text(json.dumps({"id": "a", "question": "q"}) + '\n{"id": "b", "quest', "utf-8")
    store = RunStore(out, limit=3)
    assert store.ids == {"a"}
    assert store.write({"id": "a", "question": "again"})  # present already: not rewritten
    assert store.write({"id": "b", "question": "q"})
    assert [json.loads(x)["id"] for x in out.read_text("utf-8").splitlines()] == ["a", "b"]


def test_limit_refuses_rows_once_full(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "items.jsonl", limit=1)
    assert store.write({"id": "a"}) and store.full
    assert not store.write({"id": "b"})


def test_finished_samples_and_their_stats_survive_a_restart(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    stats = SynthesisStats(samples=1)
    stats.bump("generated")
    RunStore(out).finish(7, stats)
    again = RunStore(out)
    assert again.done == {7} and again.stats.count("generated") == 1


def test_changed_settings_are_reported_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    assert RunStore(out).check_config({"llm": "openai:a", "sample_seed": 0}) is None
    assert RunStore(out).check_config({"llm": "openai:a", "sample_seed": 0}) is None
    message = RunStore(out).check_config({"llm": "openai:b", "sample_seed": 0})
    assert message is not None and "(llm)" in message


def test_foreign_output_file_names_the_line(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    out.write_text('{"id": "a"}\n[1, 2]\n', "utf-8")
    with pytest.raises(OutputFileError, match=r"items.jsonl:2: not a synthesized item"):
        RunStore(out)
    assert state_path(out).name == "items.jsonl.state.jsonl"
