"""examples/prompt_exemplars.py reproduces the paper's ordering with its stand-in model."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples import prompt_exemplars


def test_example_ablation_orders_strategies_like_the_paper(tmp_path: Path) -> None:
    result = prompt_exemplars.run(budget=100, seed=0, out=str(tmp_path))
    val = {name: row["val"] for name, row in result["rows"].items()}
    assert val["seed"] < val["instruction"] < val["random"] <= val["bootstrap"]
    assert val["combined"] == max(val.values()) == 0.8  # exemplars + the instruction's phrase
    assert all(row["calls"] <= 100 for row in result["rows"].values())
    assert Path(result["plot"]).exists()


class _Chosen(Exception):
    pass


def test_example_builds_the_model_named_by_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(model_id: str) -> None:
        raise _Chosen(model_id)

    monkeypatch.setattr(prompt_exemplars, "get_llm", refuse)
    with pytest.raises(_Chosen, match="openai:gpt-4o-mini"):
        prompt_exemplars.main(["--llm", "openai:gpt-4o-mini"])
