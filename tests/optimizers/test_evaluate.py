"""evaluate(program, items, metric, executor): one scorer for validation and the CLIs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from optimizers.evaluate import evaluate
from trace_core import bundle


@bundle()
def _double(x: int) -> int:
    if x < 0:
        raise ValueError("negative input")
    return 2 * x


class _Reversed:
    """An executor that finishes items in reverse order (results must still line up)."""

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return iter([fn(item) for item in reversed(list(items))])


def test_scores_come_back_in_item_order_whatever_the_executor_does() -> None:
    items = [(1, 2), (2, 5), (3, 6)]
    result = evaluate(_double, items, lambda out, target: float(out == target), _Reversed())
    assert result.scores == [1.0, 0.0, 1.0]
    assert abs(result.mean - 2 / 3) < 1e-12


def test_a_program_that_raises_scores_the_failure_score_with_the_error_as_feedback() -> None:
    result = evaluate(_double, [(-1, 0)], lambda out, target: (1.0, "ok"), failure_score=-1.0)
    assert result.scores == [-1.0] and result.errors == 1
    assert "negative input" in result.feedback[0]


def test_threads_run_items_untraced() -> None:
    from agents.evaluation.executors import ThreadExecutor

    seen: list[Any] = []

    def metric(out: Any, target: Any) -> tuple[float, str]:
        seen.append(out)
        return float(out == target), "fine"

    result = evaluate(_double, [(i, 2 * i) for i in range(6)], metric, ThreadExecutor(3))
    assert result.mean == 1.0 and all(isinstance(v, int) for v in seen)


def test_on_result_sees_every_item_exactly_once_with_its_own_index() -> None:
    from agents.evaluation.executors import ThreadExecutor

    items = [(i, 2 * i) for i in range(8)]
    seen: list[tuple[int, Any, float]] = []
    evaluate(
        _double,
        items,
        lambda out, target: float(out == target),
        ThreadExecutor(3),
        on_result=lambda index, item, scored: seen.append((index, item, scored.score)),
    )
    assert sorted(seen) == [(i, (i, 2 * i), 1.0) for i in range(8)]


def test_a_spent_budget_stops_the_run_and_starts_no_further_item() -> None:
    from trace_core.llm import BudgetExceeded

    ran: list[int] = []

    def program(x: int) -> int:
        ran.append(x)
        if x == 2:
            raise BudgetExceeded("max_calls=2 reached", limit="calls", spent=2, maximum=2)
        return x

    reported: list[int] = []
    with pytest.raises(BudgetExceeded):
        evaluate(
            program,
            [(i, i) for i in range(5)],
            lambda out, target: 1.0,
            on_result=lambda index, item, scored: reported.append(index),
        )
    assert ran == [0, 1, 2] and reported == [0, 1]


def test_an_unparseable_reply_is_the_items_failure_not_the_runs() -> None:
    from trace_core.llm import LLMOutputError

    def program(x: int) -> int:
        if x == 1:
            raise LLMOutputError("reply is not JSON")
        return x

    result = evaluate(program, [(0, 0), (1, 1), (2, 2)], lambda out, target: 1.0)
    assert result.scores == [1.0, 0.0, 1.0] and result.errors == 1
    assert result.feedback[1] == "LLMOutputError: reply is not JSON"


def test_errors_outside_catch_propagate_instead_of_scoring() -> None:
    from trace_core.llm import LLMOutputError

    def program(x: int) -> int:
        if x == 1:
            raise LLMOutputError("reply is not JSON")
        if x == 2:
            raise ValueError("bad input")
        return x

    only_values = evaluate(program, [(0, 0), (2, 2)], lambda out, target: 1.0, catch=(ValueError,))
    assert only_values.scores == [1.0, 0.0] and only_values.errors == 1
    with pytest.raises(LLMOutputError, match="not JSON"):
        evaluate(program, [(0, 0), (1, 1)], lambda out, target: 1.0, catch=(ValueError,))
    with pytest.raises(ValueError, match="bad input"):
        evaluate(program, [(2, 2)], lambda out, target: 1.0, catch=())


def test_a_metric_may_return_a_record_with_score_and_feedback() -> None:
    class Verdict:
        def __init__(self, ok: bool) -> None:
            self.score = 1.0 if ok else 0.0
            self.feedback = "right" if ok else "wrong"

    result = evaluate(_double, [(1, 2), (2, 5)], lambda out, target: Verdict(out == target))
    assert result.scores == [1.0, 0.0] and result.feedback == ["right", "wrong"]
