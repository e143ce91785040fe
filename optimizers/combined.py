"""Several optimizers stepping on the same feedback (``optoprime+alphaopt``).

Each member owns its own parameters (they must not overlap). ``backward`` propagates the
feedback through the graph once and hands every member the same (output, feedback, score)
items; ``step`` steps each member in order and merges their results. The state dict holds each
member's state, so a run directory resumes a combination exactly like a single optimizer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from optimizers.base import (
    FeedbackItem,
    Optimizer,
    OptimizerStateError,
    StepResult,
    StepUsage,
    Suggestion,
)

if TYPE_CHECKING:
    from trace_core.nodes import Node


class CombinedOptimizer(Optimizer):
    """Members step one after the other on one minibatch's feedback; one optimizer outside."""

    def __init__(self, members: Sequence[Optimizer]) -> None:
        if not members:
            raise ValueError("a combination needs at least one optimizer")
        seen: set[int] = set()
        params = []
        for member in members:
            for param in member.parameters:
                if id(param) in seen:
                    raise ValueError(
                        f"parameter {param.name!r} is trained by two optimizers of the "
                        "combination; give each optimizer its own parameters"
                    )
                seen.add(id(param))
                params.append(param)
        super().__init__(params)
        self.members = list(members)

    @property
    def budget(self) -> Any | None:
        """The first member's budget (members normally share one LLM)."""
        for member in self.members:
            if member.budget is not None:
                return member.budget
        return None

    def zero_feedback(self) -> None:
        """Clear the feedback of every member."""
        super().zero_feedback()
        for member in self.members:
            member.zero_feedback()

    def backward(
        self, output: Node, feedback: Any, *, score: float | None = None, **extra: Any
    ) -> None:
        """Propagate once; every member sees the same feedback item (``extra`` included)."""
        super().backward(output, feedback, score=score, **extra)
        item: FeedbackItem = self._feedback[-1]
        for member in self.members:
            member._feedback.append(dataclasses.replace(item))

    def _suggest(self) -> Suggestion:  # pragma: no cover - step() and propose() delegate
        raise NotImplementedError("CombinedOptimizer delegates to its members")

    def _merge(self, results: list[StepResult], applied: bool) -> StepResult:
        usage = StepUsage()
        for result in results:
            usage = usage + result.usage
        errors = [r.error for r in results if r.error]
        return StepResult(
            step=self.step_count,
            updates={k: v for r in results for k, v in r.updates.items()},
            rejected=[rej for r in results for rej in r.rejected],
            reasoning="\n\n".join(
                f"[{type(m).__name__}] {r.reasoning}"
                for m, r in zip(self.members, results, strict=True)
                if r.reasoning
            ),
            usage=usage,
            applied=applied,
            error="; ".join(errors) or None,
        )

    def propose(self) -> StepResult:
        """Every member's proposal, merged (nothing is applied)."""
        return self._merge([m.propose() for m in self.members], applied=False)

    def step(self) -> StepResult:
        """Step every member on the same feedback, in order; merged result."""
        result = self._merge([m.step() for m in self.members], applied=True)
        self.usage = self.usage + result.usage
        self.step_count += 1
        return result

    def state_dict(self) -> dict[str, Any]:
        """Each member's state dict, in order."""
        return {
            "optimizer": type(self).__name__,
            "step": self.step_count,
            "usage": self.usage.model_dump(),
            "members": [m.state_dict() for m in self.members],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned into the same combination of members."""
        members = list(state.get("members", []))
        if state.get("optimizer") != type(self).__name__ or len(members) != len(self.members):
            raise OptimizerStateError(
                f"state dict is for {state.get('optimizer')!r} with {len(members)} member(s), "
                f"not this combination of {len(self.members)}; resume with the same --optimizer"
            )
        for member, member_state in zip(self.members, members, strict=True):
            member.load_state_dict(member_state)
        self.step_count = int(state.get("step", 0))
        self.usage = StepUsage.model_validate(state.get("usage", {}))
