"""The insight: one reusable lesson of the experience library, and its bookkeeping.

An insight has four content fields (taxonomy path, condition, explanation, example). The
condition says *when* the insight applies and is read only by retrieval; the explanation and
example are what the formulation agent sees. Bookkeeping records where the insight came from
(``provenance``), how often it was used (``stats``) and, per training item, how it fared
(``distribution``): that record is what diagnosis writes and condition refinement reads.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Track(StrEnum):
    """The three top-level taxonomy tracks."""

    DOMAIN = "Domain Modeling"
    FORMULATION = "General Formulation"
    CODE = "Code Implementation"


class Bucket(StrEnum):
    """How an insight related to one training item (the five lists of ``distribution``)."""

    POSITIVE = "positive"  # retrieved, and the item was solved with it (it helped)
    NEGATIVE = "negative"  # retrieved, and it misled the model on this item
    UNRETRIEVED = "unretrieved"  # not retrieved, but adding it solved the item
    IRRELEVANT = "irrelevant"  # retrieved, but it has nothing to do with the item
    INVALID = "invalid"  # retrieved, and its advice is wrong in itself


class InsightStats(BaseModel):
    """Usage counters: times retrieved, and times the item then was solved or made worse."""

    retrieved: int = Field(default=0, ge=0)
    helped: int = Field(default=0, ge=0)
    hurt: int = Field(default=0, ge=0)

    def combined_max(self, other: InsightStats) -> InsightStats:
        """Element-wise maximum: importing the same export twice does not double counts."""
        return InsightStats(
            retrieved=max(self.retrieved, other.retrieved),
            helped=max(self.helped, other.helped),
            hurt=max(self.hurt, other.hurt),
        )


class Distribution(BaseModel):
    """Item ids per :class:`Bucket`; an item sits in at most one bucket (its latest outcome)."""

    positive: list[str] = Field(default_factory=list)
    negative: list[str] = Field(default_factory=list)
    unretrieved: list[str] = Field(default_factory=list)
    irrelevant: list[str] = Field(default_factory=list)
    invalid: list[str] = Field(default_factory=list)

    def placed(self, bucket: Bucket, item_id: str) -> Distribution:
        """A copy with ``item_id`` moved into ``bucket`` (removed from every other bucket)."""
        data = {b.value: [i for i in getattr(self, b.value) if i != item_id] for b in Bucket}
        data[bucket.value].append(item_id)
        return Distribution(**data)

    def bucket_of(self, item_id: str) -> Bucket | None:
        """The bucket holding ``item_id``, or None."""
        return next((b for b in Bucket if item_id in getattr(self, b.value)), None)

    def union(self, other: Distribution) -> Distribution:
        """Both records; where they disagree on an item, ``other`` wins."""
        merged = self
        for bucket in Bucket:
            for item_id in getattr(other, bucket.value):
                merged = merged.placed(bucket, item_id)
        return merged


InsightStatus = Literal["active", "retired", "merged", "split"]
_SPACES = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


class Insight(BaseModel):
    """One lesson: where it sits in the taxonomy, when it applies, what to do, an example."""

    model_config = ConfigDict(validate_assignment=True)

    id: int | None = None
    taxonomy: list[str] = Field(description="[track, level-1 label, level-2 label]")
    condition: str = Field(min_length=1, description="when it applies; used only by retrieval")
    explanation: str = Field(min_length=1, description="best practice, typical mistake, why")
    example: str = Field(default="", description="a short wrong-vs-right modelling snippet")
    provenance: list[str] = Field(default_factory=list, description="ids of source items")
    stats: InsightStats = Field(default_factory=InsightStats)
    distribution: Distribution = Field(default_factory=Distribution)
    status: InsightStatus = "active"
    version: int = Field(default=1, ge=1)
    iteration: int = Field(default=0, ge=0, description="0: learning; k: k-th evolution round")

    @field_validator("taxonomy")
    @classmethod
    def _taxonomy_path(cls, path: list[str]) -> list[str]:
        path = [part.strip() for part in path]
        if len(path) != 3 or not all(path):
            raise ValueError(
                f"taxonomy must be [track, level-1 label, level-2 label], got {path!r}"
            )
        tracks = {track.value.lower(): track.value for track in Track}
        if path[0].lower() not in tracks:
            raise ValueError(f"unknown track {path[0]!r}; use one of {', '.join(Track)}")
        return [tracks[path[0].lower()], path[1], path[2]]

    @property
    def track(self) -> Track:
        """The track (first taxonomy level) this insight belongs to."""
        return Track(self.taxonomy[0])

    @property
    def label_key(self) -> tuple[str, str, str]:
        """The taxonomy path, lower-cased: labels match case-insensitively."""
        return (self.taxonomy[0].lower(), self.taxonomy[1].lower(), self.taxonomy[2].lower())

    def content_key(self) -> tuple[str, ...]:
        """What makes two insights identical: taxonomy and texts, ignoring case and spacing.

        The library holds at most one insight per key; every write path (add, import, merge,
        split, refine) follows the same rule, so exporting a library and importing it into an
        empty one gives back the same insights.
        """
        return (
            *self.label_key,
            _norm(self.condition),
            _norm(self.explanation),
            _norm(self.example),
        )

    def absorbed(self, twin: Insight) -> Insight:
        """This insight after an identical ``twin`` was folded into it.

        Provenance and distribution are united and each stats counter keeps the larger value,
        so folding the same twin again (a writer restarted over the same items, an export
        imported twice) changes nothing. Id, texts, status and version stay this insight's.
        """
        return self.model_copy(
            update={
                "provenance": list(dict.fromkeys([*self.provenance, *twin.provenance])),
                "distribution": self.distribution.union(twin.distribution),
                "stats": self.stats.combined_max(twin.stats),
            }
        )

    def prompt_text(self) -> str:
        """The text the formulation agent sees (conditions are for retrieval only)."""
        text = f"[{self.id}] {self.explanation.strip()}"
        return f"{text}\n  Example: {self.example.strip()}" if self.example.strip() else text
