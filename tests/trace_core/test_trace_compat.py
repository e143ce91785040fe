"""Trace (trace-opt 0.1.3.8) behaviours a Trace user relies on (issue 18)."""

from __future__ import annotations

import copy
import pickle
import warnings

import pytest

import trace_core.functional as ops
from tests.trace_core import compat_fixtures as fx
from trace_core import (
    ExecutionError,
    GraphReleasedError,
    Map,
    Module,
    NodeDict,
    NodeList,
    Seq,
    apply_op,
    bundle,
    model,
    node,
)
from trace_core.errors import DisconnectedFeedbackWarning


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore", DisconnectedFeedbackWarning)


# -- nodes inside values ----------------------------------------------------------------------


def test_indexing_a_list_of_nodes_gives_the_inner_value_and_links_it() -> None:
    inner = node(1, trainable=True)
    item = node([inner])[0]
    assert item.data == 1
    assert inner in item.parents
    item.backward("too small")
    assert inner.feedback == ["too small"]


def test_join_over_a_list_of_nodes_reaches_every_node() -> None:
    a, b = node("a", trainable=True), node("b", trainable=True)
    joined = node("+").join([a, b])
    assert joined.data == "a+b"
    joined.backward("use commas")
    assert a.feedback == ["use commas"] and b.feedback == ["use commas"]


def test_getattr_of_an_attribute_that_is_a_node() -> None:
    class Box:
        pass

    box = Box()
    box.size = node(3, trainable=True)
    size = node(box).size
    assert size.data == 3
    assert box.size in size.parents


def test_bundle_receives_plain_values_from_a_dict_of_nodes() -> None:
    @bundle
    def total(d):
        return d["x"] + d["y"]

    x, y = node(1, trainable=True), node(2, trainable=True)
    out = total({"x": x, "y": y})
    assert out.data == 3
    assert x in out.parents and y in out.parents


def test_nodes_made_inside_a_body_are_not_hidden_dependencies() -> None:
    @bundle
    def plus_one(x):
        return node(x).data + 1

    assert plus_one(node(1)).data == 2


def test_method_returning_a_node_attribute_links_it() -> None:
    class Agent:
        def __init__(self) -> None:
            self.prompt = node("be brief", trainable=True)

        @bundle
        def current(self):
            return self.prompt

    agent = Agent()
    out = agent.current()
    assert out.data == "be brief"
    assert agent.prompt in out.parents


# -- copies -----------------------------------------------------------------------------------


def test_deepcopy_of_a_long_chain_is_detached_and_does_not_recurse() -> None:
    x = node(0, trainable=True)
    y = x
    for _ in range(3000):
        y = y + 1
    clone = copy.deepcopy(y)
    assert clone.data == 3000 and clone.parents == []


def test_deepcopy_of_an_agent_after_backward_is_cheap_and_independent() -> None:
    @model
    class Agent:
        def __init__(self) -> None:
            self.w = node(1, trainable=True)

    agent = Agent()
    y = agent.w
    for _ in range(3000):
        y = y + 1
    y.backward("smaller")
    twin = copy.deepcopy(agent)
    assert twin.w.data == 1 and twin.w.feedback == [] and twin.w.feedback_outputs == []
    assert agent.w.feedback == ["smaller"]
    twin.w.set(5)
    assert agent.w.data == 1


# -- modules, bundles and parameters ----------------------------------------------------------


def test_trainable_bundle_stored_on_an_instance_is_a_parameter(tmp_path) -> None:
    @model
    class Agent:
        def __init__(self) -> None:
            self.step = fx.double

    agent = Agent()
    names = agent.named_parameters()
    assert names == {"step.__code": fx.double.parameter}
    agent.save(tmp_path / "a.json")
    assert "step.__code" in (tmp_path / "a.json").read_text()


def test_parameters_used_as_dict_keys_are_found() -> None:
    @model
    class Agent:
        def __init__(self) -> None:
            self.key = node("k", trainable=True)
            self.table = {self.key: node(2, trainable=True)}

    agent = Agent()
    assert {p.data for p in agent.parameters()} == {"k", 2}


