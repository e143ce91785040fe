"""TextGrad-style optimization: textual gradients flow backward, then one update per parameter.

``backward`` uses :class:`TextualGradientPropagator`, a trace_core ``Propagator``: at each
operation on a path from a parameter to the output it asks the model how each input should
change given the feedback on the operation's result (one call per operation, covering all its
inputs). Inputs that cannot reach a parameter get no message and cost no call. ``step`` then
asks, for each parameter that received gradients, for an improved value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from optimizers.base import (
    Optimizer,
    StepResult,
    StepUsage,
    Suggestion,
    describe_constraint,
    is_code_parameter,
    render_value,
)
from optimizers.replies import GradientReply, UpdateReply, parse_reply

if TYPE_CHECKING:
    from typing import Unpack

    from optimizers.base import OptimizerOptions
    from trace_core.nodes import MessageNode, Node, ParameterNode


class TextualGradientPropagator:
    """A trace_core propagator whose messages are model-written textual gradients."""

    def __init__(self, optimizer: TextGrad) -> None:
        self.optimizer = optimizer
        self._relevant: set[Node] = set()
        self.errors: list[str] = []

    def init(self, output: Node, feedback: Any) -> Any:
        """Find the nodes worth a gradient (those with a parameter upstream); pass feedback."""
        from trace_core.graph import topological_order

        params = set(self.optimizer.parameters)
        relevant: set[Node] = set()
        for node in topological_order(output):  # parents come first
            if node in params or any(p in relevant for p in node.parents):
                relevant.add(node)
        self._relevant = relevant
        return feedback if isinstance(feedback, str) else str(feedback)

    def propagate(self, node: MessageNode, message: Any) -> dict[Node, Any]:
        """One model call: a textual gradient for every input of ``node`` that matters."""
        from pydantic import ValidationError

        from trace_core.llm import LLMOutputError

        inputs = {key: parent for key, parent in node.inputs.items() if parent in self._relevant}
        if not inputs:
            return {}
        opt = self.optimizer
        operation = node.description or node.name
        source = getattr(getattr(node, "op", None), "source", "")
        if source:
            operation += f"\n\n{source}"
        prompt = opt._prompt(
            "textgrad_gradient",
            operation=operation,
            inputs="\n".join(
                f"- {key} = {render_value(parent.data, opt.value_chars)}"
                for key, parent in node.inputs.items()
            ),
            output=render_value(node.data, opt.value_chars),
            feedback=message,
        )
        try:
            completion = opt._complete(
                [{"role": "user", "content": prompt}], opt.pending_usage, GradientReply
            )
            reply = parse_reply(completion, GradientReply)
        except (LLMOutputError, ValidationError) as err:
            # Without a gradient the feedback itself still tells the inputs something.
            self.errors.append(f"gradient for {node.label} failed: {err}")
            return dict.fromkeys(inputs.values(), message)
        assert isinstance(reply, GradientReply)
        return {parent: f"{reply.gradients.get(key, message)}" for key, parent in inputs.items()}

    def aggregate(self, node: Node, messages: list[Any]) -> Any:
        """Several children wrote gradients for one node: keep them all, one per line."""
        return "\n".join(f"- {m}" for m in dict.fromkeys(str(m) for m in messages))


class TextGrad(Optimizer):
    """Textual-gradient descent: per-node gradients at ``backward``, per-parameter updates."""

    config_keys: ClassVar[tuple[str, ...]] = ("objective", "value_chars")

    def __init__(
        self,
        parameters: Iterable[ParameterNode],
        *,
        value_chars: int = 4000,
        **options: Unpack[OptimizerOptions],
    ) -> None:
        super().__init__(parameters, **options)
        self.value_chars = value_chars
        self.pending_usage = StepUsage()
        self._propagator = TextualGradientPropagator(self)

    @property
    def propagator(self) -> TextualGradientPropagator:
        """The propagator that turns feedback into textual gradients for this optimizer."""
        return self._propagator

    def zero_feedback(self) -> None:
        """Clear feedback and the errors the propagator recorded in the last backward pass."""
        super().zero_feedback()
        self._propagator.errors.clear()

    def _variable_text(self, name: str, param: ParameterNode) -> str:
        if is_code_parameter(param):
            return f"(code) {name}:\n{param.data}"
        rendered = render_value(param.data, self.value_chars)
        return f"({type(param.data).__name__}) {name} = {rendered}"

    def _suggest(self) -> Suggestion:
        from pydantic import ValidationError

        from trace_core.llm import LLMOutputError

        self._require_feedback()
        usage, self.pending_usage = self.pending_usage, StepUsage()
        values: dict[str, Any] = {}
        reasons: list[str] = []
        errors = list(self._propagator.errors)
        for name, param in self.names.items():
            gradients = param.feedback
            if not gradients:
                continue
            prompt = self._prompt(
                "textgrad_update",
                instruction=self.objective,
                variable=self._variable_text(name, param),
                constraints=describe_constraint(param) or "(none)",
                feedback="\n".join(str(g) for g in gradients),
            )
            try:
                completion = self._complete(
                    [{"role": "user", "content": prompt}], usage, UpdateReply
                )
                reply = parse_reply(completion, UpdateReply)
            except (LLMOutputError, ValidationError) as err:
                errors.append(f"update of {name} failed: {err}")
                continue
            assert isinstance(reply, UpdateReply)
            values[name] = reply.value
            reasons.append(f"{name}: {reply.reasoning}")
        return Suggestion(
            values, reasoning="\n".join(reasons), usage=usage, error="; ".join(errors) or None
        )

    def _after_step(self, result: StepResult, previous: dict[str, Any]) -> None:
        self._propagator.errors.clear()

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.pending_usage = StepUsage()
