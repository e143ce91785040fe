"""Markdown prompt templates loaded by name, from a package or from an overriding folder.

Prompts are data: each template is a ``<name>.md`` file shipped inside a package and read by
name, so it can be diffed and reviewed without touching code. A caller may pass ``prompt_dir``
whose files override the packaged ones by name. Templates use ``$field`` placeholders
(:class:`string.Template`), which leave the braces of JSON and code samples alone. The LLM
optimizers (``optimizers.prompts``) and the agents (formulation, ReSocratic, AlphaOPT) all load
their prompts through this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from string import Template

from trace_core.errors import TraceError


class PromptTemplateError(TraceError, LookupError):
    """A template is missing or one of its placeholders has no value."""


def read_override(name: str, prompt_dir: str | Path | None) -> str | None:
    """Text of ``<name>.md`` in ``prompt_dir``; None when there is no folder or no such file."""
    if prompt_dir is None:
        return None
    override = Path(prompt_dir) / f"{name}.md"
    return override.read_text(encoding="utf-8") if override.is_file() else None


def read_template(
    package: str, name: str, prompt_dir: str | Path | None = None, *, folder: str | None = None
) -> str | None:
    """Text of ``<name>.md`` from ``prompt_dir`` when it has one, else packaged; None if neither.

    The packaged file is looked up in ``package`` (inside its sub-folder ``folder`` when given).
    """
    text = read_override(name, prompt_dir)
    if text is not None:
        return text
    root = resources.files(package)
    packaged = root.joinpath(folder, f"{name}.md") if folder else root.joinpath(f"{name}.md")
    return packaged.read_text(encoding="utf-8") if packaged.is_file() else None


def fill_template(text: str, values: Mapping[str, object]) -> str:
    """``text`` with every ``$field`` replaced by ``str(values[field])``.

    A placeholder without a value raises ``KeyError`` naming it.
    """
    return Template(text).substitute({key: str(value) for key, value in values.items()})


def render_template(
    package: str,
    name: str,
    prompt_dir: str | Path | None,
    values: Mapping[str, object],
    *,
    label: str = "prompt template",
) -> str:
    """Template ``name`` from ``package``'s ``prompts/`` folder (or ``prompt_dir``), filled in.

    Raises PromptTemplateError when the template does not exist or a placeholder has no value;
    ``label`` names the kind of template in the message (e.g. ``"AlphaOPT prompt"``).
    """
    text = read_template(package, name, prompt_dir, folder="prompts")
    if text is None:
        raise PromptTemplateError(f"no {label} named {name!r} (looked for {name}.md)")
    try:
        return fill_template(text, values)
    except KeyError as err:
        raise PromptTemplateError(f"template {name!r} needs a value for {err.args[0]!r}") from err
