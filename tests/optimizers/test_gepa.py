"""GEPA over trace_core programs: it raises the validation score, saves and resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("gepa", reason="GEPA needs the `gepa` extra (pip install optoforge[gepa])")

from optimizers import GEPA, GEPAError, PromptProgram, TraceAdapter, Trainer
from optimizers.gepa_state import decode, encode
from tests.optimizers.gepa_job import (
    NONNEG,
    START,
    TRAIN,
    VAL,
    WHOLE,
    guide,
    reflection,
    solve,
    trainer,
    world,
)
from tests.optimizers.trainer_job import kill_and_resume
from trace_core import node
from trace_core.llm import Budget, ScriptedLLM

FIXED = START + WHOLE + NONNEG


def test_gepa_raises_validation_score_one_reflection_per_failing_minibatch() -> None:
    llm = ScriptedLLM(reflection)
    rules, opt = world(llm)
    run = trainer(rules, opt, shuffle=False)
    before = run.evaluate(VAL)
    report = run.fit()
    assert before == 0.25
    assert report.best_score == 1.0 and rules.data == FIXED
    assert [r.val_score for r in report.history] == [0.75, 1.0, 1.0]
    # two reflections; the last minibatch is already perfect, so GEPA does not reflect on it
    assert len(llm.calls) == 2 and opt.usage.calls == 2
    assert opt.pool == [{"rules": START}, {"rules": START + WHOLE}, {"rules": FIXED}]
    assert opt.val_scores == [0.25, 0.75, 1.0]
    assert report.history[0].updates == {"rules": START + WHOLE}
    assert "accepted as candidate 1" in report.history[0].reasoning
    assert "already perfect" in report.history[2].reasoning


def test_reflection_prompt_holds_the_traced_graph_and_feedback_of_the_minibatch() -> None:
    llm = ScriptedLLM(reflection)
    rules, opt = world(llm, objective="count indivisible items")
    trainer(rules, opt, shuffle=False).fit()
    prompt = llm.calls[0][-1]["content"]
    assert "count indivisible items" in prompt
    assert f"```\n{START}\n```" in prompt
    assert "[solve] Apply the rules to the quantity." in prompt  # from trace_core.summarize
    assert "got 2.5, expected 2.0: the items are indivisible" in prompt
    assert "(float) solve=2.5" in prompt


def test_a_worse_reflection_is_rejected_and_the_parameters_keep_their_value() -> None:
    llm = ScriptedLLM(lambda messages: "```\nAnswer with twice the quantity.\n```")
    rules, opt = world(llm)
    report = trainer(rules, opt, epochs=1).fit()
    assert rules.data == START
    assert opt.pool == [{"rules": START}]
    assert all("rejected" in r.reasoning for r in report.history if "new text" in r.reasoning)


def test_state_dict_round_trip_restores_pool_scores_and_random_state() -> None:
    rules, opt = world(ScriptedLLM(reflection))
    trainer(rules, opt).fit()
    state = json.loads(json.dumps(opt.state_dict()))
    rules2, opt2 = world(ScriptedLLM(reflection))
    opt2.load_state_dict(state)
    assert opt2.pool == opt.pool and opt2.val_scores == opt.val_scores
    assert opt2.parent == opt.parent and opt2.rng.random() == opt.rng.random()
    assert rules2.data == rules.data
    assert opt2.state_dict()["state"]["gepa"] == state["state"]["gepa"]


def test_prompt_program_instruction_is_evolved_by_gepa() -> None:
    def task_model(messages: list[dict[str, Any]]) -> str:
        system, user = messages[0]["content"], messages[-1]["content"]
        word = user.split("Input:")[-1].split("\n")[0].split()[-1]
        return word.upper() if "capital letters" in system else word

    def fix(messages: list[dict[str, Any]]) -> str:
        wants_caps = "expected capitals" in messages[-1]["content"]
        text = "Repeat the last word in capital letters." if wants_caps else "Repeat."
        return f"```\n{text}\n```"

    def caps_guide(output: str, target: str) -> tuple[float, str]:
        return (1.0, "ok") if output == target else (0.0, f"got {output}, expected capitals")

    program = PromptProgram("Repeat the last word.", llm=ScriptedLLM(task_model))
    data = [("say cat", "CAT"), ("say dog", "DOG"), ("say owl", "OWL"), ("say emu", "EMU")]
    opt = GEPA(
        program.parameters(),
        forward=program,
        guide=caps_guide,
        val_set=data[2:],
        llm=ScriptedLLM(fix),
    )
    run = Trainer(program, opt, caps_guide, data[:2], val_set=data[2:], progress=False)
    assert run.evaluate(data) == 0.0
    report = run.fit()
    assert report.best_score == 1.0
    assert program.instruction.data == "Repeat the last word in capital letters."
    assert program.exemplars.data == []  # not text: GEPA leaves it alone


def test_step_without_examples_says_how_to_pass_them() -> None:
    rules, opt = world(ScriptedLLM(reflection))
    opt.backward(solve(rules, 2.5), "wrong", score=0.0)
    with pytest.raises(GEPAError, match="example=\\(input, target\\)"):
        opt.step()


def test_parameters_without_text_are_refused() -> None:
    w = node(3, name="w", trainable=True)
    with pytest.raises(GEPAError, match="none of the parameters holds a str"):
        GEPA([w], forward=lambda x: x, guide=guide, val_set=VAL)


def test_state_codec_keeps_int_keys_sets_and_tuples() -> None:
    value = {"front": {0: {1, 2}, 3: {0}}, "rng": (3, (1, 2), None), "pairs": {(1, "a"): 2.0}}
    assert decode(json.loads(json.dumps(encode(value)))) == value


def test_gepa_rewrites_the_trainable_code_of_the_example_workflow() -> None:
    from examples import agent_workflow as example

    extract, total, workflow = example.make_workflow()
    params = [extract.code_parameter(), total.code_parameter()]

    def reflect(messages: list[dict[str, Any]]) -> str:
        prompt = messages[-1]["content"]
        current = prompt.split("```\n", 1)[1].split("\n```", 1)[0]
        new = example.FIXED_EXTRACT if "def extract_amounts" in current else current
        return f"```python\n{new}\n```"

    llm = ScriptedLLM(reflect)
    opt = GEPA(params, forward=workflow, guide=example.guide, val_set=example.VAL, llm=llm)
    run = Trainer(workflow, opt, example.guide, example.TRAIN, val_set=example.VAL, progress=False)
    assert run.evaluate(example.VAL) == 0.0
    report = run.fit()
    assert report.best_score == 1.0
    assert params[0].data.strip() == example.FIXED_EXTRACT.strip()
    assert "sum(amounts)" in params[1].data  # step 2 was right and is unchanged
    # the reflection saw the intermediate value of step 1 in the traced graph
    assert "extract_amounts" in llm.calls[0][-1]["content"]
    assert "(list) extract_amounts=[" in llm.calls[0][-1]["content"]


class _Quiet:
    def log(self, message: str) -> None:
        pass


def test_trace_adapter_drives_gepa_optimize_directly() -> None:
    import gepa

    rules = node(START, name="rules", trainable=True)
    adapter = TraceAdapter(lambda x: solve(rules, x), guide, {"rules": rules})

    def reflection_lm(prompt: str) -> str:
        return reflection([{"role": "user", "content": prompt}])

    result = gepa.optimize(
        seed_candidate={"rules": START},
        trainset=TRAIN,
        valset=VAL,
        adapter=adapter,
        reflection_lm=reflection_lm,
        max_metric_calls=40,
        logger=_Quiet(),
        seed=0,
    )
    assert result.best_candidate == {"rules": FIXED}
    assert max(result.val_aggregate_scores) == 1.0
    assert rules.data == START  # evaluating candidates never leaves one applied


def test_budget_stops_the_run_cleanly_and_a_larger_budget_resumes_it(tmp_path: Path) -> None:
    rules, opt = world(ScriptedLLM(reflection, budget=Budget(max_calls=1)))
    stopped = trainer(rules, opt, shuffle=False, run_dir=tmp_path).fit()
    assert stopped.stopped is not None and "budget" in stopped.stopped
    assert stopped.steps == 1 and rules.data == START + WHOLE
    llm = ScriptedLLM(reflection, budget=Budget(max_calls=5))
    rules2, opt2 = world(llm)
    resumed = trainer(rules2, opt2, shuffle=False, run_dir=tmp_path).fit(resume=True)
    assert resumed.stopped is None and rules2.data == FIXED
    assert len(llm.calls) == 1


def test_a_failing_reflection_model_is_reported_and_the_parameters_stay() -> None:
    from trace_core.llm import LLMError

    rules, opt = world(ScriptedLLM([LLMError("provider down")] * 10))
    opt.backward(solve(rules, 2.5), "needs whole units", score=0.0, example=(2.5, 2.0))
    result = opt.step()
    assert result.error is not None and "provider down" in result.error
    assert rules.data == START and opt.pool == [{"rules": START}]


def test_sigkilled_gepa_run_resumes_to_the_same_history_without_repeating_calls(
    tmp_path: Path,
) -> None:
    full, resumed, at_kill = kill_and_resume("tests.optimizers.gepa_job", tmp_path, 1)

    done, again = json.loads(full.stdout), json.loads(resumed.stdout)
    assert again["start_step"] == 1
    assert again["rules"] == done["rules"] and again["pool"] == done["pool"]
    history = (tmp_path / "full" / "history.jsonl").read_text()
    assert (tmp_path / "killed" / "history.jsonl").read_text() == history
    # the calls of the killed steps are in its history; the resumed run asked only the rest
    killed_calls = sum(json.loads(line)["usage"]["calls"] for line in at_kill)
    assert killed_calls == again["calls"] == 1 and done["calls"] == 2
