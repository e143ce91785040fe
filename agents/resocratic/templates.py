"""Prompt templates of the synthesizer: markdown files under ``prompts/``, loaded by name.

Templates use ``string.Template`` placeholders (``$demonstration``) so braces in JSON and code
need no escaping. A ``prompt_dir`` overrides any template by file name.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from string import Template


class PromptTemplateError(LookupError):
    """A template is missing or one of its placeholders has no value."""


def render(name: str, prompt_dir: str | Path | None = None, **values: object) -> str:
    """Template ``name`` (without ``.md``) filled with ``values``."""
    text: str | None = None
    if prompt_dir is not None and (Path(prompt_dir) / f"{name}.md").is_file():
        text = (Path(prompt_dir) / f"{name}.md").read_text(encoding="utf-8")
    if text is None:
        packaged = resources.files("agents.resocratic").joinpath("prompts", f"{name}.md")
        if not packaged.is_file():
            raise PromptTemplateError(f"no prompt template named {name!r} (looked for {name}.md)")
        text = packaged.read_text(encoding="utf-8")
    try:
        return Template(text).substitute({k: str(v) for k, v in values.items()})
    except KeyError as err:
        raise PromptTemplateError(f"template {name!r} needs a value for {err.args[0]!r}") from err
