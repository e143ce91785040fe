"""Library evolution (iterations 1..N): diagnose every training item, refine conditions, prune.

**Diagnosis pass.** Each training item is solved once at temperature 0 with retrieval; the
insights retrieved for a solved item are filed ``positive``; a failed item goes through the
:mod:`~agents.alphaopt.diagnosis` cascade.

**Condition refinement** (paper's ``variant_num`` = K = 5). For each insight with ``negative``
or ``unretrieved`` items, the LLM writes per-item notes ("does NOT apply when" / "applies
when") and then K candidate conditions. Each candidate is scored by replaying retrieval on
R = positive + negative + unretrieved items::

    score = (positives still retrieved + unretrieved now retrieved + negatives now excluded) / |R|

The best candidate replaces the condition only if it beats |positive| / |R| (the score the paper
assumes for the current condition). Only the condition changes.

**Splitting.** When no candidate condition is accepted for an insight that helped on some
items and misled on others, the LLM may split it into narrower insights; the split is kept only
if the parts' replayed retrieval beats the same baseline and every item it helped on is still
solved with the parts retrieved for it.

**Pruning** (absent from the reference code, where harmful insights only gain clauses). An
insight that never helped but misled at least once (``negative`` or ``invalid`` items, no
``positive`` one) is retired; so is one that hurt more often than it helped when no refined
condition was accepted. Every refinement and retirement goes to the change log with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, Field

from agents.alphaopt.diagnosis import Diagnoser
from agents.alphaopt.extraction import InsightText
from agents.alphaopt.insight import Bucket, Distribution, Insight, InsightStats
from agents.alphaopt.retrieval import LibrarySource, Retriever
from agents.alphaopt.runs import ItemState, PhaseRun
from agents.alphaopt.solving import FirstSolve, LibraryPhase
from agents.evaluation.dataset import Item


@dataclass(frozen=True)
class EvolveSettings:
    """Evolution knobs (defaults follow the paper where it states them)."""

    rounds: int = 1
    candidates: int = 5
    temperature: float = 0.7
    prune: bool = True
    split: bool = True


class Note(BaseModel):
    """One item's note from the ``refine_notes`` reply: why the insight fit it or not."""

    item: str
    note: str


class NotesReply(BaseModel):
    """Validates the ``refine_notes`` reply: a note per related item."""

    notes: list[Note] = Field(default_factory=list)


class ConditionsReply(BaseModel):
    """Validates the ``refine_conditions`` reply: candidate applicability conditions."""

    conditions: list[str] = Field(default_factory=list)


_PROVISIONAL_ID = 1_000_000_000


class SplitReply(BaseModel):
    """Validates the ``split`` reply: the narrower insights replacing a mixed one."""

    parts: list[InsightText] = Field(default_factory=list)


class RefineOutcome(BaseModel):
    """What refinement and pruning did to one insight."""

    insight_id: int
    action: str = Field(description="refined, kept, retired, skipped")
    baseline: float | None = None
    best_score: float | None = None
    condition: str | None = None
    reason: str = ""


def replay_score(
    retriever: Retriever,
    insight: Insight,
    condition: str,
    questions: Mapping[str, str],
) -> float:
    """The refinement score of ``condition`` (see the module docstring) over known items."""
    candidate = insight.model_copy(update={"condition": condition})
    dist = insight.distribution
    total = 0
    good = 0
    for bucket, want in (
        (Bucket.POSITIVE, True),
        (Bucket.UNRETRIEVED, True),
        (Bucket.NEGATIVE, False),
    ):
        for item_id in getattr(dist, bucket.value):
            if item_id not in questions:
                continue
            total += 1
            good += retriever.would_retrieve(candidate, questions[item_id]) is want
    return good / total if total else 0.0


