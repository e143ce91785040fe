"""The in-flight limiter holds for threads and asyncio tasks sharing it."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from trace_core.llm import Limiter, ScriptedLLM

pytestmark = pytest.mark.llm


class Gauge:
    """Counts holders at once; each holder stays a moment so others pile up."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


def test_threads_and_tasks_never_exceed_the_cap_together() -> None:
    limiter = Limiter(3)
    gauge = Gauge()

    def thread_job(_: int) -> None:
        with limiter:
            gauge.enter()
            time.sleep(0.005)
            gauge.leave()

    async def task_job() -> None:
        async with limiter:
            gauge.enter()
            await asyncio.sleep(0.005)
            gauge.leave()

    async def tasks() -> None:
        await asyncio.gather(*(task_job() for _ in range(30)))

    with ThreadPoolExecutor(6) as pool:
        done = pool.map(thread_job, range(30))
        asyncio.run(tasks())
        list(done)
    assert gauge.peak == 3
    assert limiter.in_flight == 0


def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    limiter = Limiter(1)

    async def scenario() -> int:
        await limiter.aacquire()
        waiter = asyncio.create_task(limiter.aacquire())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        limiter.release()
        await asyncio.wait_for(limiter.aacquire(), timeout=1)
        limiter.release()
        return limiter.in_flight

    assert asyncio.run(scenario()) == 0


def test_backends_sharing_a_limiter_share_the_cap() -> None:
    limiter = Limiter(2)
    gauge = Gauge()

    def slow_reply(messages: list[dict[str, str]]) -> str:
        gauge.enter()
        time.sleep(0.005)
        gauge.leave()
        return "ok"

    one = ScriptedLLM(slow_reply, limiter=limiter)
    two = ScriptedLLM(slow_reply, limiter=limiter)
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: (one, two)[i % 2].complete([{"role": "user", "content": "x"}]), range(24)
            )
        )
    assert gauge.peak == 2


def test_invalid_cap_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        Limiter(0)
