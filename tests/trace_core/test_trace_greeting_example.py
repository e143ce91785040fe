"""examples/trace_greeting.py (Trace's greeting.py, imports changed) trains end to end."""

from __future__ import annotations

import json

import pytest

from tests.scripts import load_script
from trace_core.llm import ScriptedLLM
from trace_core.llm.registry import register_provider


def _reply(messages: list[dict[str, str]]) -> str:
    text = " ".join(m["content"] for m in messages)
    if "#Feedback" in text or "suggestion" in text:  # the optimizer's prompt
        return json.dumps({"reasoning": "the greeting is already right", "suggestion": {}})
    return "es" if "language" in text else "Juan"


def test_ported_trace_example_runs_with_only_import_changes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    register_provider("greeting", lambda model, **kw: ScriptedLLM(_reply, model=model))
    monkeypatch.setenv("OPTOFORGE_LLM", "greeting:test")
    module = load_script("examples/trace_greeting.py", "trace_greeting")
    agent = module.train()
    out = capsys.readouterr().out
    assert out.count("Training Epoch") == 3
    assert agent("Hola, soy Juan.").data == "Hola, Juan!"
    names = set(agent.named_parameters())
    assert {"instruct1", "instruct2", "decide_lang.__code", "greet.__code"} <= names
