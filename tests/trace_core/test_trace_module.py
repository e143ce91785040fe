"""@model / Module: parameters(), JSON save/load round trip and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trace_core import Module, ParameterNode, SerializationError, bundle, model, node


@model
class Planner:
    """Plans with a prompt and a budget."""

    def __init__(self) -> None:
        self.prompt = node("Plan carefully.", name="prompt", trainable=True)
        self.budget = node(3, name="budget", trainable=True)
        self.fixed = node("not trainable")
        self.tools = [node("search", name="tool", trainable=True)]

    @bundle(trainable=True)
    def plan(self, prompt: str, budget: int) -> str:
        return f"{prompt} x{budget}"


def test_model_makes_a_module_keeping_the_class_name() -> None:
    p = Planner()
    assert isinstance(p, Module)
    assert type(p).__name__ == "Planner"
    assert type(p).__doc__ == "Plans with a prompt and a budget."


def test_parameters_include_code_of_trainable_methods() -> None:
    p = Planner()
    named = p.named_parameters()
    assert set(named) == {"prompt", "budget", "tools[0]", "plan.__code"}
    assert named["plan.__code"] is Planner.plan.code_parameter(p)
    assert all(isinstance(v, ParameterNode) for v in p.parameters())


def test_save_load_round_trip(tmp_path: Path) -> None:
    p = Planner()
    p.prompt.set("Plan quickly.")
    p.budget.set(7)
    Planner.plan.code_parameter(p).set(
        "def plan(self, prompt, budget):\n    return prompt * budget\n"
    )
    path = p.save(tmp_path / "planner.json")
    q = Planner()
    q.load(path)
    assert q.prompt.data == "Plan quickly."
    assert q.budget.data == 7
    assert q.plan(q.prompt, 2).data == "Plan quickly.Plan quickly."


def test_save_names_the_parameter_that_is_not_json(tmp_path: Path) -> None:
    p = Planner()
    p.extra = node({1, 2}, name="oddset", trainable=True)  # type: ignore[attr-defined]
    with pytest.raises(SerializationError, match=r"extra.*set"):
        p.save(tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


def test_load_reports_unknown_and_missing_parameters(tmp_path: Path) -> None:
    p = Planner()
    path = p.save(tmp_path / "planner.json")
    doc = json.loads(path.read_text())
    doc["parameters"]["ghost"] = {"name": "ghost", "is_code": False, "value": 1}
    del doc["parameters"]["budget"]
    path.write_text(json.dumps(doc))
    q = Planner()
    with pytest.raises(SerializationError) as info:
        q.load(path)
    assert "ghost" in str(info.value) and "budget" in str(info.value)
    with pytest.warns(UserWarning, match="ghost"):
        q.load(path, strict=False)


def test_load_with_invalid_value_changes_nothing(tmp_path: Path) -> None:
    p = Planner()
    path = p.save(tmp_path / "planner.json")
    doc = json.loads(path.read_text())
    doc["parameters"]["prompt"]["value"] = "New prompt"
    doc["parameters"]["budget"]["value"] = "three"
    path.write_text(json.dumps(doc))
    q = Planner()
    with pytest.raises(SerializationError, match="budget"):
        q.load(path)
    assert q.prompt.data == "Plan carefully."


def test_deepcopy_of_a_model_keeps_separate_parameters_and_code() -> None:
    import copy

    p = Planner()
    q = copy.deepcopy(p)
    assert q.prompt is not p.prompt
    assert q.prompt.data == p.prompt.data
    Planner.plan.code_parameter(q).set("def plan(self, prompt, budget):\n    return 'copy'\n")
    assert q.plan(q.prompt, q.budget).data == "copy"
    assert p.plan(p.prompt, p.budget).data == "Plan carefully. x3"


def test_model_instance_pickles_with_its_code_parameter() -> None:
    import pickle

    p = Planner()
    p.plan(p.prompt, p.budget)  # creates the per-instance code parameter
    q = pickle.loads(pickle.dumps(p))
    assert q.prompt.data == "Plan carefully."
    assert q.plan(q.prompt, q.budget).data == "Plan carefully. x3"
