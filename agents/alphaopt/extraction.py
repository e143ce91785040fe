"""Turning a failure into verified insights: extract, self-verify, then store with online merge.

An extracted insight is stored only when the source item, solved again with the new insights
(plus the ones kept from retrieval), reaches its gold value (``replays`` times in a row: the
paper replays once, which a lucky solve can pass); otherwise the LLM is told that the
insights did not fix the failure and extracts again, up to ``rounds`` times. Storing merges a new
insight into a library insight it duplicates (same taxonomy label, judged by the LLM); the
merged insight keeps its taxonomy path and must solve every source item it knows of, or the
merge is abandoned and the new insight is stored on its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, Field, ValidationError

from agents.alphaopt.insight import Bucket, Distribution, Insight, InsightStats
from agents.alphaopt.prompting import Prompter
from agents.alphaopt.solving import ItemSolver
from agents.alphaopt.store import ExperienceLibrary
from agents.alphaopt.taxonomy import Label, render_taxonomy
from agents.evaluation.dataset import Item

log = logging.getLogger(__name__)


class InsightText(BaseModel):
    """An insight's text as a reply gives it (a merged insight, a part of a split one)."""

    condition: str
    explanation: str
    example: str = ""


class ProposedInsight(InsightText):
    """One insight as the extraction prompt returns it: its text and where it is filed."""

    taxonomy: list[str]
    label_definition: str | None = None
    label_condition: str | None = None


class ExtractReply(BaseModel):
    """Validates the ``extract`` reply: insights proposed from one failure."""

    insights: list[ProposedInsight] = Field(default_factory=list)


class MergeReply(BaseModel):
    """Validates the ``merge`` reply: which existing insights duplicate a new one, merged."""

    duplicates: list[int] = Field(default_factory=list)
    merged: InsightText | None = None


