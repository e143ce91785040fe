"""One ``evaluate(program, items, metric, executor)`` for validation, CLIs and benchmarks.

The program runs on every item without recording a graph (``no_trace``), the metric turns each
output into a score, and an executor (anything with ``map_unordered(fn, items)``: local threads
or Ray, see ``agents.evaluation.executors``) runs the items; without one they run in order.
Scores come back in item order whatever order the executor finishes them in.

The same loop serves trainer validation, ``optoforge evaluate``, ``library evaluate`` and the
prompt search: callers that keep a journal pass ``on_result``, which sees each finished item
once, in the calling thread, as soon as it is done; a resumed run passes only its pending items.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ItemScore:
    """What one item came to: its score and feedback, the program's error, the metric's verdict.

    ``verdict`` is what the metric returned (a number, a ``(score, feedback)`` pair, or a richer
    record such as the harness's ``ItemResult``); it is None when the program raised.
    """

    score: float
    feedback: str
    error: str | None
    verdict: Any
    seconds: float = 0.0  # program and metric time


def fatal_errors() -> tuple[type[BaseException], ...]:
    """Errors that would fail every item alike, so the run stops instead of scoring them:
    the LLM layer's ``RUN_ENDING_ERRORS`` (budget, configuration, outage, refused key) and
    Ctrl-C. Other errors are the item's own and score as failures."""
    from trace_core.llm.errors import RUN_ENDING_ERRORS

    return (*RUN_ENDING_ERRORS, KeyboardInterrupt)


def error_feedback(err: Exception) -> str:
    """A program's error as feedback text, without process-specific node labels (so resumed
    and parallel runs write the same text)."""
    exc_node = getattr(err, "exception_node", None)
    if exc_node is None:
        return f"{type(err).__name__}: {err}"
    exc = exc_node.exception
    return f"{exc_node.op.name} raised {type(exc).__name__}: {exc}"


def as_score(verdict: Any) -> tuple[float, str]:
    """A metric's verdict as ``(score, feedback)``: a number, a pair, or a record with
    ``score`` and ``feedback`` attributes."""
    if isinstance(verdict, tuple):
        return float(verdict[0]), str(verdict[1])
    if hasattr(verdict, "score"):
        return float(verdict.score), str(getattr(verdict, "feedback", ""))
    return float(verdict), ""


class _Stopped:
    """What a worker returns instead of a score when a fatal error ended its item."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _ItemRun:
    """Runs and scores one ``(index, item)``; a module-level class so Ray can pickle it."""

    def __init__(
        self,
        program: Callable[[Any], Any],
        metric: Metric,
        failure_score: float,
        catch: tuple[type[Exception], ...],
    ):
        self.program = program
        self.metric = metric
        self.failure_score = failure_score
        self.catch = catch

    def __call__(self, indexed: tuple[int, Any]) -> tuple[int, ItemScore | _Stopped]:
        # A fatal error comes back as a value, so that items other workers finished (and paid
        # for) meanwhile are still reported before the run stops.
        index, item = indexed
        try:
            return index, self._score(item)
        except fatal_errors() as err:
            return index, _Stopped(err)

    def _score(self, item: Any) -> ItemScore:
        from trace_core import Node, no_trace

        started = time.perf_counter()
        x, target = _split(item)
        with no_trace():  # each worker thread has its own context: switch tracing off here
            try:
                output = self.program(x)
            except fatal_errors():
                raise
            except self.catch as err:  # one bad item must not end the run
                text = error_feedback(err)
                seconds = time.perf_counter() - started
                return ItemScore(
                    self.failure_score, text, error=text, verdict=None, seconds=seconds
                )
            verdict = self.metric(output.data if isinstance(output, Node) else output, target)
        score, feedback = as_score(verdict)
        seconds = time.perf_counter() - started
        return ItemScore(score, feedback, error=None, verdict=verdict, seconds=seconds)


def _split(item: Any) -> tuple[Any, Any]:
    if isinstance(item, dict):
        return item["input"], item["target"]
    if isinstance(item, tuple | list) and len(item) == 2:
        return item[0], item[1]
    return item, item  # an item that is its own target (e.g. a dataset row with its gold)


OnResult = Callable[[int, Any, ItemScore], None]


def evaluate(
    program: Callable[[Any], Any],
    items: Sequence[Any],
    metric: Metric,
    executor: MapExecutor | None = None,
    *,
    failure_score: float = 0.0,
    catch: tuple[type[Exception], ...] = (Exception,),
    on_result: OnResult | None = None,
) -> Evaluation:
    """Score ``program`` on ``items`` with ``metric(output, target)``.

    ``items`` are ``(input, target)`` pairs, ``{"input", "target"}`` dicts, or objects that are
    their own target. The metric returns a score, a ``(score, feedback)`` pair or a record with
    ``score`` and ``feedback``. A program that raises one of ``catch`` (any ``Exception`` by
    default) scores ``failure_score`` with the error as feedback; other errors propagate (a
    caller that cannot score an item it failed to ask, like the prompt search, passes
    ``catch=()``). ``on_result(index, item, ItemScore)`` is called in this thread once per
    finished item, in completion order (a journal written there loses nothing to a kill).
    Errors that would fail every item (:func:`fatal_errors`: budget, auth, outage, Ctrl-C)
    start no further item, let the running ones finish and report, then propagate.
    """
    stop: list[BaseException] = []

    def unstarted() -> Iterator[tuple[int, Any]]:
        for indexed in enumerate(items):
            if stop:
                return
            yield indexed

    run = _ItemRun(program, metric, failure_score, catch)
    finished = executor.map_unordered(run, unstarted()) if executor else map(run, unstarted())
    scored: dict[int, ItemScore] = {}
    for index, outcome in finished:
        if isinstance(outcome, _Stopped):
            stop.append(outcome.error)
            continue
        scored[index] = outcome
        if on_result is not None:
            on_result(index, items[index], outcome)
    if stop:
        raise stop[0]
    ordered = [scored[index] for index in sorted(scored)]
    return Evaluation(
        scores=[r.score for r in ordered],
        feedback=[r.feedback for r in ordered],
        errors=sum(1 for r in ordered if r.error is not None),
    )
