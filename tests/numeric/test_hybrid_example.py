"""examples/hybrid_feature_regression.py runs end to end with a scripted LLM."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("optimizers.optoprime", reason="needs the OptoPrime optimizer")

from trace_core.llm import ScriptedLLM  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hybrid_feature_regression.py"
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
    spec = importlib.util.spec_from_file_location("hybrid_feature_regression", EXAMPLE)
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    llm = ScriptedLLM(_reply)
    report = example.main(llm=llm, rounds=3, steps_per_round=60)
    assert "x**2" in report.features_source
    assert report.llm_calls == 3 and len(llm.calls) >= 1
    linear_features_floor = min(report.losses[:60])  # best a line can do on 3x²+1 here
    assert linear_features_floor > 0.3
    assert report.losses[-1] < 0.01
    assert report.weights == pytest.approx([3.0, 1.0], abs=0.1)
