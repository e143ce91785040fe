"""The AlphaOPT experience library as an Optimizer over a program's insight set.

Its one parameter is the list of insight ids a :class:`FormulationProgram` may use; the
insights themselves live in the SQLite :class:`ExperienceLibrary`. A step reads the minibatch
feedback and does what ``library learn`` and ``library evolve`` do, with the same code, item by
item through a :class:`~agents.alphaopt.runs.PhaseRun` (per-item state files, so a step redone
after a kill skips the items it finished; ``workers`` items at once):

- ``mode="learn"`` (``library learn``): every batch item is learned from (extra attempts and
  credit when solved; self-explore, extract, verify and store with merging when not), in the
  run's ``learn`` phase;
- ``mode="evolve"`` (``library evolve``): every batch item is diagnosed (credit when solved;
  which insights misled, which were missed, new ones where none fit) in phase ``evolve-<round>``,
  a round being ``evolve_every`` steps (one epoch);
- ``mode="auto"`` (``formulate train``): only the items the program got wrong, learned from
  while the program's insight set is empty and diagnosed once it has some.

Every ``evolve_every`` steps each insight is then refined, split or retired. The new parameter
value is the set of active insights. When the forward pass was the library's own first solve
(:class:`~agents.alphaopt.training.LibraryForward`), the step takes that solve as the item's
first attempt instead of paying for it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from agents.alphaopt.runs import ItemState, PhaseRun
from agents.evaluation.dataset import Item
from optimizers.base import FeedbackItem, Optimizer, StepUsage, Suggestion

if TYPE_CHECKING:
    from agents.alphaopt.pipeline import AlphaOpt
    from agents.alphaopt.training import LibraryForward
    from trace_core.nodes import Node, ParameterNode


def question_of(output: Node) -> str | None:
    """The question a formulation graph answered (its input node named ``question``)."""
    from trace_core.graph import ancestors

    for node in ancestors(output):
        if node.name == "question" and isinstance(node._data, str):
            return node._data
    return None


def _step_usage(before: Any, after: Any) -> StepUsage:
    return StepUsage(
        calls=after.calls - before.calls,
        prompt_tokens=after.prompt_tokens - before.prompt_tokens,
        completion_tokens=after.completion_tokens - before.completion_tokens,
        total_tokens=after.total_tokens - before.total_tokens,
        cost=after.cost - before.cost,
    )


class LibraryOptimizer(Optimizer):
    """Learn, diagnose, refine, split and retire library insights from minibatch feedback.

    Args:
        parameters: the program's ``insights`` parameter (a list of ids).
        alphaopt: the :class:`~agents.alphaopt.pipeline.AlphaOpt` wiring library and LLM.
        items: the training items (feedback is matched to its example's item, else to the
            item whose question the output's graph answered).
        run_dir: where phases keep their resumable per-item and per-insight state.
        evolve_every: refine, split and retire insights every this many steps (0: never).
        mode: ``learn``, ``evolve`` or ``auto`` (see the module docstring).
        workers: items of a batch worked on at once.
        bar: report finished items to this ``advance`` of a run-wide progress bar (none when
            None).
        forward: the :class:`~agents.alphaopt.training.LibraryForward` whose solves the
            step takes as first attempts (None: the step solves each item itself).
    """

    config_keys: ClassVar[tuple[str, ...]] = ("objective", "evolve_every", "mode")

    def __init__(
        self,
        parameters: Iterable[ParameterNode],
        *,
        alphaopt: AlphaOpt,
        items: Sequence[Item],
        run_dir: str | Path,
        evolve_every: int = 1,
        mode: Literal["auto", "learn", "evolve"] = "auto",
        workers: int = 1,
        forward: LibraryForward | None = None,
        bar: Callable[..., None] | None = None,
    ) -> None:
        super().__init__(parameters, llm=alphaopt.prompter.llm)
        if len(self.parameters) != 1:
            raise ValueError("LibraryOptimizer trains exactly one parameter: the insight set")
        self.alphaopt = alphaopt
        self.items = {item.id: item for item in items}
        self._by_question = {item.question: item for item in items}
        self.run_dir = Path(run_dir)
        self.evolve_every = evolve_every
        self.mode = mode
        self.workers = workers
        self.forward = forward
        self.bar = bar
        self.log: list[dict[str, Any]] = []

    def active_ids(self) -> list[int]:
        """Ids of the library's active insights (what the program may use)."""
        return sorted(i.id for i in self.alphaopt.library.all() if i.id is not None)

    def _batch_items(self) -> list[tuple[Item, FeedbackItem]]:
        """The batch's items with their feedback (in ``auto`` mode only the failed ones)."""
        batch: dict[str, tuple[Item, FeedbackItem]] = {}
        for entry in self._require_feedback():
            if self.mode == "auto" and entry.score is not None and entry.score >= 1.0:
                continue
            example = entry.example[0] if isinstance(entry.example, tuple) else None
            item = (
                example
                if isinstance(example, Item)
                else self._by_question.get(question_of(entry.output) or "")
            )
            if item is not None:
                batch[item.id] = (item, entry)
        return list(batch.values())

    def phase_of(self, step: int) -> tuple[str, str]:
        """Step ``step``'s phase folder and what it does to an item (``learn``/``diagnose``)."""
        if self.mode == "learn":
            return "learn", "learn"
        if self.mode == "evolve":
            return f"evolve-{self._round(step)}", "diagnose"
        # auto: learn while the program's insight set is empty, diagnose once it has some. The
        # set (restored from a checkpoint on resume), not the library file, decides: a step
        # redone after a kill takes the same path as the first time.
        action = "diagnose" if self.parameters[0].data else "learn"
        return f"{action}-step-{step}", action

    def work(
        self, step: int, action: str, feedback: Mapping[str, FeedbackItem]
    ) -> Callable[[Item], ItemState]:
        """What step ``step`` does to one item; the item's state records the forward pass's
        score and feedback (from ``feedback``, by item id)."""
        alpha = self.alphaopt
        by_id = self.items
        iteration = self._round(step) if self.mode == "evolve" else step + 1

        def work(item: Item) -> ItemState:
            first = self.forward.take(item.id) if self.forward is not None else None
            if action == "learn":
                state = alpha.learner.learn_item(item, by_id, first=first)
            else:
                state = alpha.evolver.diagnose_item(
                    item, items=by_id, iteration=iteration, first=first
                )
            entry = feedback.get(item.id)
            if entry is not None:
                state.score, state.feedback = entry.score, str(entry.feedback)
            return state

        return work

    def _suggest(self) -> Suggestion:
        alpha = self.alphaopt
        before = alpha.usage
        batch = self._batch_items()
        phase, action = self.phase_of(self.step_count)
        verb = "learned from" if action == "learn" else "diagnosed"
        run = PhaseRun(self.run_dir, phase)
        states = run.run(
            [item for item, _ in batch],
            self.work(self.step_count, action, {item.id: entry for item, entry in batch}),
            workers=self.workers,
            progress=False,
            info=lambda state: f"{state.status}; library {len(alpha.library)}",
            bar=self.bar,
        )
        notes = [f"{verb} {s.item_id}: {s.status}, +{len(s.added)} insight(s)" for s in states]
        if self.evolve_every and (self.step_count + 1) % self.evolve_every == 0:
            for outcome in alpha.evolver.refine_and_prune(self.items, self._refine_run()):
                if outcome.action != "kept":
                    notes.append(f"insight {outcome.insight_id} {outcome.action}")
        ids = self.active_ids()
        self.log.append({"step": self.step_count, "notes": notes, "insights": ids})
        return Suggestion(
            values={self._name(): ids},
            reasoning="; ".join(notes) or "no failed items: the library is unchanged",
            usage=_step_usage(before, alpha.usage),
        )

    def _round(self, step: int) -> int:
        """The evolution round of ``step`` (1 for the first ``evolve_every`` steps)."""
        return step // self.evolve_every + 1 if self.evolve_every else 1

    def _refine_run(self) -> PhaseRun:
        """Where this step's refinement keeps its per-insight state (``refine-<round>``)."""
        if self.mode == "evolve":
            return PhaseRun(self.run_dir, f"refine-{self._round(self.step_count)}")
        return PhaseRun(self.run_dir, f"refine-step-{self.step_count}")

    def _name(self) -> str:
        return next(iter(self.names))

    def _extra_state(self) -> dict[str, Any]:
        return {"log": self.log}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.log = list(state.get("log", []))
