"""The GEPA-vs-OptoPrime benchmark's task runs for both optimizers (numbers live in bench/)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gepa_optoprime.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gepa_optoprime", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_task_is_learnable_by_both_optimizers() -> None:
    pytest.importorskip("gepa", reason="GEPA needs the `gepa` extra")
    bench = _load()
    assert bench.DATA[2] == ("-4", (0.0, ["nonneg"]))
    for name in ("optoprime", "gepa"):
        result = bench.run(name, seed=0, steps=12, batch_size=3)
        assert result["start"] == 0.25
        assert result["best"] == 1.0, name
        assert 1 <= result["calls"] <= 12 and len(result["curve"]) == 12
