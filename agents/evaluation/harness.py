"""Run an agent over a dataset: concurrent workers, per-item JSONL results, resume, report.

The agent is anything with ``solve(question)`` returning a result shaped like
:class:`agents.formulation.FormulationResult` (objective, status, error, executed, attempts,
repairs, usage, program). It is passed as a zero-argument factory so that a Ray worker can build
its own copy (LLM clients do not pickle); threads share one instance.

The items run through :func:`optimizers.evaluate.evaluate` (threads or Ray alike), the one loop
that also serves trainer validation and the prompt search; the harness owns the run directory:
it passes only the items a resumed run still needs, journals each finished one through
``on_result``, and writes the report.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from agents.evaluation.dataset import Item
from agents.evaluation.executors import Executor, get_executor
from agents.evaluation.report import Report, build_report
from agents.evaluation.results import ItemResult, RunLog
from agents.evaluation.scoring import Outcome, Tolerance, as_number, score
from agents.solvers.run_outcome import normalize_status
from optimizers.evaluate import ItemScore
from optimizers.evaluate import evaluate as evaluate_items
from trace_core.runs import RunDir, RunDirError

log = logging.getLogger(__name__)

REPORT_FILE = "report.json"
PLOT_FILE = "report.png"
CONFIG_FILE = "run.json"
ARTIFACTS = ("results.jsonl", REPORT_FILE, PLOT_FILE)

__all__ = ["RunDirError", "evaluate", "evaluate_item", "rescore", "solve_items"]


class SupportsSolve(Protocol):
    """An agent the harness can evaluate."""

    def solve(self, question: str) -> Any:
        """Solve ``question``; the harness scores the returned result."""


AgentFactory = Callable[[], SupportsSolve]


def _alt_values(item: Item) -> list[float | None]:
    return [alt.value for alt in item.alt_answers or [] if not alt.superseded]


def _about(item: Item) -> dict[str, Any]:
    """The fields every record starts with: which item it is about, and its gold."""
    assert item.answer is not None, "load_dataset(require_answer=True) guarantees a gold"
    return {"id": item.id, "source": item.source, "tags": item.tags, "gold": item.answer}


class _Solve:
    """The program the harness evaluates: builds the agent once per process from its factory
    (a Ray worker builds its own; threads share one) and solves one item's question."""

    def __init__(self, agent_factory: AgentFactory):
        self.agent_factory = agent_factory
        self._agent: SupportsSolve | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"agent_factory": self.agent_factory}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["agent_factory"])  # type: ignore[misc]

    def __call__(self, item: Item) -> Any:
        with self._lock:
            if self._agent is None:
                self._agent = self.agent_factory()
            agent = self._agent
        return agent.solve(item.question)


class _Verdict:
    """The harness's metric: an agent's result on an item as an :class:`ItemResult`."""

    def __init__(self, tolerance: Tolerance):
        self.tolerance = tolerance

    def __call__(self, result: Any, item: Item) -> ItemResult:
        assert item.answer is not None
        # A run that crashed or timed out has no objective, whatever the agent carried over.
        dead = bool(getattr(result, "error", None))
        raw = None if dead else getattr(result, "objective", None)
        status = None if dead else normalize_status(getattr(result, "status", None))
        verdict = score(
            item.answer,
            raw,
            status=status,
            error=getattr(result, "error", None),
            tolerance=self.tolerance,
            alt_answers=_alt_values(item),
        )
        usage = getattr(result, "usage", None)
        return ItemResult(
            **_about(item),
            objective=verdict.value if verdict.value is not None else as_number(raw),
            raw_objective=None if as_number(raw) is not None else _jsonable(raw),
            status=status,
            outcome=verdict.outcome,
            correct=verdict.correct,
            alt_match=verdict.alt_match,
            executed=bool(getattr(result, "executed", False)),
            attempts=len(getattr(result, "attempts", []) or []),
            repairs=int(getattr(result, "repairs", 0) or 0),
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            tokens=int(getattr(usage, "total_tokens", 0) or 0),
            cost=float(getattr(usage, "cost", 0.0) or 0.0),
            error=getattr(result, "error", None),
            program=getattr(result, "program", None),
        )


def _record(item: Item, scored: ItemScore) -> ItemResult:
    """The journal line of one finished item; an agent that raised gives an ``error`` record."""
    if scored.error is None:
        return cast(ItemResult, scored.verdict).model_copy(update={"duration_s": scored.seconds})
    log.warning("item %s: agent failed: %s", item.id, scored.error)
    return ItemResult(
        **_about(item),
        outcome=Outcome.ERROR,
        correct=False,
        error=scored.error,
        duration_s=scored.seconds,
    )


