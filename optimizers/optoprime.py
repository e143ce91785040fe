"""OptoPrime: propose new parameter values from the traced subgraph and its feedback.

The prompt is built from ``trace_core.summarize`` (instruction, code, documentation, variables
with constraints, inputs, intermediate values, outputs, feedback) and asks for the JSON reply
``{"reasoning": str, "suggestion": {name: value}}``. The base class screens and applies the
suggestion; this module only turns a summary into a proposal, and optionally remembers the last
``memory_size`` (variables, feedback) pairs so the model can see what it already tried.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from optimizers.base import (
    Optimizer,
    StepResult,
    StepUsage,
    Suggestion,
    render_value,
)
from optimizers.replies import ask_for_suggestion

if TYPE_CHECKING:
    from typing import Unpack

    from optimizers.base import OptimizerOptions
    from trace_core.nodes import Node, ParameterNode

# A node label as the summary renders it: ``name:k`` with k unique in the process.
_LABEL = re.compile(r"(?<![\w.:])([A-Za-z_][\w.]*):(\d+)(?![\w:])")


class OptoPrime(Optimizer):
    """The OptoPrime optimizer (Cheng et al., "Trace is the Next AutoDiff").

    Args:
        memory_size: how many past (variables, feedback) pairs to show; 0 turns memory off.
        budget_tokens: token budget of the rendered graph summary.
        value_chars: longest rendering of one value in the memory section.
    """

    config_keys: ClassVar[tuple[str, ...]] = (
        "objective",
        "memory_size",
        "budget_tokens",
        "value_chars",
    )

    def __init__(
        self,
        parameters: Iterable[ParameterNode],
        *,
        memory_size: int = 0,
        budget_tokens: int = 8000,
        value_chars: int = 2000,
        **options: Unpack[OptimizerOptions],
    ) -> None:
        super().__init__(parameters, **options)
        if memory_size < 0:
            raise ValueError(f"memory_size must be >= 0, got {memory_size}")
        self.memory_size = memory_size
        self.budget_tokens = budget_tokens
        self.value_chars = value_chars
        self.memory: deque[dict[str, Any]] = deque(maxlen=memory_size or None)

    # -- prompt ----------------------------------------------------------------------------
    def summary_text(self) -> str:
        """The graph summary of this step's outputs as prompt text (see trace_core.summarize)."""
        from trace_core import summarize

        items = self._require_feedback()
        outputs = [item.output for item in items]
        # With a minibatch, number the feedback so item [i] pairs with the i-th output.
        summary = summarize(
            outputs[0] if len(outputs) == 1 else outputs,
            self.parameters,
            budget_tokens=self.budget_tokens,
            feedback=self.feedback_text() if len(outputs) > 1 else None,
        )
        shown = [*summary.variables, *summary.inputs, *summary.others, *summary.outputs]
        # Ops cut for the budget can still be named in code lines: then look at the whole graph.
        labels = None if summary.cut else {entry.label for entry in shown}
        text, relabel = stable_labels(summary.to_text(), outputs, labels)
        # The summary names nodes among everything it shows; replies use those names.
        self._prompt_names = {relabel.get(n, n): p for n, p in summary.parameters.items()}
        return text

    def memory_text(self) -> str:
        """The memory section ('' when memory is off or empty)."""
        if not self.memory_size or not self.memory:
            return ""
        entries = []
        for i, entry in enumerate(self.memory, start=1):
            values = "\n".join(
                f"  {name} = {render_value(value, self.value_chars)}"
                for name, value in entry["variables"].items()
            )
            entries.append(f"[attempt {i}]\nvariables:\n{values}\nfeedback: {entry['feedback']}")
        return "\n" + self._prompt("optoprime_memory", entries="\n\n".join(entries)) + "\n"

    def messages(self) -> list[dict[str, Any]]:
        """The chat messages this step sends (system rules + problem report)."""
        user = self._prompt(
            "optoprime_user",
            instruction=self.objective,
            summary=self.summary_text(),
            memory=self.memory_text(),
        )
        return [
            {"role": "system", "content": self._prompt("optoprime_system")},
            {"role": "user", "content": user},
        ]

    # -- algorithm -------------------------------------------------------------------------
    def _suggest(self) -> Suggestion:
        return ask_for_suggestion(self, self.messages(), StepUsage())

    def _after_step(self, result: StepResult, previous: dict[str, Any]) -> None:
        if self.memory_size:
            self.memory.append({"variables": previous, "feedback": self.feedback_text()})

    def _extra_state(self) -> dict[str, Any]:
        return {"memory": list(self.memory)}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.memory = deque(state.get("memory", []), maxlen=self.memory_size or None)


def stable_labels(
    text: str, outputs: list[Node], labels: set[str] | None = None
) -> tuple[str, dict[str, str]]:
    """Renumber the graph's node labels in ``text`` as ``name:1``, ``name:2``... by appearance.

    Labels carry a process-wide counter, so the same program yields different prompts in
    different processes; renumbered, a resumed run sends the very same prompts (and hits the
    LLM cache). ``labels`` limits the renumbering to those labels (default: every node of the
    outputs' graph). Returns the new text and the old -> new label map.
    """
    if labels is None:
        from trace_core.graph import topological_order

        labels = {node.label for node in topological_order(outputs)}
    mapping: dict[str, str] = {}
    counters: dict[str, int] = {}

    def renumber(match: re.Match[str]) -> str:
        label = match.group(0)
        if label not in labels:
            return label
        new = mapping.get(label)
        if new is None:
            name = match.group(1)
            counters[name] = counters.get(name, 0) + 1
            new = mapping[label] = f"{name}:{counters[name]}"
        return new

    return _LABEL.sub(renumber, text), mapping
