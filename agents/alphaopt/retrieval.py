"""Two-stage LLM retrieval of insights, run separately for the formulation and the program step.

For the formulation step the text is the problem and the tracks searched are Domain Modeling and
General Formulation; for the program step the text is the written formulation (or the problem
when there is none) and the track is Code Implementation. Each step:

1. **Quick match**: the LLM reads the taxonomy of those tracks and names the labels that fit;
   insights filed under a named label become candidates.
2. **Applicability check**: candidates go to the LLM in batches (30 by default) with their
   conditions; it returns the ids that clearly apply, with reasons.

Unlike the reference code, a reply that cannot be parsed **fails closed**: that batch (or the
whole step, for quick match) contributes no insight, and the reason is recorded in the
:class:`RetrievalTrace`. When an embedding function is configured, candidates are first ranked
by similarity and only the closest ``prefilter_k`` are checked (off by default). Replies are
cached in memory per (text, labels) and per (text, batch of id+condition), so condition
refinement can replay retrieval cheaply.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from agents.alphaopt.insight import Insight, Track
from agents.alphaopt.prompting import Prompter
from agents.alphaopt.store import ExperienceLibrary
from agents.alphaopt.taxonomy import render_taxonomy

log = logging.getLogger(__name__)

Embedder = Callable[[Sequence[str]], Sequence[Sequence[float]]]
LabelKey = tuple[str, ...]


class Phase(StrEnum):
    """Which solve step a retrieval serves."""

    FORMULATION = "formulation"
    PROGRAM = "program"


PHASE_TRACKS: dict[Phase, tuple[Track, ...]] = {
    Phase.FORMULATION: (Track.DOMAIN, Track.FORMULATION),
    Phase.PROGRAM: (Track.CODE,),
}


def phase_of(insight: Insight) -> Phase:
    """The step whose retrieval can return ``insight``."""
    return Phase.PROGRAM if insight.track is Track.CODE else Phase.FORMULATION


class LabelReply(BaseModel):
    """Quick-match reply: label paths ``[track, l1, l2]`` (or ``[track, l1]``)."""

    labels: list[list[str]] = Field(default_factory=list)


class Pick(BaseModel):
    """One insight id the applicability check picked, with its reason."""

    id: int
    reason: str = ""


class ApplicableReply(BaseModel):
    """Applicability-check reply: the ids that clearly apply."""

    applicable: list[Pick] = Field(default_factory=list)


@dataclass
class RetrievalTrace:
    """What one retrieval did: labels matched, candidates, selection, and any failures."""

    phase: Phase
    labels: list[LabelKey] = field(default_factory=list)
    candidates: list[int] = field(default_factory=list)
    selected: list[Insight] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def selected_ids(self) -> list[int]:
        """Ids of the selected insights."""
        return [insight.id for insight in self.selected if insight.id is not None]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _resolve_paths(
    paths: Sequence[Sequence[str]], known: Sequence[tuple[str, str, str]]
) -> tuple[list[LabelKey], list[list[str]]]:
    """Label keys for the paths an LLM named, forgiving case, spacing and a missing track.

    ``[track, l1, l2]`` and ``[track, l1]`` are taken as they are; a path without its track
    (``[l1, l2]``, ``[l2]``, ``[l1]``) is matched against the known labels. Returns the keys and
    the paths that matched nothing.
    """
    tracks = {key[0] for key in known}
    keys: list[LabelKey] = []
    unknown: list[list[str]] = []
    for path in paths:
        parts = tuple(" ".join(str(part).split()).lower() for part in path if str(part).strip())
        if parts and parts[0] in tracks and len(parts) in (2, 3):
            keys.append(parts)
            continue
        found: list[LabelKey]
        if len(parts) == 1:  # a bare level-1 or level-2 name
            found = [k[:2] for k in known if k[1] == parts[0]]
            found += [k for k in known if k[2] == parts[0]]
        else:  # [l1, l2], or [wrong track, l1, l2]
            found = [k for k in known if k[1:] == parts[-2:]]
        if found and parts:
            keys += found
        else:
            unknown.append(list(path))
    return list(dict.fromkeys(keys)), unknown


def _output_error() -> type[Exception]:
    from trace_core.llm.errors import LLMOutputError

    return LLMOutputError


class Retriever:
    """Selects applicable insights from ``library`` for a text, as described in the module doc.

    ``max_insights`` and ``max_chars`` cap what one step hands the agent (most relevant first,
    in the order the LLM listed them).
    """

    def __init__(
        self,
        library: ExperienceLibrary,
        prompter: Prompter,
        *,
        batch_size: int = 30,
        max_insights: int = 8,
        max_chars: int = 6000,
        embedder: Embedder | None = None,
        prefilter_k: int = 30,
        cache: bool = True,
    ):
        if batch_size < 1 or max_insights < 1 or prefilter_k < 1:
            raise ValueError("batch_size, max_insights and prefilter_k must be >= 1")
        self.library = library
        self.prompter = prompter
        self.batch_size = batch_size
        self.max_insights = max_insights
        self.max_chars = max_chars
        self.embedder = embedder
        self.prefilter_k = prefilter_k
        self.cache = cache
        self._lock = threading.Lock()
        self._labels_cache: dict[str, tuple[list[LabelKey], list[str]]] = {}
        self._check_cache: dict[str, tuple[list[int], dict[int, str], list[str]]] = {}

    # -- stage 1 ---------------------------------------------------------------------------

    def quick_match(self, text: str, phase: Phase) -> tuple[list[LabelKey], list[str]]:
        """Label keys the LLM matched to ``text`` and the failures met (empty when none)."""
        everything = self.library.labels()
        tracks = PHASE_TRACKS[phase]
        taxonomy = render_taxonomy([label for label in everything if Track(label.track) in tracks])
        key = _digest("labels", phase.value, taxonomy, text)
        with self._lock:
            if self.cache and key in self._labels_cache:
                return self._labels_cache[key]
        failures: list[str] = []
        try:
            reply = self.prompter.structured(
                "quick_match", LabelReply, taxonomy=taxonomy, text=text, phase=phase.value
            )
            labels, unknown = _resolve_paths(reply.labels, [label.key for label in everything])
            wanted = {track.value.lower() for track in tracks}  # other tracks: another step's
            labels = [label for label in labels if label[0] in wanted]
            if unknown:
                failures.append(f"{phase.value} quick match: ignored unknown labels {unknown}")
        except _output_error() as err:
            labels = []
            failures.append(
                f"{phase.value} quick match: unparsable reply ({getattr(err, 'reason', err)}); "
                "no candidates (retrieval fails closed)"
            )
            log.warning("%s", failures[-1])
        result = (list(dict.fromkeys(labels)), failures)
        with self._lock:
            self._labels_cache[key] = result
        return result

    @staticmethod
    def matches(insight: Insight, labels: Sequence[LabelKey]) -> bool:
        """True when the insight's path equals (or lies under) one of ``labels``."""
        own = insight.label_key
        return any(own[: len(label)] == label for label in labels)

    # -- stage 2 ---------------------------------------------------------------------------

    def _prefilter(self, text: str, candidates: list[Insight]) -> list[Insight]:
        if self.embedder is None or len(candidates) <= self.prefilter_k:
            return candidates
        vectors = list(
            self.embedder([text, *(f"{c.condition}\n{c.explanation}" for c in candidates)])
        )
        query, rest = vectors[0], vectors[1:]
        ranked = sorted(
            zip(candidates, rest, strict=True), key=lambda pair: -_cosine(query, pair[1])
        )
        return [insight for insight, _ in ranked[: self.prefilter_k]]

    def check(
        self, text: str, phase: Phase, batch: Sequence[Insight]
    ) -> tuple[list[int], dict[int, str], list[str]]:
        """Ids in ``batch`` that apply to ``text`` (LLM order), their reasons, and failures."""
        key = _digest("check", phase.value, text, *(f"{i.id}:{i.condition}" for i in batch))
        with self._lock:
            if self.cache and key in self._check_cache:
                return self._check_cache[key]
        shown = "\n".join(f"- id {i.id}: applies when: {i.condition}" for i in batch)
        allowed = {i.id for i in batch if i.id is not None}
        failures: list[str] = []
        try:
            reply = self.prompter.structured(
                "applicability", ApplicableReply, text=text, phase=phase.value, candidates=shown
            )
        except _output_error() as err:
            failures.append(
                f"{phase.value} applicability batch of ids {sorted(allowed)}: unparsable reply "
                f"({getattr(err, 'reason', err)}); batch dropped (retrieval fails closed)"
            )
            log.warning("%s", failures[-1])
            result: tuple[list[int], dict[int, str], list[str]] = ([], {}, failures)
        else:
            unknown = [pick.id for pick in reply.applicable if pick.id not in allowed]
            if unknown:
                failures.append(f"{phase.value} applicability: ignored ids not offered {unknown}")
            picked = [pick for pick in reply.applicable if pick.id in allowed]
            ids = list(dict.fromkeys(pick.id for pick in picked))
            result = (ids, {pick.id: pick.reason for pick in picked}, failures)
        with self._lock:
            self._check_cache[key] = result
        return result

    # -- whole step ------------------------------------------------------------------------

    def retrieve(
        self, text: str, phase: Phase, *, insights: Sequence[Insight] | None = None
    ) -> RetrievalTrace:
        """Run both stages for ``text`` over ``insights`` (default: the active library)."""
        pool = [
            insight
            for insight in (self.library.all() if insights is None else insights)
            if insight.track in PHASE_TRACKS[phase]
        ]
        trace = RetrievalTrace(phase=phase)
        if not pool:
            return trace
        trace.labels, failures = self.quick_match(text, phase)
        trace.failures += failures
        candidates = self._prefilter(text, [i for i in pool if self.matches(i, trace.labels)])
        trace.candidates = [i.id for i in candidates if i.id is not None]
        by_id = {insight.id: insight for insight in candidates}
        chosen: list[int] = []
        for start in range(0, len(candidates), self.batch_size):
            ids, reasons, failures = self.check(
                text, phase, candidates[start : start + self.batch_size]
            )
            chosen += ids
            trace.reasons.update(reasons)
            trace.failures += failures
        used = 0
        for insight_id in dict.fromkeys(chosen):
            insight = by_id[insight_id]
            size = len(insight.prompt_text())
            if len(trace.selected) >= self.max_insights or used + size > self.max_chars:
                break
            trace.selected.append(insight)
            used += size
        return trace

    def would_retrieve(self, insight: Insight, text: str) -> bool:
        """Replay retrieval for one insight (e.g. with a candidate condition) on ``text``.

        Conditions matter only in the applicability check, so the quick match (cached) decides
        candidacy and the insight is then checked on its own.
        """
        phase = phase_of(insight)
        labels, _ = self.quick_match(text, phase)
        if not self.matches(insight, labels):
            return False
        ids, _, _ = self.check(text, phase, [insight])
        return insight.id in ids


