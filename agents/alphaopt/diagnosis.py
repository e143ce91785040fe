"""Diagnosis of a failed training item: the cascade drop -> unretrieved -> extract.

1. Against the item's verified program, the LLM lists root-cause issues and labels every
   retrieved insight positive, negative, irrelevant or invalid (recorded in each insight's
   distribution; negative ones count as ``hurt``).
2. Non-positive insights are dropped and the item solved again. Success: no new insight.
3. Otherwise, insights that were *not* retrieved but whose taxonomy labels fit the item are
   ranked per issue by the LLM, and up to ``max_combinations`` combinations are tried with the
   positives. Success files them as ``unretrieved`` for this item (evolution will widen their
   conditions).
4. Only if both fail are new insights extracted and verified (:mod:`agents.alphaopt.extraction`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from typing import Literal

from pydantic import BaseModel, Field

from agents.alphaopt.extraction import InsightMaker
from agents.alphaopt.insight import Bucket, Insight
from agents.alphaopt.retrieval import Phase
from agents.alphaopt.runs import ItemState
from agents.alphaopt.solving import LibraryPhase, SolveOutcome
from agents.evaluation.dataset import Item

log = logging.getLogger(__name__)


class InsightLabel(BaseModel):
    """The diagnosis reply's verdict on one retrieved insight, with its reason."""

    id: int
    label: Literal["positive", "negative", "irrelevant", "invalid"]
    reason: str = ""


class DiagnoseReply(BaseModel):
    """Validates the ``diagnose`` reply: the failure's issues and a label per insight."""

    issues: list[str] = Field(default_factory=list)
    labels: list[InsightLabel] = Field(default_factory=list)


class IssuePicks(BaseModel):
    """Insight ids the ``unretrieved`` reply picks for one issue, best first."""

    issue: str = ""
    ids: list[int] = Field(default_factory=list)


class UnretrievedReply(BaseModel):
    """Validates the ``unretrieved`` reply: library insights that would fix each issue."""

    per_issue: list[IssuePicks] = Field(default_factory=list)


def _combos(per_issue: Sequence[Sequence[int]], limit: int) -> list[tuple[int, ...]]:
    """Combinations to try, most promising first: every issue's top pick together, then each
    candidate alone, then pairs (in ranked order), without repeats, at most ``limit``."""
    ranked = list(dict.fromkeys(i for ids in per_issue for i in ids))
    tops = tuple(dict.fromkeys(ids[0] for ids in per_issue if ids))
    ordered = [tops, *((i,) for i in ranked), *combinations(ranked, 2)]
    seen: set[frozenset[int]] = set()
    out: list[tuple[int, ...]] = []
    for combo in ordered:
        if combo and frozenset(combo) not in seen:
            seen.add(frozenset(combo))
            out.append(combo)
    return out[:limit]


