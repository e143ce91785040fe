"""Prompt templates of the formulation agent, stored as markdown files under ``prompts/``.

Templates use ``string.Template`` placeholders (``$question``) so that braces in code samples
need no escaping. A directory passed as ``prompt_dir`` overrides any template by file name.
Loading is shared with the other agents (:mod:`trace_core.prompt_templates`).
"""

from __future__ import annotations

from pathlib import Path

from trace_core.prompt_templates import PromptTemplateError, read_template, render_template

__all__ = ["PromptTemplateError", "load_template", "render"]


def load_template(name: str, prompt_dir: str | Path | None = None) -> str:
    """Text of template ``name`` (without ``.md``), from ``prompt_dir`` first, then the package."""
    text = read_template("agents.formulation", name, prompt_dir, folder="prompts")
    if text is None:
        raise PromptTemplateError(f"no prompt template named {name!r} (looked for {name}.md)")
    return text


def render(name: str, prompt_dir: str | Path | None = None, **values: object) -> str:
    """Fill template ``name`` with ``values`` (a missing one raises PromptTemplateError)."""
    return render_template("agents.formulation", name, prompt_dir, values)
