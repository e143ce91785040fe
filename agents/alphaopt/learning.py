"""Online library learning (iteration 0): solve each training item, learn from its failures.

Per item: retrieve (formulation, then program step) and solve; repeat the solve ``attempts``
times with the same insights (the paper: 3 attempts at temperature 0.7, retrieval on the first
only). The item counts as solved only if every attempt reaches the gold value; its retrieved
insights are then credited. Otherwise a proxy gold program is found by self-explore (the LLM is
told the gold objective) and insights are extracted from the comparison, verified by the solver
on the item and stored with online merging. When a solved item needed a repair after a crash,
code-implementation lessons are extracted from the crash and its fix the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agents.alphaopt.extraction import InsightMaker, Learned
from agents.alphaopt.insight import Bucket, Insight
from agents.alphaopt.retrieval import FixedSource, LibrarySource
from agents.alphaopt.runs import ItemState
from agents.alphaopt.solving import FirstSolve, LibraryPhase, SolveOutcome
from agents.evaluation.dataset import Item
from agents.formulation.result import AttemptOutcome


@dataclass(frozen=True)
class LearnSettings:
    """Learning knobs (defaults follow the paper's ``train_params``)."""

    attempts: int = 3
    temperature: float = 0.7
    explore_tries: int = 5
    learn_from_repairs: bool = True


class Learner(LibraryPhase):
    """Runs iteration-0 learning over items into the library (``phase``'s parts)."""

    def __init__(
        self, phase: LibraryPhase, maker: InsightMaker, settings: LearnSettings | None = None
    ):
        super().__init__(phase.library, phase.retriever, phase.solver)
        self.maker = maker
        self.settings = settings or LearnSettings()

    def _insights(self, ids: Sequence[int]) -> list[Insight]:
        return [self.library.get(i) for i in dict.fromkeys(ids)]

    def gold_program(self, item: Item, failures: Sequence[str]) -> str | None:
        """The item's verified program from the library, else one found by self-explore."""
        known = self.library.program(item.id)
        if known is not None:
            return known.program
        program = self.solver.explore(item, failures, self.settings.explore_tries)
        if program is not None and isinstance(item.answer, float):
            self.library.save_program(item.id, program, item.answer)
        return program

    def learn_item(
        self, item: Item, items: dict[str, Item] | None = None, first: FirstSolve | None = None
    ) -> ItemState:
        """Solve one item and learn from it; returns what happened.

        ``first`` is the item's first solve when a forward pass already made it (at this
        learner's temperature, with library retrieval); it counts as the first attempt.
        """
        if first is None:
            source = LibrarySource(self.retriever)
            temperature = self.settings.temperature
            first, _ = self.solver.first_solve(item, source, temperature=temperature)
        before = self.solver.prompter.meter.thread_usage
        outcomes = [first.outcome]
        retrieved = self._insights(outcomes[0].insight_ids)
        while outcomes[-1].correct and len(outcomes) < self.settings.attempts:
            outcomes.append(
                self.solver.solve(
                    item, FixedSource(retrieved), temperature=self.settings.temperature
                )
            )
        state = ItemState(
            item_id=item.id, status="solved", retrieved=list(dict.fromkeys(outcomes[0].insight_ids))
        )
        if outcomes[-1].correct:
            for insight in retrieved:
                assert insight.id is not None
                self.library.record(insight.id, item.id, Bucket.POSITIVE, helped=1)
            learned = self._learn_from_repairs(item, outcomes[0], retrieved, items)
            if learned is not None and (learned.added or learned.merged):
                state.status = "solved_learned_code"
                self._apply(state, learned)
        else:
            failures = [o.failure_text() for o in outcomes if not o.correct]
            gold = self.gold_program(item, failures)
            if gold is None:
                state.status = "unsolved"
                state.notes.append("self-explore found no program reaching the gold value")
            else:
                learned = self.maker.learn_from_failure(
                    item, failures[-1], gold, keep=retrieved, items=items, iteration=0
                )
                state.status = "learned" if learned.verified else "not_fixed"
                self._apply(state, learned)
        return self.solver.charge(state, first, before)

    @staticmethod
    def _apply(state: ItemState, learned: Learned) -> None:
        state.added += learned.added
        state.merged += learned.merged
        state.notes += learned.notes

    def _learn_from_repairs(
        self,
        item: Item,
        outcome: SolveOutcome,
        retrieved: list[Insight],
        items: dict[str, Item] | None,
    ) -> Learned | None:
        if not self.settings.learn_from_repairs or outcome.result.repairs == 0:
            return None
        crashed = [a for a in outcome.result.attempts if a.outcome is AttemptOutcome.ERROR]
        if not crashed or outcome.result.program is None:
            return None
        failure = f"```python\n{crashed[0].program}```\nIt crashed:\n{crashed[0].stderr[-2000:]}"
        return self.maker.learn_from_failure(
            item, failure, outcome.result.program, keep=retrieved, items=items, iteration=0
        )
