"""evaluate(program, items, metric, executor): one scorer for validation and the CLIs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

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
