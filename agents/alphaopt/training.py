"""``library learn`` and ``library evolve`` as :class:`optimizers.Trainer` runs.

The program is the library-backed formulation (:class:`LibraryForward`): each training item is
solved once with retrieval, traced, at the learner's temperature (learning) or at 0
(evolution), and scored against its gold. The optimizer is the
:class:`~agents.alphaopt.optimizer.LibraryOptimizer` over the insight set: its step learns
from (or diagnoses) the batch's items and takes the forward pass's solve as each item's first
attempt, so no item is solved twice. Learning is one epoch of batches in file order (batches
of ``workers`` items by default, the item-by-item loop's concurrency; the paper uses 12);
evolution is one epoch per round, refinement, splitting and retirement following the round's
last step.

The run directory holds both layers: the trainer's ``history.jsonl``, ``checkpoint.json``,
``initial.json`` and ``scores.png`` (one record per step) and the phases' per-item state files
(``learn/``, ``evolve-<n>/``, ``refine-<n>/``). A step redone after a kill skips the items it
finished (the forward pass reads their recorded score instead of solving them again), and a
rerun first retries items of finished steps that ended in an error.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agents.alphaopt.optimizer import LibraryOptimizer
from agents.alphaopt.retrieval import LibrarySource
from agents.alphaopt.runs import ItemState, PhaseRun, guarded_map, progress_bar
from agents.alphaopt.solving import FirstSolve
from agents.evaluation.dataset import Item
from agents.formulation.guide import formulation_guide
from optimizers.trainer import Trainer
from trace_core.bundle import bundle
from trace_core.nodes import ParameterNode

if TYPE_CHECKING:
    from agents.alphaopt.pipeline import AlphaOpt
    from trace_core.nodes import Node

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    """A forward outcome read back from an item's saved state: the item is not solved again."""

    score: float
    feedback: str


@bundle()
def recall(insights: list[int], recorded: Recorded) -> Recorded:
    """The outcome recorded for an item that is not solved again (under the insight set)."""
    return recorded


def _recorded(state: ItemState) -> Recorded:
    """What the forward pass scored for a finished item (states written before the score was
    recorded count as solved when their status says so)."""
    if state.score is not None:
        return Recorded(state.score, state.feedback or "")
    solved = state.status.startswith("solved")
    return Recorded(1.0 if solved else 0.0, f"finished earlier: {state.status}")


@dataclass
class LibraryForward:
    """The library-backed formulation as a Trainer's forward pass and guide.

    Calling it with an item solves the item once with retrieval (traced) and keeps that solve
    for the optimizer step (:meth:`take`); an item already finished in the current ``phase`` is
    not solved again. :meth:`prefetch` solves a batch ``workers`` items at a time before the
    Trainer asks for them. :meth:`guide` scores as the learner does (tolerance, gold statuses)
    and explains with the formulation guide's feedback. ``insights`` is the trained insight-set
    parameter: every solve's graph reads it, so the feedback reaches it.
    """

    alpha: AlphaOpt
    run_dir: Path
    insights: ParameterNode
    temperature: float
    phase: Callable[[], str]
    workers: int = 1
    bar: Callable[..., None] = field(default=lambda info="", step=1: None)  # no bar
    _firsts: dict[str, FirstSolve] = field(default_factory=dict, init=False)
    _ready: dict[str, Any] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __call__(self, item: Item) -> Node:
        """The item's output node: prefetched, recorded earlier, or solved now."""
        with self._lock:
            ready = self._ready.pop(item.id, None)
        if isinstance(ready, BaseException):
            # The step tries the item again from scratch; if that fails too it is left without
            # a state, and a rerun retries it.
            log.warning("solving item %s failed (%s: %s)", item.id, type(ready).__name__, ready)
            failed = Recorded(0.0, f"The solve failed: {type(ready).__name__}: {ready}")
            return recall(self.insights, failed)
        return ready if ready is not None else self._solve(item)

    def _solve(self, item: Item) -> Node:
        saved = PhaseRun(self.run_dir, self.phase()).load(item.id)
        if saved is not None:
            return recall(self.insights, _recorded(saved))
        source = LibrarySource(self.alpha.retriever)
        first, output = self.alpha.solver.first_solve(
            item, source, temperature=self.temperature, traced=self.insights
        )
        with self._lock:
            self._firsts[item.id] = first
        return output

    def prefetch(self, items: Sequence[Item]) -> None:
        """Solve ``items`` ``workers`` at a time. An error that would fail every item ends the
        run; any other leaves the item's output a failed :class:`Recorded`."""
        for item, output, error in guarded_map(self._solve, items, self.workers):
            with self._lock:
                self._ready[item.id] = output if error is None else error
            self.bar(f"{self.phase()} {item.id}: solved once", 0)

    def take(self, item_id: str) -> FirstSolve | None:
        """The item's first solve made by this forward pass (once), or None."""
        with self._lock:
            return self._firsts.pop(item_id, None)

    def guide(self, output: Any, item: Item) -> tuple[float, str]:
        """(1.0 when the first solve reached the gold, else 0.0; the guide's feedback)."""
        if isinstance(output, Recorded):
            return output.score, output.feedback
        tolerance = self.alpha.solver.settings.tolerance
        score, feedback = formulation_guide(output, item, tolerance=tolerance)
        with self._lock:
            first = self._firsts.get(item.id)
        if first is not None:
            score = 1.0 if first.outcome.correct else 0.0
        return score, feedback


