"""Prompt templates of the formulation agent, stored as markdown files under ``prompts/``.

Templates use ``string.Template`` placeholders (``$question``) so that braces in code samples
need no escaping. A directory passed as ``prompt_dir`` overrides any template by file name.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from string import Template


class PromptTemplateError(LookupError):
    """A template is missing or a placeholder has no value."""


def load_template(name: str, prompt_dir: str | Path | None = None) -> str:
    """Text of template ``name`` (without ``.md``), from ``prompt_dir`` first, then the package."""
    if prompt_dir is not None:
        override = Path(prompt_dir) / f"{name}.md"
        if override.is_file():
            return override.read_text(encoding="utf-8")
    packaged = resources.files("agents.formulation").joinpath("prompts", f"{name}.md")
    if not packaged.is_file():
        raise PromptTemplateError(f"no prompt template named {name!r} (looked for {name}.md)")
    return packaged.read_text(encoding="utf-8")


def render(name: str, prompt_dir: str | Path | None = None, **values: object) -> str:
    """Fill template ``name`` with ``values`` (a missing one raises PromptTemplateError)."""
    text = load_template(name, prompt_dir)
    try:
        return Template(text).substitute({key: str(value) for key, value in values.items()})
    except KeyError as err:
        raise PromptTemplateError(f"template {name!r} needs a value for {err.args[0]!r}") from err
