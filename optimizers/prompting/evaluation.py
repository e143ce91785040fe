"""One search's LLM-call budget, the metered model every call goes through, and scoring.

Every call a strategy makes (validation runs, minibatch runs, bootstrapping runs and the
instruction optimizer's own calls) goes through a :class:`MeteredLLM` that charges one shared
:class:`CallBudget` *before* the request is sent, so a search never spends more than its
budget. The model's answers are memoized by their exact messages: asking the same prompt again
(e.g. re-scoring an exemplar set already tried) costs nothing. Because the messages of an
evaluation are known before it runs, :meth:`Search.cost` says exactly how many calls it will
spend, and strategies only start work they can pay for: budgets are respected exactly.

A "call" is one ``complete()``; a structured-output repair re-ask inside it is part of it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from optimizers.errors import OptimizerError
from optimizers.evaluate import evaluate
from optimizers.prompting.metrics import Metric
from optimizers.prompting.program import Exemplar, PromptProgram, pair_key
from optimizers.prompting.recall import RecallingLLM
from optimizers.prompting.task import TaskItem
from trace_core.llm.meter import LLMUsage

if TYPE_CHECKING:
    from trace_core.llm import LLM, Completion, Message


class BudgetTooSmall(OptimizerError, ValueError):
    """The budget cannot pay even for scoring the seed prompt on the validation set."""


class CallBudget:
    """A count of LLM calls that may be spent; :meth:`charge` refuses the call past the cap."""

    def __init__(self, max_calls: int) -> None:
        if max_calls < 0:
            raise ValueError(f"a budget is a number of calls >= 0, got {max_calls}")
        self.max_calls = max_calls
        self.used = 0

    @property
    def remaining(self) -> int:
        """Calls left."""
        return self.max_calls - self.used

    def charge(self) -> None:
        """Spend one call, or raise ``BudgetExceeded`` (nothing is sent) when none is left."""
        from trace_core.llm import BudgetExceeded

        if self.used >= self.max_calls:
            raise BudgetExceeded(
                f"prompt search budget reached: {self.used} of {self.max_calls} LLM calls "
                "used; the call was not sent. Raise --budget to search longer.",
                limit="calls",
                spent=self.used,
                maximum=self.max_calls,
            )
        self.used += 1


class MeteredLLM(RecallingLLM):
    """An ``LLM`` that charges a :class:`CallBudget` per call and may memoize plain calls.

    ``memo`` (a dict shared by the caller) maps the exact messages of a call without a
    ``response_format`` or options to its ``Completion``; a hit is free. ``usage`` totals the
    tokens and dollars of the calls really sent (the LLM layer's one usage type).
    """

    def __init__(
        self,
        inner: LLM,
        budget: CallBudget,
        *,
        memo: dict[str, Completion] | None = None,
        on_call: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(inner, default_model="metered")
        self.budget = budget
        self.memo = memo
        self.on_call = on_call
        self.usage = LLMUsage()

    def _key(self, messages: list[Message], response_format: Any, opts: dict[str, Any]) -> str:
        if self.memo is None or response_format is not None or opts:
            return ""
        return messages_key(messages)

    def _recalled(self, key: str) -> Completion | None:
        """The memoized answer for ``key`` (``""`` means "not memoizable"), or None."""
        if key and self.memo is not None:
            return self.memo.get(key)
        return None

    def _keep(self, key: str, completion: Completion) -> Completion:
        """Bookkeeping after the wrapped model answered: count, notify, then memoize."""
        self.usage.add(completion)
        if self.on_call is not None:
            self.on_call()
        if key and self.memo is not None:
            self.memo[key] = completion
        return completion

    def _recall(
        self, messages: list[Message], response_format: Any, opts: dict[str, Any]
    ) -> tuple[str, Completion | None]:
        """The request's memo key and its remembered answer; with none, one call is charged."""
        key = self._key(messages, response_format, opts)
        recalled = self._recalled(key)
        if recalled is None:
            self.budget.charge()
        return key, recalled


def messages_key(messages: list[Message]) -> str:
    """The memo key of a message list (its canonical JSON)."""
    return json.dumps(messages, sort_keys=True, ensure_ascii=False, default=str)


class Candidate(BaseModel):
    """One prompt: an instruction and the exemplars shown with it."""

    instruction: str
    exemplars: list[dict[str, Any]] = Field(default_factory=list)

    def key(self) -> str:
        """Identity of the prompt (same instruction and same exemplars in the same order)."""
        pairs = [pair_key(p["input"], p["output"]) for p in self.exemplars]
        return json.dumps([self.instruction, pairs])


class SearchStep(BaseModel):
    """One scored candidate (or one bootstrapping pass), as written to ``history.jsonl``."""

    strategy: str
    step: int
    kind: str = Field(description="seed, exemplars, instruction, joint or bootstrap")
    calls: int = Field(description="LLM calls spent by the search so far")
    val_score: float | None = Field(description="validation score of this candidate")
    best_score: float
    instruction: str
    exemplar_ids: list[str]
    note: str = ""


class SearchResult(BaseModel):
    """What a strategy found: the best prompt, its validation score, the path and the cost."""

    strategy: str
    best: Candidate
    best_score: float
    best_exemplar_ids: list[str]
    seed_score: float
    history: list[SearchStep]
    calls: int = Field(description="LLM calls spent (never more than budget)")
    budget: int
    bootstrapped: list[Exemplar] = Field(default_factory=list)
    stopped: str = ""
    test_score: float | None = None
    test_calls: int = 0


class Search:
    """The state a strategy works on: program, data, metric, budget, memo, best so far.

    Use as a context manager: inside it ``program.llm`` is the metered model, so running the
    program (traced, for an optimizer) is charged too; on exit the original model returns.
    """

    def __init__(
        self,
        program: PromptProgram,
        train: Sequence[TaskItem | tuple[Any, Any]],
        val: Sequence[TaskItem | tuple[Any, Any]],
        metric: Metric,
        *,
        budget: int,
        seed: int = 0,
        strategy: str = "search",
        optimizer_llm: LLM | None = None,
        on_call: Callable[[], None] | None = None,
        on_step: Callable[[SearchStep], None] | None = None,
    ) -> None:
        if program.llm is None:
            raise ValueError("the program needs an llm to search with")
        if not val:
            raise ValueError("the validation set is empty; a search needs items to score")
        self.program = program
        self.train = [_pair(item) for item in train]
        self.val = [_pair(item) for item in val]
        self.metric = metric
        self.budget = CallBudget(budget)
        self.rng = random.Random(seed)
        self.strategy = strategy
        self.memo: dict[str, Completion] = {}
        self.outer_llm = program.llm
        self.worker = MeteredLLM(program.llm, self.budget, memo=self.memo, on_call=on_call)
        self.optimizer_llm = MeteredLLM(optimizer_llm or program.llm, self.budget, on_call=on_call)
        self.on_step = on_step
        self.history: list[SearchStep] = []
        self.scores: dict[str, float] = {}
        self.best = self.current()
        self.best_score = float("-inf")
        self.seed_score = float("-inf")
        self.stopped = ""

    # -- context -----------------------------------------------------------------------------
    def __enter__(self) -> Search:
        self.program.llm = self.worker
        return self

    def __exit__(self, *exc: object) -> None:
        self.program.llm = self.outer_llm

    # -- candidates --------------------------------------------------------------------------
    def current(self) -> Candidate:
        """The program's current parameter values as a candidate."""
        return Candidate(
            instruction=self.program.instruction.data,
            exemplars=list(self.program.exemplars.data),
        )

    def apply(self, candidate: Candidate) -> None:
        """Make ``candidate`` the program's parameter values (validated by ``set``)."""
        if candidate.instruction != self.program.instruction.data:
            self.program.instruction.set(candidate.instruction)
        if candidate.exemplars != self.program.exemplars.data:
            self.program.exemplars.set(list(candidate.exemplars))

    def exemplar_ids(self, candidate: Candidate) -> list[str]:
        """Pool ids of the candidate's exemplars."""
        ids = []
        for pair in candidate.exemplars:
            found = self.program.pool.find(pair)
            ids.append(found.id if found is not None else "?")
        return ids

    # -- cost and scoring --------------------------------------------------------------------
    def cost(self, candidate: Candidate, inputs: Sequence[Any]) -> int:
        """Exactly how many calls answering ``inputs`` with ``candidate`` would spend now."""
        keys = {
            messages_key(self.program.messages(x, candidate.instruction, candidate.exemplars))
            for x in inputs
        }
        return sum(1 for key in keys if key not in self.memo)

    def can_afford(self, calls: int) -> bool:
        """True when ``calls`` more calls fit in the budget."""
        return calls <= self.budget.remaining

    def answer(self, candidate: Candidate, x: Any) -> str:
        """The model's answer to ``x`` under ``candidate`` (charged unless memoized)."""
        messages = self.program.messages(x, candidate.instruction, candidate.exemplars)
        return self.worker.complete(messages).text.strip()

    def score(self, candidate: Candidate, items: Sequence[tuple[Any, Any]]) -> float:
        """Mean metric of ``candidate`` on ``items`` (charged; check :meth:`cost` first).

        Items run in order, so a resumed search asks its journal the same questions in the
        same order; an error asking the model ends the search instead of scoring 0."""
        return evaluate(lambda x: self.answer(candidate, x), items, self.metric, catch=()).mean

    def evaluate(self, candidate: Candidate, kind: str, note: str = "") -> float | None:
        """Validation score of ``candidate``, recorded as a step; ``None`` if unaffordable.

        A candidate already scored returns its score without a new step or any call.
        """
        key = candidate.key()
        if key in self.scores:
            return self.scores[key]
        if not self.can_afford(self.cost(candidate, [x for x, _ in self.val])):
            return None
        value = self.score(candidate, self.val)
        self.scores[key] = value
        if value > self.best_score:
            self.best, self.best_score = candidate, value
        self.record(kind, value, candidate, note)
        return value

    def record(
        self, kind: str, value: float | None, candidate: Candidate, note: str = ""
    ) -> SearchStep:
        """Append a step to the history (and tell ``on_step``)."""
        step = SearchStep(
            strategy=self.strategy,
            step=len(self.history),
            kind=kind,
            calls=self.budget.used,
            val_score=value,
            best_score=self.best_score,
            instruction=candidate.instruction,
            exemplar_ids=self.exemplar_ids(candidate),
            note=note,
        )
        self.history.append(step)
        if self.on_step is not None:
            self.on_step(step)
        return step

    def start(self) -> float:
        """Score the program's current (seed) prompt: step 0 of every strategy."""
        seed = self.current()
        value = self.evaluate(seed, "seed")
        if value is None:
            need = self.cost(seed, [x for x, _ in self.val])
            raise BudgetTooSmall(
                f"a budget of {self.budget.max_calls} LLM calls cannot score the seed prompt on "
                f"the {len(self.val)} validation items ({need} calls); raise the budget"
            )
        self.seed_score = value
        return value

    def finish(self, stopped: str = "") -> SearchResult:
        """Set the program to the best prompt found and return the result."""
        self.apply(self.best)
        return SearchResult(
            strategy=self.strategy,
            best=self.best,
            best_score=self.best_score,
            best_exemplar_ids=self.exemplar_ids(self.best),
            seed_score=self.seed_score,
            history=list(self.history),
            calls=self.budget.used,
            budget=self.budget.max_calls,
            bootstrapped=self.program.pool.select("bootstrap"),
            stopped=stopped or self.stopped,
        )


def _pair(item: TaskItem | tuple[Any, Any] | dict[str, Any]) -> tuple[Any, Any]:
    if isinstance(item, TaskItem):
        return item.input, item.output
    if isinstance(item, dict):
        return item["input"], item["output"]
    x, y = item
    return x, y


def score_prompt(
    program: PromptProgram, items: Sequence[TaskItem | tuple[Any, Any]], metric: Metric
) -> float:
    """Mean metric of the program's current prompt on ``items`` (one call per item, uncounted
    by any search: used to report held-out test scores)."""
    pairs = [_pair(item) for item in items]
    if not pairs:
        raise ValueError("cannot score a prompt on no items")
    return evaluate(lambda x: program.answer(program.messages(x)), pairs, metric, catch=()).mean