def solve_items(
    items: Sequence[Item],
    agent_factory: AgentFactory,
    tolerance: Tolerance,
    on_record: Callable[[ItemResult], None],
    executor: Executor | None = None,
) -> None:
    """Solve and score ``items`` with :func:`optimizers.evaluate.evaluate`; ``on_record`` gets
    each item's :class:`ItemResult` as it finishes (one bad item never ends the run; a spent
    budget, an unreachable model or Ctrl-C does, after the running items are recorded)."""
    evaluate_items(
        _Solve(agent_factory),
        items,
        _Verdict(tolerance),
        executor,
        on_result=lambda _, item, scored: on_record(_record(item, scored)),
    )


def evaluate_item(item: Item, agent: SupportsSolve, tolerance: Tolerance) -> ItemResult:
    """Solve one item and score it; agent failures become an ``error`` record, not a crash."""
    records: list[ItemResult] = []
    solve_items([item], lambda: agent, tolerance, records.append)
    return records[0]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def rescore(record: ItemResult, item: Item, tolerance: Tolerance) -> ItemResult:
    """Re-apply ``tolerance`` to a stored record (a resumed run may use another tolerance)."""
    assert item.answer is not None
    raw = record.objective if record.objective is not None else record.raw_objective
    verdict = score(
        item.answer,
        raw,
        status=record.status,
        error=record.error,
        tolerance=tolerance,
        alt_answers=_alt_values(item),
    )
    return record.model_copy(
        update={
            "gold": item.answer,
            "outcome": verdict.outcome,
            "correct": verdict.correct,
            "alt_match": verdict.alt_match,
        }
    )


def _progress(enabled: bool, total: int, completed: int) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]evaluate"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("correct {task.fields[correct]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def evaluate(
    items: Sequence[Item],
    agent_factory: AgentFactory,
    *,
    run_dir: str | Path,
    workers: int = 4,
    executor: str | Executor = "thread",
    resume: bool = False,
    overwrite: bool = False,
    retry_errors: bool = False,
    tolerance: Tolerance | None = None,
    progress: bool = True,
    plot: bool = True,
    dataset: str | None = None,
    model: str | None = None,
    solver: str | None = None,
    command: str = "evaluate",
    config: Mapping[str, Any] | None = None,
) -> Report:
    """Evaluate the agent on ``items``, writing ``results.jsonl``, ``report.json`` and a PNG.

    With ``resume=True`` items already in ``run_dir/results.jsonl`` are skipped and their stored
    results count in the report (re-scored with ``tolerance``). Without it, a run directory that
    already has results is refused (pass ``overwrite=True`` to discard them).
    ``retry_errors=True`` also reruns resumed items whose outcome was ``error`` (a rate limit or
    a crash); their new record supersedes the old line.

    The run directory is a :class:`trace_core.runs.RunDir` made by ``command``; ``config``
    (default: dataset, model and solver) must match on resume, and a folder made by another
    command is refused. The tolerance may change between runs: stored results are re-scored.
    """
    tolerance = tolerance or Tolerance()
    run_path = Path(run_dir)
    run = RunDir(
        run_path,
        command,
        config if config is not None else {"dataset": dataset, "model": model, "solver": solver},
        resume=resume,
        overwrite=overwrite,
        artifacts=ARTIFACTS,
    )
    run_log = RunLog(run_path)
    previous = run_log.load()
    by_id = {item.id: item for item in items}
    kept = {
        record.id: rescore(record, by_id[record.id], tolerance)
        for record in previous
        if record.id in by_id and not (retry_errors and record.outcome is Outcome.ERROR)
    }
    todo = [item for item in items if item.id not in kept]
    run.write_manifest(
        {
            "dataset": dataset,
            "model": model,
            "solver": solver,
            "items": len(items),
            "tolerance": tolerance.model_dump(),
            "workers": workers,
            "executor": executor if isinstance(executor, str) else type(executor).__name__,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "resumed": len(kept),
        }
    )
    runner = get_executor(executor, workers) if isinstance(executor, str) else executor
    results = dict(kept)

    def summarize() -> Report:
        """The report over the results so far (partial if the run stops early)."""
        return build_report(
            results.values(),
            tolerance=tolerance,
            dataset=dataset,
            total=len(items),
            run_dir=str(run_path),
            model=model,
            solver=solver,
        )

    try:
        with _progress(progress, len(items), len(kept)) as bar:
            correct = sum(record.correct for record in kept.values())
            task_id = bar.add_task(
                "evaluate", total=len(items), completed=len(kept), correct=correct
            )

            def finished(record: ItemResult) -> None:
                """Journal one item the moment it is done (a kill loses nothing finished)."""
                nonlocal correct
                run_log.append(record)
                results[record.id] = record
                correct += record.correct
                bar.update(task_id, advance=1, correct=correct)

            solve_items(todo, agent_factory, tolerance, finished, runner)
    except BaseException:
        # Budget exhausted, Ctrl-C, an unreachable model: leave a partial report next to the
        # results.
        if results:
            run.write_state(REPORT_FILE, summarize().model_dump(mode="json"))
        raise
    report = summarize()
    run.write_state(REPORT_FILE, report.model_dump(mode="json"))
    if plot and report.n:
        from agents.evaluation.plot import plot_report

        plot_report(report, run_path / PLOT_FILE)
    return report
