"""A training run's history: one :class:`StepRecord` per step in ``history.jsonl``, and its plot.

The :class:`~optimizers.trainer.Trainer` appends the records; ``optoforge report``, the tests and
the benchmarks read them back with :func:`load_history`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from optimizers.base import Rejection, StepUsage

__all__ = ["StepRecord", "load_history", "plot_history"]


class StepRecord(BaseModel):
    """One finished training step, as written to ``history.jsonl``."""

    step: int
    epoch: int
    batch: list[int] = Field(description="indices of the training examples used")
    scores: list[float]
    train_score: float = Field(description="mean score of the batch before the update")
    feedback: list[str]
    updates: dict[str, Any]
    rejected: list[Rejection]
    reasoning: str
    usage: StepUsage
    error: str | None = None
    val_score: float | None = Field(default=None, description="validation score after update")
    best_score: float | None = None
    best_step: int | None = Field(default=None, description="-1 means the initial parameters")


def load_history(path: str | Path) -> list[StepRecord]:
    """Read a ``history.jsonl`` written by :class:`Trainer`."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [StepRecord.model_validate_json(line) for line in lines if line.strip()]


def plot_history(history: Sequence[StepRecord], path: str | Path) -> Path:
    """Save a PNG of train (and validation) score per step."""
    # The object API (no pyplot) leaves the user's matplotlib backend and figures alone.
    from matplotlib.figure import Figure

    steps = [r.step for r in history]
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    ax.plot(steps, [r.train_score for r in history], marker="o", label="train batch")
    val = [(r.step, r.val_score) for r in history if r.val_score is not None]
    if val:
        ax.plot([s for s, _ in val], [v for _, v in val], marker="s", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("score")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return Path(path)
