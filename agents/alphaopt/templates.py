"""Prompt templates of AlphaOPT, stored as markdown files under ``prompts/``.

Each template starts with a ``# AlphaOPT: <task>`` heading, which tells a reader (and scripted
test LLMs) which step a prompt belongs to. Templates use ``string.Template`` placeholders
(``$question``) so that braces in code need no escaping; a ``prompt_dir`` overrides any
template by file name.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from string import Template


class PromptTemplateError(LookupError):
    """A template is missing or a placeholder has no value."""


def render(name: str, prompt_dir: str | Path | None = None, **values: object) -> str:
    """Template ``name`` (without ``.md``) filled with ``values``."""
    text: str | None = None
    if prompt_dir is not None and (Path(prompt_dir) / f"{name}.md").is_file():
        text = (Path(prompt_dir) / f"{name}.md").read_text(encoding="utf-8")
    if text is None:
        packaged = resources.files("agents.alphaopt").joinpath("prompts", f"{name}.md")
        if not packaged.is_file():
            raise PromptTemplateError(f"no AlphaOPT prompt named {name!r} (looked for {name}.md)")
        text = packaged.read_text(encoding="utf-8")
    try:
        return Template(text).substitute({key: str(value) for key, value in values.items()})
    except KeyError as err:
        raise PromptTemplateError(f"prompt {name!r} needs a value for {err.args[0]!r}") from err
