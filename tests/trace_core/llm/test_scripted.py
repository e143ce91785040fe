"""ScriptedLLM: replies from a list or a function, recorded calls, the shared pipeline."""

from __future__ import annotations

import asyncio

import pytest

from trace_core.llm import LLM, LLMError, LLMRateLimited, ScriptedLLM, get_llm
from trace_core.llm.retry import RetryPolicy

pytestmark = pytest.mark.llm


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_list_replies_come_in_order_and_calls_are_recorded() -> None:
    llm = ScriptedLLM(["first", "second"])
    assert [llm.complete(ask("a")).text, llm.complete(ask("b")).text] == ["first", "second"]
    assert llm.calls == [ask("a"), ask("b")]


def test_function_replies_see_the_messages() -> None:
    llm = ScriptedLLM(lambda messages: messages[-1]["content"].upper())
    assert llm.complete(ask("shout")).text == "SHOUT"


def test_running_out_of_replies_is_an_llm_error_saying_so() -> None:
    llm = ScriptedLLM(["only"])
    llm.complete(ask("a"))
    with pytest.raises(LLMError, match="ran out of replies"):
        llm.complete(ask("b"))


def test_scripted_exception_goes_through_retries() -> None:
    waits: list[float] = []
    llm = ScriptedLLM(
        [LLMRateLimited("busy", retry_after=1.5), "after retry"],
        retry=RetryPolicy(sleep=waits.append),
    )
    result = llm.complete(ask("a"))
    assert (result.text, result.attempts, waits) == ("after retry", 2, [1.5])


def test_async_complete_uses_the_same_script() -> None:
    llm = ScriptedLLM(["x"])
    assert asyncio.run(llm.acomplete(ask("a"))).text == "x"


def test_scripted_is_an_llm_and_buildable_from_an_id() -> None:
    llm = get_llm("scripted:demo", replies=["hi"])
    assert isinstance(llm, LLM)
    assert llm.model_id == "scripted:demo"
    assert llm.complete(ask("a")).text == "hi"


def test_usage_is_tracked_per_call_and_in_total() -> None:
    llm = ScriptedLLM(["12345678", "1234"])
    llm.complete(ask("abcd"))
    llm.complete(ask("abcd"))
    assert [r.usage.completion_tokens for r in llm.usage.records] == [2, 1]
    assert llm.usage.total.total_tokens == 2 + 1 + 1 + 1
    assert llm.usage.calls == 2
