"""Library learning on real sandbox solves: verified insights are kept, useless ones dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.agents.alphaopt.script import BONES, FIXING, MEALS, MEALS_RIGHT, USELESS, Script


def test_insight_that_fixes_a_failing_item_is_kept(
    alpha: Any, items: dict[str, Any], tmp_path: Path
) -> None:
    states = alpha.learn([items[MEALS]], tmp_path / "run", progress=False)

    assert states[0].status == "learned"
    [insight] = alpha.library.all()
    assert "INTEGER-MEALS" in insight.explanation
    assert insight.provenance == [MEALS]
    assert insight.distribution.positive == [MEALS]
    assert alpha.library.program(MEALS).objective == 72.0  # self-explore's proxy gold program


def test_insight_that_does_not_fix_the_item_is_dropped(
    alpha: Any, items: dict[str, Any], script: Script, tmp_path: Path
) -> None:
    script.proposals = [USELESS]

    states = alpha.learn([items[MEALS]], tmp_path / "run", progress=False)

    assert states[0].status == "not_fixed"
    assert alpha.library.all() == []
    assert "did not fix" in " ".join(states[0].notes)


def test_learning_resumes_without_redoing_finished_items(
    alpha: Any, items: dict[str, Any], script: Script, tmp_path: Path
) -> None:
    alpha.learn([items[BONES]], tmp_path / "run", progress=False)
    calls = len(script.steps)

    states = alpha.learn([items[BONES]], tmp_path / "run", progress=False)

    assert states[0].status == "solved"
    assert len(script.steps) == calls  # nothing was asked again


def test_duplicate_insight_is_merged_keeping_its_taxonomy_after_verification(
    alpha: Any, items: dict[str, Any], script: Script, tmp_path: Path
) -> None:
    from agents.alphaopt import Insight

    alpha.library.save_program(MEALS, MEALS_RIGHT, 72.0)
    old = alpha.library.add(
        Insight(**{**FIXING, "condition": "NEVER: hidden", "explanation": "whole meals"})
    )
    merged_text = "INTEGER-MEALS: meals and similar goods come whole; use integers."
    script.merge_reply = {
        "duplicates": [old],
        "merged": {"condition": "ALWAYS: whole goods", "explanation": merged_text},
    }

    states = alpha.learn([items[MEALS]], tmp_path / "run", progress=False)

    [merged] = alpha.library.all()
    assert states[0].merged == [merged.id] and states[0].added == []
    assert merged.taxonomy == FIXING["taxonomy"] and merged.explanation == merged_text
    assert alpha.library.get(old).status == "merged"
    assert any(c.kind == "merge" for c in alpha.library.changes(merged.id))


def test_self_explore_rejects_programs_that_report_the_shown_answer() -> None:
    from agents.alphaopt.solving import hardcoded_reason

    assert hardcoded_reason("report(72.0, 'optimal')") is not None
    assert hardcoded_reason("model.optimize()\nreport(objective=72, status='optimal')")
    assert hardcoded_reason("print(72)") is not None  # no solver at all
    assert hardcoded_reason(MEALS_RIGHT) is None


def test_concurrent_learning_keeps_per_item_costs_apart(
    alpha: Any, items: dict[str, Any], tmp_path: Path
) -> None:
    states = alpha.learn([items[BONES], items[MEALS]], tmp_path / "run", progress=False, workers=2)

    by_id = {state.item_id: state for state in states}
    assert (by_id[BONES].status, by_id[MEALS].status) == ("solved", "learned")
    assert len(alpha.library.all()) == 1
    assert 0 < by_id[BONES].tokens < by_id[MEALS].tokens
    assert by_id[BONES].tokens + by_id[MEALS].tokens == alpha.usage.total_tokens
