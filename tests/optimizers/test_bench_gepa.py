"""The GEPA-vs-OptoPrime benchmark's task runs for both optimizers (numbers live in bench/)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scripts import load_script


def _load() -> Any:
    return load_script("bench/gepa_optoprime.py", "bench_gepa_optoprime")


def test_bench_task_is_learnable_by_both_optimizers() -> None:
    pytest.importorskip("gepa", reason="GEPA needs the `gepa` extra")
    bench = _load()
    assert bench.DATA[2] == ("-4", (0.0, ["nonneg"]))
    for name in ("optoprime", "gepa"):
        result = bench.run(name, seed=0, steps=12, batch_size=3)
        assert result["start"] == 0.25
        assert result["best"] == 1.0, name
        assert 1 <= result["calls"] <= 12 and len(result["curve"]) == 12