class Diagnoser(LibraryPhase):
    """Runs the diagnosis cascade for one failed item (see the module docstring)."""

    def __init__(
        self,
        phase: LibraryPhase,
        maker: InsightMaker,
        gold_program: Callable[[Item, Sequence[str]], str | None],
        *,
        max_combinations: int = 8,
        max_shown: int = 30,
    ):
        super().__init__(phase.library, phase.retriever, phase.solver)
        self.maker = maker
        self.gold_program = gold_program
        self.max_combinations = max_combinations
        self.max_shown = max_shown

    def diagnose(
        self,
        item: Item,
        outcome: SolveOutcome,
        *,
        items: Mapping[str, Item] | None = None,
        iteration: int = 1,
    ) -> ItemState:
        """Diagnose one failed item and learn from it; returns the item's state for the run."""
        retrieved = [self.library.get(i) for i in dict.fromkeys(outcome.insight_ids)]
        state = ItemState(
            item_id=item.id, status="unsolved", retrieved=list(dict.fromkeys(outcome.insight_ids))
        )
        failure = outcome.failure_text()
        gold = self.gold_program(item, [failure])
        if gold is None:
            state.notes.append("no verified program reaches the gold value; nothing to learn")
            return state
        issues, positives = self._label(item, retrieved, failure, gold, state)
        if len(positives) < len(retrieved):
            check = self.solver.solve_with(item, positives)
            if check.correct:
                self._credit(positives, item, Bucket.POSITIVE)
                state.status = "fixed_by_dropping"
                return state
        if self._try_unretrieved(item, issues, positives, retrieved, state):
            return state
        learned = self.maker.learn_from_failure(
            item, failure, gold, keep=positives, items=items, iteration=iteration
        )
        state.status = "learned" if learned.verified else "not_fixed"
        state.added, state.merged = learned.added, learned.merged
        state.notes += learned.notes
        return state

    def _label(
        self,
        item: Item,
        retrieved: list[Insight],
        failure: str,
        gold: str,
        state: ItemState,
    ) -> tuple[list[str], list[Insight]]:
        from trace_core.llm.errors import LLMOutputError

        shown = "\n".join(f"- id {i.id}: {i.explanation}" for i in retrieved) or "(none)"
        try:
            reply = self._ask_diagnosis(item, shown, failure, gold)
        except LLMOutputError as err:
            state.notes.append(f"diagnosis reply unparsable ({err.reason}); keeping all insights")
            return [], retrieved
        labels = {entry.id: entry for entry in reply.labels}
        positives: list[Insight] = []
        for insight in retrieved:
            assert insight.id is not None
            entry = labels.get(insight.id)
            if entry is None:  # unlabelled: neither credit nor blame
                continue
            bucket = Bucket(entry.label)
            self.library.record(
                insight.id, item.id, bucket, hurt=int(bucket in (Bucket.NEGATIVE, Bucket.INVALID))
            )
            state.notes.append(f"insight {insight.id}: {entry.label} ({entry.reason})")
            if bucket is Bucket.POSITIVE:
                positives.append(insight)
        return reply.issues, positives

    def _ask_diagnosis(self, item: Item, shown: str, failure: str, gold: str) -> DiagnoseReply:
        return self.solver.prompter.structured(
            "diagnose",
            DiagnoseReply,
            options={"temperature": 0.0},
            question=item.question,
            insights=shown,
            failure=failure,
            gold=gold,
            target=item.answer,
        )

    def _try_unretrieved(
        self,
        item: Item,
        issues: list[str],
        positives: list[Insight],
        retrieved: list[Insight],
        state: ItemState,
    ) -> bool:
        from trace_core.llm.errors import LLMOutputError

        taken = {i.id for i in retrieved}
        labels = [
            label
            for phase in Phase
            for label in self.retriever.quick_match(item.question, phase)[0]
        ]
        pool = [
            i for i in self.library.all() if i.id not in taken and self.retriever.matches(i, labels)
        ][: self.max_shown]
        if not pool or not issues:
            return False
        shown = "\n".join(
            f"- id {i.id}: applies when {i.condition}\n  {i.explanation}" for i in pool
        )
        try:
            reply = self.solver.prompter.structured(
                "unretrieved",
                UnretrievedReply,
                options={"temperature": 0.0},
                question=item.question,
                issues="\n".join(f"- {issue}" for issue in issues),
                insights=shown,
            )
        except LLMOutputError as err:
            state.notes.append(f"unretrieved-insight reply unparsable ({err.reason})")
            return False
        by_id = {i.id: i for i in pool}
        per_issue = [[i for i in picks.ids if i in by_id] for picks in reply.per_issue]
        for combo in _combos(per_issue, self.max_combinations):
            extra = [by_id[i] for i in combo]
            if self.solver.solve_with(item, [*positives, *extra]).correct:
                self._credit(positives, item, Bucket.POSITIVE)
                self._credit(extra, item, Bucket.UNRETRIEVED)
                state.status = "fixed_by_unretrieved"
                state.notes.append(f"fixed by unretrieved insights {list(combo)}")
                return True
        state.notes.append("no combination of unretrieved insights fixed the item")
        return False

    def _credit(self, insights: Sequence[Insight], item: Item, bucket: Bucket) -> None:
        for insight in insights:
            assert insight.id is not None
            self.library.record(insight.id, item.id, bucket, helped=1)
