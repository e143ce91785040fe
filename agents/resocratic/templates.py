"""Prompt templates of the synthesizer: markdown files under ``prompts/``, loaded by name.

Templates use ``string.Template`` placeholders (``$demonstration``) so braces in JSON and code
need no escaping. A ``prompt_dir`` overrides any template by file name. Loading is shared with
the other agents (:mod:`trace_core.prompt_templates`).
"""

from __future__ import annotations

from pathlib import Path

from trace_core.prompt_templates import PromptTemplateError, render_template

__all__ = ["PromptTemplateError", "render"]


def render(name: str, prompt_dir: str | Path | None = None, **values: object) -> str:
    """Template ``name`` (without ``.md``) filled with ``values``."""
    return render_template("agents.resocratic", name, prompt_dir, values)
