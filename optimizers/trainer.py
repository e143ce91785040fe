"""Train a traced program over a dataset with an LLM optimizer, resumably.

Each step takes a minibatch, runs the program on every example, asks the user's
``guide(output, target) -> (score, feedback)`` for a score and feedback, sends each feedback
back through the graph (the optimizer sees all of them at once) and applies one optimizer step.
After the step the validation set (when given) is scored and the best parameters are kept.

A run directory holds everything needed to continue:

- ``history.jsonl``  one :class:`StepRecord` per finished step (appended, fsynced);
- ``checkpoint.json`` optimizer state, best parameters and the step count, replaced
  atomically after every step;
- ``scores.png``     score per step (written when the run ends);
- ``initial.json``   parameter values before the first step, and ``graph.dot`` the traced graph
  of the first example (both read by ``optoforge report``).

``fit(resume=True)`` continues a killed run at the first unfinished step; because the batch
order is a pure function of (seed, epoch) and the optimizer state is restored, the resumed
history is identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from optimizers.base import Optimizer, StepUsage
from optimizers.evaluate import MapExecutor, error_feedback, evaluate
from optimizers.history import StepRecord, plot_history
from trace_core.durable import append_line, write_atomic
from trace_core.runs import RunDir, RunDirError, check_writable_dir

if TYPE_CHECKING:
    from trace_core.nodes import Node

logger = logging.getLogger(__name__)

Guide = Callable[[Any, Any], tuple[float, Any]]

CHECKPOINT_VERSION = 1
INITIAL_FILE = "initial.json"  # parameter values before the first step
GRAPH_FILE = "graph.dot"  # the traced graph of the first example of the first step


class RunDirInUse(RunDirError):
    """The run directory holds another run, or a run and ``resume`` was not requested."""


class TrainReport(BaseModel):
    """What :meth:`Trainer.fit` returns."""

    steps: int = Field(description="steps finished in the whole run (resumed ones included)")
    start_step: int = Field(description="first step this fit() call ran (>0 after a resume)")
    history: list[StepRecord]
    best_score: float | None
    best_step: int | None
    initial_score: float | None = Field(
        default=None, description="validation score of the parameters before the first step"
    )
    parameters: dict[str, Any] = Field(description="parameter values at the end of the run")
    usage: StepUsage
    stopped: str | None = Field(default=None, description="why the run stopped early, if it did")
    run_dir: str | None = None


class Trainer:
    """Loop over a dataset, collect feedback per minibatch, step the optimizer, checkpoint.

    Args:
        forward: runs the traced program on one example input and returns its output node.
        optimizer: an :class:`~optimizers.base.Optimizer` over the program's parameters.
        guide: ``guide(output_value, target) -> (score, feedback)``; higher score is better.
        train_set: ``(input, target)`` pairs (or dicts with ``input`` and ``target``).
        val_set: optional pairs scored after every step to keep the best parameters.
        batch_size: examples per step; their feedbacks all reach the optimizer in one step.
        epochs: passes over ``train_set``.
        max_steps: stop after this many optimizer steps even if the epochs are not done.
        shuffle: shuffle each epoch with ``random.Random(seed + epoch)``.
        run_dir: where history, checkpoints and the plot go (needed for ``resume``).
        keep_best: restore the best validation parameters at the end.
        failure_score: score of an example whose program raised.
        executor: runs the validation items (local threads or Ray, see
            :func:`optimizers.evaluate.evaluate`); without one they run in order.
        progress: show a progress bar on stderr.
        on_step: called with each :class:`StepRecord` after its checkpoint is written.
        command: what the run directory's manifest says made the run (``optoforge <command>``);
            a folder made by another command or with other settings is refused.
        own_manifest: False when the calling command keeps its own manifest in ``run_dir``
            (the folder then only has to be writable).
        before_batch: called with a step's inputs before their forward passes, e.g. to run
            them concurrently so that ``forward`` finds them done.
        raise_budget: after a budget stop (steps done are saved), raise the ``BudgetExceeded``
            instead of returning a report with ``stopped`` set.
    """

    def __init__(
        self,
        forward: Callable[[Any], Any],
        optimizer: Optimizer,
        guide: Guide,
        train_set: Sequence[Any],
        *,
        val_set: Sequence[Any] | None = None,
        batch_size: int = 1,
        epochs: int = 1,
        max_steps: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        run_dir: str | Path | None = None,
        keep_best: bool = True,
        failure_score: float = 0.0,
        executor: MapExecutor | None = None,
        progress: bool = True,
        on_step: Callable[[StepRecord], None] | None = None,
        command: str = "train",
        own_manifest: bool = True,
        before_batch: Callable[[list[Any]], None] | None = None,
        raise_budget: bool = False,
    ) -> None:
        if batch_size < 1 or epochs < 1:
            raise ValueError("batch_size and epochs must be at least 1")
        if not train_set:
            raise ValueError("train_set is empty; give at least one (input, target) pair")
        self.forward = forward
        self.optimizer = optimizer
        self.guide = guide
        self.train_set = [_pair(item) for item in train_set]
        self.val_set = [_pair(item) for item in val_set] if val_set else []
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_steps = max_steps
        self.shuffle = shuffle
        self.seed = seed
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.keep_best = keep_best
        self.failure_score = failure_score
        self.executor = executor
        self.progress = progress
        self.on_step = on_step
        self.command = command
        self.own_manifest = own_manifest
        self.before_batch = before_batch
        self.raise_budget = raise_budget
        self.initial_score: float | None = None  # set by fit(): validation before any step

    # -- schedule --------------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch (the last batch may be smaller)."""
        return math.ceil(len(self.train_set) / self.batch_size)

    @property
    def total_steps(self) -> int:
        """Optimizer steps in the whole run (``steps_per_epoch * epochs``, at most max_steps)."""
        steps = self.steps_per_epoch * self.epochs
        return steps if self.max_steps is None else min(steps, self.max_steps)

    def batch_indices(self, step: int) -> tuple[int, list[int]]:
        """The epoch and example indices of ``step`` (a pure function: resumable)."""
        epoch, position = divmod(step, self.steps_per_epoch)
        order = list(range(len(self.train_set)))
        if self.shuffle:
            random.Random(self.seed + epoch).shuffle(order)
        start = position * self.batch_size
        return epoch, order[start : start + self.batch_size]

    # -- evaluation ------------------------------------------------------------------------
    def _run(self, x: Any) -> tuple[Node | None, Any, str | None]:
        """Run the program; return (output node, output value, error text)."""
        from trace_core import ExecutionError, Node

        try:
            out = self.forward(x)
        except ExecutionError as err:
            return err.exception_node, None, error_feedback(err)
        if isinstance(out, Node):
            return out, out.data, None
        return None, out, None

    def evaluate(self, dataset: Sequence[Any]) -> float:
        """Mean guide score of the current parameters on ``dataset`` (nothing is traced; the
        items run on ``executor``)."""
        pairs = [_pair(item) for item in dataset]
        if not pairs:
            raise ValueError("cannot evaluate on an empty dataset")
        scored = evaluate(
            self.forward, pairs, self.guide, self.executor, failure_score=self.failure_score
        )
        return scored.mean

    # -- the loop --------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> TrainReport:
        """Train for ``epochs`` passes; with ``resume=True`` continue a run in ``run_dir``."""
        from trace_core.llm import BudgetExceeded

        history: list[StepRecord] = []
        best = _Best()
        start = 0
        self.initial_score = None
        if self.run_dir is not None:
            self._open_run_dir(resume)
            checkpoint = self.run_dir / "checkpoint.json"
            if checkpoint.exists():
                if not resume:
                    raise RunDirInUse(
                        f"{self.run_dir} already holds a run; pass resume=True to continue it "
                        "or choose an empty run_dir"
                    )
                start, best, history = self._restore(checkpoint)
            elif (self.run_dir / "history.jsonl").exists() and not resume:
                raise RunDirInUse(f"{self.run_dir} holds a history.jsonl without a checkpoint")
            else:
                (self.run_dir / "history.jsonl").unlink(missing_ok=True)
        if self.run_dir is not None and start == 0:
            # The run page diffs every parameter from here to its best value.
            write_atomic(self.run_dir / INITIAL_FILE, json.dumps(self._snapshot(), indent=1))
        if start == 0 and self.val_set and best.score is None:
            self.initial_score = self.evaluate(self.val_set)
            best = _Best(self.initial_score, -1, self._snapshot())

        stopped: str | None = None
        budget_error: BudgetExceeded | None = None
        bar = _progress(self.total_steps, start, enabled=self.progress)
        try:
            for step in range(start, self.total_steps):
                try:
                    record = self._train_step(step, best)
                except BudgetExceeded as err:
                    stopped, budget_error = f"budget exceeded at step {step}: {err}", err
                    break
                history.append(record)
                self._persist(record, best, step + 1)
                bar.update(1)
                bar.set_postfix(score=f"{record.train_score:.3f}", val=record.val_score)
                if self.on_step is not None:
                    self.on_step(record)
        finally:
            bar.close()

        if self.keep_best and best.parameters is not None and best.step is not None:
            _set_values(self.optimizer, best.parameters)
        if self.run_dir is not None and history:
            plot_history(history, self.run_dir / "scores.png")
        if self.raise_budget and budget_error is not None:
            raise budget_error
        return TrainReport(
            steps=len(history),
            start_step=start,
            history=history,
            best_score=best.score,
            best_step=best.step,
            initial_score=self.initial_score,
            parameters=self._snapshot(),
            usage=self.optimizer.usage,
            stopped=stopped,
            run_dir=str(self.run_dir) if self.run_dir is not None else None,
        )

    def _train_step(self, step: int, best: _Best) -> StepRecord:
        epoch, indices = self.batch_indices(step)
        if self.before_batch is not None:
            self.before_batch([self.train_set[index][0] for index in indices])
        self.optimizer.zero_feedback()
        scores: list[float] = []
        feedbacks: list[str] = []
        for index in indices:
            x, target = self.train_set[index]
            out, value, error = self._run(x)
            if error is not None:
                score, feedback = self.failure_score, error
            else:
                score, feedback = self.guide(value, target)
            scores.append(float(score))
            feedbacks.append(str(feedback))
            if out is None:
                raise TypeError(
                    "forward() must return a trace_core Node so feedback can flow back; "
                    f"it returned {type(value).__name__}"
                )
            self.optimizer.backward(out, feedback, score=float(score), example=(x, target))
            if step == 0 and self.run_dir is not None and index == indices[0]:
                _write_graph(out, self.run_dir / GRAPH_FILE)
        result = self.optimizer.step()
        val_score = None
        if self.val_set:
            val_score = self.evaluate(self.val_set)
            if best.score is None or val_score > best.score:
                best.score, best.step, best.parameters = val_score, step, self._snapshot()
        return StepRecord(
            step=step,
            epoch=epoch,
            batch=indices,
            scores=scores,
            train_score=sum(scores) / len(scores),
            feedback=feedbacks,
            updates=result.updates,
            rejected=result.rejected,
            reasoning=result.reasoning,
            usage=result.usage,
            error=result.error,
            val_score=val_score,
            best_score=best.score,
            best_step=best.step,
        )

    # -- persistence -----------------------------------------------------------------------
    def _snapshot(self) -> dict[str, Any]:
        return json.loads(json.dumps({n: p.data for n, p in self.optimizer.names.items()}))

    def steps_done(self) -> int:
        """Steps finished by the checkpoint in ``run_dir`` (0 without one)."""
        checkpoint = self.run_dir / "checkpoint.json" if self.run_dir is not None else None
        if checkpoint is None or not checkpoint.exists():
            return 0
        return int(json.loads(checkpoint.read_text(encoding="utf-8"))["steps_done"])

    def schedule(self) -> dict[str, Any]:
        """What fixes the step schedule; a checkpoint of another schedule is not resumed."""
        return {
            "n_train": len(self.train_set),
            "n_val": len(self.val_set),
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "shuffle": self.shuffle,
            "seed": self.seed,
        }

    def _open_run_dir(self, resume: bool) -> None:
        """Check the folder and record the manifest (``command`` ``train`` and the settings)."""
        assert self.run_dir is not None
        if not self.own_manifest:
            check_writable_dir(self.run_dir)
            return
        try:
            RunDir(
                self.run_dir,
                self.command,
                self.schedule(),
                resume=resume,
                artifacts=("history.jsonl", "checkpoint.json", "scores.png"),
                flag="run_dir",
                resume_flag="resume=True",
                overwrite_flag=None,
            )
        except RunDirInUse:
            raise
        except RunDirError as err:
            raise RunDirInUse(str(err)) from err

    def _persist(self, record: StepRecord, best: _Best, done: int) -> None:
        if self.run_dir is None:
            return
        append_line(self.run_dir / "history.jsonl", record.model_dump_json())
        state = {
            "version": CHECKPOINT_VERSION,
            "steps_done": done,
            "run": self.schedule(),
            "optimizer": self.optimizer.state_dict(),
            "best": {"score": best.score, "step": best.step, "parameters": best.parameters},
            "initial_score": self.initial_score,
            "budget": budget.state_dict() if (budget := self.optimizer.budget) else None,
        }
        write_atomic(self.run_dir / "checkpoint.json", json.dumps(state, indent=1))

    def _restore(self, checkpoint: Path) -> tuple[int, _Best, list[StepRecord]]:
        state = json.loads(checkpoint.read_text(encoding="utf-8"))
        if state.get("run") != self.schedule():
            raise RunDirInUse(
                f"{checkpoint} was written by a run with settings {state.get('run')}, not "
                f"{self.schedule()}; resume with the same data and settings or use a new dir"
            )
        self.optimizer.load_state_dict(state["optimizer"])
        done = int(state["steps_done"])
        history_path = checkpoint.parent / "history.jsonl"
        lines = (
            history_path.read_text(encoding="utf-8").splitlines() if history_path.exists() else []
        )
        if len(lines) < done:
            raise RunDirInUse(f"{history_path} has {len(lines)} steps but the checkpoint {done}")
        # A crash between appending history and replacing the checkpoint leaves extra lines.
        lines = lines[:done]
        write_atomic(history_path, "".join(line + "\n" for line in lines))
        history = [StepRecord.model_validate_json(line) for line in lines]
        budget, spent = self.optimizer.budget, state.get("budget")
        if budget is not None and spent:
            # Keep this run's limits (so a run stopped by its budget can resume with a larger
            # one) and carry over what was already spent.
            limits = {k: getattr(budget, k) for k in ("max_calls", "max_tokens", "max_cost")}
            budget.load_state_dict({**spent, **limits})
        self.initial_score = state.get("initial_score")
        b = state["best"]
        return done, _Best(b["score"], b["step"], b["parameters"]), history


class _Best:
    """Best validation score so far and the parameters that reached it."""

    def __init__(
        self,
        score: float | None = None,
        step: int | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        self.score, self.step, self.parameters = score, step, parameters


def _pair(item: Any) -> tuple[Any, Any]:
    if isinstance(item, dict):
        return item["input"], item["target"]
    x, target = item
    return x, target


def _write_graph(output: Node, path: Path) -> None:
    """Save one traced graph as DOT for the run page; a graph that cannot render is skipped."""
    from trace_core.visualize import to_dot

    try:
        write_atomic(path, to_dot(output))
    except Exception as err:  # the page is a view: never let it break training
        logger.warning("could not save the traced graph to %s: %s", path, err)


def _set_values(optimizer: Optimizer, values: dict[str, Any]) -> None:
    for name, param in optimizer.names.items():
        if name in values and values[name] != param.data:
            value = values[name]
            param.set(tuple(value) if isinstance(param.data, tuple) else value)


def _progress(total: int, initial: int, *, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc="train",
        unit="step",
        file=sys.stderr,
        disable=not enabled,
        leave=False,
    )
