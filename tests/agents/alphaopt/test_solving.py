"""The library's item checks read runs by the shared rules (issue 19)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.alphaopt.solving import ItemSolver, SolveSettings
from agents.evaluation.dataset import Item

ECHO_THEN_OPTIMUM = (
    "print('Set parameter TimeLimit to value 60')\nprint('Non-default parameters:')\n"
    "print('TimeLimit  3600')\nprint('Optimal objective  4.200000000e+01')\n"
)


def _solver() -> ItemSolver:
    prompter: Any = None  # run_program and is_correct never ask the LLM
    return ItemSolver(prompter, SolveSettings(timeout_s=2))


def _item(answer: float | str) -> Item:
    return Item(id="i", source="t", question="q", answer=answer)


def test_parameter_echo_does_not_turn_a_correct_result_into_a_miss() -> None:
    solver = _solver()
    objective, status, _ = solver.run_program(ECHO_THEN_OPTIMUM)
    assert (objective, status) == (42.0, "optimal")
    assert solver.is_correct(_item(42.0), objective, status)


def test_timed_out_program_reports_nothing() -> None:
    code = "print('Optimal value: 42', flush=True)\nimport time\ntime.sleep(30)\n"
    objective, status, what = _solver().run_program(code)
    assert (objective, status) == (None, None) and what.startswith("stopped after")


@pytest.mark.parametrize(
    ("status", "correct"), [("infeasible", True), ("INF_OR_UNBD", True), ("optimal", False)]
)
def test_infeasible_gold_is_matched_by_status(status: str, correct: bool) -> None:
    assert _solver().is_correct(_item("infeasible"), None, status) is correct