def _set_aside_other_schedule(trainer: Trainer) -> None:
    """Move a checkpoint and history of another schedule (another ``--limit`` or batch size)
    to ``superseded/<n>/``: the per-item states carry over, the step records cannot."""
    assert trainer.run_dir is not None
    checkpoint = trainer.run_dir / "checkpoint.json"
    if not checkpoint.exists():
        return
    if json.loads(checkpoint.read_text(encoding="utf-8")).get("run") == trainer.schedule():
        return
    parent = trainer.run_dir / "superseded"
    target = parent / str(len(list(parent.iterdir())) + 1 if parent.is_dir() else 1)
    log.info("another item list or batch size: the earlier steps move to %s", target)
    target.mkdir(parents=True)
    for name in ("checkpoint.json", "history.jsonl", "initial.json", "scores.png"):
        if (trainer.run_dir / name).exists():
            shutil.move(trainer.run_dir / name, target / name)


@dataclass
class LibraryRun:
    """One ``library learn`` (``mode="learn"``) or ``library evolve`` run on the Trainer.

    ``context`` lists earlier training items (already learned from) so that merges can be
    verified on them too. ``workers`` items of a batch are solved and worked on at once;
    storing and merging insights stays one at a time. ``batch_size`` (default: ``workers``,
    which keeps the item order and concurrency of the item-by-item loop this replaces; the
    paper uses 12) is how many items are solved before they are learned from.
    """

    alpha: AlphaOpt
    items: Sequence[Item]
    run_dir: Path
    mode: Literal["learn", "evolve"]
    batch_size: int | None = None
    workers: int = 1
    progress: bool = True
    context: Sequence[Item] = ()

    @property
    def batch(self) -> int:
        """Items per trainer step."""
        return self.batch_size or self.workers

    def fit(self) -> None:
        """Train the insight set on the items, resuming the run directory; a budget stop is
        raised (the per-item states and the checkpoint keep what was done)."""
        if not self.items:
            raise ValueError("a library run needs at least one item")
        optimizer = self._optimizer()
        temperature = self.alpha.learner.settings.temperature if self.mode == "learn" else 0.0
        forward = LibraryForward(
            self.alpha,
            self.run_dir,
            optimizer.parameters[0],
            temperature=temperature,
            phase=lambda: optimizer.phase_of(optimizer.step_count)[0],
            workers=self.workers,
        )
        optimizer.forward = forward
        epochs = 1 if self.mode == "learn" else self.alpha.evolver.settings.rounds
        schedule = {"batch_size": self.batch, "epochs": epochs, "shuffle": False}
        # The library command wrote the run directory's manifest; a budget stop is raised
        # again so that the command reports it as before.
        trainer = Trainer(
            forward,
            optimizer,
            forward.guide,
            [(item, item) for item in self.items],
            run_dir=self.run_dir,
            progress=False,
            command=f"library {self.mode}",
            own_manifest=False,
            before_batch=forward.prefetch,
            raise_budget=True,
            **schedule,
        )
        _set_aside_other_schedule(trainer)
        # One bar for the whole run: an item moves it once its step has worked on it.
        phases = ["learn"] if self.mode == "learn" else [f"evolve-{n + 1}" for n in range(epochs)]
        done = sum(len(self.states(phase)) for phase in phases)
        total = len(self.items) * epochs
        with progress_bar(f"library {self.mode}", total, done, self.progress) as bar:
            forward.bar = optimizer.bar = bar
            self._retry_errors(trainer, optimizer)
            trainer.fit(resume=True)

    def _optimizer(self) -> LibraryOptimizer:
        ids = [i.id for i in self.alpha.library.all() if i.id is not None]
        insights = ParameterNode(
            ids,
            name="insights",
            description="ids of the experience-library insights the formulation may use",
        )
        steps_per_epoch = math.ceil(len(self.items) / self.batch)
        return LibraryOptimizer(
            [insights],
            alphaopt=self.alpha,
            items=[*self.context, *self.items],
            run_dir=self.run_dir,
            evolve_every=steps_per_epoch if self.mode == "evolve" else 0,
            mode=self.mode,
            workers=self.workers,
        )

    def _retry_errors(self, trainer: Trainer, optimizer: LibraryOptimizer) -> None:
        """Items of finished steps that ended in an error (no state): work on them now."""
        for step in range(trainer.steps_done()):
            phase, action = optimizer.phase_of(step)
            run = PhaseRun(self.run_dir, phase)
            batch = [trainer.train_set[i][0] for i in trainer.batch_indices(step)[1]]
            missing = [item for item in batch if run.load(item.id) is None]
            if missing:
                work = optimizer.work(step, action, {})
                run.run(missing, work, workers=self.workers, bar=optimizer.bar)

    def states(self, phase: str) -> list[ItemState]:
        """The saved states of the run's items in ``phase``, in item order."""
        run = PhaseRun(self.run_dir, phase)
        return [state for item in self.items if (state := run.load(item.id)) is not None]


