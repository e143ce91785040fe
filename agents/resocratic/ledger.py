"""LLM usage of one synthesis task or run: calls, tokens and dollars."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Ledger(BaseModel):
    """Running totals of LLM usage; ``add`` takes a Completion or any object with ``usage``."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0

    def add(self, completion: Any) -> None:
        """Count one ``trace_core.llm.Completion``."""
        usage = getattr(completion, "usage", None)
        self.calls += 1
        self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
        self.total_tokens += int(getattr(usage, "total_tokens", 0) or 0)
        self.cost += float(getattr(completion, "cost", 0.0) or 0.0)

    def add_totals(self, usage: Any) -> None:
        """Add a total that already counts its calls (a formulation result's ``usage``)."""
        self.calls += int(getattr(usage, "calls", 0) or 0)
        self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
        self.total_tokens += int(getattr(usage, "total_tokens", 0) or 0)
        self.cost += float(getattr(usage, "cost", 0.0) or 0.0)

    def merge(self, other: Ledger) -> None:
        """Add another ledger's totals to this one."""
        self.add_totals(other)
