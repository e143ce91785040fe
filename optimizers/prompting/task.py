"""Task files: JSONL of ``{"input": ..., "output": ...}`` items, and a seeded split.

One JSON object per line; ``input`` and ``output`` are required (strings, or any JSON value,
which prompts show as compact JSON); other keys are kept as ``meta`` (e.g. a ``type`` tag).
Blank lines and lines starting with ``#`` are skipped. Errors name the file and the line.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optimizers.errors import OptimizerError


class TaskFileError(OptimizerError, ValueError):
    """A task file cannot be read; the message names the line and what is wrong."""


@dataclass(frozen=True)
class TaskItem:
    """One labelled example: the model's input, the expected output, extra fields."""

    input: Any
    output: Any
    meta: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class TaskSplit:
    """Train (exemplar pool, bootstrapping, minibatches), validation (search), test (report)."""

    train: list[TaskItem]
    val: list[TaskItem]
    test: list[TaskItem]


def load_task(path: str | Path) -> list[TaskItem]:
    """Read a JSONL task file; raise :class:`TaskFileError` naming the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise TaskFileError(f"task file {path} does not exist")
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise TaskFileError(
            f"{path} is not UTF-8 text (byte {err.start}: {err.reason}); save it as UTF-8"
        ) from None
    items = []
    for number, raw in enumerate(content.splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as err:
            raise TaskFileError(f"{path}:{number}: not valid JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise TaskFileError(
                f'{path}:{number}: expected an object like {{"input": ..., "output": ...}}, '
                f"got {type(row).__name__}"
            )
        missing = [key for key in ("input", "output") if key not in row]
        if missing:
            raise TaskFileError(f"{path}:{number}: missing {' and '.join(missing)}")
        meta = {k: v for k, v in row.items() if k not in ("input", "output")}
        items.append(TaskItem(row["input"], row["output"], meta, number))
    if not items:
        raise TaskFileError(f"{path} holds no items; write one JSON object per line")
    return items


def split_task(
    items: Sequence[TaskItem], *, seed: int = 0, val: float = 0.25, test: float = 0.25
) -> TaskSplit:
    """Shuffle with ``seed`` and cut into train/val/test by fraction (each at least one item)."""
    if not (0 < val < 1 and 0 <= test < 1 and val + test < 1):
        raise TaskFileError(f"split fractions must leave room for training: val={val}, test={test}")
    if len(items) < 2 + (test > 0):
        raise TaskFileError(
            f"a task needs at least {2 + (test > 0)} items to split, got {len(items)}"
        )
    order = list(items)
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(order) * val))
    n_test = max(1, round(len(order) * test)) if test > 0 else 0
    n_val = min(n_val, len(order) - n_test - 1)
    return TaskSplit(
        train=order[n_val + n_test :],
        val=order[:n_val],
        test=order[n_val : n_val + n_test],
    )
