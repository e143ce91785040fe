"""Scoring a solver's objective against a gold value, with a stated tolerance.

Published evaluations disagree on tolerance: OptiBench checks ``abs(pred - gold) < 1e-4``,
AlphaOPT ``abs(pred - gold) <= 0.1``. Neither suits every scale (an absolute 0.1 accepts a 5%
error on a gold of 2; 1e-4 rejects rounding in a gold of 1.67e6), so the default is relative,
with a small absolute floor for golds near zero. Every report states the tolerance it used.

A gold may also be the status "infeasible" or "unbounded": the item is correct when the program
says so ("infeasible_or_unbounded", Gurobi's INF_OR_UNBD, counts for both: it proves there is
no optimum, and which of the two is a presolve detail).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.solvers.run_outcome import normalize_status


class Tolerance(BaseModel):
    """``|value - gold| <= max(rel * |gold|, abs)``; ``rel=0, abs=0.1`` reproduces AlphaOPT."""

    model_config = ConfigDict(frozen=True)

    rel: float = Field(default=1e-4, ge=0.0)
    abs: float = Field(default=1e-6, ge=0.0)

    def accepts(self, value: float, gold: float) -> bool:
        """True when ``value`` matches ``gold`` within this tolerance."""
        return abs(value - gold) <= max(self.rel * abs(gold), self.abs)

    def describe(self) -> str:
        """Human-readable statement of the rule, printed in every report."""
        return f"|objective - gold| <= max({self.rel:g} * |gold|, {self.abs:g})"


class Outcome(StrEnum):
    """How one item ended, from the scorer's point of view."""

    CORRECT = "correct"
    WRONG = "wrong"  # a number, but not the gold one
    INFEASIBLE = "infeasible"  # the program says the model has no feasible point
    UNBOUNDED = "unbounded"
    NON_NUMERIC = "non_numeric"  # the program ran but gave no usable number
    ERROR = "error"  # the program (or the agent) failed: crash, timeout, no code


_INFEASIBLE = {"infeasible", "inf_or_unbd", "infeasible_or_unbounded"}
_UNBOUNDED = {"unbounded"}
_MATCHES_GOLD_STATUS = {
    "infeasible": {"infeasible", "infeasible_or_unbounded"},
    "unbounded": {"unbounded", "infeasible_or_unbounded"},
}


class Verdict(BaseModel):
    """The scorer's decision for one item, with the numbers behind it."""

    outcome: Outcome
    value: float | None = None
    abs_error: float | None = None
    rel_error: float | None = None
    alt_match: bool = False  # the value matches one of the item's alternative golds

    @property
    def correct(self) -> bool:
        """True when the outcome is correct."""
        return self.outcome is Outcome.CORRECT


def as_number(value: Any) -> float | None:
    """The objective as a finite float, or None when it is missing or not a number.

    Numeric strings ("12.5") count, since programs often print their result; booleans, NaN and
    infinities do not.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def score(
    gold: float | str,
    objective: Any,
    *,
    status: str | None = None,
    error: str | None = None,
    tolerance: Tolerance | None = None,
    alt_answers: list[float | None] | None = None,
) -> Verdict:
    """Decide whether a run's ``objective`` answers a problem whose optimum is ``gold``.

    ``error`` (the program crashed, timed out or was never produced) wins over everything else;
    then an infeasible/unbounded ``status``; then the number itself. A ``gold`` of "infeasible"
    or "unbounded" is matched by the status alone.
    """
    tolerance = tolerance or Tolerance()
    if error:
        return Verdict(outcome=Outcome.ERROR)
    normalized = normalize_status(status) or ""
    if isinstance(gold, str):
        return _score_status_gold(gold, normalized, objective)
    value = _value_or_verdict(normalized, objective)
    if isinstance(value, Verdict):
        return value
    abs_error = abs(value - gold)
    rel_error = abs_error / abs(gold) if gold else None
    alt_match = any(alt is not None and tolerance.accepts(value, alt) for alt in alt_answers or [])
    outcome = Outcome.CORRECT if tolerance.accepts(value, gold) else Outcome.WRONG
    return Verdict(
        outcome=outcome, value=value, abs_error=abs_error, rel_error=rel_error, alt_match=alt_match
    )


def _score_status_gold(gold: str, status: str, objective: Any) -> Verdict:
    """Score a run against a gold status ("infeasible" / "unbounded")."""
    wanted = _MATCHES_GOLD_STATUS.get(gold.strip().lower())
    if wanted is None:
        raise ValueError(f"gold {gold!r} is neither a number nor 'infeasible' / 'unbounded'")
    if status in wanted:
        return Verdict(outcome=Outcome.CORRECT)
    value = _value_or_verdict(status, objective)
    return value if isinstance(value, Verdict) else Verdict(outcome=Outcome.WRONG, value=value)


def _value_or_verdict(status: str, objective: Any) -> float | Verdict:
    """The run's objective as a number, or the verdict of a run that has none to compare
    (infeasible, unbounded, or an objective that is not a number)."""
    if status in _INFEASIBLE:
        return Verdict(outcome=Outcome.INFEASIBLE)
    if status in _UNBOUNDED:
        return Verdict(outcome=Outcome.UNBOUNDED)
    value = as_number(objective)
    if value is None:
        return Verdict(outcome=Outcome.NON_NUMERIC)
    return value
