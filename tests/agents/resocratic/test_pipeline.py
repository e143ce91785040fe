"""The whole pipeline with scripted LLMs and real sandboxed pyscipopt runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.resocratic.pipeline import Synthesizer
from agents.resocratic.seeds import builtin_seeds
from tests.agents.resocratic.scripted import (
    SEED_PHRASES,
    World,
    garden_case,
    lp_program,
    pottery_case,
)

pytest.importorskip("pyscipopt")
pytestmark = pytest.mark.solver

BAKERY = frozenset({"bakery-mix"})
README_FIELDS = {"id", "source", "question", "answer", "tags"}


def _seeds() -> list:
    return [s for s in builtin_seeds() if s.id == "bakery-mix"]


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_round_trip_mismatch_is_dropped_and_match_is_kept(tmp_path: Path) -> None:
    world = World([pottery_case(BAKERY, mismatch_text=True)], SEED_PHRASES)
    synth = Synthesizer(world.llm(), seeds=_seeds(), max_constraints=1)
    store = synth.run(5, tmp_path / "out.jsonl", max_samples=1)
    rows = _read(tmp_path / "out.jsonl")
    assert [r["id"] for r in rows] == ["resocratic-000000-L3-table"]
    row = rows[0]
    assert set(row) >= README_FIELDS and row["answer"] == pytest.approx(100.0)
    assert row["tags"] == ["synthetic", "linear", "integer", "table", "level-3"]
    assert "report(" in row["program"] and row["provenance"]["seeds"] == ["bakery-mix"]
    assert row["provenance"]["round_trip_objective"] == pytest.approx(100.0)
    assert store.stats.dropped == {"round trip: objective mismatch": 1}
    _assert_dataset_item(row)
    assert store.stats.count("back_translated") == 2 and store.stats.count("verified") == 1


def _assert_dataset_item(row: dict) -> None:
    """The row parses as the shared dataset's Item (program/provenance once Item declares them)."""
    from agents.evaluation.dataset import Item, parse_item

    undeclared = {"program", "provenance"} - set(Item.model_fields)
    item = parse_item(json.dumps({k: v for k, v in row.items() if k not in undeclared}))
    assert item.answer == row["answer"] and item.tags == row["tags"]


def test_only_programs_solving_to_optimal_are_kept(tmp_path: Path) -> None:
    infeasible = garden_case(BAKERY)
    infeasible.programs[3] = lp_program("minimize", {"T": 3}, [({"T": 1}, "<=", -5)])
    slow = pottery_case(frozenset({"feed-blend"}))
    slow.programs[3] = lp_program("maximize", {"M": 5}, [({"M": 1}, "<=", 3)], sleep=30)
    seeds = [s for s in builtin_seeds() if s.id in ("bakery-mix", "feed-blend")]
    world = World([infeasible, slow], SEED_PHRASES)
    llm = world.llm()
    synth = Synthesizer(llm, seeds=seeds, max_constraints=1, timeout_s=1.5, dedup_threshold=1.0)
    # The plan's first round holds each single seed twice; four samples cover both cases.
    store = synth.run(5, tmp_path / "out.jsonl", max_samples=4)
    assert not (tmp_path / "out.jsonl").exists() or _read(tmp_path / "out.jsonl") == []
    assert store.stats.count("problems") == 4 and store.stats.count("solved") == 0
    assert store.stats.dropped == {"solve: status infeasible": 2, "solve: timeout": 2}
    assert not any("Rewrite this optimization" in c[-1]["content"] for c in llm.calls)


def test_near_duplicate_demonstrations_are_removed(tmp_path: Path) -> None:
    world = World([pottery_case(BAKERY)], SEED_PHRASES)
    llm = world.llm()
    synth = Synthesizer(llm, seeds=_seeds(), max_constraints=1, variants=("table",))
    store = synth.run(5, tmp_path / "out.jsonl", max_samples=3)
    assert [r["id"] for r in _read(tmp_path / "out.jsonl")] == ["resocratic-000000-L3-table"]
    assert store.stats.dropped == {"duplicate": 2}
    assert store.stats.count("validated") == 3 and store.stats.count("deduped") == 1
    programs = [c for c in llm.calls if "solves this optimization problem" in c[-1]["content"]]
    assert len(programs) == 1  # duplicates were dropped before any program was written


def test_nonsense_llm_writes_nothing(tmp_path: Path) -> None:
    synth = Synthesizer(World([], SEED_PHRASES).llm(), seeds=_seeds())
    store = synth.run(3, tmp_path / "out.jsonl", max_samples=4)
    assert store.written == 0
    assert not (tmp_path / "out.jsonl").exists()
    assert store.stats.count("generated") == 4 and store.stats.count("validated") == 0
    assert list(store.stats.dropped) == [
        "format: step 'Scenario': reply has no '## Scenario' header"
    ]


def test_budget_stop_leaves_the_sample_unfinished_for_a_rerun(tmp_path: Path) -> None:
    from trace_core.llm import Budget, ScriptedLLM

    world = World([pottery_case(BAKERY)], SEED_PHRASES)
    llm = ScriptedLLM(world.reply, budget=Budget(max_calls=2))
    synth = Synthesizer(llm, seeds=_seeds(), max_constraints=1)
    store = synth.run(2, tmp_path / "out.jsonl", max_samples=3)
    assert store.stopped is not None and "budget" in store.stopped
    assert store.done == set() and store.written == 0
    assert len(llm.calls) == 2  # no call past the budget
