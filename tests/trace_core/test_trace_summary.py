"""summarize(): sections, name mapping, size budget at any graph size."""

from __future__ import annotations

from typing import Any

from trace_core import TraceSummary, bundle, node, summarize


@bundle(trainable=True)
def decide(threshold: float, reading: float) -> str:
    """Return "high" when the reading exceeds the threshold."""
    return "high" if reading > threshold else "low"


def _chain(n_ops: int) -> tuple[Any, Any]:
    x = node(1, name="x", trainable=True, constraint="an integer between 0 and 100")
    y: Any = x
    for _ in range(n_ops):
        y = y + 1
    return x, y


def test_summary_has_every_section_for_a_small_graph() -> None:
    t = node(0.5, name="threshold", trainable=True, constraint="between 0 and 1")
    out = decide(t, node(0.7, name="reading"))
    out.backward("should be low for 0.7")
    summary = summarize(out, [t, decide.code_parameter()])
    assert isinstance(summary, TraceSummary)
    assert summary.code == [
        "decide = decide(threshold=threshold, reading=reading, __code=__code_decide)"
    ]
    assert "decide" in summary.documentation
    names = {v.name for v in summary.variables}
    assert names == {"threshold", "__code_decide"}
    assert summary.parameter("threshold") is t
    assert [v.name for v in summary.inputs] == ["reading"]
    assert summary.outputs[0].value == "high"
    assert summary.feedback == "should be low for 0.7"
    text = summary.to_text()
    for header in (
        "#Code",
        "#Documentation",
        "#Variables",
        "#Constraints",
        "#Inputs",
        "#Outputs",
        "#Feedback",
    ):
        assert header in text
    assert "(code) __code_decide:\ndef decide(" in text
    assert "(float) threshold: between 0 and 1" in text


def test_same_named_parameters_are_shown_by_label_and_map_back() -> None:
    a = node(1, name="w", trainable=True)
    b = node(2, name="w", trainable=True)
    out = a + b
    summary = summarize(out, [a, b], feedback="fb")
    shown = [v.name for v in summary.variables]
    assert shown == [a.label, b.label]
    assert summary.parameter(a.label) is a
    assert summary.parameter(b.label) is b


def test_1000_op_summary_fits_budget_and_keeps_must_parts() -> None:
    x, y = _chain(1000)
    y.backward("the result should be 10")
    summary = summarize(y, [x], budget_tokens=2000)
    text = summary.to_text()
    assert len(text) / 4 <= 2000
    assert summary.tokens <= 2000
    assert not summary.over_budget
    assert summary.variables[0].name == "x"
    assert "an integer between 0 and 100" in text
    assert summary.outputs[0].value == "1001"
    assert "the result should be 10" in text
    assert summary.cut["code"] > 0
    assert "ops cut to fit the size budget" in text
    # the op touching x directly and the op producing the output are kept
    assert "add(a=x, " in summary.code[0]
    assert summary.code[-1].startswith(f"{y.label} = add(")


def test_summary_without_budget_pressure_keeps_every_op() -> None:
    x, y = _chain(10)
    summary = summarize(y, [x], feedback="fb")
    assert len(summary.code) == 10
    assert summary.cut == {}


def test_long_values_are_truncated_and_marked() -> None:
    p = node("z" * 5000, name="doc", trainable=True)
    out = p + "!"
    summary = summarize(out, [p], feedback="fb", max_value_chars=100)
    assert summary.outputs[0].truncated
    assert "chars cut]" in summary.outputs[0].value


def test_tokenizer_is_used_for_budget() -> None:
    x, y = _chain(200)
    calls: list[int] = []

    def words(text: str) -> int:
        calls.append(1)
        return len(text.split())

    summary = summarize(y, [x], budget_tokens=300, feedback="fb", tokenizer=words)
    assert calls
    assert words(summary.to_text()) <= 300


def test_exception_output_shows_the_traceback_tail() -> None:
    import pytest

    from trace_core import ExecutionError

    @bundle(trainable=True)
    def parse(text: str) -> int:
        return int(text)

    with pytest.raises(ExecutionError) as info:
        parse(node("x1", name="text", trainable=True))
    err = info.value.exception_node
    err.backward("fix the parsing")
    summary = summarize(err, max_value_chars=200)
    assert "ValueError: invalid literal for int()" in summary.outputs[0].value
    assert "return int(text)" in summary.outputs[0].value


def test_feedback_of_several_outputs_names_each_output() -> None:
    w = node(2, name="w", trainable=True)
    first = w * node(3, name="three")
    second = w + node(1, name="one")
    first.backward("first is too big")
    second.backward("second is fine")
    summary = summarize([first, second])
    assert summary.feedback == "multiply: first is too big\nadd: second is fine"
    assert [o.name for o in summary.outputs] == ["multiply", "add"]


def test_code_variables_are_not_truncated_by_the_value_limit() -> None:
    long_code = node("def f(x):\n" + "    x = x + 1\n" * 100 + "    return x\n", trainable=True)
    out = long_code + ""
    summary = summarize(out, [long_code], feedback="fb", max_value_chars=50)
    assert not summary.variables[0].truncated
    assert summary.outputs[0].truncated


def test_many_parameters_beyond_budget_are_marked_over_budget() -> None:
    params = [node("v" * 200, name=f"p{i}", trainable=True) for i in range(400)]
    out = sum(params[1:], params[0])
    summary = summarize(out, params, budget_tokens=2000, feedback="fb")
    assert len(summary.variables) == 400  # every variable is kept...
    assert summary.over_budget  # ...and the summary says it could not fit
    assert summary.variables[0].truncated


def test_summary_of_parameters_finds_the_outputs_that_gave_feedback() -> None:
    a = node(1, name="a", trainable=True)
    b = node(2, name="b", trainable=True)
    out_a = a * 10
    out_b = b + 5
    out_a.backward("a is too small")
    out_b.backward("b is fine")
    summary = summarize(None, [a, b])
    assert {o.label for o in summary.outputs} == {out_a.label, out_b.label}
    assert "a is too small" in summary.feedback and "b is fine" in summary.feedback
    assert summary.parameter("a") is a


def test_to_text_can_leave_sections_out() -> None:
    import pytest

    x, y = _chain(3)
    summary = summarize(y, [x], feedback="fb")
    text = summary.to_text(exclude={"Documentation", "Others"})
    assert "#Documentation" not in text and "#Others" not in text
    assert "#Code" in text and "#Feedback" in text
    with pytest.raises(ValueError, match="unknown sections"):
        summary.to_text(exclude={"Nope"})


def test_local_labels_render_the_same_text_for_the_same_program() -> None:
    def build() -> tuple[Any, Any, Any]:
        a = node(1, name="w", trainable=True)
        b = node(2, name="w", trainable=True)
        return a, b, (a + b) * (a + 1)

    texts = []
    for _ in range(2):
        a, b, out = build()
        summary = summarize(out, [a, b], feedback="fb", labels="local")
        texts.append(summary.to_text())
        assert {v.name for v in summary.variables} == {"w:1", "w:2"}
        assert summary.parameter("w:1") is a
        assert summary.parameter(b.label) is b
    assert texts[0] == texts[1]
    assert "add:1" in texts[0] and "add:2" in texts[0]
