"""The LLM optimizer contract, shaped like ``torch.optim.Optimizer``.

The base class owns the bookkeeping every algorithm shares: the parameter list and the names
prompts use for them, feedback collection, screening and applying suggestions (an invalid one is
rejected with a recorded reason and the parameter keeps its value), usage totals and JSON
(de)serialization. A subclass implements only :meth:`Optimizer._suggest`: turn what it has
seen into proposed new values.

Typical loop::

    opt = OptoPrime(agent.parameters(), llm="openai:gpt-4o-mini")
    opt.zero_feedback()
    out = agent(x)
    opt.backward(out, "the answer should be shorter")
    result = opt.step()          # StepResult: updates, rejected (with reasons), reasoning, usage
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from pydantic import BaseModel, Field

from optimizers.errors import NothingToOptimizeError, OptimizerError
from optimizers.prompts import render_prompt
from trace_core.llm.meter import LLMUsage

if TYPE_CHECKING:
    from trace_core.llm import LLM, Completion
    from trace_core.nodes import Node, ParameterNode


class OptimizerStateError(OptimizerError, ValueError):
    """A state dict cannot be loaded into this optimizer (wrong type, names or values)."""


class NoFeedbackError(OptimizerError, RuntimeError):
    """``step()`` was called before any ``backward(output, feedback)``."""


class OptimizerOptions(TypedDict, total=False):
    """The keyword options every LLM optimizer takes (see :class:`Optimizer`).

    Subclasses accept them as ``**options: Unpack[OptimizerOptions]`` and pass them on to
    ``Optimizer.__init__``, so they are declared and documented once.
    """

    llm: LLM | str | None
    objective: str | None
    prompt_dir: str | Path | None


@dataclass
class FeedbackItem:
    """One ``backward`` call: the output node, the feedback on it, an optional score and the
    ``(input, target)`` example that produced it (optimizers that re-run the program need it)."""

    output: Node
    feedback: Any
    score: float | None = None
    example: Any = None


# An optimizer step's usage is the LLM layer's one usage total (calls, tokens, cost).
StepUsage = LLMUsage


class Rejection(BaseModel):
    """A suggestion that was not applied, and why."""

    parameter: str = Field(description="the name the suggestion used")
    value: Any = Field(description="the suggested value (as received)")
    reason: str


class StepResult(BaseModel):
    """What one :meth:`Optimizer.step` (or :meth:`Optimizer.propose`) produced."""

    step: int = Field(description="index of this step (0 for the first)")
    updates: dict[str, Any] = Field(
        default_factory=dict,
        description="parameter name -> new value (applied by step(), proposed by propose())",
    )
    rejected: list[Rejection] = Field(default_factory=list)
    reasoning: str = ""
    usage: StepUsage = Field(default_factory=StepUsage)
    applied: bool = False
    error: str | None = Field(
        default=None, description="why the step produced no suggestion at all (e.g. bad reply)"
    )


@dataclass
class Suggestion:
    """What a subclass proposes: raw values by prompt name, before screening."""

    values: dict[str, Any]
    reasoning: str = ""
    usage: StepUsage = field(default_factory=StepUsage)
    error: str | None = None


def display_names(parameters: Iterable[ParameterNode]) -> dict[str, ParameterNode]:
    """Map the name prompts and saved state use to each parameter.

    A parameter is called by its ``name``; parameters that share a name are numbered in list
    order (``w:1``, ``w:2``). Unlike the process-unique ``label`` this numbering is the same in
    every process, so prompts, cache keys and checkpoints do not change when a run resumes.
    """
    params = list(parameters)
    counts: dict[str, int] = {}
    for param in params:
        counts[param.name] = counts.get(param.name, 0) + 1
    seen: dict[str, int] = {}
    names: dict[str, ParameterNode] = {}
    for param in params:
        if counts[param.name] == 1:
            names[param.name] = param
        else:
            seen[param.name] = seen.get(param.name, 0) + 1
            names[f"{param.name}:{seen[param.name]}"] = param
    return names


def describe_constraint(param: ParameterNode) -> str:
    """Render a parameter's constraints as text a model can read ('' when it has none).

    Text constraints are shown as written; a predicate is described by its docstring (so a
    predicate's docstring should state the rule), else by its name.
    """
    items = getattr(param, "constraints", None)
    if items is None:
        raw = getattr(param, "constraint", None)
        items = raw if isinstance(raw, list | tuple) else [raw]
    parts = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, str):
            parts.append(item)
        else:
            doc = (getattr(item, "__doc__", None) or "").strip()
            parts.append(doc or f"must satisfy {getattr(item, '__name__', 'a check')}")
    return "; ".join(parts)


def is_code_parameter(param: ParameterNode) -> bool:
    """True when the parameter holds a function's source (a trainable bundle's code)."""
    return bool(getattr(param, "is_code", False))


class Optimizer(ABC):
    """Base class of the LLM optimizers (torch-shaped; see module docstring).

    Args:
        parameters: the trainable nodes to optimize (e.g. ``module.parameters()``).
        llm: an ``LLM`` object, a ``provider:model`` id, or None for the default model
            (``OPTOFORGE_LLM``, else the embedded local model); resolved on first use, so
            construction does no I/O.
        objective: the instruction shown to the model (what the program should achieve).
        prompt_dir: a folder whose ``<name>.md`` files override the packaged prompts.
    """

    #: JSON-able options saved in state_dict (subclasses extend).
    config_keys: ClassVar[tuple[str, ...]] = ("objective",)
    default_objective: ClassVar[str] = (
        "Change the variables so that the feedback on the outputs improves."
    )

    def __init__(
        self,
        parameters: Iterable[ParameterNode],
        *,
        llm: LLM | str | None = None,
        objective: str | None = None,
        prompt_dir: str | Path | None = None,
        **config: Any,
    ) -> None:
        self.parameters: list[ParameterNode] = list(parameters)
        if not any(getattr(p, "trainable", False) for p in self.parameters):
            raise NothingToOptimizeError(
                f"{type(self).__name__} got {len(self.parameters)} parameters and none is "
                "trainable, so step() could never change anything; pass trainable nodes "
                "(node(value, trainable=True)) or module.parameters()"
            )
        if config:  # options a subclass does not declare arrive here: refuse, as Python would
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword arguments: "
                f"{', '.join(sorted(config))}; see help({type(self).__name__}) for its options"
            )
        self._llm = llm
        self.objective = objective or self.default_objective
        self.prompt_dir = prompt_dir
        self.config: dict[str, Any] = dict(config)
        self.step_count = 0
        self.usage = StepUsage()
        self.last_messages: list[dict[str, Any]] | None = None
        self._feedback: list[FeedbackItem] = []
        # Names the last prompt used, when they differ from `names` (see OptoPrime).
        self._prompt_names: dict[str, ParameterNode] = {}

    # -- model access ----------------------------------------------------------------------
    @property
    def llm(self) -> LLM:
        """The model this optimizer queries (resolved from an id or the default on first use)."""
        if self._llm is None:
            from trace_core.llm import default_llm

            self._llm = default_llm()
        elif isinstance(self._llm, str):
            from trace_core.llm import get_llm

            self._llm = get_llm(self._llm)
        return self._llm

    @property
    def budget(self) -> Any | None:
        """The model's ``Budget`` when it was built with one (None while the model is unset)."""
        if self._llm is None or isinstance(self._llm, str):
            return None
        return getattr(self._llm, "budget", None)

    def _complete(
        self, messages: list[dict[str, Any]], usage: StepUsage, response_format: Any = None
    ) -> Completion:
        """Ask the model; remember the prompt and count the usage."""
        self.last_messages = messages
        completion = self.llm.complete(messages, response_format=response_format)
        usage.add(completion)
        return completion

    def _prompt(self, name: str, **fields: object) -> str:
        return render_prompt(name, self.prompt_dir, **fields)

    # -- names -----------------------------------------------------------------------------
    @property
    def names(self) -> dict[str, ParameterNode]:
        """Prompt name -> parameter (see :func:`display_names`)."""
        return display_names(self.parameters)

    def _lookup(self, key: str) -> ParameterNode | None:
        if key in self._prompt_names:
            return self._prompt_names[key]
        names = self.names
        if key in names:
            return names[key]
        for param in self.parameters:  # labels are always accepted, even when names are unique
            if key == param.label:
                return param
        return None

    # -- feedback --------------------------------------------------------------------------
    @property
    def propagator(self) -> Any:
        """Propagator used by :meth:`backward` (None: trace_core's default)."""
        return None

    def zero_feedback(self) -> None:
        """Forget feedback from earlier runs (call before each new forward pass)."""
        for param in self.parameters:
            param.zero_feedback()
        self._feedback.clear()

    def backward(
        self, output: Node, feedback: Any, *, score: float | None = None, example: Any = None
    ) -> None:
        """Send ``feedback`` on ``output`` to the parameters; call once per batch item.

        ``score`` (optional, higher is better) is kept beside the feedback for optimizers that
        rank attempts (OPRO); a numeric ``feedback`` counts as its own score. ``example`` is the
        ``(input, target)`` pair the output came from: optimizers that re-run the program on
        the same minibatch (GEPA) need it; the Trainer always passes it.
        """
        output.backward(feedback, propagator=self.propagator)
        if score is None and isinstance(feedback, int | float) and not isinstance(feedback, bool):
            score = float(feedback)
        self._feedback.append(FeedbackItem(output, feedback, score, example))

    @property
    def feedback(self) -> list[FeedbackItem]:
        """The feedback given since the last :meth:`zero_feedback`, in order."""
        return list(self._feedback)

    def _require_feedback(self) -> list[FeedbackItem]:
        if not self._feedback:
            raise NoFeedbackError(
                f"{type(self).__name__}.step() needs feedback: call "
                "optimizer.backward(output, feedback) after running the program"
            )
        return list(self._feedback)

    def feedback_text(self) -> str:
        """All feedback of this step as one text (numbered when there are several)."""
        items = self._feedback
        if len(items) == 1:
            return _as_text(items[0].feedback)
        return "\n".join(f"[{i + 1}] {_as_text(item.feedback)}" for i, item in enumerate(items))

    def mean_score(self) -> float | None:
        """Mean of the scores given with this step's feedback (None when there are none)."""
        scores = [item.score for item in self._feedback if item.score is not None]
        return sum(scores) / len(scores) if scores else None

    # -- the update ------------------------------------------------------------------------
    @abstractmethod
    def _suggest(self) -> Suggestion:
        """Propose new values by prompt name (the one thing each algorithm implements)."""

    def propose(self) -> StepResult:
        """Ask for new values and screen them, without changing any parameter.

        Every suggestion is checked with ``param.validate`` (type, constraints, code that
        compiles and keeps its signature); the ones that fail are listed in ``rejected`` with
        the reason, and ``updates`` holds the rest, already coerced to the parameter's type.
        """
        from trace_core import InvalidUpdate

        suggestion = self._suggest()
        result = StepResult(
            step=self.step_count,
            reasoning=suggestion.reasoning,
            usage=suggestion.usage,
            error=suggestion.error,
        )
        for key, value in suggestion.values.items():
            param = self._lookup(str(key))
            if param is None:
                known = ", ".join(sorted(self.names)) or "(none)"
                reason = f"unknown variable {key!r}; the variables are: {known}"
                result.rejected.append(Rejection(parameter=str(key), value=value, reason=reason))
                continue
            try:
                result.updates[str(key)] = param.validate(value)
            except InvalidUpdate as err:
                result.rejected.append(
                    Rejection(parameter=str(key), value=value, reason=err.reason)
                )
        return result

    def step(self, *, verbose: bool = False) -> StepResult:
        """Propose new values and apply the valid ones via ``param.set`` (torch's ``step``).

        ``verbose`` prints the reasoning and the applied updates (Trace's ``step(verbose=True)``).
        """
        from trace_core import InvalidUpdate

        previous = {name: p.data for name, p in self.names.items()}
        result = self.propose()
        applied: dict[str, Any] = {}
        for key, value in result.updates.items():
            param = self._lookup(key)
            assert param is not None  # propose() screened unknown names out
            try:
                param.set(value)
            except InvalidUpdate as err:  # e.g. a predicate whose answer changed since propose()
                result.rejected.append(Rejection(parameter=key, value=value, reason=err.reason))
            else:
                applied[key] = param.data
        result.updates = applied
        result.applied = True
        self.usage = self.usage + result.usage
        self._after_step(result, previous)
        self.step_count += 1
        if verbose:
            print(f"step {self.step_count}: {result.reasoning}\nupdates: {applied}")
        return result

    def _after_step(self, result: StepResult, previous: dict[str, Any]) -> None:  # noqa: B027
        """Hook run after a step was applied; ``previous`` holds the values before it."""

    # -- (de)serialization -----------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        """Algorithm-specific JSON state (memory, history)."""
        return {}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:  # noqa: B027
        """Restore what :meth:`_extra_state` returned."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: parameter values, step count, usage, options, algorithm state.

        Trace parameters *are* the model, so unlike torch the values are included: loading the
        dict into a fresh optimizer over the same program restores the run exactly.
        """
        state = {
            "optimizer": type(self).__name__,
            "step": self.step_count,
            "parameters": {name: p.data for name, p in self.names.items()},
            "usage": self.usage.model_dump(),
            "config": {key: getattr(self, key) for key in self.config_keys},
            "state": self._extra_state(),
        }
        try:
            return json.loads(json.dumps(state))
        except (TypeError, ValueError) as err:
            raise OptimizerStateError(
                f"{type(self).__name__} state is not JSON-serializable ({err}); parameters must "
                "hold JSON values (str, numbers, bools, lists, dicts) to be saved"
            ) from err

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (parameter values are set, and so validated)."""
        if state.get("optimizer") != type(self).__name__:
            raise OptimizerStateError(
                f"state dict is for {state.get('optimizer')!r}, not {type(self).__name__}; "
                "load it into the optimizer class that saved it"
            )
        values = dict(state.get("parameters", {}))
        missing = sorted(set(self.names) - set(values))
        extra = sorted(set(values) - set(self.names))
        if missing or extra:
            raise OptimizerStateError(
                f"state dict parameters do not match: missing {missing}, unexpected {extra}; "
                "build the optimizer over the same parameters that were saved"
            )
        for name, param in self.names.items():
            _restore(param, values[name])
        self.step_count = int(state.get("step", 0))
        self.usage = StepUsage.model_validate(state.get("usage", {}))
        for key, value in dict(state.get("config", {})).items():
            if key in self.config_keys:
                setattr(self, key, value)
        self._load_extra_state(state.get("state", {}))


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def render_value(value: Any, limit: int = 2000) -> str:
    """A value as prompt text, cut to ``limit`` characters with a note saying how much was cut."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def _restore(param: ParameterNode, value: Any) -> None:
    """Set a saved value, turning JSON lists back into tuples when the parameter holds one."""
    if isinstance(param.data, tuple) and isinstance(value, list):
        value = tuple(value)
    if value != param.data:
        param.set(value)
