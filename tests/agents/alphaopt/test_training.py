"""Library learning and evolution as Trainer runs: steps, first-attempt handoff, item resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.agents.alphaopt.script import BONES, BONES_RIGHT, MEALS, MEALS_RIGHT, Script


def _history(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]


def test_learning_is_one_epoch_of_batches_with_the_forward_solve_as_first_attempt(
    alpha: Any, items: dict[str, Any], script: Script, tmp_path: Path
) -> None:
    run = tmp_path / "run"

    states = alpha.learn([items[BONES], items[MEALS]], run, progress=False, batch_size=2)

    assert [(s.item_id, s.status) for s in states] == [(BONES, "solved"), (MEALS, "learned")]
    [step] = _history(run)
    assert step["batch"] == [0, 1] and step["scores"] == [1.0, 0.0]
    assert "Wrong answer" in step["feedback"][1]
    assert (run / "checkpoint.json").exists() and (run / "scores.png").stat().st_size > 0
    assert (states[0].score, states[1].score) == (1.0, 0.0)  # the forward pass's verdicts
    # The agent wrote one program per item in the forward pass, then one to verify the
    # extracted insight: the step did not solve either item again.
    assert script.steps.count("agent") == 3


def test_a_step_redone_after_a_kill_skips_the_items_it_finished(
    alpha: Any, items: dict[str, Any], script: Script, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    alpha.learn([items[BONES], items[MEALS]], run, progress=False, batch_size=2)
    [before] = _history(run)
    meals_state = (run / "learn" / f"{MEALS}.json").read_text()
    # Killed after the meals item was saved, before bones was and before the checkpoint.
    for name in ("checkpoint.json", "history.jsonl", f"learn/{BONES}.json"):
        (run / name).unlink()
    calls = len(script.steps)

    states = alpha.learn([items[BONES], items[MEALS]], run, progress=False, batch_size=2)

    redone = script.steps[calls:]
    assert [s.status for s in states] == ["solved", "learned"]
    assert redone.count("agent") == 1 and "extract insights" not in redone  # bones only
    assert (run / "learn" / f"{MEALS}.json").read_text() == meals_state
    [after] = _history(run)  # the same step record, but for the usage it did not pay again
    same = ("batch", "scores", "feedback", "updates", "reasoning")
    assert {k: after[k] for k in same} == {k: before[k] for k in same}
    assert after["usage"]["calls"] < before["usage"]["calls"]


def test_a_changed_item_list_keeps_item_states_and_sets_the_old_steps_aside(
    alpha: Any, items: dict[str, Any], script: Script, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    alpha.learn([items[BONES]], run, progress=False)
    calls = len(script.steps)

    states = alpha.learn([items[BONES], items[MEALS]], run, progress=False, batch_size=2)

    assert [s.status for s in states] == ["solved", "learned"]
    assert script.steps[calls:].count("agent") == 2  # meals and its verification; bones kept
    assert (run / "superseded" / "1" / "history.jsonl").exists()
    assert _history(run)[0]["scores"] == [1.0, 0.0]


def test_evolution_rounds_are_epochs_with_refinement_after_each(
    tmp_path: Path, llm: Any, items: dict[str, Any], sandbox_ready: None
) -> None:
    from agents.alphaopt import AlphaOpt, EvolveSettings, Insight, SolveSettings

    alpha = AlphaOpt(
        tmp_path / "library.sqlite",
        llm,
        solve=SolveSettings(max_repairs=0),
        evolve=EvolveSettings(rounds=2),
        verify_rounds=1,
    )
    alpha.library.save_program(MEALS, MEALS_RIGHT, 72.0)
    alpha.library.save_program(BONES, BONES_RIGHT, 810.0)
    harmful = alpha.library.add(
        Insight(
            taxonomy=["General Formulation", "Variable Definition", "Integrality"],
            condition="ALWAYS",
            explanation="HARMFUL-BONES: ask for more.",
        )
    )
    run = tmp_path / "run"

    result = alpha.evolve([items[BONES], items[MEALS]], run, progress=False, batch_size=1)

    steps = _history(run)
    assert [s["epoch"] for s in steps] == [0, 0, 1, 1]
    assert "retired" in steps[1]["reasoning"]  # the end of round 1
    first, second = result["rounds"]
    assert [r["action"] for r in first["refinement"]] == ["retired", "skipped"]
    assert [s["status"] for s in first["items"]] == ["fixed_by_dropping", "learned"]
    assert [s["status"] for s in second["items"]] == ["solved", "solved"]
    assert alpha.library.get(harmful).status == "retired"
