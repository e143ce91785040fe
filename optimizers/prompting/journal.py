"""A durable log of a search's LLM calls, so a killed search replays instead of re-asking.

:class:`JournaledLLM` sits between a search's :class:`~optimizers.prompting.evaluation.MeteredLLM`
and the real model. Every answer the real model gives is appended to a JSONL
:class:`CallJournal` (one line per call, ``fsync``-ed before the answer is returned). When a
killed run is resumed, the same seeded search asks the same questions in the same order; each
one is answered from the journal instead of the model. The meter above still charges the budget
for it, so the resumed search spends, scores and stops exactly as the first run did, and only
the calls the first run never got an answer for reach the model.

Entries are matched by the exact request (role, messages, response format, options), first in
first out, so a question asked twice gets the two answers it got the first time. A request the
journal does not hold (the code or the data changed) simply goes to the model.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from optimizers.prompting.recall import RecallingLLM
from trace_core.runs import Journal, RunDirError, read_jsonl

if TYPE_CHECKING:
    from trace_core.llm import LLM, Completion, Message


class JournalError(RunDirError):
    """A call journal holds a line that is not a recorded call."""


class CallJournal:
    """Append-only JSONL of ``{"key": ..., "completion": ...}`` lines in call order.

    Loading drops a last line cut off by a kill (and truncates it away, so the next append
    starts on a clean line); any other bad line is an error naming the file and line.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._journal = Journal(self.path)
        self.pending: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self.replayed = 0
        self.recorded = 0
        for key, completion in self._load():
            self.pending[key].append(completion)

    def __len__(self) -> int:
        """Recorded calls not yet replayed."""
        return sum(len(queue) for queue in self.pending.values())

    def _load(self) -> list[tuple[str, dict[str, Any]]]:
        try:
            records = read_jsonl(self.path)
        except RunDirError as err:
            raise JournalError(
                f"{err}; delete the run directory's calls/ folder to re-ask the model, or use "
                "--overwrite"
            ) from err
        entries = []
        for number, record in enumerate(records, start=1):
            try:
                entries.append((str(record["key"]), dict(record["completion"])))
            except (KeyError, TypeError, ValueError) as err:
                raise JournalError(
                    f"{self.path}: record {number} is not a recorded LLM call ({err}); delete "
                    "the run directory's calls/ folder to re-ask the model, or use --overwrite"
                ) from err
        return entries

    def take(self, key: str) -> dict[str, Any] | None:
        """The oldest unreplayed answer recorded for ``key`` (removed), or None."""
        queue = self.pending.get(key)
        if not queue:
            return None
        self.replayed += 1
        return queue.popleft()

    def append(self, key: str, completion: Completion) -> None:
        """Durably record one answer (returns after the line is on disk)."""
        line = json.dumps(
            {"key": key, "completion": completion.model_dump(mode="json")}, ensure_ascii=False
        )
        self._journal.append(line)
        self.recorded += 1


def request_key(
    role: str, messages: list[Message], response_format: Any, opts: dict[str, Any]
) -> str:
    """The identity of one request: who asks, the exact messages, the format and options."""
    fmt = None
    if response_format is not None:
        fmt = getattr(response_format, "__qualname__", None) or repr(response_format)
    return json.dumps([role, messages, fmt, opts], sort_keys=True, ensure_ascii=False, default=str)


class JournaledLLM(RecallingLLM):
    """An ``LLM`` that answers recorded requests from a :class:`CallJournal` and records the
    answers of all others. ``role`` keeps the worker's and the optimizer's calls apart."""

    def __init__(self, inner: LLM, journal: CallJournal, *, role: str = "worker") -> None:
        super().__init__(inner, default_model="journaled")
        self.journal = journal
        self.role = role

    def _recall(
        self, messages: list[Message], response_format: Any, opts: dict[str, Any]
    ) -> tuple[str, Completion | None]:
        """This request's journal key, and its recorded answer when the journal has one."""
        key = request_key(self.role, messages, response_format, opts)
        return key, self._recorded_answer(key, response_format)

    def _recorded_answer(self, key: str, response_format: Any) -> Completion | None:
        from trace_core.llm import Completion

        recorded = self.journal.take(key)
        if recorded is None:
            return None
        completion = Completion.model_validate(recorded)
        parsed = completion.parsed
        if (
            parsed is not None
            and isinstance(response_format, type)
            and issubclass(response_format, BaseModel)
        ):
            completion.parsed = response_format.model_validate(parsed)
        return completion

    def _keep(self, key: str, completion: Completion) -> Completion:
        """Append the model's answer to the journal (so a resumed run replays it)."""
        self.journal.append(key, completion)
        return completion
