"""Scoring an objective against the gold value."""

from __future__ import annotations

import math

import pytest

from agents.evaluation.scoring import Outcome, Tolerance, score


@pytest.mark.parametrize(
    ("gold", "objective", "outcome"),
    [
        (810.0, 810.0, Outcome.CORRECT),
        (810.0, 810.05, Outcome.CORRECT),  # 6e-5 relative
        (810.0, 810.5, Outcome.WRONG),  # 6e-4 relative
        (72.0, 66.6667, Outcome.WRONG),
        (1.67e6, 1.67e6 + 100, Outcome.CORRECT),  # rounding in a large gold
        (0.0, 1e-9, Outcome.CORRECT),  # absolute floor near zero
        (0.0, 1e-3, Outcome.WRONG),
        (-5.0, -5.0004, Outcome.CORRECT),
        (810.0, "810.0", Outcome.CORRECT),  # a printed number still counts
        (810.0, "about 810", Outcome.NON_NUMERIC),
        (810.0, None, Outcome.NON_NUMERIC),
        (810.0, math.nan, Outcome.NON_NUMERIC),
        (810.0, math.inf, Outcome.NON_NUMERIC),
        (810.0, True, Outcome.NON_NUMERIC),
    ],
)
def test_default_tolerance_is_relative_with_small_floor(
    gold: float, objective: object, outcome: Outcome
) -> None:
    assert score(gold, objective).outcome is outcome


def test_infeasible_and_unbounded_status_win_over_a_number() -> None:
    assert score(5.0, 5.0, status="infeasible").outcome is Outcome.INFEASIBLE
    assert score(5.0, None, status="INF_OR_UNBD").outcome is Outcome.INFEASIBLE
    assert score(5.0, None, status="unbounded").outcome is Outcome.UNBOUNDED


def test_error_wins_over_everything() -> None:
    verdict = score(5.0, 5.0, status="optimal", error="Traceback: boom")
    assert verdict.outcome is Outcome.ERROR
    assert not verdict.correct


def test_alphaopt_absolute_tolerance_is_configurable() -> None:
    alphaopt = Tolerance(rel=0.0, abs=0.1)
    assert score(2.0, 2.09, tolerance=alphaopt).correct
    assert not score(2.0, 2.09).correct
    assert alphaopt.describe() == "|objective - gold| <= max(0 * |gold|, 0.1)"


def test_wrong_value_matching_an_alternative_gold_is_flagged_but_wrong() -> None:
    verdict = score(33.5, 34.5, alt_answers=[None, 34.5])
    assert verdict.outcome is Outcome.WRONG
    assert verdict.alt_match
    assert verdict.abs_error == pytest.approx(1.0)
    assert verdict.rel_error == pytest.approx(1.0 / 33.5)


@pytest.mark.parametrize(
    ("gold", "objective", "status", "outcome"),
    [
        ("infeasible", None, "infeasible", Outcome.CORRECT),
        ("infeasible", None, "INF_OR_UNBD", Outcome.CORRECT),
        ("infeasible", None, "3", Outcome.CORRECT),  # Gurobi's code for INFEASIBLE
        ("unbounded", None, "unbounded", Outcome.CORRECT),
        ("unbounded", None, "infeasible", Outcome.INFEASIBLE),
        ("infeasible", None, "unbounded", Outcome.UNBOUNDED),
        ("infeasible", 42.0, "optimal", Outcome.WRONG),
        ("infeasible", None, None, Outcome.NON_NUMERIC),
        (42.0, None, "infeasible", Outcome.INFEASIBLE),
    ],
)
def test_status_golds_are_scored_by_the_reported_status(
    gold: float | str, objective: float | None, status: str | None, outcome: Outcome
) -> None:
    assert score(gold, objective, status=status).outcome is outcome


def test_status_gold_with_a_crash_is_an_error() -> None:
    assert score("infeasible", None, status="infeasible", error="crashed").outcome is Outcome.ERROR
