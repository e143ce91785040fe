"""Acceptance statistics per synthesis stage, with the reasons items were dropped."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from trace_core.llm.meter import LLMUsage

# (stage, unit, the stage its acceptance rate is measured against)
STAGES: tuple[tuple[str, str, str | None], ...] = (
    ("generated", "demonstrations", None),
    ("validated", "demonstrations", "generated"),
    ("deduped", "demonstrations", "validated"),
    ("problems", "prefix levels", None),
    ("solved", "problems", "problems"),
    ("questions", "requested questions", None),
    ("back_translated", "questions", "questions"),
    ("verified", "questions", "back_translated"),
    ("written", "items", "verified"),
)


class SynthesisStats(BaseModel):
    """Counts per stage (see ``STAGES``), drop reasons, and LLM usage."""

    samples: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    dropped: dict[str, int] = Field(default_factory=dict)
    usage: LLMUsage = Field(default_factory=LLMUsage)

    def bump(self, stage: str, by: int = 1) -> None:
        """Count ``by`` more passes through ``stage``."""
        self.counts[stage] = self.counts.get(stage, 0) + by

    def drop(self, reason: str) -> None:
        """Count one sample dropped for ``reason``."""
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def count(self, stage: str) -> int:
        """How many passed through ``stage`` (0 when none did)."""
        return self.counts.get(stage, 0)

    def merge(self, other: SynthesisStats) -> None:
        """Add another run's counts, drops and usage to these."""
        self.samples += other.samples
        self.counts = dict(Counter(self.counts) + Counter(other.counts))
        self.dropped = dict(Counter(self.dropped) + Counter(other.dropped))
        self.usage.merge(other.usage)

    def rows(self) -> list[dict[str, object]]:
        """One row per stage: count, unit and acceptance rate against the stage before it."""
        out: list[dict[str, object]] = []
        for stage, unit, base in STAGES:
            count = self.count(stage)
            denominator = self.count(base) if base else None
            rate = None if not denominator else count / denominator
            out.append({"stage": stage, "count": count, "unit": unit, "rate": rate})
        return out

    def report(self) -> dict[str, object]:
        """The JSON report of ``optoforge synthesize --json``."""
        written = self.count("written")
        return {
            "samples": self.samples,
            "written": written,
            "stages": self.rows(),
            "dropped": dict(sorted(self.dropped.items(), key=lambda kv: -kv[1])),
            "calls": self.usage.calls,
            "tokens": self.usage.total_tokens,
            "cost": round(self.usage.cost, 6),
            "cost_per_item": round(self.usage.cost / written, 6) if written else None,
        }
