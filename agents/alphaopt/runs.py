"""Phases of library commands inside a run directory: per-item state, so a rerun resumes.

The run directory itself is a :class:`trace_core.runs.RunDir` (its manifest is written by the
command that opens it); a phase (``learn``, ``evolve-1``, ...) is a folder in it where each
finished item writes ``<phase>/<item id>.json`` atomically. Rerunning the same command skips
items that already have a state file, and the library itself is durable, so a killed run loses
at most the items in flight.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from agents.evaluation.dataset import Item
from optimizers.evaluate import fatal_errors
from trace_core.durable import write_atomic

log = logging.getLogger(__name__)
T = TypeVar("T")


class ItemState(BaseModel):
    """What a phase did with one item."""

    item_id: str
    status: str = Field(description="solved, learned, unsolved, not_fixed, fixed_by_dropping, ...")
    retrieved: list[int] = Field(default_factory=list)
    added: list[int] = Field(default_factory=list)
    merged: list[int] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    tokens: int = 0
    cost: float = 0.0
    score: float | None = Field(default=None, description="the first solve's guide score")
    feedback: str | None = Field(default=None, description="the first solve's guide feedback")


def _file_name(item_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", item_id) + ".json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a crash leaves either the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def guarded_map(
    work: Callable[[Item], T], items: Sequence[Item], workers: int = 1
) -> Iterator[tuple[Item, T | None, Exception | None]]:
    """``(item, work(item), None)`` for every item, ``workers`` at a time, in completion order;
    an item whose work raises gives ``(item, None, error)`` (one bad item must not end a long
    run), while an error that would fail every item alike (:func:`fatal_errors`) propagates."""

    def guarded(item: Item) -> tuple[Item, T | None, Exception | None]:
        try:
            return item, work(item), None
        except fatal_errors():
            raise
        except Exception as err:
            return item, None, err

    if workers > 1:
        from agents.evaluation.executors import ThreadExecutor

        return iter(ThreadExecutor(workers).map_unordered(guarded, items))
    return map(guarded, items)


class PhaseRun:
    """Per-item state of one phase (``learn``, ``evolve-1``, ...) under a run directory."""

    def __init__(self, root: str | Path, phase: str):
        self.root = Path(root)
        self.phase = phase
        self.dir = self.root / phase

    def load(self, item_id: str) -> ItemState | None:
        """The saved state of ``item_id`` in this phase, or None when it has none yet."""
        path = self.dir / _file_name(item_id)
        if not path.is_file():
            return None
        return ItemState.model_validate_json(path.read_text(encoding="utf-8"))

    def save(self, state: ItemState) -> None:
        """Write ``state`` atomically, so a killed run never leaves a half-written file."""
        write_json_atomic(self.dir / _file_name(state.item_id), state.model_dump(mode="json"))

    def run(
        self,
        items: Sequence[Item],
        work: Callable[[Item], ItemState],
        *,
        workers: int = 1,
        progress: bool = True,
        info: Callable[[ItemState], str] = lambda state: state.status,
        bar: Callable[..., None] | None = None,
    ) -> list[ItemState]:
        """Apply ``work`` to every item without a saved state, ``workers`` at a time.

        Each finished item's state is saved before the next is reported. An item whose work
        raises is logged and left without a state (a rerun retries it); errors that would hit
        every item (budget, configuration) end the run. Returns the states of finished items.
        ``bar`` (an ``advance`` of :func:`progress_bar`) reports to a longer run's bar instead
        of opening one for this phase.
        """
        states = {item.id: self.load(item.id) for item in items}
        todo = [item for item in items if states[item.id] is None]
        results = guarded_map(work, todo, workers)
        with (
            nullcontext(lambda info: bar(f"{self.phase} {info}"))
            if bar is not None
            else progress_bar(self.phase, len(items), len(items) - len(todo), progress)
        ) as advance:
            for item, state, error in results:
                if state is None:
                    log.warning(
                        "item %s failed (%s: %s); rerun to retry it",
                        item.id,
                        type(error).__name__,
                        error,
                    )
                    advance(f"{item.id}: error")
                    continue
                self.save(state)
                states[item.id] = state
                advance(f"{item.id}: {info(state)}")
        return [state for state in states.values() if state is not None]

    def states(self) -> list[ItemState]:
        """Every saved item state of this phase, in file-name order."""
        if not self.dir.is_dir():
            return []
        return [
            ItemState.model_validate_json(path.read_text(encoding="utf-8"))
            for path in sorted(self.dir.glob("*.json"))
        ]


@contextmanager
def progress_bar(label: str, total: int, done: int, enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr; yields ``advance(info="", step=1)`` (``step=0``
    only shows ``info``)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )
    with bar:
        task = bar.add_task(label, total=total, completed=done, info="")

        def advance(info: str = "", step: int = 1) -> None:
            bar.update(task, advance=step, info=info)

        yield advance
