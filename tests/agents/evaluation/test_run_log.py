"""The crash-safe results log: append, reload, torn-line repair."""

from __future__ import annotations

from pathlib import Path

from agents.evaluation.results import ItemResult, RunLog
from agents.evaluation.scoring import Outcome


def _record(item_id: str, correct: bool = True) -> ItemResult:
    return ItemResult(
        id=item_id,
        source="S",
        gold=1.0,
        objective=1.0 if correct else 2.0,
        outcome=Outcome.CORRECT if correct else Outcome.WRONG,
        correct=correct,
    )


def test_appended_records_reload_in_order(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "run")
    for name in ("a", "b", "c"):
        log.append(_record(name))
    assert [record.id for record in RunLog(tmp_path / "run").load()] == ["a", "b", "c"]


def test_torn_last_line_is_dropped_and_later_appends_stay_valid(tmp_path: Path) -> None:
    log = RunLog(tmp_path)
    log.append(_record("a"))
    with log.path.open("ab") as handle:  # what a kill in the middle of a write leaves behind
        handle.write(b'{"id": "b", "source": "S", "go')
    assert log.finished_ids() == {"a"}
    log.append(_record("c"))
    assert [record.id for record in log.load()] == ["a", "c"]
    assert log.path.read_text().count("\n") == 2


def test_a_repeated_id_keeps_the_latest_record(tmp_path: Path) -> None:
    log = RunLog(tmp_path)
    log.append(_record("a", correct=False))
    log.append(_record("a", correct=True))
    (only,) = log.load()
    assert only.correct
