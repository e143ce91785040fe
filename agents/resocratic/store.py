"""Resumable output: items appended to a JSONL file, finished samples logged beside it.

``OUT`` receives one verified item per line, each written whole and fsynced before the next.
``OUT.state.jsonl`` receives one line per finished sample (its number and statistics). After a
crash, a rerun skips finished samples, never rewrites an item id already in ``OUT``, and drops
a half-written last line left by a kill.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from agents.resocratic.stats import SynthesisStats
from trace_core.runs import Journal, RunDirError, read_jsonl_lines


class OutputFileError(RunDirError):
    """The output file exists but is not a synthesis output; the message names the line."""


def state_path(out: str | Path) -> Path:
    """Where the sample log of output ``out`` lives."""
    out = Path(out)
    return out.with_name(out.name + ".state.jsonl")


class RunStore:
    """The output file and sample log of one synthesis run (thread-safe)."""

    def __init__(self, out: str | Path, *, limit: int | None = None) -> None:
        self.out = Path(out)
        self.state = state_path(out)
        self.limit = limit
        self.rows: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.done: set[int] = set()
        self.stats = SynthesisStats()
        self.stopped: str | None = None  # why a run ended early (budget), None otherwise
        self.config: dict[str, Any] | None = None  # settings of the first run on this output
        self._lock = threading.Lock()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._load()

    @property
    def written(self) -> int:
        """How many distinct row ids the output holds (earlier runs' rows included)."""
        return len(self.ids)

    @property
    def full(self) -> bool:
        """True when the output has reached ``limit`` rows."""
        return self.limit is not None and self.written >= self.limit

    def write(self, row: dict[str, Any]) -> bool:
        """Append ``row``; True when its id is in the output afterwards.

        A row whose id is already written (by a run that was killed before it could mark its
        sample finished) is not written again but counts as present; False means the limit
        refused it.
        """
        with self._lock:
            if row["id"] in self.ids:
                return True
            if self.full:
                return False
            _append(self.out, row)
            self.ids.add(row["id"])
            self.rows.append(row)
            return True

    def finish(self, task: int, stats: SynthesisStats) -> None:
        """Record sample ``task`` as finished, with its statistics."""
        with self._lock:
            _append(self.state, {"task": task, "stats": stats.model_dump(mode="json")})
            self.done.add(task)
            self.stats.merge(stats)

    def check_config(self, config: dict[str, Any]) -> str | None:
        """Record the run's settings; say how they differ from the run being resumed, if so."""
        with self._lock:
            earlier = self.config
            if earlier is None:
                _append(self.state, {"config": config})
                self.config = config
                return None
        changed = sorted(k for k in set(earlier) | set(config) if earlier.get(k) != config.get(k))
        if not changed:
            return None
        return (
            f"resuming {self.out} with different settings ({', '.join(changed)}); items and "
            "sample numbers continue from the earlier run"
        )

    def _load(self) -> None:
        for number, row in _read_lines(self.out):
            if not isinstance(row, dict) or not isinstance(row.get("id"), str):
                raise OutputFileError(
                    f"{self.out}:{number}: not a synthesized item (no 'id'); "
                    "pass a new --out file or remove that line."
                )
            if row["id"] not in self.ids:
                self.ids.add(row["id"])
                self.rows.append(row)
        for number, entry in _read_lines(self.state):
            if isinstance(entry, dict) and "config" in entry and self.config is None:
                self.config = entry["config"]
                continue
            try:
                task = int(entry["task"])
                stats = SynthesisStats.model_validate(entry["stats"])
            except (KeyError, TypeError, ValueError) as err:
                raise OutputFileError(
                    f"{self.state}:{number}: not a sample record; delete the file to restart "
                    "the statistics (items already written are kept)."
                ) from err
            if task not in self.done:
                self.done.add(task)
                self.stats.merge(stats)


def _append(path: Path, record: dict[str, Any]) -> None:
    Journal(path).append(record)


def _read_lines(path: Path) -> list[tuple[int, Any]]:
    """Parsed lines of ``path``; a torn last line (no newline, bad JSON) is cut off the file."""
    try:
        return read_jsonl_lines(path)
    except RunDirError as err:
        raise OutputFileError(f"{err}; fix or remove that line.") from err
