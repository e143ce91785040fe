"""GEPA as an optimizer: reflective text evolution with per-example Pareto selection.

The algorithm is the `gepa` package's (Agrawal et al., "GEPA: Reflective Prompt Evolution Can
Outperform Reinforcement Learning"; the engine behind ``dspy.GEPA``): a pool of candidates, each
scored on every validation example; a parent drawn from the per-example Pareto front; one text
component rewritten by a reflection LM that reads the parent's rollouts with their feedback; the
child kept only when it beats the parent on the same minibatch, then scored on the validation
set; and merges of two descendants of a common ancestor. This module only adapts it to the
:class:`~optimizers.base.Optimizer` surface, one GEPA iteration per ``step()``:

- the parent is the program's current parameters, and its minibatch rollouts are the ones the
  caller made before ``step()`` (each ``backward(output, feedback, score=..., example=...)``),
  so the Trainer's forward passes are not repeated; the reflective dataset is built from those
  outputs' traced graphs (:class:`~optimizers.gepa_adapter.TraceAdapter`);
- gepa's proposer picks the component (round robin), asks the reflection LM (our LLM layer:
  cache, budget, retries, usage) and scores the child on the same examples; an accepted child
  is scored on ``val_set`` and joins the pool;
- the step then sets the parameters to the next parent gepa's candidate selector draws (Pareto
  by default), which the next minibatch evaluates. The Trainer's keep-best returns the best.

Only ``str`` parameters are evolved; others (say an insight set) are left as they are. The
whole GEPA state (pool, per-example scores, fronts, random state, merge schedule) is JSON in
``state_dict()``, so a Trainer run directory resumes exactly (gepa's own run_dir pickles; we
do not). ``propose()`` advances the pool like ``step()`` but leaves the parameters alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from optimizers.base import Optimizer, StepUsage, Suggestion, describe_constraint
from optimizers.gepa_adapter import (
    EngineParts,
    GEPAError,
    Guide,
    TraceAdapter,
    example_pair,
)
from optimizers.gepa_state import decode, encode

if TYPE_CHECKING:
    from trace_core.llm import LLM
    from trace_core.nodes import ParameterNode

__all__ = ["GEPA", "GEPAError", "TraceAdapter"]

_SELECTORS = ("pareto", "current_best", "epsilon_greedy", "top_k_pareto")


class GEPA(Optimizer):
    """Evolve a program's text parameters with GEPA (see the module docstring).

    Args:
        parameters: the program's parameters (``module.parameters()``); the ``str`` ones evolve.
        forward: runs the program on one example input and returns its output node (the same
            function the Trainer gets).
        guide: ``guide(output_value, target) -> (score, feedback)``, higher is better, with
            ``perfect_score`` the best possible (the Trainer's guide).
        val_set: ``(input, target)`` pairs (or ``{"input", "target"}`` dicts) every accepted
            candidate is scored on; the per-example scores form the Pareto front.
        llm: the reflection model (an ``LLM`` or ``provider:model`` id; default model if None).
        objective: what the program should achieve, shown in the reflection prompt.
        prompt_dir: a folder whose ``gepa_reflection.md`` overrides the packaged prompt.
        seed: seeds Pareto sampling and merges.
        candidate_selection: how the next parent is drawn: ``pareto``, ``current_best``,
            ``epsilon_greedy`` or ``top_k_pareto``.
        module_selector: which components one reflection rewrites: ``round_robin`` or ``all``.
        use_merge: also try merging two candidates that improved different components.
        max_merge_invocations: most merges tried in a run.
        perfect_score: a minibatch where every score reaches it is not reflected on.
        failure_score: score of an example whose program raised.
        budget_tokens: token budget of each example's graph summary in the reflection prompt.
    """

    config_keys: ClassVar[tuple[str, ...]] = (
        "objective",
        "seed",
        "candidate_selection",
        "module_selector",
        "use_merge",
        "max_merge_invocations",
        "perfect_score",
        "failure_score",
        "budget_tokens",
    )
    default_objective: ClassVar[str] = (
        "Score as high as possible on every example, as the feedback explains."
    )

    def __init__(
        self,
        parameters: Iterable[ParameterNode],
        *,
        forward: Callable[[Any], Any],
        guide: Guide,
        val_set: Sequence[Any],
        llm: LLM | str | None = None,
        objective: str | None = None,
        prompt_dir: str | Path | None = None,
        seed: int = 0,
        candidate_selection: str = "pareto",
        module_selector: str = "round_robin",
        use_merge: bool = True,
        max_merge_invocations: int = 5,
        perfect_score: float = 1.0,
        failure_score: float = 0.0,
        budget_tokens: int = 1500,
    ) -> None:
        super().__init__(parameters, llm=llm, objective=objective, prompt_dir=prompt_dir)
        if candidate_selection not in _SELECTORS:
            raise GEPAError(
                f"candidate_selection must be one of {', '.join(_SELECTORS)}, "
                f"not {candidate_selection!r}"
            )
        if module_selector not in ("round_robin", "all"):
            raise GEPAError(
                f"module_selector must be 'round_robin' or 'all', not {module_selector!r}"
            )
        if not val_set:
            raise GEPAError("GEPA needs a non-empty val_set: its Pareto front is per example")
        components = {n: p for n, p in self.names.items() if isinstance(p.data, str)}
        if not components:
            raise GEPAError(
                "GEPA evolves text: none of the parameters holds a str "
                f"({', '.join(f'{n}: {type(p.data).__name__}' for n, p in self.names.items())})"
            )
        self.val_set = [example_pair(item) for item in val_set]
        self.seed = seed
        self.candidate_selection = candidate_selection
        self.module_selector = module_selector
        self.use_merge = use_merge
        self.max_merge_invocations = max_merge_invocations
        self.perfect_score = perfect_score
        self.failure_score = failure_score
        self.budget_tokens = budget_tokens
        self.adapter = TraceAdapter(
            forward, guide, components, failure_score=failure_score, budget_tokens=budget_tokens
        )
        self.rng = random.Random(seed)
        self.gepa_state: Any = None  # gepa's GEPAState, built on the first step
        self.parent = 0  # pool index of the candidate the parameters hold
        self._parts: EngineParts | None = None
        self._usage = StepUsage()
        self._llm_error: BaseException | None = None

    # -- results ---------------------------------------------------------------------------
    @property
    def pool(self) -> list[dict[str, str]]:
        """Every candidate kept so far (index 0 is the starting texts)."""
        return [] if self.gepa_state is None else list(self.gepa_state.program_candidates)

    @property
    def val_scores(self) -> list[float]:
        """Mean validation score of each pool candidate."""
        return [] if self.gepa_state is None else list(self.gepa_state.program_full_scores_val_set)

    def best_candidate(self) -> dict[str, str]:
        """The pool candidate with the best mean validation score (the current texts if none)."""
        if self.gepa_state is None:
            return self.adapter.current()
        scores = self.val_scores
        return dict(self.gepa_state.program_candidates[scores.index(max(scores))])

    # -- the iteration ---------------------------------------------------------------------
    def _suggest(self) -> Suggestion:
        items = self._require_feedback()
        if any(item.example is None for item in items):
            raise GEPAError(
                "GEPA re-runs the program on the minibatch, so it needs each example: call "
                "optimizer.backward(output, feedback, score=s, example=(input, target)) "
                "(optimizers.Trainer does)"
            )
        self._usage, self._llm_error = StepUsage(), None
        parts = self._build()
        state = self._ensure_state()
        parent = self._locate_parent(state)
        self._record_parent_rollouts(items, state.program_candidates[parent])
        state.i += 1
        state.full_program_trace.append({"i": state.i})
        notes = [f"iteration {state.i + 1}: parent {parent} (val {self.val_scores[parent]:.3g})"]
        if not self._try_merge(parts, state, notes):
            self._mutate(parts, state, parent, [item.example for item in items], notes)
            if len(notes) == 1:
                notes.append(self._why_no_proposal(items))
        self.parent = parts.selector.select_candidate_idx(state)
        notes.append(f"next parent: candidate {self.parent} of {len(state.program_candidates)}")
        chosen = state.program_candidates[self.parent]
        values = {n: t for n, t in chosen.items() if self.adapter.components[n].data != t}
        error = (
            None if self._llm_error is None else f"the reflection model failed: {self._llm_error}"
        )
        return Suggestion(values, reasoning="\n".join(notes), usage=self._usage, error=error)

    def _record_parent_rollouts(self, items: Sequence[Any], parent: Mapping[str, str]) -> None:
        """Hand gepa the caller's rollouts of the parent, so it does not run them again."""
        rollouts = []
        for item in items:
            x, _ = example_pair(item.example)
            score = self.failure_score if item.score is None else float(item.score)
            value = item.output.data
            trajectory = self.adapter.trajectory(x, item.output, value, score, item.feedback)
            rollouts.append((value, score, trajectory))
        examples = [item.example for item in items]
        self.adapter.record(parent, examples, TraceAdapter.batch_of(rollouts))

    def _mutate(
        self, parts: EngineParts, state: Any, parent: int, examples: list[Any], notes: list[str]
    ) -> None:
        """gepa's reflective mutation on this minibatch; an accepted child joins the pool."""
        from gepa.core.data_loader import ListDataLoader

        from trace_core.llm import BudgetExceeded

        parts.proposer.trainset = cast(Any, ListDataLoader(examples))
        proposals = parts.proposer.propose(state)
        if isinstance(self._llm_error, BudgetExceeded):
            raise self._llm_error  # gepa swallows reflection errors; a spent budget stops the run
        for proposal in proposals:
            before = sum(proposal.subsample_scores_before or [])
            after = sum(proposal.subsample_scores_after or [])
            texts = state.program_candidates[parent]
            changed = ", ".join(sorted(n for n, t in proposal.candidate.items() if t != texts[n]))
            if not parts.acceptance.should_accept(proposal, state):
                notes.append(
                    f"new text for {changed}: minibatch {before:g} -> {after:g}, "
                    "rejected (not better than the parent)"
                )
                continue
            index = self._add(proposal, state)
            notes.append(
                f"new text for {changed}: minibatch {before:g} -> {after:g}, "
                f"accepted as candidate {index} (val {self.val_scores[index]:.3g})"
            )
            if parts.merge is not None:  # gepa schedules a merge after each new candidate
                parts.merge.last_iter_found_new_program = True
                if parts.merge.total_merges_tested < self.max_merge_invocations:
                    parts.merge.merges_due += 1

    def _why_no_proposal(self, items: Sequence[Any]) -> str:
        scores = [item.score for item in items]
        if all(s is not None and s >= self.perfect_score for s in scores):
            return "minibatch already perfect: nothing to reflect on"
        if self._llm_error is not None:
            return f"the reflection model failed: {self._llm_error}"
        return "the reflection proposed no new text"

    def _try_merge(self, parts: EngineParts, state: Any, notes: list[str]) -> bool:
        """Attempt a scheduled merge (gepa's rule); True when one was evaluated."""
        merge = parts.merge
        if merge is None or merge.merges_due <= 0 or not merge.last_iter_found_new_program:
            if merge is not None:
                merge.last_iter_found_new_program = False
            return False
        proposal = merge.propose(state)
        merge.last_iter_found_new_program = False
        if proposal is None or proposal.tag != "merge":
            return False
        new_sum = sum(proposal.subsample_scores_after or [])
        if new_sum >= max(proposal.subsample_scores_before or [float("-inf")]):
            index = self._add(proposal, state)
            merge.merges_due -= 1
            merge.total_merges_tested += 1
            notes.append(f"merged {proposal.parent_program_ids} into candidate {index}")
        else:
            notes.append(f"merge of {proposal.parent_program_ids} scored lower; dropped")
        return True

    def _add(self, proposal: Any, state: Any) -> int:
        """Score an accepted candidate on the validation set and add it to the pool."""
        evaluation = self._evaluate_val(proposal.candidate)
        discovered_at = state.total_num_evals
        state.increment_evals(len(self.val_set))
        state.num_full_ds_evals += 1
        index: int = state.update_state_with_new_program(
            parent_program_idx=list(proposal.parent_program_ids),
            new_program=proposal.candidate,
            valset_evaluation=evaluation,
            run_dir=None,
            num_metric_calls_by_discovery_of_new_program=discovered_at,
        )
        return index

    def _evaluate_val(self, candidate: Mapping[str, str]) -> Any:
        from gepa.core.state import ValsetEvaluation

        result = self.adapter.evaluate(list(self.val_set), dict(candidate))
        return ValsetEvaluation(
            outputs_by_val_id=dict(enumerate(result.outputs)),
            scores_by_val_id=dict(enumerate(result.scores)),
        )

    def _ensure_state(self) -> Any:
        """The gepa state; the first call scores the starting texts on the validation set."""
        if self.gepa_state is None:
            from gepa.core.state import GEPAState

            self.gepa_state = GEPAState(
                self.adapter.current(), self._evaluate_val(self.adapter.current())
            )
            self.gepa_state.num_full_ds_evals = 1
            self.gepa_state.total_num_evals = len(self.val_set)
            self.parent = 0
        return self.gepa_state

    def _locate_parent(self, state: Any) -> int:
        """Pool index of the current texts; texts changed from outside join the pool first."""
        current = self.adapter.current()
        if state.program_candidates[self.parent] == current:
            return self.parent
        for index, candidate in enumerate(state.program_candidates):
            if candidate == current:
                self.parent = index
                return index
        from gepa.proposer.base import CandidateProposal

        outside: Any = CandidateProposal(candidate=current, parent_program_ids=[self.parent])
        self.parent = self._add(outside, state)
        return self.parent

    # -- gepa's parts ----------------------------------------------------------------------
    def _reflect(self, prompt: str | list[dict[str, Any]]) -> str:
        """gepa's reflection LM: one call through our LLM layer, usage counted."""
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        try:
            return self._complete(messages, self._usage).text
        except Exception as err:  # gepa logs and skips a failed reflection; we report it
            self._llm_error = err
            raise

    def _templates(self) -> dict[str, str]:
        templates = {}
        for name, param in self.adapter.components.items():
            constraint = describe_constraint(param)
            templates[name] = self._prompt(
                "gepa_reflection",
                variable=name,
                constraint=f" Its constraint: {constraint.rstrip('.')}." if constraint else "",
                objective=self.objective,
            )
        return templates

    def _build(self) -> EngineParts:
        if self._parts is None:
            self._parts = EngineParts(self)
        return self._parts

    # -- (de)serialization -----------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        merge = self._parts.merge if self._parts is not None else None
        gepa_state = None
        if self.gepa_state is not None:
            hidden = self.gepa_state._EXCLUDED_FROM_SERIALIZATION
            gepa_state = encode({k: v for k, v in vars(self.gepa_state).items() if k not in hidden})
        return {
            "gepa": gepa_state,
            "parent": self.parent,
            "rng": encode(self.rng.getstate()),
            "merge": None
            if merge is None
            else {
                "merges_due": merge.merges_due,
                "total_merges_tested": merge.total_merges_tested,
                "merges_performed": encode(merge.merges_performed),
                "last_iter_found_new_program": merge.last_iter_found_new_program,
            },
        }

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        from gepa.core.state import GEPAState

        self.rng.setstate(decode(state["rng"]))
        self.parent = int(state.get("parent", 0))
        self.gepa_state = None
        if state.get("gepa") is not None:
            self.gepa_state = GEPAState.__new__(GEPAState)
            vars(self.gepa_state).update(decode(state["gepa"]))
            self.gepa_state.is_consistent()
        merge = state.get("merge")
        parts = self._build()
        if merge is not None and parts.merge is not None:
            parts.merge.merges_due = merge["merges_due"]
            parts.merge.total_merges_tested = merge["total_merges_tested"]
            parts.merge.merges_performed = decode(merge["merges_performed"])
            parts.merge.last_iter_found_new_program = merge["last_iter_found_new_program"]
