"""Each selector finds the better prompt within its budget, spends no more than its budget
(counted on the scripted model), and reproduces its run from the seed.

In the scripted world (tests/optimizers/prompting/world.py) validation is 40% upper, 30% reverse,
20% double, 10% first; an exemplar teaches its rule, and the instruction phrase KEY teaches
'first'. With two exemplars the best exemplar set scores 0.7 (upper + reverse) and the best
prompt overall 0.8 (those exemplars plus KEY).
"""

from __future__ import annotations

from typing import Any

import pytest

from optimizers.prompting import PromptProgram, run_strategy
from optimizers.prompting.schedule import STRATEGIES
from tests.optimizers.prompting.world import KEY, SEED, dataset, world_llm

TRAIN = dataset({"upper": 2, "reverse": 2, "double": 2, "first": 2})
VAL = dataset({"upper": 4, "reverse": 3, "double": 2, "first": 1}, offset=3)
BEST_EXEMPLARS = 0.7
BEST_OVERALL = 0.8


def _rules(result: Any) -> set[str]:
    return {pair["input"].split(":")[0] for pair in result.best.exemplars}


def _run(strategy: str, budget: int, seed: int = 0, **kw: Any) -> tuple[Any, Any]:
    llm = world_llm(reasoning=kw.pop("reasoning", False), joint_ids=kw.pop("joint_ids", None))
    program = PromptProgram(SEED, TRAIN, llm=llm, max_exemplars=2)
    metric = kw.pop("metric", "exact")
    result = run_strategy(strategy, program, TRAIN, VAL, metric, budget=budget, seed=seed, **kw)
    return result, llm


def test_random_search_finds_the_best_exemplar_pair_within_budget() -> None:
    result, _ = _run("random", budget=200)
    assert result.seed_score == 0.0
    assert result.best_score == pytest.approx(BEST_EXEMPLARS)
    assert _rules(result) == {"upper", "reverse"}


def test_greedy_adds_the_most_useful_rule_first_then_the_next() -> None:
    result, _ = _run("greedy", budget=200)
    assert result.best_score == pytest.approx(BEST_EXEMPLARS)
    assert _rules(result) == {"upper", "reverse"}
    assert result.best.exemplars[0]["input"].startswith("upper")  # 40% beats 30%


def test_diverse_sets_cover_different_rules_and_reach_the_best_pair() -> None:
    result, _ = _run("diverse", budget=200)
    assert result.best_score == pytest.approx(BEST_EXEMPLARS)
    assert all(len(_rules_of(s)) == 2 for s in result.history if s.kind == "exemplars")


def _rules_of(step: Any) -> set[str]:
    """The rules of a step's exemplars (pool id eN is TRAIN[N - 1])."""
    return {TRAIN[int(i[1:]) - 1]["type"] for i in step.exemplar_ids}


@pytest.mark.parametrize("optimizer", ["optoprime", "opro"])
def test_instruction_optimizer_finds_the_key_phrase(optimizer: str) -> None:
    result, _llm = _run("instruction", budget=40, optimizer=optimizer)
    assert KEY in result.best.instruction
    assert result.best_score == pytest.approx(0.1)  # 'first' is 10% of validation
    assert result.best.exemplars == []


def test_exemplars_only_beats_instruction_only_and_combined_beats_both() -> None:
    instruction, _ = _run("instruction", budget=120)
    random, _ = _run("random", budget=120)
    combined, _ = _run("combined", budget=120)
    assert instruction.best_score < random.best_score < combined.best_score
    assert combined.best_score == pytest.approx(BEST_OVERALL)
    assert KEY in combined.best.instruction and _rules(combined) == {"upper", "reverse"}


def test_alternating_schedule_reaches_the_best_prompt() -> None:
    result, llm = _run("alternate", budget=150)
    assert result.best_score == pytest.approx(BEST_OVERALL)
    kinds = [s.kind for s in result.history]
    assert "instruction" in kinds and "exemplars" in kinds
    assert result.calls == len(llm.calls) <= 150


def test_model_errors_reach_the_caller_as_llm_errors() -> None:
    from trace_core.llm import LLMError, ScriptedLLM

    calls = {"n": 0}

    def reply(messages: list[dict[str, Any]]) -> str:
        calls["n"] += 1
        if calls["n"] > 10:  # the seed scoring works, then the provider fails
            raise LLMError("provider down")
        return "x"

    program = PromptProgram(SEED, TRAIN, llm=ScriptedLLM(reply), max_exemplars=2)
    with pytest.raises(LLMError, match="provider down"):
        run_strategy("instruction", program, TRAIN, VAL, "exact", budget=50)


