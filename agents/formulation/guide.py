"""The formulation guide: one item's outcome -> (score, feedback text) for the optimizers.

Score 1.0 means the program reported the gold optimum (within tolerance), 0.0 anything else, so
the mean score over a dataset is its accuracy. The feedback says what a prompt editor needs:
how far and in which direction a wrong objective is, or how the run failed (infeasible,
unbounded, crash with its traceback tail, timeout, no number reported). Without a gold answer
the feedback is the solver's verdict alone.
"""

from __future__ import annotations

from typing import Any

from agents.evaluation.scoring import Outcome, Tolerance, as_number, score
from agents.formulation.result import AttemptOutcome
from agents.formulation.workflow import FormulationFailure

_FAILURE_TEXT = {
    AttemptOutcome.INFEASIBLE: "The solver found the model infeasible",
    AttemptOutcome.UNBOUNDED: "The solver found the model unbounded",
    AttemptOutcome.ERROR: "The program crashed",
    AttemptOutcome.TIMEOUT: "The program timed out",
    AttemptOutcome.NO_RESULT: "The program ran but reported no number",
    AttemptOutcome.NO_CODE: "The reply held no program",
    AttemptOutcome.NOT_OPTIMAL: "The solver stopped before proving optimality",
}


def _gold(target: Any) -> tuple[float | None, list[float | None]]:
    """The gold objective and alternative golds of a target (an Item, a number or None)."""
    if target is None or isinstance(target, int | float):
        return as_number(target), []
    gold = as_number(getattr(target, "answer", None))
    alts = [as_number(a.value) for a in getattr(target, "alt_answers", None) or []]
    return gold, alts


def failure_feedback(failure: BaseException) -> str:
    """Feedback text for a failed run: what happened, what the repair was told, the log tail."""
    if not isinstance(failure, FormulationFailure):
        return f"The formulation failed: {type(failure).__name__}: {failure}"
    text = f"{_FAILURE_TEXT.get(failure.outcome, 'The run failed')}. {failure.feedback}".strip()
    if failure.log_tail and failure.log_tail not in text:
        text += f"\nSolver log tail:\n{failure.log_tail}"
    return text


def formulation_guide(
    output: Any, target: Any, *, tolerance: Tolerance | None = None
) -> tuple[float, str]:
    """Score one formulation outcome against ``target`` and explain it as feedback.

    ``output`` is the answer (a number) or the :class:`FormulationFailure` of the last run;
    ``target`` is an :class:`~agents.evaluation.dataset.Item`, a gold number, or None.
    """
    if isinstance(output, BaseException):
        return 0.0, failure_feedback(output)
    value = as_number(output)
    if value is None:
        return 0.0, f"The program reported {output!r}, which is not a number."
    gold, alts = _gold(target)
    if gold is None:
        return 1.0, (
            f"The program ran and the solver reported an optimal objective of {value:g}. "
            "There is no gold answer to compare it with."
        )
    verdict = score(gold, value, tolerance=tolerance, alt_answers=alts)
    if verdict.outcome is Outcome.CORRECT or verdict.alt_match:
        return 1.0, f"Correct: the objective {value:g} matches the optimum {gold:g}."
    direction = "higher" if value > gold else "lower"
    relative = f" ({verdict.rel_error:.1%} off)" if verdict.rel_error is not None else ""
    return 0.0, (
        f"Wrong answer: the program reported {value:g}, {direction} than the correct optimum "
        f"{gold:g}{relative}. The model solved is not the problem described: check the variable "
        "types (integer or continuous), the constraint directions and coefficients, and the "
        "objective sense."
    )