class LibrarySource:
    """The library as a :class:`agents.formulation.library.InsightSource` for the agent.

    ``retrieve(question)`` serves the formulation step; ``retrieve_for_program(question,
    formulation)`` the program step; ``record`` counts retrievals in the insights' stats.
    The traces of the calling thread's last solve are in :attr:`traces`.
    """

    def __init__(self, retriever: Retriever, *, count_stats: bool = True):
        self.retriever = retriever
        self.count_stats = count_stats
        self._local = threading.local()

    @property
    def traces(self) -> list[RetrievalTrace]:
        """This thread's retrieval traces for the current item (formulation, then program)."""
        return list(getattr(self._local, "traces", []))

    def retrieve(self, question: str) -> list[Insight]:
        """Insights for formulating ``question``; starts this thread's traces afresh."""
        trace = self.retriever.retrieve(question, Phase.FORMULATION)
        self._local.traces = [trace]
        return trace.selected

    def retrieve_for_program(self, question: str, formulation: str | None) -> list[Insight]:
        """Insights for writing the program, matched on the formulation when there is one."""
        trace = self.retriever.retrieve(formulation or question, Phase.PROGRAM)
        self._local.traces = [*getattr(self._local, "traces", []), trace]
        return trace.selected

    def record(self, insight_ids: Sequence[Any], result: Any) -> None:
        """Count the used insights as retrieved when ``count_stats`` is on."""
        ids = [i for i in insight_ids if isinstance(i, int)]
        if self.count_stats and ids:
            self.retriever.library.count_retrieved(ids)


class FixedSource:
    """An InsightSource that always hands over the same insights (verification replays)."""

    def __init__(self, insights: Sequence[Insight]):
        self.insights = list(insights)

    def retrieve(self, question: str) -> list[Insight]:
        """The fixed insights, whatever the question."""
        return list(self.insights)
