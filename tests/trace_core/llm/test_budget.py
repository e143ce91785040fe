"""Usage, cost and Budget: limits stop the run exactly, before the request is sent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.servers.chat_server import ChatServer, Reply
from trace_core.llm import Budget, BudgetExceeded, ReplyCache, ScriptedLLM, register_price
from trace_core.llm.base import Usage
from trace_core.llm.openai_backend import OpenAIBackend
from trace_core.llm.retry import RetryPolicy
from trace_core.llm.usage import cost_of, price_of

pytestmark = pytest.mark.llm

ASK = [{"role": "user", "content": "hi"}]


def server_llm(server: ChatServer, budget: Budget, model: str = "m", **kw: object) -> OpenAIBackend:
    return OpenAIBackend(
        model,
        base_url=server.url,
        budget=budget,
        cache=kw.pop("cache", False),  # type: ignore[arg-type]
        retry=RetryPolicy(max_attempts=2, sleep=lambda s: None),
        max_tokens=kw.pop("max_tokens", 0),  # type: ignore[arg-type]
    )


def _refused_after(llm: Any, calls: int) -> BudgetExceeded:
    """Make ``calls`` calls that the budget allows; the next must be refused (returned)."""
    for _ in range(calls):
        llm.complete(ASK)
    with pytest.raises(BudgetExceeded) as caught:
        llm.complete(ASK)
    return caught.value


def test_max_calls_stops_exactly_at_the_limit(chat_server: ChatServer) -> None:
    budget = Budget(max_calls=5)
    llm = server_llm(chat_server, budget)
    caught = _refused_after(llm, 5)
    assert chat_server.count == 5
    assert (caught.limit, caught.spent, caught.maximum) == ("calls", 5, 5)
    assert budget.calls == 5


def test_max_calls_holds_under_concurrency(chat_server: ChatServer) -> None:
    budget = Budget(max_calls=10)
    llm = server_llm(chat_server, budget)

    def call(i: int) -> str:
        try:
            return llm.complete([{"role": "user", "content": str(i)}]).text
        except BudgetExceeded:
            return "refused"

    with ThreadPoolExecutor(16) as pool:
        texts = list(pool.map(call, range(40)))
    assert chat_server.count == 10
    assert texts.count("refused") == 30


def test_max_tokens_stops_before_the_call_that_would_pass_it(chat_server: ChatServer) -> None:
    chat_server.handler = lambda body: Reply.text("ok", usage=(6, 4))
    budget = Budget(max_tokens=30)
    llm = server_llm(chat_server, budget)
    caught = _refused_after(llm, 3)
    assert (chat_server.count, budget.tokens, caught.limit) == (3, 30, "tokens")


def test_max_tokens_counts_the_requested_completion_length(chat_server: ChatServer) -> None:
    budget = Budget(max_tokens=100)
    with pytest.raises(BudgetExceeded):
        server_llm(chat_server, budget).complete(ASK, max_tokens=200)
    assert chat_server.count == 0


def test_max_cost_uses_the_price_table(chat_server: ChatServer) -> None:
    register_price("priced-test-model", input_per_mtok=1_000_000.0, output_per_mtok=0.0)
    chat_server.handler = lambda body: Reply.text("ok", usage=(1, 1))
    budget = Budget(max_cost=2.0)
    llm = server_llm(chat_server, budget, model="priced-test-model")
    first = llm.complete(ASK)
    assert first.cost == pytest.approx(1.0)
    llm.complete(ASK)
    caught = _refused_after(llm, 0)
    assert (chat_server.count, caught.limit) == (2, "cost")
    assert budget.cost == pytest.approx(2.0)
    assert llm.usage.cost == pytest.approx(2.0)


def test_cache_hits_are_free(chat_server: ChatServer, tmp_path: Path) -> None:
    budget = Budget(max_calls=1)
    llm = OpenAIBackend(
        "m", base_url=chat_server.url, budget=budget, cache=ReplyCache(tmp_path / "c.sqlite")
    )
    llm.complete(ASK)
    assert llm.complete(ASK).cached
    assert budget.calls == 1 and llm.usage.cached_calls == 1


def test_failed_call_gives_its_reservation_back(chat_server: ChatServer) -> None:
    chat_server.script(Reply.error(400))
    budget = Budget(max_calls=1)
    llm = server_llm(chat_server, budget)
    with pytest.raises(Exception, match="rejected"):
        llm.complete(ASK)
    assert llm.complete(ASK).text == "echo: hi"
    assert budget.calls == 1


def test_repair_reasks_count_as_calls() -> None:
    budget = Budget(max_calls=1)
    from pydantic import BaseModel

    class P(BaseModel):
        x: int

    llm = ScriptedLLM(["not json", '{"x": 1}'], budget=budget)
    with pytest.raises(BudgetExceeded):
        llm.complete(ASK, response_format=P)
    assert len(llm.calls) == 1


def test_state_round_trips_for_a_resumed_run() -> None:
    budget = Budget(max_calls=3, max_tokens=100)
    ScriptedLLM(["a", "b"], budget=budget).complete(ASK)
    resumed = Budget()
    resumed.load_state_dict(budget.state_dict())
    assert resumed.state_dict() == budget.state_dict()
    assert resumed.remaining_calls == 2


def test_price_lookup_handles_prefixes_and_dates() -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, total_tokens=2_000_000)
    assert cost_of("gpt-4o-mini-2024-07-18", usage) == pytest.approx(0.75)
    assert cost_of("openai/gpt-4o-mini", usage) == pytest.approx(0.75)
    assert price_of("gpt-4o") != price_of("gpt-4o-mini")
    assert cost_of("unknown-model", usage) is None