@dataclass
class Learned:
    """What learning from one failure produced."""

    verified: bool = False
    added: list[int] = field(default_factory=list)
    merged: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class InsightMaker:
    """Extracts, verifies and stores insights for failed items (see the module docstring)."""

    def __init__(
        self,
        library: ExperienceLibrary,
        prompter: Prompter,
        solver: ItemSolver,
        *,
        rounds: int = 3,
        temperature: float = 0.7,
        replays: int = 1,
    ):
        self.library = library
        self.prompter = prompter
        self.solver = solver
        self.rounds = rounds
        self.temperature = temperature
        self.replays = replays
        self._store_lock = threading.Lock()  # concurrent items store and merge one at a time

    def extract(
        self, item: Item, failure: str, gold: str, feedback: str = ""
    ) -> tuple[list[Insight], list[Label], list[str]]:
        """Proposed insights, the new labels they need, and why any proposal was rejected."""
        rejected: list[str] = []
        reply = self.prompter.structured_or_none(
            "extract",
            ExtractReply,
            failures=rejected,
            options={"temperature": self.temperature},
            taxonomy=render_taxonomy(self.library.labels()),
            question=item.question,
            failure=failure,
            gold=gold,
            target=item.answer,
            feedback=f"\n## Feedback on your previous insights\n{feedback}\n" if feedback else "",
        )
        insights: list[Insight] = []
        labels: list[Label] = []
        for proposal in reply.insights if reply is not None else []:
            try:
                insight = Insight(
                    taxonomy=proposal.taxonomy,
                    condition=proposal.condition,
                    explanation=proposal.explanation,
                    example=proposal.example,
                    provenance=[item.id],
                )
            except ValidationError as err:
                rejected.append(f"proposal {proposal.taxonomy}: {err.errors()[0]['msg']}")
                continue
            if not self.library.has_label(insight.taxonomy):
                if not (proposal.label_definition and proposal.label_condition):
                    rejected.append(
                        f"proposal under new label {insight.taxonomy} lacks its definition "
                        "and condition"
                    )
                    continue
                labels.append(
                    Label(
                        track=insight.taxonomy[0],
                        l1=insight.taxonomy[1],
                        l2=insight.taxonomy[2],
                        definition=proposal.label_definition,
                        condition=proposal.label_condition,
                    )
                )
            insights.append(insight)
        return insights, labels, rejected

    def learn_from_failure(
        self,
        item: Item,
        failure: str,
        gold: str,
        *,
        keep: Sequence[Insight] = (),
        items: Mapping[str, Item] | None = None,
        iteration: int = 0,
    ) -> Learned:
        """Extract insights until some fix ``item`` (solver-verified), then store them."""
        learned = Learned()
        feedback = ""
        for round_number in range(1, self.rounds + 1):
            proposals, labels, rejected = self.extract(item, failure, gold, feedback)
            learned.notes += rejected
            if not proposals:
                feedback = "No usable insight was proposed. " + " ".join(rejected)
                continue
            check = self.solver.solve_with(item, [*keep, *proposals])
            for _ in range(self.replays - 1):  # optional extra replays against lucky solves
                if not check.correct:
                    break
                check = self.solver.solve_with(item, [*keep, *proposals])
            if check.correct:
                learned.verified = True
                for label in labels:
                    self.library.add_label(label, f"proposed while learning from {item.id}")
                for proposal in proposals:
                    new = proposal.model_copy(
                        update={
                            "iteration": iteration,
                            "stats": InsightStats(helped=1),
                            "distribution": Distribution().placed(Bucket.POSITIVE, item.id),
                        }
                    )
                    self._store(new, item, items or {item.id: item}, learned)
                return learned
            learned.notes.append(f"round {round_number}: insights did not fix the item")
            feedback = (
                "Solving again with these insights still failed:\n"
                + "\n".join(f"- {p.explanation}" for p in proposals)
                + f"\nWhat happened:\n{check.failure_text()}"
            )
        return learned

    def _store(self, new: Insight, item: Item, items: Mapping[str, Item], learned: Learned) -> None:
        with self._store_lock:
            siblings = [i for i in self.library.all() if i.label_key == new.label_key]
            merged_id = self._try_merge(new, siblings, items) if siblings else None
            if merged_id is not None:
                learned.merged.append(merged_id)
            else:
                learned.added.append(self.library.add(new, f"learned from {item.id}, verified"))

    def _try_merge(
        self, new: Insight, siblings: Sequence[Insight], items: Mapping[str, Item]
    ) -> int | None:
        shown = "\n".join(
            f"- id {s.id}: applies when {s.condition}\n  {s.explanation}" for s in siblings
        )
        problems: list[str] = []
        reply = self.prompter.structured_or_none(
            "merge",
            MergeReply,
            failures=problems,
            new=f"applies when {new.condition}\n{new.explanation}\nExample: {new.example}",
            existing=shown,
        )
        if reply is None:
            return None
        by_id = {s.id: s for s in siblings}
        duplicates = [by_id[i] for i in dict.fromkeys(reply.duplicates) if i in by_id]
        if not duplicates or reply.merged is None:
            return None
        # The merged insight keeps the taxonomy path (the reference merge prompt dropped it,
        # leaving merged insights unreachable by quick match).
        merged = new.model_copy(
            update={
                "condition": reply.merged.condition,
                "explanation": reply.merged.explanation,
                "example": reply.merged.example,
            }
        )
        sources = list(
            dict.fromkeys([*new.provenance, *(p for d in duplicates for p in d.provenance)])
        )
        known = [items[source] for source in sources if source in items]
        duplicate_ids = {d.id for d in duplicates if d.id is not None}
        for task in known:
            helpers = [
                i
                for i in self.library.all()
                if task.id in i.distribution.positive and i.id not in duplicate_ids
            ]
            if not self.solver.solve_with(task, [*helpers, merged]).correct:
                log.info("merge of %s abandoned: fails on %s", sorted(duplicate_ids), task.id)
                return None
        ids = [d.id for d in duplicates if d.id is not None]
        return self.library.merge(
            ids,
            merged,
            f"duplicates of a new insight from {new.provenance}; verified on "
            f"{len(known)}/{len(sources)} source items ({', '.join(t.id for t in known)})",
        )
