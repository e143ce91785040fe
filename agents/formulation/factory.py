"""Building agents from command-line settings, picklably (Ray workers rebuild them).

``--llm`` takes a ``provider:model`` id for :func:`trace_core.llm.get_llm` (default from
``OPTOFORGE_LLM``), or ``py:package.module:factory`` to use a custom LLM object returned by a
zero-argument factory (a private gateway client, a scripted LLM in tests).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from agents.formulation.agent import FormulationAgent


class LLMSpecError(ValueError):
    """A ``py:module:factory`` LLM id cannot be resolved."""


def resolve_llm(llm_id: str | None) -> Any:
    """The LLM named by ``llm_id`` (None: the ``OPTOFORGE_LLM`` default of the LLM layer)."""
    if llm_id and llm_id.startswith("py:"):
        module_name, _, attr = llm_id[3:].partition(":")
        if not module_name or not attr:
            raise LLMSpecError(f"--llm {llm_id!r}: write py:package.module:factory")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise LLMSpecError(
                f"--llm {llm_id!r}: cannot import {module_name}.{attr}: {err}"
            ) from err
        return factory()
    from trace_core.llm import get_llm

    return get_llm(llm_id)


@dataclass(frozen=True)
class AgentSpec:
    """Everything needed to build a :class:`FormulationAgent`; a picklable agent factory."""

    llm: str | None = None
    solver: str = "scip"
    max_repairs: int = 3
    describe: bool = False
    timeout_s: float = 60.0
    llm_options: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> FormulationAgent:
        return FormulationAgent(
            resolve_llm(self.llm),
            solver=self.solver,
            max_repairs=self.max_repairs,
            describe=self.describe,
            timeout_s=self.timeout_s,
            llm_options=dict(self.llm_options),
        )
