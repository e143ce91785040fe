"""Fixtures for AlphaOPT tests: a scripted LLM, sample items, and a ready AlphaOpt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.agents.alphaopt.script import BONES, MEALS, SAMPLE, Script


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def llm(script: Script) -> Any:
    scripted = pytest.importorskip("trace_core.llm").ScriptedLLM
    return scripted(script)


@pytest.fixture
def items() -> dict[str, Any]:
    from agents.evaluation.dataset import load_dataset

    return {item.id: item for item in load_dataset(SAMPLE) if item.id in (MEALS, BONES)}


@pytest.fixture
def alpha(tmp_path: Path, llm: Any, sandbox_ready: None) -> Any:
    """AlphaOpt on a fresh library: one solve per item, no repairs, one verify round."""
    from agents.alphaopt import AlphaOpt, LearnSettings, SolveSettings

    return AlphaOpt(
        tmp_path / "library.sqlite",
        llm,
        solve=SolveSettings(max_repairs=0, timeout_s=60.0),
        learn=LearnSettings(attempts=1),
        verify_rounds=1,
    )
