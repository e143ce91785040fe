"""OPRO: optimization by prompting with a scored history of past values.

Each step shows the model the values tried so far with the score and feedback each received
(best last, as in the OPRO paper's meta-prompt), and asks for new values expected to score
higher. It ignores the graph: only values and their outcomes matter, which suits black-box
numeric or prompt tuning where the structure carries little information.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from optimizers.base import (
    Optimizer,
    StepResult,
    StepUsage,
    Suggestion,
    describe_constraint,
    render_value,
)
from optimizers.replies import ask_for_suggestion

if TYPE_CHECKING:
    from typing import Unpack

    from optimizers.base import OptimizerOptions
    from trace_core.nodes import ParameterNode


class OproEntry(BaseModel):
    """One tried set of values and how it did."""

    values: dict[str, Any]
    score: float | None = None
    feedback: str = ""


class OPRO(Optimizer):
    """Propose values from a meta-prompt listing earlier attempts with their scores.

    Args:
        history_size: how many past attempts (the best ones) the meta-prompt shows.
        value_chars: longest rendering of one value in the prompt.
    """

    config_keys: ClassVar[tuple[str, ...]] = ("objective", "history_size", "value_chars")

    def __init__(
        self,
        parameters: Iterable[ParameterNode],
        *,
        history_size: int = 20,
        value_chars: int = 2000,
        **options: Unpack[OptimizerOptions],
    ) -> None:
        super().__init__(parameters, **options)
        self.history_size = history_size
        self.value_chars = value_chars
        self.history: list[OproEntry] = []

    def _current_entry(self) -> OproEntry:
        self._require_feedback()
        return OproEntry(
            values={name: p.data for name, p in self.names.items()},
            score=self.mean_score(),
            feedback=self.feedback_text(),
        )

    def _history_text(self, entries: list[OproEntry]) -> str:
        # Best attempts last: the model reads the strongest examples right before answering.
        shown = sorted(entries, key=lambda e: float("-inf") if e.score is None else e.score)
        shown = shown[-self.history_size :]
        blocks = []
        for entry in shown:
            values = ", ".join(
                f"{name} = {render_value(v, self.value_chars)}" for name, v in entry.values.items()
            )
            score = "unscored" if entry.score is None else f"{entry.score:g}"
            blocks.append(f"- values: {values}\n  score: {score}\n  feedback: {entry.feedback}")
        return "\n".join(blocks)

    def _variables_text(self) -> str:
        lines = []
        for name, param in self.names.items():
            constraint = describe_constraint(param)
            line = f"({type(param.data).__name__}) {name}"
            if constraint:
                line += f"  [constraint: {constraint}]"
            lines.append(line)
        return "\n".join(lines)

    def _suggest(self) -> Suggestion:
        entries = [*self.history, self._current_entry()]
        messages = [
            {"role": "system", "content": self._prompt("opro_system")},
            {
                "role": "user",
                "content": self._prompt(
                    "opro_user",
                    instruction=self.objective,
                    variables=self._variables_text(),
                    history=self._history_text(entries),
                ),
            },
        ]
        return ask_for_suggestion(self, messages, StepUsage())

    def _after_step(self, result: StepResult, previous: dict[str, Any]) -> None:
        self.history.append(
            OproEntry(values=previous, score=self.mean_score(), feedback=self.feedback_text())
        )

    def _extra_state(self) -> dict[str, Any]:
        return {"history": [json.loads(e.model_dump_json()) for e in self.history]}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.history = [OproEntry.model_validate(e) for e in state.get("history", [])]
