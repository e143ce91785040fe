"""The one usage type (LLMUsage) and the thread-safe Meter, used by every layer."""

from __future__ import annotations

import threading

from trace_core.llm import Completion, LLMUsage, Meter, Usage


def _completion(prompt: int, completion: int, cost: float) -> Completion:
    usage = Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )
    return Completion(text="ok", usage=usage, cost=cost)


def test_usage_counts_calls_tokens_and_cost() -> None:
    total = LLMUsage()
    total.add(_completion(10, 5, 0.01))
    total = total.add(_completion(1, 1, 0.5))  # the chained form formulation code uses
    assert (total.calls, total.prompt_tokens, total.total_tokens) == (2, 11, 17)
    assert abs(total.cost - 0.51) < 1e-12
    both = total + LLMUsage.of(_completion(2, 0, 0.0))
    assert both.calls == 3 and total.calls == 2  # + makes a new total


def test_every_layer_reports_the_same_type_with_the_same_saved_fields() -> None:
    from agents.alphaopt.pipeline import LLMUsage as AlphaUsage
    from agents.formulation.result import FormulationResult
    from agents.resocratic.stats import SynthesisStats
    from optimizers.base import StepResult, StepUsage

    assert StepUsage is LLMUsage and AlphaUsage is LLMUsage
    assert FormulationResult.model_fields["usage"].annotation is LLMUsage
    assert SynthesisStats.model_fields["usage"].annotation is LLMUsage
    assert StepResult.model_fields["usage"].annotation is LLMUsage
    saved = {
        "calls": 3,
        "prompt_tokens": 30,
        "completion_tokens": 6,
        "total_tokens": 36,
        "cost": 0.2,
    }
    assert LLMUsage.model_validate(saved).model_dump() == saved  # old files stay readable


def test_meter_totals_threads_and_keeps_each_threads_share() -> None:
    meter = Meter()
    shares: dict[int, int] = {}

    def work(n: int) -> None:
        for _ in range(n):
            meter.add(_completion(1, 1, 0.0))
        shares[n] = meter.thread_usage.calls

    threads = [threading.Thread(target=work, args=(n,)) for n in (3, 5, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert meter.usage.calls == 15 and meter.usage.total_tokens == 30
    assert shares == {3: 3, 5: 5, 7: 7}


def test_a_backends_usage_tracker_totals_as_llm_usage() -> None:
    from trace_core.llm.usage import CallRecord, UsageTracker

    tracker = UsageTracker()
    tracker.record(CallRecord("m", Usage(prompt_tokens=3, total_tokens=3), 0.25, False, 1))
    tracker.record(CallRecord("m", Usage(prompt_tokens=9, total_tokens=9), 0.0, True, 0))
    assert tracker.totals() == LLMUsage(calls=1, prompt_tokens=3, total_tokens=3, cost=0.25)
    assert tracker.summary()["cached_calls"] == 1
