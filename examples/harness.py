"""What the OptoPrime examples share around their point: the ``--llm`` command line, the
scripted stand-in optimizer that plays a sensible model when none is named, and saying what a
step could not do (never skipping it silently).

An example imports this module as ``examples.harness``; run as a script (``python
examples/X.py``) or loaded by path (``optoforge demo``), it first puts the repository root on
``sys.path`` (one line).
"""

from __future__ import annotations

import argparse
import json
import reprlib
from collections.abc import Callable, Sequence
from typing import Any

from optimizers import StepResult, Trainer, TrainReport

Reply = Callable[[list[dict[str, Any]]], str]


def optoprime_reply(reasoning: str, suggestion: dict[str, Any] | None = None) -> str:
    """A reply in OptoPrime's JSON format (no suggestion: change nothing)."""
    return json.dumps({"reasoning": reasoning, "suggestion": suggestion or {}})


def fixes_on(marker: str, suggestion: dict[str, Any], *, reasoning: str, settled: str) -> Reply:
    """The reply of a stand-in optimizer that knows the fix: ``suggestion`` (explained by
    ``reasoning``) while the prompt shows ``marker``, the sign of a failure in the feedback;
    otherwise no change, explained by ``settled``."""

    def reply(messages: list[dict[str, Any]]) -> str:
        if marker not in messages[-1]["content"]:
            return optoprime_reply(settled)
        return optoprime_reply(reasoning, suggestion)

    return reply


class ExampleParser(argparse.ArgumentParser):
    """An example's command line: described by its docstring's first line, with ``--llm``; when
    no model is named, parsing says that ``stand_in`` answers instead."""

    def __init__(self, doc: str, *, stand_in: str) -> None:
        super().__init__(description=doc.splitlines()[0])
        self.stand_in = stand_in
        self.add_argument("--llm", help=f"provider:model (default: {stand_in})")

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        """Parse as argparse does, then name the stand-in when no ``--llm`` was given."""
        parsed = super().parse_args(args, namespace)
        if not parsed.llm:
            print(f"No --llm given: using {self.stand_in}.")
        return parsed


def report_step(result: StepResult, errors: list[str]) -> None:
    """Print what an optimizer step could not do: its error (also kept in ``errors``) and each
    rejected suggestion with the reason."""
    if result.error:  # e.g. a reply that could not be used: say so, never skip silently
        errors.append(result.error)
        print(f"  step error: {result.error}")
    for rejection in result.rejected:
        shown = reprlib.repr(rejection.value)
        print(f"  rejected {rejection.parameter}={shown}: {rejection.reason}")


def fit_and_score(
    trainer: Trainer, val_set: Sequence[Any], *, resume: bool
) -> tuple[TrainReport, dict[str, Any]]:
    """Fit ``trainer`` (``resume``: continue its run directory), scoring ``val_set`` before and
    after; print every step's error. Returns the report and the errors with both accuracies."""
    before = trainer.evaluate(val_set)
    report = trainer.fit(resume=resume)
    errors = [f"step {r.step}: {r.error}" for r in report.history if r.error]
    for error in errors:
        print(f"step error: {error}")
    scores = {
        "errors": errors,
        "val_accuracy_before": before,
        "val_accuracy_after": trainer.evaluate(val_set),
    }
    return report, scores
