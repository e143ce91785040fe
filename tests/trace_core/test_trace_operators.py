"""Traced Python operators record MessageNodes with the right parents and values."""

from __future__ import annotations

import operator

import pytest

from trace_core import ExecutionError, MessageNode, no_trace, node


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (operator.add, 9),
        (operator.sub, 3),
        (operator.mul, 18),
        (operator.truediv, 2.0),
        (operator.floordiv, 2),
        (operator.mod, 0),
        (operator.pow, 216),
        (operator.lt, False),
        (operator.ge, True),
    ],
)
def test_binary_operators_trace_both_operands(fn: object, expected: object) -> None:
    x = node(6)
    y = node(3)
    z = fn(x, y)  # type: ignore[operator]
    assert isinstance(z, MessageNode)
    assert z.data == expected
    assert z.parents == [x, y]


def test_reflected_operator_keeps_operand_order() -> None:
    x = node(4)
    z = 10 - x
    assert z.data == 6
    assert z.parents[1] is x
    assert z.parents[0].data == 10


def test_unary_and_traced_equality() -> None:
    x = node(-3)
    assert (-x).data == 3
    assert abs(x).data == 3
    assert x.eq(-3).data is True
    assert x.ne(-3).data is False
    assert (x == x) is True  # identity, not traced


def test_indexing_and_attribute_access_and_call() -> None:
    items = node({"a": [1, 2, 3]})
    second = items["a"][1]
    assert second.data == 2
    assert second.parents[0].parents[0] is items
    c = node(complex(1, 2))
    assert c.imag.data == 2.0
    f = node(len)
    assert f([1, 2]).data == 2


def test_method_call_is_one_op_with_arguments_as_parents() -> None:
    s = node("a,b,c")
    parts = s.split(",")
    assert parts.data == ["a", "b", "c"]
    assert parts.op.name == "str.split"
    assert parts.parents[0] is s
    assert parts.parents[1].data == ","
    assert node("Hi {}").format(node("you")).data == "Hi you"


def test_iteration_yields_traced_items_for_list_dict_and_str() -> None:
    xs = node([10, 20])
    items = list(xs)
    assert [i.data for i in items] == [10, 20]
    assert all(i.parents[0] is xs for i in items)
    assert [k.data for k in node({"p": 1, "q": 2})] == ["p", "q"]
    assert [c.data for c in node("ab")] == ["a", "b"]


def test_len_and_contains_traced_helpers() -> None:
    xs = node([1, 2, 3])
    assert xs.len().data == 3
    assert xs.contains(2).data is True
    assert len(xs) == 3
    assert 2 in xs


def test_operator_error_becomes_exception_node() -> None:
    x = node(1)
    with pytest.raises(ExecutionError) as info:
        x / 0
    exc_node = info.value.exception_node
    assert isinstance(exc_node.exception, ZeroDivisionError)
    assert exc_node.parents[0] is x
    assert "ZeroDivisionError" in exc_node.traceback_text


def test_no_trace_returns_plain_values() -> None:
    x = node(2)
    with no_trace():
        y = x * 3 + 1
    assert y == 7
    assert not isinstance(y, MessageNode)


def test_private_attribute_names_are_not_traced() -> None:
    with pytest.raises(AttributeError):
        node(1)._nope  # noqa: B018
    with pytest.raises(AttributeError, match="has attribute"):
        node(1).missing_attr  # noqa: B018


def test_common_list_and_dict_methods_are_traced() -> None:
    d = node({"a": 1, "b": 2}, name="d")
    got = d.get("b")
    assert got.data == 2
    assert got.op.name == "dict.get"
    assert got.parents[0] is d
    keys = d.keys()
    assert keys.op.name == "dict.keys"
    assert [k.data for k in keys] == ["a", "b"]
    xs = node([3, 1, 2], name="xs")
    assert xs.index(2).data == 2
    assert xs.count(1).data == 1
    words = node(" a b ")
    assert words.strip().split(" ").data == ["a", "b"]
    assert node("-").join(node(["x", "y"])).data == "x-y"
