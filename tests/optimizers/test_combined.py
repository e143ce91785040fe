"""CombinedOptimizer: members step on the same feedback, and the combination resumes."""

from __future__ import annotations

from typing import Any

import pytest

from optimizers.base import Optimizer, Suggestion
from optimizers.combined import CombinedOptimizer
from trace_core import bundle, node


class _Echo(Optimizer):
    """Sets its one parameter to the feedback it saw (so tests can see what reached it)."""

    def _suggest(self) -> Suggestion:
        return Suggestion(
            values={next(iter(self.names)): " | ".join(self.feedback_text().split("\n"))}
        )


@bundle()
def _join(a: str, b: str) -> str:
    return a + b


def _setup() -> tuple[Any, Any, CombinedOptimizer]:
    a = node("a", name="a", trainable=True)
    b = node("b", name="b", trainable=True)
    return a, b, CombinedOptimizer([_Echo([a], llm="scripted:x"), _Echo([b], llm="scripted:x")])


def test_every_member_steps_on_the_same_feedback() -> None:
    a, b, opt = _setup()
    opt.zero_feedback()
    opt.backward(_join(a, b), "first", score=0.0)
    opt.backward(_join(a, b), "second", score=1.0)
    result = opt.step()
    assert a.data == b.data == "[1] first | [2] second"
    assert result.updates == {"a": a.data, "b": b.data}
    assert opt.step_count == 1


def test_state_dict_round_trip_restores_each_member() -> None:
    a, b, opt = _setup()
    opt.zero_feedback()
    opt.backward(_join(a, b), "x")
    opt.step()
    state = opt.state_dict()
    a2, b2, fresh = _setup()
    fresh.load_state_dict(state)
    assert (a2.data, b2.data, fresh.step_count) == ("x", "x", 1)


def test_a_parameter_trained_by_two_members_is_refused() -> None:
    a = node("a", name="a", trainable=True)
    with pytest.raises(ValueError, match="two optimizers"):
        CombinedOptimizer([_Echo([a]), _Echo([a])])
