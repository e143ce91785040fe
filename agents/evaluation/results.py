"""Per-item evaluation records and the crash-safe JSONL log of a run directory.

A run directory holds ``results.jsonl``: one :class:`ItemResult` per finished item, appended
with a single ``write`` and an ``fsync`` each, so a killed run loses at most the items that
were still in flight. Reopening the log drops a torn last line and lists the finished ids, which
is how ``--resume`` skips them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.evaluation.dataset import Gold
from agents.evaluation.scoring import Outcome
from trace_core.runs import Journal, RunDirError

RESULTS_FILE = "results.jsonl"


class ItemResult(BaseModel):
    """What happened on one dataset item (one line of ``results.jsonl``)."""

    id: str
    source: str
    tags: list[str] = []
    gold: Gold
    objective: float | None = None
    raw_objective: Any = None  # what the program reported, when it was not a finite number
    status: str | None = None
    outcome: Outcome
    correct: bool
    alt_match: bool = False
    executed: bool = False  # the final program ran to completion (exit 0, no timeout)
    attempts: int = 0
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens: int = 0
    cost: float = 0.0
    duration_s: float = 0.0
    error: str | None = None
    program: str | None = None

    @property
    def score(self) -> float:
        """1.0 for a correct answer, else 0.0 (what ``optimizers.evaluate`` averages)."""
        return float(self.correct)

    @property
    def feedback(self) -> str:
        """The outcome in a word, or the error that ended the item."""
        return self.error or str(self.outcome)


class RunLog:
    """Append-only, thread-safe log of :class:`ItemResult` lines in a run directory."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / RESULTS_FILE
        self._journal = Journal(self.path)

    def load(self) -> list[ItemResult]:
        """Read every complete record, repairing a torn last line left by a killed run.

        When an id appears twice (two runs raced on one directory), the later record wins.
        """
        by_id: dict[str, ItemResult] = {}
        for number, data in enumerate(self._journal.records(), start=1):
            try:
                record = ItemResult.model_validate(data)
            except ValidationError as err:
                raise RunDirError(
                    f"{self.path}: record {number} is not a result record ({err}); "
                    "delete that line or start a new run directory"
                ) from err
            by_id[record.id] = record
        return list(by_id.values())

    def finished_ids(self) -> set[str]:
        """Ids of items that already have a result."""
        return {record.id for record in self.load()}

    def append(self, record: ItemResult) -> None:
        """Durably append one record (returns after the line is on disk)."""
        self._journal.append(record.model_dump_json())

    def clear(self) -> None:
        """Remove previous results (``--overwrite``)."""
        self._journal.clear()
