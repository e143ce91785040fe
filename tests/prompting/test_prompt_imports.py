"""The prompting package and its CLI module import no heavy library and register `prompt`."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

HEAVY = {"torch", "openai", "litellm", "ray", "matplotlib"}


def test_prompting_imports_load_no_heavy_library() -> None:
    code = (
        "import sys; import optimizers.prompting.schedule, optimizers.prompting.ablation, "
        "agents.prompt_commands; print(','.join(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not HEAVY & set(out.stdout.strip().split(","))


def test_optoforge_lists_the_prompt_commands() -> None:
    from agents.cli import create_app

    result = CliRunner().invoke(create_app(), ["prompt", "--help"])
    assert result.exit_code == 0
    assert "optimize" in result.output and "ablate" in result.output
