"""examples/trace_basics.py runs end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_trace_basics_example_runs_and_saves_parameters(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "trace_basics.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "quote: 20.0" in done.stdout
    assert "after the fix: 120.0" in done.stdout
    assert "refused:" in done.stdout
    assert "#Feedback" in done.stdout
    saved = json.loads((tmp_path / "shop.json").read_text())
    assert saved["parameters"]["rate"]["value"] == 0.2
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")
