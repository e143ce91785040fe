"""Prompt templates for the LLM optimizers, kept as Markdown files beside this module.

Prompts are data: each template is ``<name>.md`` in this folder, read by name, so it can be
diffed and reviewed without touching code. An optimizer may be given another folder
(``prompt_dir=``) whose files override these by name. Templates use ``$field`` placeholders
(:class:`string.Template`), which leaves the braces of JSON examples alone. Reading and filling
are shared with the agents (:mod:`trace_core.prompt_templates`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from optimizers.errors import OptimizerError
from trace_core.prompt_templates import fill_template, read_override, read_template


class PromptNotFound(OptimizerError, FileNotFoundError):
    """No template file with the requested name exists in the searched folders."""


def load_prompt(name: str, prompt_dir: str | Path | None = None) -> str:
    """Return the text of template ``name`` (without ``.md``), preferring ``prompt_dir``."""
    text = read_override(name, prompt_dir)
    if text is None:
        text = _packaged(name)
    if text is None:
        raise PromptNotFound(
            f"no prompt template {name!r}: expected {name}.md in optimizers/prompts/"
            + (f" or in {prompt_dir}" if prompt_dir is not None else "")
        )
    return text


@lru_cache(maxsize=64)
def _packaged(name: str) -> str | None:
    """A packaged template's text (read once: packaged files do not change while running)."""
    return read_template(__name__, name)


def render_prompt(name: str, prompt_dir: str | Path | None = None, **fields: object) -> str:
    """Fill template ``name`` with ``fields``; a placeholder without a value raises KeyError."""
    return fill_template(load_prompt(name, prompt_dir), fields).strip()
