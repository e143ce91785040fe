"""Executors: run one function over many items, yielding results as they finish.

``ThreadExecutor`` suits the usual case (each item waits on an LLM and a sandboxed child
process, so threads overlap well on one machine). ``RayExecutor`` sends the same function to a
Ray cluster (``pip install 'optoforge[ray]'``); the function and items must pickle, so agents
are shipped as a factory that each task calls.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol, TypeVar

from agents.errors import AgentsError

T = TypeVar("T")
R = TypeVar("R")


class ExecutorError(AgentsError, RuntimeError):
    """An executor cannot be created (unknown name, missing optional dependency)."""


class Executor(Protocol):
    """Maps a function over items; results come back in completion order."""

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Yield ``fn(item)`` for every item, in completion order."""


class ThreadExecutor:
    """Runs up to ``workers`` items at once on local threads.

    At most ``workers`` items are in flight, so stopping early (an exception from ``fn``, a
    closed generator, Ctrl-C) leaves the rest unstarted.
    """

    def __init__(self, workers: int = 4):
        if workers < 1:
            raise ExecutorError(f"workers must be >= 1, got {workers}")
        self.workers = workers

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Run ``fn`` on a thread pool, keeping at most ``workers`` items in flight."""
        pending: set[Future[R]] = set()
        source = iter(items)
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="optoforge-eval")
        try:
            for item in source:
                pending.add(pool.submit(fn, item))
                if len(pending) >= self.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield future.result()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


class RayExecutor:
    """Runs items as Ray tasks, at most ``workers`` in flight.

    Uses the Ray instance already initialised in this process, or starts/joins one with
    ``ray.init(address=address)``. Worker output is not forwarded to the driver, so ``--json``
    stdout stays clean.
    """

    def __init__(
        self, workers: int = 4, *, address: str | None = None, num_cpus_per_task: float = 1
    ):
        if workers < 1:
            raise ExecutorError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.address = address
        self.num_cpus_per_task = num_cpus_per_task

    def _ray(self) -> Any:
        try:
            ray = importlib.import_module("ray")
        except ImportError as err:
            raise ExecutorError("the Ray executor needs ray: pip install 'optoforge[ray]'") from err
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        return ray

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Run ``fn`` as Ray tasks, yielding each result as its task finishes."""
        ray = self._ray()
        task = ray.remote(num_cpus=self.num_cpus_per_task, max_retries=0)(_call)
        fn_ref = ray.put(fn)
        pending: list[Any] = []
        try:
            for item in items:
                pending.append(task.remote(fn_ref, item))
                if len(pending) >= self.workers:
                    done, pending = ray.wait(pending, num_returns=1)
                    yield ray.get(done[0])
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)


def get_executor(name: str, workers: int = 4, **options: Any) -> Executor:
    """Executor by name: ``thread`` (default) or ``ray``."""
    if name == "thread":
        return ThreadExecutor(workers)
    if name == "ray":
        return RayExecutor(workers, **options)
    raise ExecutorError(f"unknown executor {name!r}; choose 'thread' or 'ray'")
