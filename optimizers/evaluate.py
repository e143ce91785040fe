"""One ``evaluate(program, items, metric, executor)`` for validation, CLIs and benchmarks.

The program runs on every item without recording a graph (``no_trace``), the metric turns each
output into a score, and an executor (anything with ``map_unordered(fn, items)``: local threads
or Ray, see ``agents.evaluation.executors``) runs the items; without one they run in order.
Scores come back in item order whatever order the executor finishes them in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, Field


class MapExecutor(Protocol):
    """Runs a function over items, yielding results as they finish."""

    def map_unordered(self, fn: Callable[[Any], Any], items: Any) -> Any:
        """Yield ``fn(item)`` for every item, in completion order."""


Metric = Callable[[Any, Any], Any]


class Evaluation(BaseModel):
    """Per-item scores and feedback, and their mean (the accuracy for 0/1 scores)."""

    scores: list[float]
    feedback: list[str] = Field(default_factory=list)
    errors: int = Field(default=0, description="items whose program raised")

    @property
    def mean(self) -> float:
        """Mean score (0.0 for an empty evaluation)."""
        return sum(self.scores) / len(self.scores) if self.scores else 0.0


def _split(item: Any) -> tuple[Any, Any]:
    if isinstance(item, dict):
        return item["input"], item["target"]
    if isinstance(item, tuple | list) and len(item) == 2:
        return item[0], item[1]
    return item, item  # an item that is its own target (e.g. a dataset row with its gold)


def evaluate(
    program: Callable[[Any], Any],
    items: Sequence[Any],
    metric: Metric,
    executor: MapExecutor | None = None,
    *,
    failure_score: float = 0.0,
) -> Evaluation:
    """Score ``program`` on ``items`` with ``metric(output, target) -> score | (score, text)``.

    ``items`` are ``(input, target)`` pairs, ``{"input", "target"}`` dicts, or objects that are
    their own target. A program that raises scores ``failure_score`` with the error as feedback;
    LLM errors (budget exhausted, authentication, outage) propagate, since they end the run.
    """

    def one(indexed: tuple[int, Any]) -> tuple[int, float, str, bool]:
        from trace_core import ExecutionError, Node, no_trace
        from trace_core.llm.errors import LLMError

        index, item = indexed
        x, target = _split(item)
        with no_trace():  # each worker thread has its own context: switch tracing off here
            try:
                output = program(x)
            except ExecutionError as err:
                return index, failure_score, str(err), True
            except LLMError:
                raise  # budget, auth, outage: every item would fail; stop instead
            except Exception as err:  # untraced, a bundle raises the plain exception
                return index, failure_score, f"{type(err).__name__}: {err}", True
        result = metric(output.data if isinstance(output, Node) else output, target)
        if isinstance(result, tuple):
            return index, float(result[0]), str(result[1]), False
        return index, float(result), "", False

    indexed = list(enumerate(items))
    results = executor.map_unordered(one, indexed) if executor is not None else map(one, indexed)
    ordered = sorted(results, key=lambda r: r[0])
    return Evaluation(
        scores=[r[1] for r in ordered],
        feedback=[r[2] for r in ordered],
        errors=sum(1 for r in ordered if r[3]),
    )
