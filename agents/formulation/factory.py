"""Building agents from command-line settings, picklably (Ray workers rebuild them).

``--llm`` takes a ``provider:model`` id for :func:`trace_core.llm.get_llm` (default from
``OPTOFORGE_LLM``), or ``py:package.module:factory`` to use a custom LLM object returned by a
zero-argument factory (a private gateway client, a scripted LLM in tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.errors import AgentsError
from agents.formulation.agent import FormulationAgent
from trace_core.registry import is_spec, resolve_spec


class LLMSpecError(AgentsError, ValueError):
    """A ``py:module:factory`` LLM id cannot be resolved."""


def resolve_llm(llm_id: str | None, budget: Any = None) -> Any:
    """The LLM named by ``llm_id`` (None: the ``OPTOFORGE_LLM`` default of the LLM layer).

    ``budget`` (a ``trace_core.llm.Budget``) caps its calls and cost; custom ``py:`` factories
    take no arguments, so they manage their own.
    """
    if llm_id and is_spec(llm_id):
        return resolve_spec(llm_id, error=LLMSpecError, what="--llm")
    from trace_core.llm import get_llm

    return get_llm(llm_id) if budget is None else get_llm(llm_id, budget=budget)


@dataclass(frozen=True)
class AgentSpec:
    """Everything needed to build a :class:`FormulationAgent`; a picklable agent factory."""

    llm: str | None = None
    solver: str = "scip"
    max_repairs: int = 3
    describe: bool = False
    timeout_s: float = 60.0
    max_cost: float | None = None  # dollars, per process (each Ray worker has its own budget)
    max_calls: int | None = None
    llm_options: dict[str, Any] = field(default_factory=dict)
    program: str | None = None  # trained parameters (best.json of `formulate train`)

    def __call__(self) -> FormulationAgent:
        budget = None
        if self.max_cost is not None or self.max_calls is not None:
            from trace_core.llm import Budget

            budget = Budget(max_calls=self.max_calls, max_cost=self.max_cost)
        return FormulationAgent(
            resolve_llm(self.llm, budget),
            solver=self.solver,
            max_repairs=self.max_repairs,
            describe=self.describe,
            timeout_s=self.timeout_s,
            llm_options=dict(self.llm_options),
            program_path=self.program,
        )
