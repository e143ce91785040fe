"""What a run page shows, independent of which command made the run directory.

Readers (``agents.reporting.readers``) turn each kind of run directory into one ``RunView``; the
page, the MLflow tracker and the tests read only this model, so a new kind of run needs a reader
and nothing else.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Series(BaseModel):
    """One curve: ``ys[i]`` at ``xs[i]``; ``group`` separates optimizers or strategies."""

    name: str
    xs: list[float]
    ys: list[float | None]
    group: str = ""


class Change(BaseModel):
    """One parameter change a step proposed: accepted (``reason`` empty) or rejected."""

    parameter: str
    value: str
    reason: str = ""


class StepView(BaseModel):
    """One optimization step: scores, what changed, why, and what it cost."""

    step: int
    group: str = ""
    label: str = ""
    train_score: float | None = None
    val_score: float | None = None
    accepted: list[Change] = Field(default_factory=list)
    rejected: list[Change] = Field(default_factory=list)
    reasoning: str = ""
    feedback: list[str] = Field(default_factory=list)
    error: str | None = None
    calls: int = 0
    tokens: int = 0
    cost: float | None = 0.0


class ParamDiff(BaseModel):
    """A text or code parameter's first and best values (the page shows their diff)."""

    name: str
    first: str
    best: str
    best_label: str = "best"


class ItemView(BaseModel):
    """One dataset item's outcome, with the program and the run log when the run kept them."""

    id: str
    outcome: str
    source: str = ""
    tags: list[str] = Field(default_factory=list)
    correct: bool | None = None
    objective: Any = None
    gold: Any = None
    detail: str = ""
    program: str | None = None
    log: str | None = None


class UsagePoint(BaseModel):
    """Cumulative LLM usage after ``x`` steps or items."""

    x: float
    calls: int
    tokens: int
    cost: float | None


class RunView(BaseModel):
    """Everything the run page and the tracker need from one run directory."""

    kind: str = Field(description="trainer, evaluation, prompt, library or synthesis")
    path: str
    title: str
    config: dict[str, Any] = Field(default_factory=dict)
    summary: dict[str, Any] = Field(default_factory=dict)
    curves: list[Series] = Field(default_factory=list)
    steps: list[StepView] = Field(default_factory=list)
    diffs: list[ParamDiff] = Field(default_factory=list)
    items: list[ItemView] = Field(default_factory=list)
    usage: list[UsagePoint] = Field(default_factory=list)
    graph_dot: str | None = None
    images: list[str] = Field(default_factory=list, description="PNG files the run wrote")
    notes: list[str] = Field(default_factory=list, description="what the reader could not read")

    def metrics(self) -> dict[str, list[tuple[int, float]]]:
        """Per-step metrics by name (``val_score/random``), for trackers like MLflow."""
        out: dict[str, list[tuple[int, float]]] = {}
        for series in self.curves:
            key = f"{series.name}/{series.group}" if series.group else series.name
            points = [(int(x), float(y)) for x, y in zip(series.xs, series.ys, strict=False)]
            out[key] = [(x, y) for x, y in points if y is not None]
        if self.usage:
            out["tokens"] = [(int(p.x), float(p.tokens)) for p in self.usage]
            out["calls"] = [(int(p.x), float(p.calls)) for p in self.usage]
            costs = [(int(p.x), p.cost) for p in self.usage if p.cost is not None]
            if costs:
                out["cost"] = [(x, float(c)) for x, c in costs]
        return out
