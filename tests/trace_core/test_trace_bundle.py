"""@bundle: graph shape, errors as nodes, trainable code, code policy, hidden inputs."""

from __future__ import annotations

import pytest

from trace_core import (
    CodePolicyError,
    ExceptionNode,
    ExecutionError,
    InvalidUpdate,
    MessageNode,
    MissingInputsError,
    ParameterNode,
    bundle,
    model,
    no_trace,
    node,
)


@bundle
def add_words(a: str, b: str) -> str:
    """Join two words with a space."""
    return f"{a} {b}"


@bundle(trainable=True)
def scale(x: float, factor: float = 2.0) -> float:
    """Scale x."""
    return x * factor


def test_bundle_call_returns_message_node_with_inputs_by_argument_name() -> None:
    a = node("hello", name="a")
    out = add_words(a, "world")
    assert isinstance(out, MessageNode)
    assert out.data == "hello world"
    assert out.inputs["a"] is a
    assert out.inputs["b"].data == "world"
    assert out.description == "[add_words] Join two words with a space."


def test_each_call_records_its_own_inputs() -> None:
    first = add_words("x", "y")
    second = add_words("p", "q")
    assert first.inputs["a"].data == "x"
    assert second.inputs["a"].data == "p"


def test_list_of_nodes_argument_makes_each_node_a_parent() -> None:
    @bundle
    def total(xs: list[int]) -> int:
        return sum(xs)

    a, b = node(1), node(2)
    out = total([a, b, 3])
    assert out.data == 6
    assert out.inputs["xs[0]"] is a
    assert out.inputs["xs[1]"] is b


def test_trainable_bundle_has_code_parameter_as_parent() -> None:
    x = node(3.0, name="x", trainable=True)
    out = scale(x)
    code = scale.code_parameter()
    assert isinstance(code, ParameterNode) and code.is_code
    assert out.inputs["__code"] is code
    assert code.data.startswith("def scale(")
    assert "@bundle" not in code.data


@pytest.mark.parametrize(
    ("source", "argument", "expected"),
    [
        ("def scale(x, factor=2.0):\n    return x + factor\n", 3.0, 5.0),
        ("import math\ndef scale(x, factor=2.0):\n    return math.floor(x * factor)\n", 1.6, 3),
    ],
    ids=["recompiled", "allowed-import-passes-policy"],
)
def test_accepted_new_source_is_used_until_the_old_one_is_set(
    source: str, argument: float, expected: float
) -> None:
    code = scale.code_parameter()
    original = code.data
    try:
        code.set(source)
        assert scale(node(argument)).data == expected
    finally:
        code.set(original)
    assert scale(node(3.0)).data == 6.0


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("def scale(x, factor=2.0):\n    return x +* factor\n", "syntax"),
        ("def scale(x):\n    return x\n", "signature"),
        ("import os\ndef scale(x, factor=2.0):\n    return os.getpid()\n", "'os'"),
        ("def scale(x, factor=2.0):\n    return eval('x')\n", "'eval'"),
        ("def scale(x, factor=2.0):\n    return open('f').read()\n", "'open'"),
        ("def scale(x, factor=2.0):\n    return x.__class__\n", "__class__"),
        ("x = 1\n", "exactly one function"),
    ],
)
def test_bad_new_source_is_rejected_and_old_code_stays(source: str, match: str) -> None:
    code = scale.code_parameter()
    before = code.data
    with pytest.raises(InvalidUpdate, match=match):
        code.set(source)
    assert code.data == before
    assert scale(node(2.0)).data == 4.0


def test_allow_unsafe_code_skips_policy() -> None:
    @bundle(trainable=True, allow_unsafe_code=True)
    def where(x: int) -> int:
        return x

    where.code_parameter().set("import os\ndef where(x):\n    return os.getpid() * 0 + x\n")
    assert where(node(4)).data == 4


def test_policy_error_lists_every_violation() -> None:
    import ast

    from trace_core.code_policy import policy_violations

    found = policy_violations(ast.parse("import socket\nexec('1')\nimport subprocess"))
    assert len(found) == 3
    assert isinstance(CodePolicyError(found), ValueError)