def learn(
    alpha: AlphaOpt, items: Sequence[Item], run_dir: str | Path, **options: Any
) -> list[ItemState]:
    """Iteration 0 on the Trainer: learn from ``items`` in batches (resumes ``run_dir``);
    returns their states. ``options`` are :class:`LibraryRun`'s (batch_size, workers,
    progress, context)."""
    run = LibraryRun(alpha, items, Path(run_dir), "learn", **options)
    run.fit()
    return run.states("learn")


def evolve(
    alpha: AlphaOpt, items: Sequence[Item], run_dir: str | Path, **options: Any
) -> dict[str, object]:
    """Iterations 1..N on the Trainer, one epoch per round (resumes ``run_dir``); returns the
    per-round item states and refinement outcomes. ``options`` are :class:`LibraryRun`'s
    (batch_size, workers, progress)."""
    from agents.alphaopt.evolution import RefineOutcome

    run = LibraryRun(alpha, items, Path(run_dir), "evolve", **options)
    run.fit()
    rounds: list[dict[str, object]] = []
    for number in range(1, alpha.evolver.settings.rounds + 1):
        refined = [
            RefineOutcome.model_validate_json(state.notes[0])
            for state in PhaseRun(run_dir, f"refine-{number}").states()
        ]
        refined.sort(key=lambda outcome: outcome.insight_id)
        items_done = [s.model_dump() for s in run.states(f"evolve-{number}")]
        rounds.append(
            {"round": number, "items": items_done, "refinement": [o.model_dump() for o in refined]}
        )
    return {"rounds": rounds}
