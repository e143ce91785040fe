"""The LLM layer against the real llama-cpp-python server serving SmolLM2 (no mocks).

Default settings must give parsed structured output on both backends (the server refuses
``json_schema`` and takes ``json_object`` with a schema: negotiation finds that), litellm must
work keyless, a token budget must stop streamed calls although the server sends no usage, and
a killed or frozen server must be recovered by the retries as the README describes.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import BaseModel

from tests.servers.llama_server import LlamaServer, llama_server, missing  # noqa: F401 (fixture)
from trace_core.llm import Budget, BudgetExceeded, LLMTransientError, get_llm
from trace_core.llm.json_modes import forget, known_mode
from trace_core.llm.retry import RetryPolicy

pytestmark = [
    pytest.mark.local_llm,
    pytest.mark.slow,
    pytest.mark.skipif(missing() is not None, reason=missing() or ""),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

MODEL = "smollm2"  # the server serves one model whatever the name
ADD = [{"role": "user", "content": "What is 2 + 3? Give the value."}]


class Answer(BaseModel):
    value: int


@pytest.fixture(autouse=True)
def _defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPTOFORGE_JSON_MODE", "OPTOFORGE_MAX_TOKENS", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPTOFORGE_CACHE", "0")
    forget()


def backend(kind: str, server: LlamaServer, **kw: Any) -> Any:
    kw.setdefault("timeout", 120.0)
    if kind == "openai":
        return get_llm(f"openai:{MODEL}", base_url=server.url, **kw)
    pytest.importorskip("litellm")
    return get_llm(f"litellm:openai/{MODEL}", api_base=server.url, **kw)


@pytest.mark.parametrize("kind", ["openai", "litellm"])
def test_default_settings_structured_output_parses(kind: str, server: LlamaServer) -> None:
    llm = backend(kind, server)
    result = llm.complete(ADD, response_format=Answer, max_tokens=24)
    assert isinstance(result.parsed, Answer)
    assert known_mode(llm.endpoint_key()) == "json_object"  # json_schema was refused (HTTP 500)
    assert result.cost == 0.0  # a server on this machine


def test_keyless_litellm_call_through_openai_base_url(
    server: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("litellm")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)  # and no OPENAI_API_KEY at all
    result = get_llm(f"litellm:openai/{MODEL}", timeout=120.0).complete(ADD, max_tokens=6)
    assert result.text.strip() and result.attempts == 1


def test_token_budget_stops_streamed_calls(server: LlamaServer) -> None:
    budget = Budget(max_tokens=120)
    llm = backend("openai", server, budget=budget)
    sent = 0
    with pytest.raises(BudgetExceeded):
        for _ in range(8):
            ask = [{"role": "user", "content": f"Tell a story about {sent}"}]
            llm.complete(ask, stream=True, max_tokens=24)
            sent += 1
    assert 1 <= sent < 8
    assert 0 < budget.tokens <= 120  # counted although the server sends no usage chunk


def test_concurrent_streams_survive_a_server_that_interrupts_them(server: LlamaServer) -> None:
    llm = backend("openai", server)

    def ask(i: int) -> str:
        return str(
            llm.complete(
                [{"role": "user", "content": f"Count: {i}"}], stream=True, max_tokens=6
            ).text
        )

    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(ask, range(4)))
    assert all(text.strip() for text in texts)


def test_a_killed_server_gives_up_in_one_line_then_recovers_when_restarted(
    server: LlamaServer,
) -> None:
    server.kill()
    quick = RetryPolicy(max_attempts=2, initial_wait=0.05, max_wait=0.05, jitter=0)
    with pytest.raises(LLMTransientError) as caught:
        backend("openai", server, retry=quick).complete(ADD, max_tokens=4)
    message = str(caught.value)
    assert "connection failed" in message and "gave up after 2 attempts" in message
    assert "\n" not in message

    restart = threading.Thread(target=server.start)
    restart.start()
    patient = RetryPolicy(max_attempts=12, initial_wait=0.5, max_wait=4.0)
    try:
        result = backend("openai", server, retry=patient).complete(ADD, max_tokens=4)
    finally:
        restart.join()
    assert result.text.strip() and result.attempts > 1


def test_a_stopped_server_is_recovered_after_it_continues(server: LlamaServer) -> None:
    server.freeze()
    thaw = threading.Timer(10.0, server.thaw)
    thaw.start()
    retry = RetryPolicy(max_attempts=8, initial_wait=0.5, max_wait=2.0)
    try:
        result = backend("openai", server, retry=retry, timeout=8.0).complete(ADD, max_tokens=4)
    finally:
        thaw.cancel()
        server.thaw()
    assert result.text.strip() and result.attempts > 1
