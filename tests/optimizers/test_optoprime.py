"""OptoPrime and the Optimizer contract: feedback routing, rejections, memory, state."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from optimizers import NoFeedbackError, OptimizerStateError, OptoPrime
from trace_core import bundle, node
from trace_core.llm import ScriptedLLM


def reply(suggestion: dict[str, Any], reasoning: str = "because") -> str:
    return json.dumps({"reasoning": reasoning, "suggestion": suggestion})


def user_prompt(llm: ScriptedLLM, call: int) -> str:
    return llm.calls[call][-1]["content"]


@bundle()
def add(a: Any, b: Any) -> Any:
    """Add two values."""
    return a + b


def test_feedback_reaches_only_parameters_upstream_of_the_output() -> None:
    used = node(2, name="used", trainable=True)
    unused = node(5, name="unused", trainable=True)
    out = add(used, 3)
    llm = ScriptedLLM([reply({"used": 7})])
    opt = OptoPrime([used, unused], llm=llm)
    opt.backward(out, "the sum should be 10")
    assert used.feedback == ["the sum should be 10"]
    assert unused.feedback == []
    result = opt.step()
    assert used.data == 7 and unused.data == 5
    assert result.updates == {"used": 7}
    prompt = user_prompt(llm, 0)
    assert "the sum should be 10" in prompt
    assert "used" in prompt


def test_step_applies_valid_values_coerced_to_the_parameter_type() -> None:
    count = node(3, name="count", trainable=True)
    llm = ScriptedLLM([reply({"count": 10.0})])
    opt = OptoPrime([count], llm=llm)
    opt.backward(add(count, 1), "too small")
    result = opt.step()
    assert count.data == 10 and isinstance(count.data, int)
    assert result.applied and result.rejected == []
    assert result.reasoning == "because"
    assert result.usage.calls == 1 and result.usage.prompt_tokens > 0


def _within_ten(value: int) -> bool:
    """value must be at most 10."""
    return value <= 10


@pytest.mark.parametrize(
    ("suggestion", "reason_part"),
    [
        ({"nonexistent": 4}, "unknown variable 'nonexistent'"),
        ({"n": "ten"}, "int"),
        ({"n": 2.5}, "whole number"),
        ({"n": 11}, "_within_ten"),
    ],
    ids=["unknown-key", "bad-type", "lossy-number", "constraint-violation"],
)
def test_invalid_suggestion_leaves_parameter_unchanged_and_records_why(
    suggestion: dict[str, Any], reason_part: str
) -> None:
    n = node(4, name="n", trainable=True, constraint=[_within_ten, "n <= 10"])
    opt = OptoPrime([n], llm=ScriptedLLM([reply(suggestion)]))
    opt.backward(add(n, 1), "change n")
    result = opt.step()
    assert n.data == 4
    assert result.updates == {}
    assert len(result.rejected) == 1
    assert result.rejected[0].parameter == next(iter(suggestion))
    assert reason_part in result.rejected[0].reason


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param(
            "def double(x: int) -> int:\n    return x *\n", "(?i:syntax)|compile", id="syntax"
        ),
        pytest.param("def double(x, y):\n    return x", "signature", id="signature"),
    ],
)
def test_bad_code_suggestion_is_rejected_and_old_code_keeps_running(bad: str, reason: str) -> None:
    @bundle(trainable=True)
    def double(x: int) -> int:
        """Double x."""
        return x * 2

    code = double.code_parameter()
    name = next(iter(OptoPrime([code], llm=ScriptedLLM([])).names))
    opt = OptoPrime([code], llm=ScriptedLLM([reply({name: bad})]))
    before = code.data
    opt.backward(double(3), "should be 7")
    result = opt.step()
    assert code.data == before
    assert result.updates == {} and len(result.rejected) == 1
    assert result.rejected[0].parameter == name
    assert re.search(reason, result.rejected[0].reason)
    assert double(5).data == 10


def test_valid_code_suggestion_is_used_on_the_next_call() -> None:
    @bundle(trainable=True)
    def inc(x: int) -> int:
        """Add one."""
        return x + 2

    code = inc.code_parameter()
    name = next(iter(OptoPrime([code], llm=ScriptedLLM([])).names))
    fixed = 'def inc(x: int) -> int:\n    """Add one."""\n    return x + 1\n'
    opt = OptoPrime([code], llm=ScriptedLLM([reply({name: fixed})]))
    opt.backward(inc(1), "inc(1) returned 3, expected 2")
    opt.step()
    assert inc(1).data == 2


def test_one_bad_value_does_not_block_the_valid_ones() -> None:
    a = node(1, name="a", trainable=True)
    b = node("x", name="b", trainable=True)
    opt = OptoPrime([a, b], llm=ScriptedLLM([reply({"a": 2, "b": 3})]))
    opt.backward(add(a, 1), "fb")
    opt.backward(add(b, "y"), "fb")
    result = opt.step()
    assert (a.data, b.data) == (2, "x")
    assert result.updates == {"a": 2}
    assert [r.parameter for r in result.rejected] == ["b"]


def test_unusable_reply_is_recorded_as_error_not_raised() -> None:
    a = node(1, name="a", trainable=True)
    opt = OptoPrime([a], llm=ScriptedLLM(lambda messages: "I think a should be bigger."))
    opt.backward(add(a, 1), "fb")
    result = opt.step()
    assert a.data == 1
    assert result.error is not None and "not usable" in result.error


def test_propose_screens_without_changing_anything() -> None:
    a = node(1, name="a", trainable=True)
    opt = OptoPrime([a], llm=ScriptedLLM([reply({"a": 5, "zz": 1})]))
    opt.backward(add(a, 1), "fb")
    result = opt.propose()
    assert a.data == 1 and not result.applied
    assert result.updates == {"a": 5}
    assert [r.parameter for r in result.rejected] == ["zz"]
    assert opt.step_count == 0


def test_step_without_backward_raises_a_helpful_error() -> None:
    opt = OptoPrime([node(1, name="a", trainable=True)], llm=ScriptedLLM([]))
    with pytest.raises(NoFeedbackError, match=r"backward\(output, feedback\)"):
        opt.step()


def test_same_named_parameters_get_stable_numbered_names() -> None:
    first = node(1, name="w", trainable=True)
    second = node(2, name="w", trainable=True)
    llm = ScriptedLLM([reply({"w:2": 20}), reply({second.label: 30})])
    opt = OptoPrime([first, second], llm=llm)
    assert opt.names == {"w:1": first, "w:2": second}
    for _ in range(2):
        opt.zero_feedback()
        opt.backward(add(first, second), "fb")
        opt.step()
    prompt = user_prompt(llm, 0)
    # process-unique labels never reach the prompt: a rerun sends identical text
    assert first.label not in prompt and second.label not in prompt
    assert "w:1" in prompt and "w:2" in prompt
    assert (first.data, second.data) == (1, 30)  # the true label is accepted too


def _chain_prompt(n_ops: int, budget_tokens: int) -> str:
    p = node(1, name="p", trainable=True)
    x = p
    for _ in range(n_ops):
        x = x + 1
    llm = ScriptedLLM([reply({})])
    opt = OptoPrime([p], llm=llm, budget_tokens=budget_tokens)
    opt.backward(x, "too small")
    opt.step()
    return user_prompt(llm, 0)


def test_same_program_built_twice_sends_identical_prompts() -> None:
    first, second = _chain_prompt(40, 8000), _chain_prompt(40, 8000)
    assert "too small" in first
    assert first == second  # node labels are process-unique; the prompt must not depend on them


def test_labels_are_renumbered_even_for_ops_cut_for_the_budget() -> None:
    _chain_prompt(300, 600)  # push the process-wide node counter well past the shown numbers
    prompt = _chain_prompt(300, 600)
    assert "cut to fit" in prompt
    for name in ("add", "int"):
        numbers = {int(k) for k in re.findall(rf"\b{name}:(\d+)\b", prompt)}
        assert numbers == set(range(1, len(numbers) + 1)), f"{name} labels leaked: {numbers}"


def test_memory_of_last_attempts_appears_in_the_next_prompt() -> None:
    a = node(1, name="a", trainable=True)
    llm = ScriptedLLM([reply({"a": 2}), reply({"a": 3}), reply({"a": 4})])
    opt = OptoPrime([a], llm=llm, memory_size=1)
    for feedback in ("FIRST-FEEDBACK", "SECOND-FEEDBACK", "THIRD-FEEDBACK"):
        opt.zero_feedback()
        opt.backward(add(a, 0), feedback)
        opt.step()
    assert "Earlier attempts" not in user_prompt(llm, 0)
    second, third = user_prompt(llm, 1), user_prompt(llm, 2)
    assert "FIRST-FEEDBACK" in second and "a = 1" in second
    # memory_size=1 keeps only the latest pair
    assert "SECOND-FEEDBACK" in third and "a = 2" in third
    assert "FIRST-FEEDBACK" not in third


def test_state_dict_round_trips_through_json_and_restores_the_next_prompt() -> None:
    def build(llm: ScriptedLLM) -> tuple[Any, OptoPrime]:
        a = node(1, name="a", trainable=True)
        return a, OptoPrime([a], llm=llm, memory_size=2, objective="reach 5")

    a, opt = build(ScriptedLLM([reply({"a": 2}), reply({"a": 3}), reply({})]))
    for feedback in ("low", "still low"):
        opt.zero_feedback()
        opt.backward(add(a, 0), feedback)
        opt.step()
    state = json.loads(json.dumps(opt.state_dict()))

    b, restored = build(ScriptedLLM([reply({})]))
    restored.load_state_dict(state)
    assert b.data == 3
    assert restored.step_count == 2
    assert list(restored.memory) == list(opt.memory)
    assert restored.state_dict() == state
    for o, p in ((opt, a), (restored, b)):
        o.zero_feedback()
        o.backward(add(p, 0), "next")
    assert "still low" in restored.memory_text()
    assert restored.memory_text() == opt.memory_text()
    assert restored.messages()[-1]["content"].count("[attempt ") == 2


def test_load_state_dict_refuses_another_optimizer_or_other_parameters() -> None:
    a = node(1, name="a", trainable=True)
    opt = OptoPrime([a], llm=ScriptedLLM([]))
    state = opt.state_dict()
    other = OptoPrime([node(1, name="b", trainable=True)], llm=ScriptedLLM([]))
    with pytest.raises(OptimizerStateError, match="missing"):
        other.load_state_dict(state)
    with pytest.raises(OptimizerStateError, match="OptoPrime"):
        opt.load_state_dict({**state, "optimizer": "OPRO"})


def test_prompt_dir_overrides_a_packaged_template(tmp_path: Any) -> None:
    (tmp_path / "optoprime_system.md").write_text("CUSTOM SYSTEM RULES", encoding="utf-8")
    a = node(1, name="a", trainable=True)
    llm = ScriptedLLM([reply({})])
    opt = OptoPrime([a], llm=llm, prompt_dir=tmp_path)
    opt.backward(add(a, 1), "fb")
    opt.step()
    assert llm.calls[0][0]["content"] == "CUSTOM SYSTEM RULES"


def test_misspelt_option_is_refused_and_shared_options_still_apply() -> None:
    n = node(1, name="n", trainable=True)
    opt = OptoPrime([n], llm=ScriptedLLM([]), objective="keep n small", memory_size=2)
    assert (opt.objective, opt.memory_size) == ("keep n small", 2)
    with pytest.raises(TypeError, match="memroy_size"):
        OptoPrime([n], memroy_size=2)  # type: ignore[call-arg]
