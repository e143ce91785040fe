"""The bridge between a traced trace_core program and the `gepa` package's engine.

GEPA (reflective prompt evolution) sees a program as a *candidate*: a map from component name
to text. :class:`TraceAdapter` implements gepa's ``GEPAAdapter`` protocol for any program whose
text parameters are the components: ``evaluate`` sets a candidate's texts on the parameters,
runs ``forward`` on each example and scores it with the user's ``guide``; with
``capture_traces`` it keeps, per example, the summary of the traced graph that produced the
output (``trace_core.summarize``) beside the feedback, and ``make_reflective_dataset`` turns
those into the records the reflection prompt shows. It works with ``gepa.optimize`` directly,
and :class:`optimizers.gepa.GEPA` uses it to run GEPA one iteration per ``step()``
(:class:`EngineParts` wires gepa's proposer, selectors and merger to that optimizer).

The candidate's texts are set through ``param.set`` (so constraints hold) and the previous
values are restored after each batch: evaluating a candidate never leaves it applied.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from optimizers.evaluate import error_feedback
from trace_core.errors import OptoforgeError

if TYPE_CHECKING:
    from gepa import EvaluationBatch

    from trace_core.nodes import Node, ParameterNode

Guide = Callable[[Any, Any], tuple[float, Any]]

_log = logging.getLogger(__name__)


class GEPAError(OptoforgeError, ValueError):
    """GEPA cannot run as configured (no text parameter, missing examples, unknown names)."""


def example_pair(item: Any) -> tuple[Any, Any]:
    """An example as ``(input, target)``: a pair, or a dict with ``input`` and ``target``."""
    if isinstance(item, Mapping):
        return item["input"], item["target"]
    x, target = item
    return x, target


def as_text(value: Any, limit: int = 2000) -> str:
    """A value as reflection-prompt text, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text) - limit} more chars]"


class TraceAdapter:
    """A ``gepa.GEPAAdapter`` for a trace_core program whose text parameters are components.

    Args:
        forward: runs the program on one example input and returns its output (a Node).
        guide: ``guide(output_value, target) -> (score, feedback)``; higher is better.
        components: component name -> the text ``ParameterNode`` it sets.
        failure_score: score of an example whose program raised or whose candidate text was
            rejected by a parameter's constraint.
        budget_tokens: token budget of each example's graph summary in the reflective dataset.
    """

    #: gepa asks the reflection LM itself (with our LLM layer as the LM) when this is None.
    propose_new_texts = None

    def __init__(
        self,
        forward: Callable[[Any], Any],
        guide: Guide,
        components: Mapping[str, ParameterNode],
        *,
        failure_score: float = 0.0,
        budget_tokens: int = 1500,
    ) -> None:
        if not components:
            raise GEPAError("GEPA needs at least one text (str) parameter to evolve")
        self.forward = forward
        self.guide = guide
        self.components = dict(components)
        self.failure_score = failure_score
        self.budget_tokens = budget_tokens
        self._recorded: tuple[dict[str, str], list[Any], EvaluationBatch] | None = None

    # -- candidates ------------------------------------------------------------------------
    def current(self) -> dict[str, str]:
        """The candidate the parameters hold now."""
        return {name: param.data for name, param in self.components.items()}

    @contextmanager
    def applied(self, candidate: Mapping[str, str]) -> Iterator[str | None]:
        """Set ``candidate`` on the parameters for the block, then restore the old values.

        Yields None, or the reason a text was rejected by its parameter (then the block should
        score the candidate as failed: an invalid text cannot run).
        """
        from trace_core import InvalidUpdate

        unknown = sorted(set(candidate) - set(self.components))
        if unknown:
            raise GEPAError(f"unknown GEPA components {unknown}; known: {sorted(self.components)}")
        previous = self.current()
        error: str | None = None
        try:
            for name, text in candidate.items():
                if self.components[name].data != text:
                    try:
                        self.components[name].set(text)
                    except InvalidUpdate as err:
                        error = f"the new value of {name} was rejected: {err.reason}"
                        break
            yield error
        finally:
            for name, value in previous.items():
                if self.components[name].data != value:
                    self.components[name].set(value)

    def record(
        self, candidate: Mapping[str, str], batch: list[Any], result: EvaluationBatch
    ) -> None:
        """Remember rollouts already made (the Trainer's minibatch) so gepa does not redo them.

        ``evaluate`` returns ``result`` when asked for ``candidate`` on these very examples.
        """
        self._recorded = (dict(candidate), list(batch), result)

    # -- gepa's adapter protocol -----------------------------------------------------------
    def evaluate(
        self, batch: list[Any], candidate: dict[str, str], capture_traces: bool = False
    ) -> EvaluationBatch:
        """Run the program with ``candidate`` on ``batch``: outputs, per-item scores, traces."""
        from gepa import EvaluationBatch

        if self._recorded is not None:
            cand, examples, result = self._recorded
            same = len(examples) == len(batch) and all(
                a is b for a, b in zip(examples, batch, strict=True)
            )
            if same and cand == candidate:
                return result
        outputs: list[Any] = []
        scores: list[float] = []
        trajectories: list[dict[str, Any]] = []
        with self.applied(candidate) as rejected:
            for item in batch:
                x, target = example_pair(item)
                if rejected is not None:
                    out, value, score, feedback = None, None, self.failure_score, rejected
                else:
                    out, value, score, feedback = self.rollout(x, target, trace=capture_traces)
                outputs.append(value)
                scores.append(score)
                if capture_traces:
                    trajectories.append(self.trajectory(x, out, value, score, feedback))
        return EvaluationBatch(
            outputs=outputs, scores=scores, trajectories=trajectories if capture_traces else None
        )

    def make_reflective_dataset(
        self,
        candidate: dict[str, str],
        eval_batch: EvaluationBatch,
        components_to_update: list[str],
    ) -> dict[str, list[dict[str, Any]]]:
        """Per component, one record per example: input, output, score, feedback, trace.

        The records are the same for every component: the trace shows how all the texts
        reached the output, so the reflection LM can tell which part of its text mattered.
        """
        records = [
            {
                "Input": t["input"],
                "Output": t["output"],
                "Score": t["score"],
                "Feedback": t["feedback"],
                "Trace": t["trace"],
            }
            for t in eval_batch.trajectories or []
        ]
        return {name: records for name in components_to_update}

    # -- one example -----------------------------------------------------------------------
    def rollout(self, x: Any, target: Any, *, trace: bool) -> tuple[Node | None, Any, float, Any]:
        """Run and score one example: (output node, output value, score, feedback)."""
        from trace_core import ExecutionError, Node, no_trace

        with nullcontext() if trace else no_trace():
            try:
                out = self.forward(x)
            except ExecutionError as err:
                return err.exception_node, None, self.failure_score, error_feedback(err)
        node = out if isinstance(out, Node) else None
        value = out.data if node is not None else out
        score, feedback = self.guide(value, target)
        return node, value, float(score), feedback

    def trajectory(
        self, x: Any, out: Node | None, value: Any, score: float, feedback: Any
    ) -> dict[str, Any]:
        """What the reflective dataset needs from one rollout (all text, JSON-able)."""
        from trace_core import summarize

        trace = ""
        if out is not None:
            summary = summarize(
                out,
                list(self.components.values()),
                budget_tokens=self.budget_tokens,
                feedback=as_text(feedback),
                labels="local",
            )
            trace = summary.to_text()
        return {
            "input": as_text(x),
            "output": as_text(value),
            "score": f"{score:g}",
            "feedback": as_text(feedback),
            "trace": trace,
        }

    @staticmethod
    def batch_of(rollouts: Sequence[tuple[Any, float, dict[str, Any]]]) -> EvaluationBatch:
        """An ``EvaluationBatch`` of rollouts made elsewhere: (output value, score, trajectory)."""
        from gepa import EvaluationBatch

        return EvaluationBatch(
            outputs=[r[0] for r in rollouts],
            scores=[r[1] for r in rollouts],
            trajectories=[r[2] for r in rollouts],
        )


