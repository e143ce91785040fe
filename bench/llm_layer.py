"""Benchmark: what the LLM layer's pipeline costs on top of the bare openai SDK.

Against the local fault server (no network), it times N sequential requests three ways: the
openai SDK alone, our `OpenAIBackend` with the cache off (retry, limiter, budget, usage
bookkeeping), and our backend answering from a warm cache. It prints per-request times and
ratios to the bare SDK; absolute times depend on the machine, the ratios are the result.

    python bench/llm_layer.py [--requests 200] [--local]
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

from pydantic import BaseModel

from tests.servers.chat_server import ChatServer
from trace_core.llm import Budget, ReplyCache, extract_json
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


class _City(BaseModel):
    city: str
    population_millions: float


_CITY_PROMPTS = [
    "Give a large city and its population in millions.",
    "Name a capital city and estimate its population in millions.",
    "Which city is big? Give its population in millions.",
    "Pick a European city and its population in millions.",
    "Tell me the population of Tokyo in millions.",
]


def bench_local() -> None:
    """The embedded model: load time, tokens/s, schema-valid replies with and without grammar."""
    from trace_core.llm import LLMOutputError, get_llm
    from trace_core.llm.local import _load

    llm = get_llm("local:smollm2", cache=False)
    start = time.perf_counter()
    _load(llm.weights, llm.n_ctx, llm.n_threads)  # type: ignore[attr-defined]
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    reply = llm.complete([{"role": "user", "content": "Tell a short story."}], max_tokens=128)
    tok_s = reply.usage.completion_tokens / (time.perf_counter() - start)
    constrained = free = 0
    for prompt in _CITY_PROMPTS:
        ask = [{"role": "user", "content": prompt}]
        try:
            llm.complete(ask, response_format=_City, max_repairs=0, max_tokens=96)
            constrained += 1
        except LLMOutputError:
            pass
        text = llm.complete(
            [
                {
                    "role": "user",
                    "content": f"{prompt} Reply with JSON {{city, population_millions}}.",
                }
            ],
            max_tokens=96,
        ).text
        try:
            _City.model_validate(extract_json(text))
            free += 1
        except ValueError:
            pass
    print("\nEmbedded SmolLM2-135M (llama.cpp, 1 thread)")
    print(f"load {load_s:.2f} s; generation {tok_s:.1f} tokens/s (128-token reply)")
    print(f"schema-valid JSON: grammar-constrained {constrained}/5, unconstrained {free}/5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--local", action="store_true", help="also measure the embedded model")
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
    if args.local:
        bench_local()


if __name__ == "__main__":
    main()
