"""TF-IDF near-duplicate detection on variables + objective (threshold 0.7)."""

from __future__ import annotations

from agents.resocratic.dedup import DedupIndex

A = "Define Variables number of mugs M number of bowls B Maximize profit 5*M + 8*B mug bowl"
A_REWORDED = (
    "Define Variables number of mugs M number of bowls B Maximize profit 6*M + 9*B mug bowl"
)
B = "Define Variables kilograms of grain G pellets P Minimize feed cost 0.3*G + 0.45*P ration"


def test_near_duplicate_is_refused_and_distinct_text_admitted() -> None:
    index = DedupIndex()
    assert index.admit("a", A)
    assert index.similarity(A_REWORDED) >= 0.7
    assert not index.admit("a2", A_REWORDED)
    assert index.admit("b", B)
    assert len(index) == 2


def test_removed_text_no_longer_blocks() -> None:
    index = DedupIndex()
    index.admit("a", A)
    index.remove("a")
    assert index.admit("a2", A_REWORDED)
