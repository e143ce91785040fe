"""The AlphaOPT experience library as an Optimizer over a program's insight set.

Its one parameter is the list of insight ids a :class:`FormulationProgram` may use; the
insights themselves live in the SQLite :class:`ExperienceLibrary`. A step reads the minibatch
feedback and does what ``library learn`` and ``library evolve`` do, with the same code: items
the program got wrong are learned from (self-explore for a gold program, extract, verify, store
with merging) while the program's insight set is empty, and diagnosed once it has some (which
insights misled, which were missed, new ones where none fit); then every
``evolve_every`` steps each insight is refined, split or retired. The new parameter value is
the set of active insights.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from agents.alphaopt.runs import PhaseRun
from agents.evaluation.dataset import Item
from optimizers.base import Optimizer, StepUsage, Suggestion

if TYPE_CHECKING:
    from agents.alphaopt.pipeline import AlphaOpt
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
        items: the training items (the feedback is matched to them by question text).
        run_dir: where refinement rounds keep their resumable per-insight state.
        evolve_every: refine, split and retire insights every this many steps (0: never).
    """

    config_keys: ClassVar[tuple[str, ...]] = ("objective", "evolve_every")

    def __init__(
        self,
        parameters: Iterable[ParameterNode],
        *,
        alphaopt: AlphaOpt,
        items: Sequence[Item],
        run_dir: str | Path,
        evolve_every: int = 1,
    ) -> None:
        super().__init__(parameters, llm=alphaopt.prompter.llm)
        if len(self.parameters) != 1:
            raise ValueError("LibraryOptimizer trains exactly one parameter: the insight set")
        self.alphaopt = alphaopt
        self.items = {item.question: item for item in items}
        self.run_dir = Path(run_dir)
        self.evolve_every = evolve_every
        self.log: list[dict[str, Any]] = []

    def active_ids(self) -> list[int]:
        """Ids of the library's active insights (what the program may use)."""
        return sorted(i.id for i in self.alphaopt.library.all() if i.id is not None)

    def _failed_items(self) -> list[Item]:
        failed: dict[str, Item] = {}
        for entry in self._require_feedback():
            if entry.score is not None and entry.score >= 1.0:
                continue
            question = question_of(entry.output)
            item = self.items.get(question or "")
            if item is not None:
                failed[item.id] = item
        return list(failed.values())

    def _suggest(self) -> Suggestion:
        alpha = self.alphaopt
        before = alpha.usage
        by_id = {item.id: item for item in self.items.values()}
        notes: list[str] = []
        # Learn while the program's insight set is empty, diagnose once it has insights. The set
        # (restored from a checkpoint on resume), not the library file, decides: a step redone
        # after a kill takes the same path as the first time.
        learning = not self.parameters[0].data
        for item in self._failed_items():
            if learning:
                state = alpha.learner.learn_item(item, by_id)
                notes.append(
                    f"learned from {item.id}: {state.status}, +{len(state.added)} insight(s)"
                )
            else:
                iteration = self.step_count + 1
                state = alpha.evolver.diagnose_item(item, items=by_id, iteration=iteration)
                notes.append(f"diagnosed {item.id}: {state.status}, +{len(state.added)} insight(s)")
        if self.evolve_every and (self.step_count + 1) % self.evolve_every == 0:
            run = PhaseRun(self.run_dir, f"refine-step-{self.step_count}")
            for outcome in alpha.evolver.refine_and_prune(by_id, run):
                if outcome.action != "kept":
                    notes.append(f"insight {outcome.insight_id} {outcome.action}")
        ids = self.active_ids()
        self.log.append({"step": self.step_count, "notes": notes, "insights": ids})
        return Suggestion(
            values={self._name(): ids},
            reasoning="; ".join(notes) or "no failed items: the library is unchanged",
            usage=_step_usage(before, alpha.usage),
        )

    def _name(self) -> str:
        return next(iter(self.names))

    def _extra_state(self) -> dict[str, Any]:
        return {"log": self.log}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.log = list(state.get("log", []))