class EngineParts:
    """gepa's proposer, parent selector, merger and acceptance rule, wired to one optimizer.

    ``opt`` is a :class:`optimizers.gepa.GEPA`; its random generator is shared by the Pareto
    selector and the merger (as in ``gepa.optimize``), so saving it saves their state.
    """

    def __init__(self, opt: Any) -> None:
        from gepa.core.data_loader import ListDataLoader
        from gepa.logging.experiment_tracker import create_experiment_tracker
        from gepa.proposer.merge import MergeProposer
        from gepa.proposer.reflective_mutation.reflective_mutation import (
            ReflectiveMutationProposer,
        )
        from gepa.strategies import candidate_selector as cs
        from gepa.strategies.acceptance import StrictImprovementAcceptance
        from gepa.strategies.component_selector import (
            AllReflectionComponentSelector,
            RoundRobinReflectionComponentSelector,
        )

        log = _GepaLog()
        self.selector = {
            "pareto": lambda: cs.ParetoCandidateSelector(rng=opt.rng),
            "current_best": lambda: cs.CurrentBestCandidateSelector(),
            "epsilon_greedy": lambda: cs.EpsilonGreedyCandidateSelector(0.1, rng=opt.rng),
            "top_k_pareto": lambda: cs.TopKParetoCandidateSelector(5, rng=opt.rng),
        }[opt.candidate_selection]()
        modules = (
            RoundRobinReflectionComponentSelector()
            if opt.module_selector == "round_robin"
            else AllReflectionComponentSelector()
        )
        self.acceptance = StrictImprovementAcceptance()
        self.proposer = ReflectiveMutationProposer(
            logger=log,
            trainset=ListDataLoader([]),
            adapter=opt.adapter,
            candidate_selector=_Current(opt),
            module_selector=modules,
            batch_sampler=_WholeBatch(),
            perfect_score=opt.perfect_score,
            skip_perfect_score=True,
            experiment_tracker=create_experiment_tracker(),
            reflection_lm=opt._reflect,
            reflection_prompt_template=opt._templates(),
        )
        self.merge: Any = None
        if opt.use_merge:

            def evaluator(batch: list[Any], candidate: dict[str, str]) -> tuple[Any, Any, None]:
                result = opt.adapter.evaluate(batch, candidate)
                return result.outputs, result.scores, None

            self.merge = MergeProposer(
                logger=log,
                valset=ListDataLoader(opt.val_set),
                evaluator=evaluator,
                use_merge=True,
                max_merge_invocations=opt.max_merge_invocations,
                val_overlap_floor=min(5, len(opt.val_set)),
                rng=opt.rng,
            )


class _Current:
    """gepa candidate selector that picks the parent the parameters hold (the Trainer ran it)."""

    def __init__(self, opt: Any) -> None:
        self.opt = opt

    def select_candidate_idx(self, state: Any) -> int:
        return self.opt.parent


class _WholeBatch:
    """gepa batch sampler that takes the whole minibatch the caller already ran."""

    def next_minibatch_ids(self, loader: Any, state: Any) -> list[int]:
        return list(loader.all_ids())


class _GepaLog:
    """gepa's logger protocol, sent to Python logging (debug) instead of stdout."""

    def log(self, message: str) -> None:
        _log.debug("%s", as_text(message, 4000))
