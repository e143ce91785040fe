"""Prompt templates of AlphaOPT, stored as markdown files under ``prompts/``.

Each template starts with a ``# AlphaOPT: <task>`` heading, which tells a reader (and scripted
test LLMs) which step a prompt belongs to. Templates use ``string.Template`` placeholders
(``$question``) so that braces in code need no escaping; a ``prompt_dir`` overrides any
template by file name. Loading is shared with the other agents (:mod:`trace_core.prompt_templates`).
"""

from __future__ import annotations

from pathlib import Path

from trace_core.prompt_templates import PromptTemplateError, render_template

__all__ = ["PromptTemplateError", "render"]


def render(name: str, prompt_dir: str | Path | None = None, **values: object) -> str:
    """Template ``name`` (without ``.md``) filled with ``values``."""
    return render_template("agents.alphaopt", name, prompt_dir, values, label="AlphaOPT prompt")