class Evolver(LibraryPhase):
    """Runs diagnosis, refinement and pruning rounds over a library."""

    def __init__(self, diagnoser: Diagnoser, settings: EvolveSettings | None = None):
        super().__init__(diagnoser.library, diagnoser.retriever, diagnoser.solver)
        self.diagnoser = diagnoser
        self.settings = settings or EvolveSettings()

    # -- diagnosis pass ----------------------------------------------------------------------

    def diagnose_item(
        self,
        item: Item,
        *,
        items: Mapping[str, Item],
        iteration: int,
        first: FirstSolve | None = None,
    ) -> ItemState:
        """Solve ``item`` once at temperature 0; credit its insights or diagnose the failure.

        ``first`` is that solve when a forward pass already made it (temperature 0, retrieval).
        """
        if first is None:
            first, _ = self.solver.first_solve(item, LibrarySource(self.retriever), temperature=0.0)
        before = self.prompter.meter.thread_usage
        outcome = first.outcome
        if outcome.correct:
            for insight_id in dict.fromkeys(outcome.insight_ids):
                self.library.record(insight_id, item.id, Bucket.POSITIVE, helped=1)
            state = ItemState(item_id=item.id, status="solved", retrieved=outcome.insight_ids)
        else:
            state = self.diagnoser.diagnose(item, outcome, items=items, iteration=iteration)
        return self.solver.charge(state, first, before)

    # -- refinement and pruning ----------------------------------------------------------------

    def refine(self, insight: Insight, questions: Mapping[str, str]) -> RefineOutcome:
        """Try K candidate conditions for ``insight``; apply the best if it beats the baseline."""
        assert insight.id is not None
        dist = insight.distribution
        related = {
            b: [i for i in getattr(dist, b.value) if i in questions]
            for b in (Bucket.POSITIVE, Bucket.NEGATIVE, Bucket.UNRETRIEVED)
        }
        size = sum(len(ids) for ids in related.values())
        if not related[Bucket.NEGATIVE] and not related[Bucket.UNRETRIEVED]:
            return RefineOutcome(insight_id=insight.id, action="skipped", reason="no misalignment")
        problems = "\n\n".join(
            f"### {item_id} ({bucket.value})\n{questions[item_id]}"
            for bucket in (Bucket.NEGATIVE, Bucket.UNRETRIEVED, Bucket.POSITIVE)
            for item_id in related[bucket]
        )
        options = {"temperature": self.settings.temperature}
        problems_met: list[str] = []
        notes = self.prompter.structured_or_none(
            "refine_notes",
            NotesReply,
            failures=problems_met,
            options=options,
            condition=insight.condition,
            explanation=insight.explanation,
            problems=problems,
        )
        reply = self.prompter.structured_or_none(
            "refine_conditions",
            ConditionsReply,
            failures=problems_met,
            options=options,
            k=self.settings.candidates,
            condition=insight.condition,
            explanation=insight.explanation,
            notes="\n".join(f"- {n.item}: {n.note}" for n in (notes.notes if notes else []))
            or "(none)",
        )
        baseline = len(related[Bucket.POSITIVE]) / size
        offered = reply.conditions if reply is not None else []
        candidates = [c.strip() for c in offered if c.strip()][: self.settings.candidates]
        scored = [(replay_score(self.retriever, insight, c, questions), c) for c in candidates]
        if not scored:
            return RefineOutcome(
                insight_id=insight.id,
                action="kept",
                baseline=baseline,
                reason="no candidates " + " ".join(problems_met),
            )
        best_score, best = max(scored, key=lambda pair: pair[0])
        if best_score <= baseline:
            return RefineOutcome(
                insight_id=insight.id,
                action="kept",
                baseline=baseline,
                best_score=best_score,
                reason=f"best of {len(scored)} candidates scored {best_score:.2f}, "
                f"not above baseline {baseline:.2f}",
            )
        reason = (
            f"condition refined: replay score {best_score:.2f} > baseline {baseline:.2f} over "
            f"{size} items (negative {related[Bucket.NEGATIVE]}, unretrieved "
            f"{related[Bucket.UNRETRIEVED]})"
        )
        self.library.update(
            insight.model_copy(update={"condition": best}), kind="refine", reason=reason
        )
        return RefineOutcome(
            insight_id=insight.id,
            action="refined",
            baseline=baseline,
            best_score=best_score,
            condition=best,
            reason=reason,
        )

    def split(self, insight: Insight, items: Mapping[str, Item]) -> RefineOutcome | None:
        """Split a mixed insight (helped somewhere, misled elsewhere) into narrower ones.

        Accepted only if the parts' replayed retrieval beats |positive| / |R| (positives
        reached by some part, negatives reached by none) and every positive item is still
        solved, by the solver, with the parts retrieved for it. Returns None when not split.
        """
        assert insight.id is not None
        dist = insight.distribution
        positives = [items[i] for i in dist.positive if i in items]
        negatives = [items[i] for i in dist.negative if i in items]
        if not positives or not negatives:
            return None
        reply = self.prompter.structured_or_none(
            "split",
            SplitReply,
            failures=[],
            options={"temperature": self.settings.temperature},
            condition=insight.condition,
            explanation=insight.explanation,
            example=insight.example,
            helped="\n\n".join(f"### {i.id}\n{i.question}" for i in positives),
            misled="\n\n".join(f"### {i.id}\n{i.question}" for i in negatives),
        )
        parts = [
            insight.model_copy(
                update={
                    "id": _PROVISIONAL_ID + n,  # only for replaying retrieval
                    "condition": part.condition,
                    "explanation": part.explanation,
                    "example": part.example,
                    "stats": InsightStats(),
                    "distribution": Distribution(),
                    "version": 1,
                }
            )
            for n, part in enumerate(reply.parts[:3] if reply is not None else [])
        ]
        if len(parts) < 2:
            return None
        reach = {
            item.id: [p for p in parts if self.retriever.would_retrieve(p, item.question)]
            for item in [*positives, *negatives]
        }
        good = sum(bool(reach[i.id]) for i in positives) + sum(not reach[i.id] for i in negatives)
        total = len(positives) + len(negatives)
        baseline = len(positives) / total
        if good / total <= baseline:
            return None
        for item in positives:
            if not self.solver.solve_with(item, reach[item.id]).correct:
                return None
        kept: list[Insight] = []
        for part in parts:
            covered = [i.id for i in positives if part in reach[i.id]]
            if covered:
                distribution = Distribution()
                for item_id in covered:
                    distribution = distribution.placed(Bucket.POSITIVE, item_id)
                kept.append(part.model_copy(update={"id": None, "distribution": distribution}))
        reason = (
            f"split into {len(kept)} part(s): replay score {good / total:.2f} > baseline "
            f"{baseline:.2f}; positives {[i.id for i in positives]} re-solved with their parts"
        )
        ids = self.library.split(insight.id, kept, reason)
        return RefineOutcome(
            insight_id=insight.id,
            action="split",
            baseline=baseline,
            best_score=good / total,
            reason=f"{reason}; new ids {ids}",
        )

    @staticmethod
    def prune_reason(insight: Insight) -> str | None:
        """Why ``insight`` (whose condition was not refined) should be retired, or None."""
        dist = insight.distribution
        harmful = len(dist.negative) + len(dist.invalid)
        if harmful and not dist.positive:
            return (
                f"never helped but misled on {harmful} item(s) "
                f"(negative {dist.negative}, invalid {dist.invalid})"
            )
        if harmful > len(dist.positive):
            return (
                f"hurt on {harmful} item(s), helped on {len(dist.positive)}, and no refined "
                "condition excluded the harmful ones"
            )
        return None

    def refine_and_prune(self, items: Mapping[str, Item], run: PhaseRun) -> list[RefineOutcome]:
        """Refine, split or retire every library insight once; resumable through ``run``."""
        questions = {item_id: item.question for item_id, item in items.items()}
        outcomes: list[RefineOutcome] = []
        for insight in self.library.all():
            assert insight.id is not None
            key = f"insight-{insight.id}"
            saved = run.load(key)
            if saved is not None:  # resumed: this version was handled already
                outcomes.append(RefineOutcome.model_validate_json(saved.notes[0]))
                continue
            reason = self.prune_reason(insight) if self.settings.prune else None
            if reason is not None and not insight.distribution.positive:
                self.library.retire(insight.id, reason)
                outcome = RefineOutcome(insight_id=insight.id, action="retired", reason=reason)
            else:
                outcome = self.refine(insight, questions)
                if outcome.action == "kept" and self.settings.split:
                    outcome = self.split(insight, items) or outcome
                if self.settings.prune and outcome.action not in ("refined", "split"):
                    reason = self.prune_reason(insight)
                    if reason is not None:
                        self.library.retire(insight.id, reason)
                        outcome = outcome.model_copy(update={"action": "retired", "reason": reason})
            run.save(
                ItemState(item_id=key, status=outcome.action, notes=[outcome.model_dump_json()])
            )
            outcomes.append(outcome)
        return outcomes
