"""A training run's history: one :class:`StepRecord` per step in ``history.jsonl``, and its plot.

The :class:`~optimizers.trainer.Trainer` appends the records; ``optoforge report``, the tests and
the benchmarks read them back with :func:`load_history`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from optimizers.base import Rejection, StepUsage

__all__ = ["StepRecord", "load_history", "plot_curves", "plot_history"]


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
    curves = {"train batch": [(r.step, r.train_score) for r in history]}
    val = [(r.step, r.val_score) for r in history if r.val_score is not None]
    if val:
        curves["validation"] = val
    return plot_curves(curves, path, xlabel="step", ylabel="score")


def plot_curves(
    curves: Mapping[str, Sequence[tuple[float, float]]],
    path: str | Path,
    *,
    xlabel: str,
    ylabel: str,
    markers: str = "os",
) -> Path:
    """Save a PNG with one labelled line of ``(x, y)`` points per curve (markers cycle through
    ``markers``): the training history above, and the benchmarks that compare optimizers."""
    # The object API (no pyplot) leaves the user's matplotlib backend and figures alone.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for index, (label, points) in enumerate(curves.items()):
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        ax.plot(xs, ys, marker=markers[index % len(markers)], label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return Path(path)
