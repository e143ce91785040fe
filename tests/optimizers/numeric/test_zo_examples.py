"""The ranking example and the benchmark script run end to end."""

from __future__ import annotations

import importlib.util
import io
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("rich")

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.torch


def _load(relative: str) -> ModuleType:
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_colour_example_moves_toward_what_the_person_prefers() -> None:
    from rich.console import Console

    example = _load("examples/zo_rank_color.py")
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    answers: list[str] = []

    class RedLover(io.StringIO):
        """A scripted person who always ranks the reddest swatch first."""

        def readline(self, *args: object) -> str:
            shown = out.getvalue().rsplit("closest to", 1)[-1]
            reds = {int(n): int(r) for n, r in re.findall(r"(\d+) .*?rgb\((\d+),", shown)}
            best = max(reds, key=reds.__getitem__)
            answers.append(str(best))
            return f"{best}\n"

    red, green, blue = example.main(
        "pure red", rounds=6, input_stream=RedLover(), console=console, seed=0
    )
    assert len(answers) == 6
    assert red > 160 and red > green and red > blue


@pytest.mark.slow
def test_benchmark_quick_run_reports_every_method() -> None:
    bench = _load("bench/zo_bench.py")
    results = bench.main(["--quick"])
    names = {r.name for r in results}
    assert {"fo_sgd", "adam", "mezo", "sparse_mezo", "zo_adam", "forward_grad"} <= names
    assert all(0.0 <= r.accuracy <= 1.0 and r.peak_bytes > 0 for r in results)
    # back-propagation keeps activations; MeZO-style probes do not
    peak = {r.name: r.peak_bytes for r in results}
    assert peak["mezo"] < peak["fo_sgd"]
