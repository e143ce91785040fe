"""Prompt templates are files loaded by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizers.prompts import PromptNotFound, load_prompt, render_prompt


@pytest.mark.parametrize(
    "name",
    [
        "optoprime_system",
        "optoprime_user",
        "optoprime_memory",
        "opro_system",
        "opro_user",
        "textgrad_gradient",
        "textgrad_update",
    ],
)
def test_every_packaged_prompt_loads(name: str) -> None:
    assert len(load_prompt(name)) > 40


def test_render_keeps_json_braces_and_fills_fields() -> None:
    text = render_prompt("opro_user", instruction="I", variables="V", history="H")
    assert "#Instruction\nI" in text and "JSON" in text


def test_missing_prompt_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(PromptNotFound, match=r"nope\.md"):
        load_prompt("nope", tmp_path)