def test_save_and_load_on_a_bundled_function(tmp_path) -> None:
    code = fx.double.parameter
    original = code.data
    path = fx.double.save(tmp_path / "double.json")
    code.set(original.replace("x * 2", "x * 4"))
    assert fx.double(3).data == 12
    fx.double.load(path)
    assert code.data == original and fx.double(3).data == 6
    assert fx.double.parameters() == [code]


def test_decorators_under_bundle_stay_in_the_source_and_apply_after_an_update() -> None:
    code = fx.greet.parameter
    assert code.data.startswith("@shout\ndef greet(name):")
    assert fx.greet("bob").data == "HELLO BOB"
    code.set(code.data.replace('"hello "', '"hi "'))
    assert fx.greet("bob").data == "HI BOB"
    code.set(code.data.replace('"hi "', '"hello "'))


def test_bundle_info_has_source_and_line() -> None:
    info = bundle(fx.triple).info
    assert info["source"].startswith("def triple(x):")
    assert info["line_number"] == fx.triple.__code__.co_firstlineno


def test_description_as_first_argument_names_the_op() -> None:
    pick = bundle("[choose] three times the value")(fx.triple)
    out = pick(node(2))
    assert out.data == 6
    assert out.op.name == "choose"
    assert out.description == "[choose] three times the value"


# -- operators --------------------------------------------------------------------------------


def test_reflected_shifts() -> None:
    assert (2 << node(1)).data == 4
    assert (8 >> node(1)).data == 4


def test_unpacking_none_raises_execution_error_with_an_exception_node() -> None:
    @bundle
    def nothing(x):
        return None

    with pytest.raises(ExecutionError) as err:
        _a, _b = nothing(1)
    assert isinstance(err.value.exception_node.exception, TypeError)


def test_node_call_is_one_traced_method_op() -> None:
    text = node("a b")
    parts = text.call("split", " ")
    assert parts.data == ["a", "b"]
    assert parts.parents[0] is text


def test_second_backward_needs_retain_graph() -> None:
    x = node(1, trainable=True)
    y = x + 1
    y.backward("a", retain_graph=True)
    y.backward("b")
    assert x.feedback == ["a", "b"]
    with pytest.raises(GraphReleasedError):
        y.backward("c")
    assert x.feedback == ["a", "b"]


# -- nested graphs ----------------------------------------------------------------------------


def test_traceable_code_keeps_the_body_graph_and_feedback_reaches_inputs() -> None:
    x = node(1, trainable=True)
    out = fx.pipeline(x, 2)
    assert out.data == 6
    assert out.nested is not None and out.nested.op.name == "multiply"
    assert out.info["output"] is out.nested
    assert x in out.parents
    out.backward("make it 10")
    assert x.feedback == ["make it 10"]


# -- containers and functional operators ------------------------------------------------------


def test_containers_find_parameters_and_pickle(tmp_path) -> None:
    a, b = node(1, trainable=True), node("s", trainable=True)
    seq = NodeList([a, 3])
    mapping = NodeDict({"b": b})
    assert seq.parameters() == [a] and mapping.parameters() == [b]
    assert Seq is NodeList and Map is NodeDict
    assert Seq(a, 3) == seq and NodeList() == [] and Seq(a) == [a]
    restored = pickle.loads(pickle.dumps(seq))
    assert restored[0].data == 1 and restored.parameters()[0].trainable
    seq.save(tmp_path / "seq.json")
    a.set(7)
    seq.load(tmp_path / "seq.json")
    assert a.data == 1


def test_apply_op_broadcasts_over_lists_and_dicts() -> None:
    xs = [node(1), node(2)]
    out = apply_op(lambda p, q: p + q, [None, None], xs, node(10))
    assert [o.data for o in out] == [11, 12]
    d = apply_op(lambda p: p * 2, {"k": None}, {"k": node(4)})
    assert d["k"].data == 8


