"""examples/hybrid_feature_regression.py runs end to end with a scripted LLM."""

from __future__ import annotations

import importlib
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("optimizers.optoprime", reason="needs the OptoPrime optimizer")

from trace_core.llm import ScriptedLLM  # noqa: E402

BETTER = '''def features(x):
    """Turn the input tensor into exactly two feature tensors (the model has two weights)."""
    return [x**2, x * 0 + 1.0]
'''


def _reply(messages: list[dict]) -> str:
    """Suggest quadratic features the first time, then keep them."""
    prompt = "\\n".join(str(m.get("content", "")) for m in messages)
    if "x**2" in prompt:
        return json.dumps({"reasoning": "the features fit now", "suggestion": {}})
    name = "__code_features"
    return json.dumps({"reasoning": "y grows like x squared", "suggestion": {name: BETTER}})


def test_example_trains_tensor_and_code_together() -> None:
    example = importlib.import_module("examples.hybrid_feature_regression")
    llm = ScriptedLLM(_reply)
    report = example.main(llm=llm, rounds=3, steps_per_round=60)
    assert "x**2" in report.features_source
    assert report.llm_calls == 3 and len(llm.calls) >= 1
    linear_features_floor = min(report.losses[:60])  # best a line can do on 3x²+1 here
    assert linear_features_floor > 0.3
    assert report.losses[-1] < 0.01
    assert report.weights == pytest.approx([3.0, 1.0], abs=0.1)


def test_example_recovers_when_the_llm_writes_failing_code() -> None:
    example = importlib.import_module("examples.hybrid_feature_regression")
    three_features = BETTER.replace("[x**2, x * 0 + 1.0]", "[x**2, x, x * 0 + 1.0]")
    replies = [three_features, BETTER]

    def reply(messages: list[dict]) -> str:
        if not replies:
            return json.dumps({"reasoning": "keep", "suggestion": {}})
        return json.dumps({"reasoning": "try", "suggestion": {"__code_features": replies.pop(0)}})

    llm = ScriptedLLM(reply)
    report = example.main(llm=llm, rounds=3, steps_per_round=60)
    error_prompt = "\n".join(str(m.get("content", "")) for m in llm.calls[1])
    assert "ValueError" in error_prompt  # the second prompt carried the runtime error
    assert report.features_source == BETTER
    assert report.losses[-1] < 0.05
