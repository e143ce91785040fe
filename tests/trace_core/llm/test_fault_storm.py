"""Many concurrent requests through a server that fails 30% of attempts: all succeed, and the
attempt count of each equals the faults injected into it plus one."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.servers.chat_server import ChatServer, Reply
from trace_core.llm.openai_backend import OpenAIBackend
from trace_core.llm.retry import RetryPolicy

pytestmark = pytest.mark.llm

N_REQUESTS = 200
CONCURRENCY = 16
FAULT_RATE = 0.3
MAX_ATTEMPTS = 8
_FAULTS = [
    lambda: Reply.rate_limited(retry_after=0),
    lambda: Reply.error(500),
    lambda: Reply.error(502),
    lambda: Reply.error(503),
    lambda: Reply.error(504),
    Reply.dropped,
]


class FaultPlan:
    """Fails each attempt with probability FAULT_RATE (seeded), answering ``2*n`` otherwise.

    Faults per prompt are counted so the test can compare them to the client's attempt counts.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.faults: dict[int, int] = {}

    def __call__(self, body: dict[str, Any]) -> Reply:
        n = int(body["messages"][-1]["content"].split()[-1])
        with self.lock:
            injected = self.faults.get(n, 0)
            # Leave room for the last allowed attempt so every request can succeed.
            if injected < MAX_ATTEMPTS - 1 and self.rng.random() < FAULT_RATE:
                self.faults[n] = injected + 1
                return self.rng.choice(_FAULTS)()
        return Reply.text(str(2 * n))


def _storm_llm(server: ChatServer, waits: list[float], errors: list[str]) -> OpenAIBackend:
    policy = RetryPolicy(
        max_attempts=MAX_ATTEMPTS,
        initial_wait=0.001,
        max_wait=0.002,
        jitter=0.0,
        sleep=waits.append,
        on_retry=lambda error, attempt, wait: errors.append(str(error)),
    )
    return OpenAIBackend(
        "storm", base_url=server.url, retry=policy, cache=False, max_in_flight=CONCURRENCY
    )


def _prompt(n: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"double {n}"}]


def _in_threads(llm: OpenAIBackend) -> list[Any]:
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(lambda n: llm.complete(_prompt(n)), range(N_REQUESTS)))


def _in_asyncio(llm: OpenAIBackend) -> list[Any]:
    async def run_all() -> list[Any]:
        return await asyncio.gather(*(llm.acomplete(_prompt(n)) for n in range(N_REQUESTS)))

    return asyncio.run(run_all())


@pytest.mark.parametrize(
    ("send_all", "seed"), [(_in_threads, 8), (_in_asyncio, 9)], ids=["threads", "asyncio"]
)
def test_every_request_succeeds_and_attempts_match_faults(
    send_all: Callable[[OpenAIBackend], list[Any]], seed: int
) -> None:
    plan = FaultPlan(seed=seed)
    waits: list[float] = []
    errors: list[str] = []
    with ChatServer(plan) as server:
        llm = _storm_llm(server, waits, errors)
        results = send_all(llm)
        requests = server.count
    assert [r.text for r in results] == [str(2 * n) for n in range(N_REQUESTS)]
    assert [r.attempts for r in results] == [
        plan.faults.get(n, 0) + 1 for n in range(N_REQUESTS)
    ], errors
    total_faults = sum(plan.faults.values())
    assert requests == N_REQUESTS + total_faults
    assert len(waits) == total_faults
    assert total_faults >= 40  # the plan really injected faults (about 30% of attempts)
    assert llm.limiter.peak <= CONCURRENCY
