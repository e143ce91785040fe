"""Test support: which modules a fresh interpreter has loaded after running some code.

Several areas promise that importing them loads no heavy library (torch, LLM SDKs, solvers);
a new process is the only honest place to check that, since this test process has them all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules_loaded_by(code: str) -> set[str]:
    """Run ``code`` in a new Python process from the repository root; its ``sys.modules`` names."""
    probe = f"{code}\nimport sys\nprint(','.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return set(out.strip().splitlines()[-1].split(","))
