"""Registering the CLI command and importing the pipeline load no heavy library."""

from __future__ import annotations

import subprocess
import sys


def test_pipeline_and_command_imports_are_light() -> None:
    code = (
        "import sys, agents.resocratic, agents.resocratic.commands, agents.resocratic.pipeline; "
        "print(','.join(m for m in ('sklearn', 'pyscipopt', 'openai', 'litellm', 'torch') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
