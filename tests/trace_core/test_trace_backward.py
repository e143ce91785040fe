"""backward(): feedback reaches every ancestor, iteratively, linearly; graphs are freed."""

from __future__ import annotations

import gc
import sys
import warnings
import weakref
from typing import Any

import pytest

from trace_core import (
    DisconnectedFeedbackWarning,
    FeedbackPropagator,
    MessageNode,
    Node,
    bundle,
    node,
    register,
)


def test_feedback_reaches_each_parameter_and_intermediate_node() -> None:
    x = node(2, name="x", trainable=True)
    y = node(3, name="y", trainable=True)
    s = x + y
    out = s * x
    out.backward("make it smaller")
    assert x.feedback == ["make it smaller"]
    assert y.feedback == ["make it smaller"]
    assert s.feedback == ["make it smaller"]
    assert out.feedback == ["make it smaller"]
    assert x.feedback_outputs == [out]


def test_json_feedback_is_kept_as_value() -> None:
    x = node(1, trainable=True)
    out = x + 1
    out.backward({"score": 0.5, "ok": False})
    assert x.feedback == [{"score": 0.5, "ok": False}]


def test_zero_feedback_clears_and_feedback_accumulates_across_backwards() -> None:
    x = node(1, trainable=True)
    (x + 1).backward("first")
    (x * 2).backward("second")
    assert x.feedback == ["first", "second"]
    x.zero_feedback()
    assert x.feedback == []
    assert x.feedback_outputs == []


def test_backward_reaches_every_ancestor_of_100k_chain() -> None:
    assert sys.getrecursionlimit() <= 10_000
    x = node(0, name="x", trainable=True)
    y: Any = x
    for _ in range(100_000):
        y = y + 1
    assert y.data == 100_000
    y.backward("done")
    assert x.feedback == ["done"]


def test_backward_over_10k_fan_in_gives_each_parameter_one_message() -> None:
    params = [node(i, trainable=True) for i in range(10_000)]

    @bundle
    def total(xs: list[int]) -> int:
        return sum(xs)

    out = total(params)
    assert out.data == sum(range(10_000))
    out.backward("lower")
    assert all(p.feedback == ["lower"] for p in params)


def test_diamond_delivers_one_message_per_backward() -> None:
    x = node(1, trainable=True)
    a = x + 1
    b = x * 2
    (a + b).backward("fb")
    assert x.feedback == ["fb"]


def test_registered_propagator_rewrites_messages_for_its_op() -> None:
    class Annotate(FeedbackPropagator):
        def propagate(self, node: MessageNode, message: Any) -> dict[Node, Any]:
            return {p: f"{message} (via {node.op.name})" for p in node.parents}

    register("multiply", Annotate())
    x = node(2, trainable=True)
    (x * 3).backward("fb")
    assert x.feedback == ["fb (via multiply)"]


def test_custom_propagator_passed_to_backward() -> None:
    class Counting:
        def init(self, output: Node, feedback: Any) -> Any:
            return 0

        def propagate(self, node: MessageNode, message: Any) -> dict[Node, Any]:
            return {p: message + 1 for p in node.parents}

    x = node(1, trainable=True)
    ((x + 1) + 1).backward("ignored", propagator=Counting())
    assert x.feedback == [2]


def test_feedback_without_parameters_warns_and_does_not_crash() -> None:
    out = node(1) + 2
    with pytest.warns(DisconnectedFeedbackWarning, match="no trainable parameter"):
        out.backward("nothing to learn")
    assert out.feedback == ["nothing to learn"]


def test_no_warning_when_a_parameter_is_reached() -> None:
    out = node(1, trainable=True) + 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out.backward("ok")


def test_graph_is_freed_when_unreferenced() -> None:
    x = node(1, name="x", trainable=True)
    y: Any = x
    for _ in range(1000):
        y = y + 1
    y.backward("fb")
    x.zero_feedback()  # feedback_outputs holds the output until cleared
    first_op = weakref.ref(y.parents[0])
    out_ref = weakref.ref(y)
    del y
    gc.collect()
    assert out_ref() is None
    assert first_op() is None


def test_deleting_100k_chain_does_not_overflow_the_stack() -> None:
    y: Any = node(0)
    for _ in range(100_000):
        y = y + 1
    ref = weakref.ref(y)
    del y
    assert ref() is None


def test_messages_from_several_children_are_aggregated() -> None:
    class Tagging(FeedbackPropagator):
        def propagate(self, node: MessageNode, message: Any) -> dict[Node, Any]:
            return {p: f"{message} via {node.op.name}" for p in node.parents}

    x = node(1, name="x", trainable=True)
    left = x + 1
    right = x * 2
    out = left.eq(right)
    out.backward("fb", propagator=Tagging())
    assert len(x.feedback) == 1
    assert sorted(x.feedback[0].split("\n\n")) == [
        "fb via equal via add",
        "fb via equal via multiply",
    ]


def test_register_rejects_objects_that_are_not_propagators() -> None:
    with pytest.raises(TypeError, match="propagate"):
        register("add", object())  # type: ignore[arg-type]


def test_backward_without_feedback_needs_a_default() -> None:
    x = node(1, trainable=True)
    with pytest.raises(ValueError, match="needs feedback"):
        (x + 1).backward()


def test_exception_node_backward_defaults_to_the_error_message() -> None:
    from trace_core import ExecutionError

    x = node(0, name="x", trainable=True)
    with pytest.raises(ExecutionError) as info:
        1 / x
    info.value.exception_node.backward()
    assert x.feedback == ["ZeroDivisionError: division by zero"]
