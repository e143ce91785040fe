"""load_run reads each kind of run directory into the values the page shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.reporting import NotARunError, load_run
from tests.agents.reporting.runs import BEST_RULE, FIRST_RULE, evaluation_run, trainer_run


def test_trainer_run_shows_scores_changes_rejections_and_the_rule_diff(tmp_path: Path) -> None:
    view = load_run(trainer_run(tmp_path))
    assert view.kind == "trainer"
    assert [s.step for s in view.steps] == [0, 1, 2]
    assert [(c.parameter, c.value) for c in view.steps[0].accepted] == [("rule", BEST_RULE)]
    assert view.steps[0].reasoning == "the outputs are half the targets"
    assert [c.parameter for c in view.steps[1].rejected] == ["weight"]
    assert view.steps[1].rejected[0].reason
    validation = next(s for s in view.curves if s.name == "validation")
    assert validation.ys == [1.0, 1.0, 1.0]
    train = next(s for s in view.curves if s.name == "train")
    assert train.ys[0] == 0.0  # the first example failed before the rule was fixed
    assert [(d.name, d.first, d.best) for d in view.diffs] == [("rule", FIRST_RULE, BEST_RULE)]
    assert view.usage[-1].calls == 3 and view.summary["steps"] == 3
    assert view.graph_dot and "apply_rule" in view.graph_dot


def test_evaluation_run_lists_items_with_programs_and_running_accuracy(tmp_path: Path) -> None:
    view = load_run(evaluation_run(tmp_path))
    assert view.kind == "evaluation"
    assert [i.outcome for i in view.items] == [
        "correct",
        "wrong",
        "infeasible",
        "correct",
        "error",
    ]
    assert view.items[0].program == "print('program of item 0')\n"
    assert view.items[4].log == "TimeoutError: killed at 30 s"
    assert view.curves[0].ys == [1.0, 0.5, pytest.approx(1 / 3), 0.5, 0.4]
    assert view.usage[-1].tokens == 500 and view.usage[-1].cost == pytest.approx(0.05)


def test_a_torn_last_line_is_skipped_and_noted(tmp_path: Path) -> None:
    run = evaluation_run(tmp_path)
    with (run / "results.jsonl").open("a") as handle:
        handle.write('{"id": "item-9", "outcome": "corr')
    view = load_run(run)
    assert len(view.items) == 5
    assert any("incomplete" in note for note in view.notes)


def test_prompt_run_has_a_curve_per_strategy_and_the_instruction_diff(tmp_path: Path) -> None:
    run = tmp_path / "prompt"
    (run / "strategies").mkdir(parents=True)
    rows = [
        {
            "strategy": "instruction",
            "step": 0,
            "kind": "seed",
            "calls": 4,
            "val_score": 0.25,
            "best_score": 0.25,
            "instruction": "Solve it.",
            "exemplar_ids": [],
            "note": "",
        },
        {
            "strategy": "instruction",
            "step": 1,
            "kind": "instruction",
            "calls": 9,
            "val_score": 0.75,
            "best_score": 0.75,
            "instruction": "Solve it step by step.",
            "exemplar_ids": [],
            "note": "more care",
        },
    ]
    (run / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "run.json").write_text(json.dumps({"command": "optimize", "instruction": "Solve it."}))
    best = {"best": {"instruction": "Solve it step by step."}}
    (run / "strategies" / "instruction.json").write_text(json.dumps(best))
    view = load_run(run)
    assert view.kind == "prompt"
    assert next(s for s in view.curves if s.name == "validation").ys == [0.25, 0.75]
    assert [c.value for c in view.steps[1].accepted] == ["Solve it step by step."]
    assert view.steps[1].calls == 5
    assert [(d.first, d.best) for d in view.diffs] == [("Solve it.", "Solve it step by step.")]


def test_library_and_synthesis_runs_are_read(tmp_path: Path) -> None:
    learn = tmp_path / "lib" / "learn"
    learn.mkdir(parents=True)
    record = {"item_id": "a", "status": "learned", "added": [1, 2], "notes": [], "tokens": 50}
    (learn / "a.json").write_text(json.dumps(record))
    view = load_run(tmp_path / "lib")
    assert view.kind == "library" and view.summary["insights added"] == 2
    assert view.items[0].source == "learn"
    out = tmp_path / "synth.jsonl"
    out.write_text("")
    state = [
        {"config": {"llm": "x"}},
        {"task": 0, "stats": {"counts": {"written": 2}, "usage": {"calls": 3}}},
    ]
    Path(f"{out}.state.jsonl").write_text("".join(json.dumps(s) + "\n" for s in state))
    view = load_run(out)
    assert view.kind == "synthesis" and view.summary["written"] == 2


def test_a_torn_library_record_is_skipped_and_noted(tmp_path: Path) -> None:
    run = tmp_path / "lib"
    run.mkdir()
    for name, added in (("a", [1, 2]), ("c", [3])):
        record = {"item_id": name, "status": "learned", "added": added}
        (run / f"{name}.json").write_text(json.dumps(record))
    (run / "b.json").write_text('{"item_id": "b", "status": "lea')  # killed while writing
    view = load_run(run)
    assert [i.id for i in view.items] == ["a", "c"]
    assert view.curves[0].ys == [2.0, 3.0]
    assert any(note.startswith("b.json could not be read") for note in view.notes)


def test_a_directory_without_a_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotARunError, match="holds no optoforge run"):
        load_run(tmp_path)
    with pytest.raises(NotARunError, match="does not exist"):
        load_run(tmp_path / "missing")
