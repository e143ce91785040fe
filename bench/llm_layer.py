"""Benchmark: what the LLM layer's pipeline costs on top of the bare openai SDK.

Against the local fault server (no network), it times N sequential requests three ways: the
openai SDK alone, our `OpenAIBackend` with the cache off (retry, limiter, budget, usage
bookkeeping), and our backend answering from a warm cache. It prints per-request times and
ratios to the bare SDK; absolute times depend on the machine, the ratios are the result.

    python bench/llm_layer.py [--requests 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.chat_server import ChatServer
from trace_core.llm import Budget, ReplyCache
from trace_core.llm.openai_backend import OpenAIBackend


def _per_request(fn: Callable[[int], object], n: int, repeats: int = 3) -> float:
    """Median over ``repeats`` runs of the mean seconds per request."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(n):
            fn(i)
        runs.append((time.perf_counter() - start) / n)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    n = args.requests

    import openai

    with ChatServer() as server, tempfile.TemporaryDirectory() as tmp:
        client = openai.OpenAI(api_key="x", base_url=server.url, max_retries=0)

        def bare(i: int) -> object:
            return client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": f"q{i}"}]
            )

        ours = OpenAIBackend("m", base_url=server.url, cache=False, budget=Budget())

        def pipeline(i: int) -> object:
            return ours.complete([{"role": "user", "content": f"q{i}"}])

        cached = OpenAIBackend("m", base_url=server.url, cache=ReplyCache(Path(tmp) / "c.sqlite"))
        for i in range(n):
            cached.complete([{"role": "user", "content": f"q{i}"}])

        def warm(i: int) -> object:
            return cached.complete([{"role": "user", "content": f"q{i}"}])

        bare(0), pipeline(0)  # warm up imports and connections
        t_bare = _per_request(bare, n)
        t_ours = _per_request(pipeline, n)
        before = server.count
        t_warm = _per_request(warm, n)
        assert server.count == before, "cache hits must send no request"

    print(f"LLM layer overhead, {n} sequential requests to a local server (median of 3 runs)")
    print(f"{'path':<34}{'ms/request':>12}{'ratio to bare SDK':>20}")
    for name, t in [
        ("openai SDK alone", t_bare),
        ("OpenAIBackend, cache off", t_ours),
        ("OpenAIBackend, warm cache hit", t_warm),
    ]:
        print(f"{name:<34}{t * 1000:>12.3f}{t / t_bare:>20.3f}")


if __name__ == "__main__":
    main()