def test_joint_optimizer_sets_instruction_and_exemplars_in_one_step() -> None:
    # e1 = upper, e3 = reverse in the pool built from TRAIN
    result, _ = _run("joint", budget=40, joint_ids=["e1", "e3"])
    assert result.best_score == pytest.approx(BEST_OVERALL)
    assert result.best_exemplar_ids == ["e1", "e3"]


def test_bootstrapped_exemplars_beat_labelled_ones_when_the_model_needs_its_own_reasoning() -> None:
    # In the reasoning world a terse gold exemplar teaches nothing; the model's own correct
    # answers (short words, with reasoning) do. Metric 'contains' accepts reasoned answers.
    gold, _ = _run("random", budget=150, reasoning=True, metric="contains")
    boot, _ = _run("bootstrap", budget=150, reasoning=True, metric="contains")
    assert boot.best_score > gold.best_score
    assert boot.bootstrapped and all(e.source == "bootstrap" for e in boot.bootstrapped)
    first = boot.bootstrapped[0]
    assert "because" in first.output
    assert first.provenance["score"] == 1.0
    assert first.provenance["instruction"] == SEED
    assert TRAIN[first.provenance["train_index"]]["input"] == first.input
    assert all(i.startswith("b") for i in boot.best_exemplar_ids)


def test_bootstrap_with_exact_metric_reuses_the_labelled_pairs_the_model_gets_right() -> None:
    from optimizers.prompting import Search, bootstrap_exemplars, load_metric

    # With KEY in the seed instruction the model answers 'first' items right on its own; its
    # answers equal the labels, so the pool's own entries e7 and e8 are what it can reuse.
    program = PromptProgram(f"{SEED} {KEY}.", TRAIN, llm=world_llm(), max_exemplars=2)
    search = Search(program, TRAIN, VAL, load_metric("exact"), budget=100, seed=0)
    with search:
        search.start()
        found = bootstrap_exemplars(search)
    assert sorted(e.id for e in found) == ["e7", "e8"]
    assert len(program.pool) == len(TRAIN)  # nothing duplicated
    assert search.budget.used == 10 + len(TRAIN)  # seed scoring + one answer per train item
    assert "2 of 8 training answers correct" in search.history[-1].note


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("budget", [10, 37, 95])
def test_every_strategy_spends_at_most_its_budget_counted_on_the_model(
    strategy: str, budget: int
) -> None:
    result, llm = _run(strategy, budget=budget)
    assert result.calls == len(llm.calls) <= budget
    assert result.history[-1].calls <= result.calls


def test_budget_too_small_for_the_seed_score_is_a_clear_error() -> None:
    from optimizers.prompting import BudgetTooSmall

    with pytest.raises(BudgetTooSmall, match="10 validation items"):
        _run("random", budget=9)


def test_random_search_spends_the_budget_exactly_when_it_divides() -> None:
    # seed (10 calls) + 5 candidates x 10 calls: nothing is left over, nothing exceeded
    result, llm = _run("random", budget=60)
    assert result.calls == len(llm.calls) == 60
    assert sum(1 for s in result.history if s.kind == "exemplars") == 5


def test_repeated_prompts_are_free_so_budget_goes_to_new_ones() -> None:
    _result, llm = _run("instruction", budget=60)
    sent = [str(m) for m in llm.calls if m[0]["content"] == SEED or KEY in m[0]["content"]]
    assert len(sent) == len(set(sent))  # no worker prompt was sent twice


@pytest.mark.parametrize("strategy", ["random", "greedy", "bootstrap", "combined", "diverse"])
def test_same_seed_same_run_other_seed_other_draws(strategy: str) -> None:
    a, _ = _run(strategy, budget=70, seed=3, reasoning=strategy == "bootstrap")
    b, _ = _run(strategy, budget=70, seed=3, reasoning=strategy == "bootstrap")
    c, _ = _run(strategy, budget=70, seed=4, reasoning=strategy == "bootstrap")
    assert a.model_dump() == b.model_dump()
    assert [s.exemplar_ids for s in a.history] != [s.exemplar_ids for s in c.history]


@pytest.mark.parametrize("selector", ["random_search", "greedy_search", "diverse_search"])
def test_each_selector_draws_only_from_the_given_entries_and_size(selector: str) -> None:
    import optimizers.prompting as prompting

    program = PromptProgram(SEED, TRAIN, llm=world_llm(), max_exemplars=2)
    given = program.pool.select()[:3]
    search = prompting.Search(program, TRAIN, VAL, prompting.load_metric("exact"), budget=200)
    with search:
        search.start()
        getattr(prompting, selector)(search, entries=given, size=1)
    shown = [step.exemplar_ids for step in search.history if step.kind == "exemplars"]
    assert any(shown)
    allowed = {e.id for e in given}
    assert all(len(ids) <= 1 and set(ids) <= allowed for ids in shown)