def test_functional_operators_record_values_and_parents() -> None:
    c, x, y = node(True), node("x"), node("y")
    picked = ops.cond(c, x, y)
    assert picked.data == "x" and picked.parents == [c, x, y]
    base = node([1])
    extended = ops.list_extend(base, [2, 3])
    assert extended.data == [1, 2, 3] and base.data == [1]
    merged = ops.dict_update(node({"a": 1}), {"b": 2})
    assert merged.data == {"a": 1, "b": 2}
    assert ops.identity(x).data == "x" and ops.identity(x).parents == [x]


# -- copying LLM objects ----------------------------------------------------------------------


def test_llm_and_optimizer_deepcopy_and_pickle_without_the_key() -> None:
    from optimizers import OptoPrime
    from trace_core.llm import get_llm
    from trace_core.llm.openai_backend import OpenAIBackend

    llm = get_llm("scripted:x", replies=["first", "second"])
    twin = copy.deepcopy(llm)
    assert twin.complete([{"role": "user", "content": "hi"}]).text == "first"
    assert pickle.loads(pickle.dumps(llm)).model_id == "scripted:x"
    optimizer = OptoPrime([node(1, trainable=True)], llm=llm)
    assert copy.deepcopy(optimizer).parameters[0].data == 1
    backend = OpenAIBackend("gpt-test", api_key="sk-test-not-a-key")
    assert b"sk-test-not-a-key" not in pickle.dumps(backend)
    assert copy.deepcopy(backend).model_id == "openai:gpt-test"


def test_summary_expands_the_ops_inside_a_traceable_bundle() -> None:
    from trace_core import summarize

    x = node(1, name="x", trainable=True)
    out = fx.pipeline(x, 2)
    out.backward("make it 10")
    flat = summarize(out).code
    expanded = "\n".join(summarize(out, expand_nested=True).code)
    assert flat == ["pipeline = pipeline(x=x, y=2)"]
    assert "= add(a=x, b=2)" in expanded and "= multiply(a=add:" in expanded
    assert expanded.endswith("# output of pipeline")


def test_module_inheritance_counts_parameters_like_trace() -> None:
    base_cls = type("BaseModule", (fx.BaseAgent, Module), {})

    class ChildModule(base_cls):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self._extra_param = node(1, trainable=True)
            self._extra_method = bundle(trainable=True)(fx.dummy_method)
            self._base = base_cls()

    assert len(base_cls().parameters()) == 2
    child = ChildModule()
    assert len(child.parameters()) == 6
    child._new_param = node(1, trainable=True)
    assert len(child.parameters()) == 7


def test_trainable_method_calling_a_bundled_base_method() -> None:
    @model
    class Child(fx.NonModuleBase):
        @bundle(trainable=True)
        def method2(self, x):
            return self.method1() + x

    result = Child().method2(1)
    assert result.data == 2


def test_trace_bundle_behaviours_hold() -> None:
    @bundle("[fancy.cond] x if condition else y", overwrite_python_recursion=True)
    def fancy(condition, x, y):
        return x if condition else y

    c, x, y = node(True), node("x"), node("y")
    out = fancy(c, x, y)
    assert out.op.name == "fancy.cond" and out.inputs == {"condition": c, "x": x, "y": y}

    @bundle()
    def recursion(n):
        return 0 if n == 0 else n + recursion(n - 1)

    total = recursion(node(10))
    assert total.data == 55 and len(total.parents) == 1

    @bundle()
    def two(a, b):
        return a + b, a - b

    pair = two(node(1), node(2))
    assert len(pair) == 2 and pair[0].data == 3 and pair[1].data == -1


def test_calling_a_method_that_computes_with_a_node_attribute_links_it() -> None:
    class Foo:
        def __init__(self) -> None:
            self.x = node(1, trainable=True)

        def add(self, y):
            return y + 1 + self.x

    foo = Foo()
    z = node(foo).call("add", 2)
    assert z.data == 4
    z.backward("bigger")
    assert foo.x.feedback == ["bigger"]


def test_clone_is_traced_and_detach_is_not() -> None:
    x = node([1, 2], trainable=True)
    twin = x.clone()
    assert twin.data == [1, 2] and twin.data is not x.data and twin.parents == [x]
    lone = x.call("copy").detach()
    assert lone.data == [1, 2] and lone.parents == []
