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
from pathlib import Path
from typing import Any

from optimizers.prompting.evaluation import SearchResult, SearchStep
from optimizers.prompting.journal import CallJournal
from trace_core.runs import MANIFEST, RunDir, RunDirError

RUN_FILE = MANIFEST
HISTORY_FILE = "history.jsonl"
ARTIFACTS: tuple[str, ...] = (
    HISTORY_FILE,
    "calls",
    "strategies",
    "best_prompt.json",
    "results.json",
    "scores.png",
    "ablation.md",
)

__all__ = ["ARTIFACTS", "HISTORY_FILE", "RUN_FILE", "PromptRun", "RunDirError"]


class PromptRun:
    """One run directory: its configuration, finished strategies, call journals and history.

    ``config`` is a flat JSON-able dict of everything that decides the run's outcome (task hash,
    metric, strategies, seed, budget, model ids, ...); its ``command`` entry (``optimize`` or
    ``ablate``) names the command. The folder is a :class:`trace_core.runs.RunDir`: one that
    already holds files is refused unless ``resume`` (continue it; its configuration must equal
    ``config``) or ``overwrite`` (delete this module's files first) is set, and a folder made by
    another command is always refused.
    """

    def __init__(
        self,
        path: str | Path,
        config: dict[str, Any],
        *,
        resume: bool = False,
        overwrite: bool = False,
    ) -> None:
        self.config = json.loads(json.dumps(config))
        self.run = RunDir(
            path,
            f"prompt {self.config.get('command', 'optimize')}",
            self.config,
            resume=resume,
            overwrite=overwrite,
            artifacts=ARTIFACTS,
            exclusive=True,
            flag="--out",
        )
        self.path = self.run.path
        self._history = self.run.journal(HISTORY_FILE)
        self._written = self._history_keys()

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
        self.run.write_state(f"strategies/{result.strategy}.json", result.model_dump_json())

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
        return {(step["strategy"], int(step["step"])) for step in self._history.records()}

    def record(self, step: SearchStep) -> None:
        """Append ``step`` to ``history.jsonl`` unless an earlier run already wrote it."""
        key = (step.strategy, step.step)
        if key in self._written:
            return
        self._history.append(step.model_dump_json())
        self._written.add(key)
