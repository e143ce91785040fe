"""A cap on in-flight LLM requests shared by threads and asyncio tasks.

``threading.Semaphore`` would block an event loop and ``asyncio.Semaphore`` belongs to one loop;
optimizers and evaluators mix both, so one `Limiter` hands slots to thread waiters (an Event)
and task waiters (a Future on their own loop) from a single FIFO queue.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from trace_core.llm.copying import CopySafe


@dataclass(eq=False)
class _Waiter:
    event: threading.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[None] | None = None
    handed: bool = field(default=False)


class Limiter(CopySafe):
    """At most ``max_in_flight`` holders at once; ``with`` in threads, ``async with`` in tasks."""

    _COPY_RESET: ClassVar[dict[str, Callable[[], Any]]] = {"_waiters": deque, "_in_flight": int}

    def __init__(self, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        self.max_in_flight = max_in_flight
        self._in_flight = 0
        self._peak = 0
        self._waiters: deque[_Waiter] = deque()
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """Slots held right now."""
        return self._in_flight

    @property
    def peak(self) -> int:
        """The most slots ever held at once (for tests and benchmarks)."""
        return self._peak

    def _take_now(self) -> bool:
        if self._in_flight < self.max_in_flight and not self._waiters:
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            return True
        return False

    def acquire(self) -> None:
        """Block the calling thread until a slot is free."""
        with self._lock:
            if self._take_now():
                return
            waiter = _Waiter(event=threading.Event())
            self._waiters.append(waiter)
        assert waiter.event is not None
        waiter.event.wait()

    async def aacquire(self) -> None:
        """Wait (without blocking the loop) until a slot is free."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._take_now():
                return
            waiter = _Waiter(loop=loop, future=loop.create_future())
            self._waiters.append(waiter)
        assert waiter.future is not None
        try:
            await waiter.future
        except asyncio.CancelledError:
            with self._lock:
                handed = waiter.handed
                if not handed and waiter in self._waiters:
                    self._waiters.remove(waiter)
            if handed:
                self.release()
            raise

    def release(self) -> None:
        """Free a slot, handing it straight to the oldest live waiter if there is one."""
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if waiter.event is not None:
                    waiter.handed = True
                    waiter.event.set()
                    return
                assert waiter.future is not None and waiter.loop is not None
                if waiter.future.cancelled() or waiter.loop.is_closed():
                    continue
                waiter.handed = True
                waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
                return
            self._in_flight -= 1

    def __enter__(self) -> Limiter:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    async def __aenter__(self) -> Limiter:
        await self.aacquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()


def _resolve(future: asyncio.Future[None]) -> None:
    # A waiter cancelled after its slot was handed over gives the slot back itself.
    if not future.done():
        future.set_result(None)
