"""node(), names and labels, ParameterNode.set() validation."""

from __future__ import annotations

import pytest

from trace_core import InvalidUpdate, MessageNode, Node, ParameterNode, node


def test_node_wraps_value_and_returns_existing_node_unchanged() -> None:
    x = node(3, name="x")
    assert type(x) is Node
    assert x.data == 3
    assert node(x) is x


def test_trainable_node_is_parameter_with_constraint_text() -> None:
    p = node(1.5, name="lr", trainable=True, description="step size", constraint="positive")
    assert isinstance(p, ParameterNode)
    assert p.trainable
    assert p.constraint == "positive"
    assert p.description == "step size"


def test_default_name_comes_from_type_and_labels_are_unique() -> None:
    a, b = node(1), node(2)
    assert a.name == b.name == "int"
    assert a.label != b.label
    assert a.label.startswith("int:")


def test_same_name_nodes_get_distinct_labels() -> None:
    a = node("x", name="prompt")
    b = node("y", name="prompt")
    assert a.name == b.name == "prompt"
    assert a.label != b.label


@pytest.mark.parametrize(
    ("old", "new", "stored"),
    [
        (10, 10.0, 10),
        (1.0, 3, 3.0),
        (True, False, False),
        ("a", "b", "b"),
        ([1, 2], [3.0, 4], [3, 4]),
        ((1, 2), [5, 6], (5, 6)),
        ({"a": 1.0}, {"b": 2}, {"b": 2.0}),
    ],
)
def test_set_accepts_lossless_conversions(old: object, new: object, stored: object) -> None:
    p = node(old, trainable=True)
    p.set(new)
    assert p.data == stored
    assert type(p.data) is type(stored)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (10, 10.5),
        (10, True),
        (True, 1),
        ("a", 3),
        (1.0, "2"),
        ([1, 2], ["a"]),
        ({"a": 1}, {"a": "x"}),
    ],
)
def test_set_rejects_type_changes_and_keeps_old_value(old: object, new: object) -> None:
    p = node(old, trainable=True)
    with pytest.raises(InvalidUpdate):
        p.set(new)
    assert p.data == old


def test_predicate_constraint_is_enforced_and_text_is_kept() -> None:
    def positive(v: float) -> bool:
        return v > 0

    p = node(1.0, name="lr", trainable=True, constraint=["must be > 0", positive])
    p.set(0.5)
    with pytest.raises(InvalidUpdate, match="positive"):
        p.set(-1.0)
    assert p.data == 0.5
    assert p.constraint == "must be > 0"


def test_set_accepts_a_node_value() -> None:
    p = node(1, trainable=True)
    p.set(node(7))
    assert p.data == 7


def test_message_node_inputs_name_each_parent() -> None:
    x = node(2, name="x")
    y = node(5, name="y")
    z = x * y
    assert isinstance(z, MessageNode)
    assert z.data == 10
    assert z.inputs == {"a": x, "b": y}
    assert z.parents == [x, y]
    assert z.op.name == "multiply"


def test_copies_are_new_nodes_with_their_own_labels() -> None:
    import copy
    import pickle

    x = node(2, name="x", trainable=True, constraint="positive")
    y = x * 3
    clone = copy.deepcopy(y)
    assert clone.data == 6
    assert clone.label != y.label
    assert clone.parents == []  # a copy is detached from its graph, as in Trace
    assert copy.deepcopy(x).constraint == "positive"
    restored = pickle.loads(pickle.dumps(x))
    assert restored.data == 2 and restored.name == "x" and restored.label != x.label
