"""The OptoPrime benchmark's own side still runs (the numbers themselves live in bench/)."""

from __future__ import annotations

from typing import Any

from tests.scripts import load_script


def _load() -> Any:
    return load_script("bench/optoprime.py", "bench_optoprime")


def test_bench_builds_the_graph_and_applies_the_suggestion_on_both_llm_paths() -> None:
    bench = _load()
    for bare in (False, True):
        seconds, chars = bench.ours_step(20, bare=bare)
        assert seconds > 0
        assert chars > 1000  # system rules + the 20-op program
