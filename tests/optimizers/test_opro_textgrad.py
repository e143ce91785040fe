"""OPRO's scored history and the TextGrad-style propagator and update."""

from __future__ import annotations

import json
from typing import Any

from optimizers import OPRO, TextGrad, TextualGradientPropagator
from trace_core import bundle, node
from trace_core.llm import ScriptedLLM
from trace_core.propagators import Propagator


@bundle()
def square(x: float) -> float:
    """Square the input."""
    return x * x


@bundle()
def shout(text: str, suffix: str) -> str:
    """Upper-case the text and append the suffix."""
    return text.upper() + suffix


def test_opro_prompt_lists_past_values_with_scores_best_last() -> None:
    x = node(1.0, name="x", trainable=True, constraint="0 <= x <= 10")
    llm = ScriptedLLM([json.dumps({"suggestion": {"x": v}}) for v in (3.0, 2.0, 2.5)])
    opt = OPRO([x], llm=llm, objective="make x*x close to 6")
    for _ in range(3):
        opt.zero_feedback()
        y = square(x)
        score = -abs(y.data - 6)
        opt.backward(y, f"x*x = {y.data:g}", score=score)
        opt.step()
    prompt = llm.calls[2][-1]["content"]
    # tried: x=1 (-5), x=3 (-3), x=2 (-2); best (x=2) is listed last
    assert "0 <= x <= 10" in prompt
    i1, i3, i2 = (prompt.index(f"x = {v}") for v in ("1.0", "3.0", "2.0"))
    assert i1 < i3 < i2
    assert "score: -2" in prompt
    assert x.data == 2.5
    assert [e.score for e in opt.history] == [-5.0, -3.0, -2.0]


def test_opro_state_dict_keeps_the_history() -> None:
    x = node(1.0, name="x", trainable=True)
    opt = OPRO([x], llm=ScriptedLLM([json.dumps({"suggestion": {"x": 2.0}})]))
    opt.backward(square(x), 0.5)
    opt.step()
    state = json.loads(json.dumps(opt.state_dict()))
    y = node(9.0, name="x", trainable=True)
    restored = OPRO([y], llm=ScriptedLLM([]))
    restored.load_state_dict(state)
    assert y.data == 2.0
    assert restored.history == opt.history
    assert restored.history[0].score == 0.5


def test_textgrad_propagator_follows_trace_core_protocol() -> None:
    opt = TextGrad([node("a", name="p", trainable=True)], llm=ScriptedLLM([]))
    assert isinstance(opt.propagator, Propagator)
    assert isinstance(opt.propagator, TextualGradientPropagator)


def test_textgrad_asks_one_gradient_per_operation_then_updates_the_parameter() -> None:
    greeting = node("hello", name="greeting", trainable=True)
    calls: list[str] = []

    def model(messages: list[dict[str, Any]]) -> str:
        prompt = messages[-1]["content"]
        calls.append(prompt)
        if "textual gradient" in prompt:
            return json.dumps({"gradients": {"text": "use a friendlier greeting word"}})
        return json.dumps({"reasoning": "friendlier", "value": "hi there"})

    opt = TextGrad([greeting], llm=ScriptedLLM(model))
    out = shout(greeting, "!")
    opt.backward(out, "too formal")
    # the constant suffix cannot reach a parameter, so only 'text' got a gradient
    assert greeting.feedback == ["use a friendlier greeting word"]
    assert len(calls) == 1 and "too formal" in calls[0]
    result = opt.step()
    assert greeting.data == "hi there"
    assert result.updates == {"greeting": "hi there"}
    assert result.usage.calls == 2  # the gradient call is counted in the step's usage
    assert "use a friendlier greeting word" in calls[1]


def test_textgrad_rejects_an_update_of_the_wrong_type() -> None:
    n = node(3, name="n", trainable=True)

    def model(messages: list[dict[str, Any]]) -> str:
        if "textual gradient" in messages[-1]["content"]:
            return json.dumps({"gradients": {"x": "make it larger"}})
        return json.dumps({"reasoning": "", "value": "larger"})

    opt = TextGrad([n], llm=ScriptedLLM(model))
    opt.backward(square(n), "too small")
    result = opt.step()
    assert n.data == 3
    assert result.rejected and result.rejected[0].parameter == "n"
