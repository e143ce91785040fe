"""The OptoPrime benchmark's own side still runs (the numbers themselves live in bench/)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "optoprime.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_optoprime", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_builds_the_graph_and_applies_the_suggestion_on_both_llm_paths() -> None:
    bench = _load()
    for bare in (False, True):
        seconds, chars = bench.ours_step(20, bare=bare)
        assert seconds > 0
        assert chars > 1000  # system rules + the 20-op program
