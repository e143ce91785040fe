"""Fixtures for formulation tests: the oracle LLM and the sandbox prerequisites."""

from __future__ import annotations

import pytest


def _need_llm_layer() -> None:
    try:
        from trace_core.llm import ScriptedLLM, get_llm  # noqa: F401
    except ImportError:
        pytest.skip("needs the LLM layer (trace_core.llm)")


@pytest.fixture
def llm_layer() -> None:
    """Skip unless trace_core.llm is available."""
    _need_llm_layer()


@pytest.fixture
def oracle():  # type: ignore[no-untyped-def]
    """A fresh oracle ScriptedLLM (see tests/agents/formulation/oracle.py)."""
    _need_llm_layer()
    from tests.agents.formulation.oracle import make_oracle

    return make_oracle()


@pytest.fixture
def sandbox_ready() -> None:
    """Skip unless generated pyscipopt programs can run in the sandbox."""
    pytest.importorskip("pyscipopt")
    pytest.importorskip("trace_core.sandbox")