def test_exception_in_bundle_records_exception_node_and_raises() -> None:
    @bundle
    def parse_int(text: str) -> int:
        return int(text)

    text = node("abc", name="text", trainable=True)
    with pytest.raises(ExecutionError) as info:
        parse_int(text)
    exc_node = info.value.exception_node
    assert isinstance(exc_node, ExceptionNode)
    assert isinstance(exc_node.exception, ValueError)
    assert exc_node.inputs["text"] is text
    assert "int(text)" in exc_node.traceback_text
    exc_node.backward("the input must be digits")
    assert text.feedback == ["the input must be digits"]


def test_catch_execution_error_false_raises_original_exception() -> None:
    @bundle(catch_execution_error=False)
    def boom(x: int) -> int:
        raise KeyError("k")

    with pytest.raises(KeyError):
        boom(node(1))


def test_failing_recompiled_code_shows_the_failing_line() -> None:
    @bundle(trainable=True)
    def inverse(x: float) -> float:
        return 1 / x

    inverse.code_parameter().set("def inverse(x):\n    y = x - x\n    return 1 / y\n")
    with pytest.raises(ExecutionError) as info:
        inverse(node(2.0))
    assert "return 1 / y" in info.value.exception_node.traceback_text


def test_hidden_dependency_raises_unless_allowed() -> None:
    secret = node(10, name="secret")

    @bundle
    def leaky(x: int) -> int:
        return x + secret.data

    with pytest.raises(MissingInputsError, match="secret"):
        leaky(node(1))

    @bundle(allow_external_dependencies=True)
    def allowed(x: int) -> int:
        return x + secret.data

    out = allowed(node(1))
    assert out.data == 11
    assert secret in out.parents


def test_no_trace_bundle_returns_plain_value() -> None:
    with no_trace():
        assert add_words(node("a"), "b") == "a b"


def test_bundle_inside_bundle_records_only_the_outer_op() -> None:
    @bundle
    def outer(a: str) -> str:
        inner = add_words(a, "!")
        assert isinstance(inner, str)
        return inner.upper()

    out = outer(node("hi"))
    assert out.data == "HI !"
    assert len(out.parents) == 1


@model
class Agent:
    def __init__(self, greeting: str) -> None:
        self.greeting = node(greeting, name="greeting", trainable=True)

    @bundle(trainable=True)
    def reply(self, greeting: str, user: str) -> str:
        """Greet the user."""
        return f"{greeting}, {user}"


def test_trainable_method_has_one_code_parameter_per_instance() -> None:
    a, b = Agent("Hello"), Agent("Hi")
    assert a.reply(a.greeting, "Ann").data == "Hello, Ann"
    code_a = Agent.reply.code_parameter(a)
    code_b = Agent.reply.code_parameter(b)
    assert code_a is not code_b
    assert "self" in code_a.data
    code_a.set("def reply(self, greeting, user):\n    return greeting + '!! ' + user\n")
    assert a.reply(a.greeting, "Ann").data == "Hello!! Ann"
    assert b.reply(b.greeting, "Bob").data == "Hi, Bob"


def test_async_bundle_records_a_message_node() -> None:
    import asyncio

    @bundle
    async def shout(text: str) -> str:
        await asyncio.sleep(0)
        return text.upper()

    text = node("hey", name="text", trainable=True)
    out = asyncio.run(shout(text))
    assert isinstance(out, MessageNode)
    assert out.data == "HEY"
    assert out.inputs["text"] is text


def test_hidden_read_inside_no_trace_within_a_body_is_still_detected() -> None:
    secret = node(5, name="secret")

    @bundle
    def sneaky(x: int) -> int:
        with no_trace():
            return x + secret.data

    with pytest.raises(MissingInputsError, match="secret"):
        sneaky(node(1))


def test_bundle_called_with_fewer_args_uses_defaults_and_names_inputs() -> None:
    out = scale(node(2.0, name="x"))
    assert out.data == 4.0
    assert set(out.inputs) == {"x", "__code"}


@pytest.mark.parametrize(
    "signature",
    ["(a, b=1, *rest, key, opt=2, **extra)", "(a, /, b)", "(self, x)", "()"],
)
def test_signature_is_read_from_the_syntax_tree_like_inspect(signature: str) -> None:
    import ast

    from trace_core.code_policy import _ast_signature_key, signature_key

    namespace: dict[str, object] = {}
    source = f"def f{signature}:\n    return None\n"
    exec(source, namespace)
    definition = ast.parse(source).body[0]
    assert isinstance(definition, ast.FunctionDef)
    assert _ast_signature_key(definition) == signature_key(namespace["f"])  # type: ignore[arg-type]
