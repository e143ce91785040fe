"""Exemplar selection under a call budget: random search, greedy/diverse selection, bootstrapping.

Each selector works on a :class:`~optimizers.prompting.evaluation.Search` (which owns the
budget, the memo and the best prompt so far), keeps the search's best instruction, and stops as
soon as the next candidate would cost more calls than are left.

- :func:`random_search`: score random exemplar subsets (the paper's strong, simple baseline).
- :func:`greedy_search`: forward selection; each slot tries the remaining entries, most
  different from those already chosen first, and keeps the one that scores best.
- :func:`diverse_search`: farthest-point sets (inputs that share few words), one per restart;
  cheap when scoring is expensive.
- :func:`bootstrap`: run the model on training items and add the answers the metric judges
  correct to the pool, with their provenance (the model's own input-output pairs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict

from optimizers.prompting.evaluation import Candidate, Search
from optimizers.prompting.program import Exemplar, as_text

if TYPE_CHECKING:
    from typing import Unpack

# Consecutive already-scored draws after which random search concludes the space is exhausted.
_MAX_REPEATS = 200
_OUT_OF_BUDGET = "budget: the next exemplar set would pass the call budget"


class ExemplarChoice(TypedDict, total=False):
    """What every exemplar selector chooses from and how many it shows, declared once.

    ``entries``: the exemplars to choose from (default: the pool's ``source`` entries, or the
    whole pool when it has none of that source). ``size``: how many go in one prompt (default:
    the program's ``max_exemplars``; never more than there are entries).
    """

    size: int | None
    source: str | None
    entries: Sequence[Exemplar] | None


def _choice(
    search: Search,
    *,
    size: int | None = None,
    source: str | None = None,
    entries: Sequence[Exemplar] | None = None,
) -> tuple[list[Exemplar], int]:
    """The entries to choose from and how many a prompt holds, as :class:`ExemplarChoice` says."""
    pool = search.program.pool
    chosen = list(entries) if entries else pool.select(source) or pool.select()
    wanted = size if size is not None else search.program.max_exemplars
    return chosen, min(wanted, len(chosen))


def _candidate(instruction: str, exemplars: Sequence[Exemplar]) -> Candidate:
    return Candidate(instruction=instruction, exemplars=[e.pair() for e in exemplars])


def random_search(
    search: Search,
    *,
    max_candidates: int | None = None,
    **choice: Unpack[ExemplarChoice],
) -> int:
    """Score random subsets of the chosen entries (:class:`ExemplarChoice`).

    Returns the number of candidates scored. Stops when the budget cannot pay for the next
    one, after ``max_candidates``, or when draws keep repeating scored sets.
    """
    entries, k = _choice(search, **choice)
    if k == 0:
        return 0
    scored = repeats = 0
    while max_candidates is None or scored < max_candidates:
        candidate = _candidate(search.best.instruction, search.rng.sample(entries, k))
        if candidate.key() in search.scores:
            repeats += 1
            if repeats >= _MAX_REPEATS:
                search.stopped = "random search: every draw repeats a scored exemplar set"
                break
            continue
        repeats = 0
        if search.evaluate(candidate, "exemplars", note="random") is None:
            search.stopped = _OUT_OF_BUDGET
            break
        scored += 1
    return scored


def _words(value: object) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", as_text(value).casefold()))


def _distance(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard distance between two word sets (1.0 = nothing in common)."""
    union = a | b
    return 1.0 - (len(a & b) / len(union) if union else 1.0)


def diversity_order(
    entries: Sequence[Exemplar], chosen: Sequence[Exemplar], tie_break: Sequence[Exemplar]
) -> list[Exemplar]:
    """``entries`` sorted by distance to the nearest chosen input, farthest first.

    With nothing chosen the ``tie_break`` order is kept (callers pass a seeded shuffle).
    """
    rank = {id(e): i for i, e in enumerate(tie_break)}
    chosen_words = [_words(c.input) for c in chosen]

    def nearest(e: Exemplar) -> float:
        words = _words(e.input)
        return min((_distance(words, c) for c in chosen_words), default=1.0)

    return sorted(entries, key=lambda e: (-nearest(e), rank.get(id(e), 0)))


def greedy_search(
    search: Search,
    *,
    per_slot: int | None = None,
    **choice: Unpack[ExemplarChoice],
) -> list[Exemplar]:
    """Forward selection: fill slots one by one with the chosen entry (:class:`ExemplarChoice`)
    that scores best.

    Each slot scores up to ``per_slot`` remaining entries (all by default), the ones least like
    the chosen inputs first, so a tight budget still tries varied exemplars. Stops adding
    when no entry improves the score or the budget runs out. Returns the chosen entries.
    """
    entries, k = _choice(search, **choice)
    instruction = search.best.instruction
    shuffled = list(entries)
    search.rng.shuffle(shuffled)
    chosen: list[Exemplar] = []
    current = search.evaluate(Candidate(instruction=instruction), "exemplars", note="greedy")
    current = float("-inf") if current is None else current
    for _ in range(k):
        remaining = [e for e in entries if e not in chosen]
        order = diversity_order(remaining, chosen, shuffled)[:per_slot]
        best_entry, best_value, out_of_budget = None, float("-inf"), False
        for entry in order:
            value = search.evaluate(
                _candidate(instruction, [*chosen, entry]), "exemplars", note="greedy"
            )
            if value is None:
                out_of_budget = True
                break
            if value > best_value:
                best_entry, best_value = entry, value
        if best_entry is None or best_value <= current:
            search.stopped = (
                _OUT_OF_BUDGET
                if out_of_budget
                else "greedy: no further exemplar improves the validation score"
            )
            break
        chosen.append(best_entry)
        current = best_value
        if out_of_budget:
            search.stopped = _OUT_OF_BUDGET
            break
    return chosen


def diverse_search(
    search: Search,
    *,
    restarts: int | None = None,
    **choice: Unpack[ExemplarChoice],
) -> int:
    """Score farthest-point sets of the chosen entries (:class:`ExemplarChoice`), each grown
    from a random start; return how many."""
    entries, k = _choice(search, **choice)
    if k == 0:
        return 0
    starts = list(entries)
    search.rng.shuffle(starts)
    scored = 0
    for start in starts[:restarts]:
        chosen = [start]
        while len(chosen) < k:
            rest = [e for e in entries if e not in chosen]
            chosen.append(diversity_order(rest, chosen, starts)[0])
        candidate = _candidate(search.best.instruction, chosen)
        if candidate.key() in search.scores:
            continue
        if search.evaluate(candidate, "exemplars", note="diverse") is None:
            search.stopped = _OUT_OF_BUDGET
            break
        scored += 1
    else:
        search.stopped = "diverse: every start has been tried"
    return scored


def bootstrap_exemplars(
    search: Search,
    *,
    max_calls: int | None = None,
    max_items: int | None = None,
    threshold: float = 1.0,
) -> list[Exemplar]:
    """Answer training items with the best prompt so far; keep the correct answers as exemplars.

    Items are visited in a seeded random order until ``max_items`` are answered or
    ``max_calls`` (default: half the remaining budget) are spent. An answer whose metric is at
    least ``threshold`` joins the pool as ``source="bootstrap"`` with its provenance (the train
    item, the expected output, the prompt that produced it and its score). When the answer is
    exactly a labelled pair already in the pool (common with an exact-match metric), that
    entry is reused. Returns every entry the model answered correctly, new or reused, in the
    order found: the pool of the model's own correct input-output pairs.
    """
    pool = search.program.pool
    allowance = search.budget.remaining // 2 if max_calls is None else max_calls
    allowance = min(allowance, search.budget.remaining)
    spent_before = search.budget.used
    candidate = search.best
    order = list(range(len(search.train)))
    search.rng.shuffle(order)
    correct: list[Exemplar] = []
    tried = added = 0
    for index in order[:max_items]:
        x, y = search.train[index]
        spent = search.budget.used - spent_before
        if search.cost(candidate, [x]) > allowance - spent:
            break
        answer = search.answer(candidate, x)
        tried += 1
        value = search.metric(answer, y)
        if value < threshold:
            continue
        before = len(pool)
        entry = pool.add(
            Exemplar(
                id=f"b{len(pool.select('bootstrap')) + 1}",
                input=x,
                output=answer,
                source="bootstrap",
                provenance={
                    "train_index": index,
                    "expected": y,
                    "score": value,
                    "instruction": candidate.instruction,
                    "exemplar_ids": search.exemplar_ids(candidate),
                },
            )
        )
        added += len(pool) - before
        if entry not in correct:
            correct.append(entry)
    search.record(
        "bootstrap",
        None,
        candidate,
        note=(
            f"{len(correct)} of {tried} training answers correct; {added} new pool entries, "
            f"{len(correct) - added} equal to labelled ones"
        ),
    )
    return correct
