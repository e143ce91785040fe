"""The run directory of a prompt search: what makes ``optoforge prompt ... --resume`` work.

Layout::

    run.json               the run's configuration (checked on resume)
    history.jsonl          one scored prompt per line, each written once (fsync-ed)
    calls/<strategy>.jsonl every LLM answer of that strategy (see ``journal``)
    strategies/<name>.json a finished strategy's ``SearchResult`` (written atomically)
    best_prompt.json, results.json, scores.png, ablation.md   the final report

A resumed run reads finished strategies back instead of running them, and replays the
strategy that was cut off from its call journal: the same seeded search gets the same answers,
so it charges its budget and finds its best prompt exactly as an uninterrupted run would,
asking the model only what the killed run never got an answer to (at most the one call in
flight when it died is asked again).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from optimizers.errors import OptimizerError
from optimizers.prompting.evaluation import SearchResult, SearchStep
from optimizers.prompting.journal import CallJournal
from trace_core.durable import append_line, write_atomic

RUN_FILE = "run.json"
HISTORY_FILE = "history.jsonl"
ARTIFACTS: tuple[str, ...] = (
    RUN_FILE,
    HISTORY_FILE,
    "calls",
    "strategies",
    "best_prompt.json",
    "results.json",
    "scores.png",
    "ablation.md",
)


class RunDirError(OptimizerError, ValueError):
    """The run directory cannot be used as asked (it holds another run, or a different one)."""


class PromptRun:
    """One run directory: its configuration, finished strategies, call journals and history.

    ``config`` is a flat JSON-able dict of everything that decides the run's outcome (task hash,
    metric, strategies, seed, budget, model ids, ...). A directory that already holds files is
    refused unless ``resume`` (continue it; its ``run.json`` must equal ``config``) or
    ``overwrite`` (delete this module's files first) is set.
    """

    def __init__(
        self,
        path: str | Path,
        config: dict[str, Any],
        *,
        resume: bool = False,
        overwrite: bool = False,
    ) -> None:
        if resume and overwrite:
            raise RunDirError("--resume and --overwrite exclude each other; pass one")
        self.path = Path(path)
        self.config = json.loads(json.dumps(config))
        existing = sorted(p.name for p in self.path.iterdir()) if self.path.is_dir() else []
        if existing and not (resume or overwrite):
            shown = ", ".join(existing[:5]) + (", ..." if len(existing) > 5 else "")
            raise RunDirError(
                f"{self.path} is not empty ({shown}); pass --resume to continue the run in it, "
                "--overwrite to delete its results and start over, or choose another --out"
            )
        if overwrite:
            self._clear()
        elif resume:
            self._check(existing)
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / RUN_FILE).exists():
            _write_atomic(self.path / RUN_FILE, json.dumps(self.config, indent=1))
        self._written = self._history_keys()

    # -- configuration ---------------------------------------------------------------------
    def _check(self, existing: list[str]) -> None:
        run_file = self.path / RUN_FILE
        if not run_file.exists():
            ours = [name for name in existing if name in ARTIFACTS]
            if ours:
                raise RunDirError(
                    f"{self.path} holds results ({', '.join(ours)}) but no {RUN_FILE}, so it "
                    "cannot be resumed; pass --overwrite to start over, or choose another --out"
                )
            return
        try:
            before = json.loads(run_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise RunDirError(f"{run_file} is not JSON ({err}); use --overwrite") from err
        changed = [
            f"{key}: the run has {before.get(key)!r}, this command {self.config.get(key)!r}"
            for key in sorted(set(before) | set(self.config))
            if before.get(key) != self.config.get(key)
        ]
        if changed:
            raise RunDirError(
                f"cannot resume {self.path}: this command differs from the run's {RUN_FILE} in "
                + "; ".join(changed)
                + ". Repeat the run's options, use --overwrite to start over, or choose another "
                "--out"
            )

    def _clear(self) -> None:
        for name in ARTIFACTS:
            target = self.path / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)

    # -- strategies ------------------------------------------------------------------------
    def _result_path(self, strategy: str) -> Path:
        return self.path / "strategies" / f"{strategy}.json"

    def finished(self, strategy: str) -> SearchResult | None:
        """The saved result of ``strategy`` when it finished in an earlier run, else None."""
        path = self._result_path(strategy)
        if not path.exists():
            return None
        return SearchResult.model_validate_json(path.read_text(encoding="utf-8"))

    def save(self, result: SearchResult) -> None:
        """Mark ``result``'s strategy finished (atomically: a kill leaves it whole or absent)."""
        _write_atomic(self._result_path(result.strategy), result.model_dump_json())

    def journal(self, strategy: str) -> CallJournal:
        """The call journal of ``strategy`` (loaded with what an earlier run recorded)."""
        return CallJournal(self.path / "calls" / f"{strategy}.jsonl")

    def describe(self, strategies: list[str]) -> str:
        """One line on what a resumed run picks up ("" when there is nothing to pick up)."""
        done = [name for name in strategies if self._result_path(name).exists()]
        recorded = sum(
            path.read_bytes().count(b"\n")
            for name in strategies
            if name not in done and (path := self.path / "calls" / f"{name}.jsonl").exists()
        )
        if not done and not recorded:
            return ""
        return (
            f"resuming {self.path}: {len(done)} of {len(strategies)} strategies finished "
            f"({', '.join(done) or 'none'}), {recorded} recorded LLM answers to replay"
        )

    # -- history ---------------------------------------------------------------------------
    def _history_keys(self) -> set[tuple[str, int]]:
        path = self.path / HISTORY_FILE
        if not path.exists():
            return set()
        raw = path.read_bytes()
        end = raw.rfind(b"\n") + 1
        if end != len(raw):  # cut off by a kill; the replay writes that step again
            with path.open("r+b") as handle:
                handle.truncate(end)
        keys = set()
        for line in raw[:end].splitlines():
            if line.strip():
                step = json.loads(line)
                keys.add((step["strategy"], int(step["step"])))
        return keys

    def record(self, step: SearchStep) -> None:
        """Append ``step`` to ``history.jsonl`` unless an earlier run already wrote it."""
        key = (step.strategy, step.step)
        if key in self._written:
            return
        append_line(self.path / HISTORY_FILE, step.model_dump_json())
        self._written.add(key)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a fsync-ed temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
