"""The formulation guide: each outcome becomes a score and feedback a prompt editor can use."""

from __future__ import annotations

import pytest

from agents.evaluation.dataset import Item
from agents.formulation.guide import formulation_guide
from agents.formulation.result import AttemptOutcome
from agents.formulation.workflow import FormulationFailure

ITEM = Item(id="x", source="t", question="q", answer=200.0)


def test_correct_answer_scores_one() -> None:
    assert formulation_guide(200.00001, ITEM)[0] == 1.0


@pytest.mark.parametrize(
    ("value", "direction", "error"), [(230.0, "higher", "15.0%"), (150.0, "lower", "25.0%")]
)
def test_wrong_answer_gives_direction_and_relative_error(
    value: float, direction: str, error: str
) -> None:
    score, feedback = formulation_guide(value, ITEM)
    assert score == 0.0
    assert direction in feedback and error in feedback and "200" in feedback


@pytest.mark.parametrize(
    ("outcome", "phrase"),
    [
        (AttemptOutcome.INFEASIBLE, "infeasible"),
        (AttemptOutcome.UNBOUNDED, "unbounded"),
        (AttemptOutcome.ERROR, "crashed"),
        (AttemptOutcome.TIMEOUT, "timed out"),
        (AttemptOutcome.NO_RESULT, "no number"),
    ],
)
def test_failures_name_what_happened_and_carry_the_log_tail(
    outcome: AttemptOutcome, phrase: str
) -> None:
    failure = FormulationFailure(outcome, "details for the repair", "Traceback: boom")
    score, feedback = formulation_guide(failure, ITEM)
    assert score == 0.0
    assert phrase in feedback and "Traceback: boom" in feedback


def test_without_gold_the_feedback_is_the_solver_verdict() -> None:
    score, feedback = formulation_guide(42.0, Item(id="y", source="t", question="q"))
    assert score == 1.0 and "no gold answer" in feedback and "42" in feedback
    failed = formulation_guide(FormulationFailure(AttemptOutcome.INFEASIBLE, "x"), None)
    assert failed[0] == 0.0 and "infeasible" in failed[1]
