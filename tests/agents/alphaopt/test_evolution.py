"""Evolution on real sandbox solves: the diagnosis cascade, condition refinement and pruning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.agents.alphaopt.script import (
    BONES,
    BONES_RIGHT,
    FIXING,
    INTEGRALITY,
    MEALS,
    MEALS_RIGHT,
    Script,
)


def _add(alpha: Any, **fields: Any) -> int:
    from agents.alphaopt import Insight

    return alpha.library.add(Insight(**{"taxonomy": INTEGRALITY, **fields}))


# Helps on meals (integer counts) but its advice breaks the bones model.
_MEALS_GOOD_BONES_BAD = {
    "condition": "ALWAYS: counts of things",
    "explanation": "INTEGER-MEALS HARMFUL-BONES: make everything integer and be generous.",
}


def _known_programs(alpha: Any) -> None:
    alpha.library.save_program(MEALS, MEALS_RIGHT, 72.0)
    alpha.library.save_program(BONES, BONES_RIGHT, 810.0)


def test_harmful_insight_gets_its_condition_narrowed(
    alpha: Any, items: dict[str, Any], script: Script, tmp_path: Path
) -> None:
    _known_programs(alpha)
    insight_id = _add(alpha, **_MEALS_GOOD_BONES_BAD)

    result = alpha.evolve([items[BONES], items[MEALS]], tmp_path / "run", progress=False)

    statuses = {s["item_id"]: s["status"] for s in result["rounds"][0]["items"]}
    assert statuses == {BONES: "fixed_by_dropping", MEALS: "solved"}
    insight = alpha.library.get(insight_id)
    assert insight.distribution.negative == [BONES]
    assert insight.distribution.positive == [MEALS]
    assert insight.condition == script.refined[0]  # narrowed: now excludes the bones problem
    assert insight.status == "active"
    refine = [c for c in alpha.library.changes(insight_id) if c.kind == "refine"]
    assert refine and "1.00 > baseline 0.50" in refine[0].reason


def test_insight_that_only_hurts_is_retired(
    alpha: Any, items: dict[str, Any], tmp_path: Path
) -> None:
    _known_programs(alpha)
    insight_id = _add(alpha, condition="ALWAYS", explanation="HARMFUL-BONES: ask for more.")

    alpha.evolve([items[BONES]], tmp_path / "run", progress=False)

    assert alpha.library.get(insight_id).status == "retired"
    assert alpha.library.all() == []
    [retire] = [c for c in alpha.library.changes(insight_id) if c.kind == "retire"]
    assert "never helped" in retire.reason


def test_missed_insight_is_found_before_extracting_and_its_condition_widened(
    alpha: Any, items: dict[str, Any], script: Script, tmp_path: Path
) -> None:
    _known_programs(alpha)
    insight_id = _add(alpha, **{**FIXING, "condition": "NEVER: hidden"})

    result = alpha.evolve([items[MEALS]], tmp_path / "run", progress=False)

    [state] = result["rounds"][0]["items"]
    assert state["status"] == "fixed_by_unretrieved"
    assert "extract insights" not in script.steps  # no new insight was needed
    assert len(alpha.library.all()) == 1
    insight = alpha.library.get(insight_id)
    assert insight.distribution.unretrieved == [MEALS]
    assert insight.condition == script.refined[0]  # widened: now retrieved for meals


def test_mixed_insight_is_split_when_no_single_condition_separates_its_items(
    alpha: Any, items: dict[str, Any], script: Script, tmp_path: Path
) -> None:
    _known_programs(alpha)
    insight_id = _add(alpha, **_MEALS_GOOD_BONES_BAD)
    script.refined = ["ALWAYS: still everything"]  # no candidate beats the baseline
    script.split_parts = [
        {"condition": "ONLY-MEALS: buying meals", "explanation": "INTEGER-MEALS: whole meals."},
        {"condition": "NEVER: generous bounds", "explanation": "HARMFUL-BONES: be generous."},
    ]

    alpha.evolve([items[BONES], items[MEALS]], tmp_path / "run", progress=False)

    assert alpha.library.get(insight_id).status == "split"
    [part] = alpha.library.all()  # the part that reaches no helped item is not kept
    assert part.condition.startswith("ONLY-MEALS") and part.distribution.positive == [MEALS]
    [split] = [c for c in alpha.library.changes(insight_id) if c.kind == "split"]
    assert "re-solved" in split.reason
