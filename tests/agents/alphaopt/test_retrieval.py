"""Two-stage retrieval: taxonomy quick match, batched applicability checks, failing closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.agents.alphaopt.script import FIXING, INTEGRALITY, MEALS, Script

ROUTING = ["Domain Modeling", "Routing", "Tours and Subtours"]
CODE = ["Code Implementation", "Solver & API Syntax", "Model Building Calls"]


@pytest.fixture
def library(tmp_path: Path) -> Any:
    from agents.alphaopt import ExperienceLibrary

    with ExperienceLibrary(tmp_path / "lib.sqlite") as store:
        yield store


def _retriever(library: Any, llm: Any, **kw: Any) -> Any:
    from agents.alphaopt.prompting import Prompter
    from agents.alphaopt.retrieval import Retriever

    return Retriever(library, Prompter(llm), **kw)


def _add(library: Any, taxonomy: list[str], condition: str, text: str = "lesson") -> int:
    from agents.alphaopt import Insight

    return library.add(Insight(taxonomy=taxonomy, condition=condition, explanation=text))


def test_only_label_matched_insights_whose_condition_applies_are_selected(
    library: Any, llm: Any
) -> None:
    from agents.alphaopt import Phase

    fits = _add(library, INTEGRALITY, "ALWAYS")
    _add(library, INTEGRALITY, "NEVER")
    off_label = _add(library, ROUTING, "ALWAYS")

    trace = _retriever(library, llm).retrieve("buy some meals", Phase.FORMULATION)

    assert trace.selected_ids == [fits]
    assert off_label not in trace.candidates and len(trace.candidates) == 2
    assert trace.failures == []


def test_code_insights_are_retrieved_only_in_the_program_step(library: Any, llm: Any) -> None:
    from agents.alphaopt import Phase

    model_lesson = _add(library, INTEGRALITY, "ALWAYS")
    code_lesson = _add(library, CODE, "ALWAYS")
    retriever = _retriever(library, llm)

    assert retriever.retrieve("meals", Phase.FORMULATION).selected_ids == [model_lesson]
    assert retriever.retrieve("x = addVar()", Phase.PROGRAM).selected_ids == [code_lesson]


def test_candidates_are_checked_in_batches_of_30_and_capped(
    library: Any, llm: Any, script: Script
) -> None:
    from agents.alphaopt import Phase

    for number in range(35):
        _add(library, INTEGRALITY, "ALWAYS", f"lesson {number}")

    trace = _retriever(library, llm, max_insights=8).retrieve("meals", Phase.FORMULATION)

    assert script.steps.count("applicability check") == 2
    assert len(trace.candidates) == 35 and len(trace.selected) == 8


@pytest.mark.parametrize(
    ("reply_field", "reply", "stage", "candidates"),
    [
        ("applicability_reply", "they all apply, I think", "applicability batch", 1),
        ("quick_match_reply", "Integrality, probably", "quick match", 0),
    ],
)
def test_unparsable_reply_fails_closed_and_says_why(
    library: Any,
    llm: Any,
    script: Script,
    reply_field: str,
    reply: str,
    stage: str,
    candidates: int,
) -> None:
    from agents.alphaopt import Phase

    _add(library, INTEGRALITY, "ALWAYS")
    setattr(script, reply_field, reply)

    trace = _retriever(library, llm).retrieve("meals", Phase.FORMULATION)

    assert len(trace.candidates) == candidates and trace.selected == []
    assert len(trace.failures) == 1
    assert stage in trace.failures[0] and "fails closed" in trace.failures[0]
    # A failed quick match leaves no candidates, so no applicability check is paid for.
    assert ("applicability check" in script.steps) == bool(candidates)


def test_embedding_prefilter_limits_what_the_llm_checks(library: Any, llm: Any) -> None:
    from agents.alphaopt import Phase

    near = _add(library, INTEGRALITY, "ALWAYS", "integer meals")
    for number in range(4):
        _add(library, INTEGRALITY, "ALWAYS", f"unrelated {number}")

    def embed(texts: Any) -> list[list[float]]:
        return [[1.0, 0.0] if "meals" in text else [0.0, 1.0] for text in texts]

    retriever = _retriever(library, llm, embedder=embed, prefilter_k=1)
    trace = retriever.retrieve("meals", Phase.FORMULATION)

    assert trace.candidates == [near] and trace.selected_ids == [near]


def test_repeated_retrieval_is_served_from_the_cache(
    library: Any, llm: Any, script: Script
) -> None:
    from agents.alphaopt import Phase

    _add(library, INTEGRALITY, "ALWAYS")
    retriever = _retriever(library, llm)
    first = retriever.retrieve("meals", Phase.FORMULATION)
    calls = len(script.steps)

    again = retriever.retrieve("meals", Phase.FORMULATION)

    assert again.selected_ids == first.selected_ids and len(script.steps) == calls


def test_agent_solves_with_retrieved_insight_and_counts_the_use(
    alpha: Any, items: dict[str, Any]
) -> None:
    from agents.alphaopt import Insight

    insight_id = alpha.library.add(Insight(**FIXING))
    code_id = alpha.library.add(
        Insight(taxonomy=CODE, condition="ALWAYS", explanation="call report() once")
    )

    result = alpha.agent(describe=True).solve(items[MEALS].question)

    assert result.objective == pytest.approx(72.0)
    assert result.insight_ids == [insight_id, code_id]  # formulation step, then program step
    assert alpha.library.get(insight_id).stats.retrieved == 1


EMBED_CALLS: list[list[str]] = []


def make_embedder() -> Any:
    def embed(texts: Any) -> list[list[float]]:
        EMBED_CALLS.append(list(texts))
        return [[float(len(text)), 1.0] for text in texts]

    return embed


def test_embedder_is_off_by_default_and_caches_vectors_per_text() -> None:
    from agents.alphaopt.embedding import EmbedderConfigError, load_embedder

    assert load_embedder(None) is None
    with pytest.raises(EmbedderConfigError, match="openai:<model>"):
        load_embedder("word2vec")
    embed = load_embedder("py:tests.agents.alphaopt.test_retrieval:make_embedder")
    assert embed is not None
    EMBED_CALLS.clear()

    first = embed(["a", "bb"])
    second = embed(["bb", "a", "ccc"])

    assert first == [[1.0, 1.0], [2.0, 1.0]] and second[2] == [3.0, 1.0]
    assert EMBED_CALLS == [["a", "bb"], ["ccc"]]  # each text embedded once


def test_quick_match_forgives_case_and_a_missing_track_and_reports_unknown_labels() -> None:
    from agents.alphaopt.retrieval import _resolve_paths
    from agents.alphaopt.taxonomy import seed_labels

    known = [label.key for label in seed_labels()]
    keys, unknown = _resolve_paths(
        [["VARIABLE definition", "integrality"], ["Routing"], ["Knitting"]], known
    )

    assert ("general formulation", "variable definition", "integrality") in keys
    assert ("domain modeling", "routing") in keys
    assert unknown == [["Knitting"]]
