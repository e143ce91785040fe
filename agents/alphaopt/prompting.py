"""Asking the LLM one AlphaOPT step: render a template, call, parse, and meter the usage."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from agents.alphaopt.templates import render
from trace_core.llm.meter import Meter

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)

SYSTEM = (
    "You are an operations-research expert who maintains a library of modelling lessons "
    "learned from optimization word problems. Answer precisely and only in the requested format."
)


class Prompter:
    """Sends AlphaOPT prompts to ``llm`` with fixed options, metering every call."""

    def __init__(
        self,
        llm: Any,
        *,
        meter: Meter | None = None,
        prompt_dir: str | Path | None = None,
        options: dict[str, Any] | None = None,
    ):
        self.llm = llm
        self.meter = meter or Meter()
        self.prompt_dir = prompt_dir
        self.options = dict(options or {})

    def _messages(self, template: str, values: dict[str, object]) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": render(template, self.prompt_dir, **values)},
        ]

    def structured(
        self,
        template: str,
        response_format: type[T],
        *,
        options: dict[str, Any] | None = None,
        **values: object,
    ) -> T:
        """The parsed reply; raises ``trace_core.llm.LLMOutputError`` when it cannot be parsed."""
        completion = self.llm.complete(
            self._messages(template, values),
            response_format=response_format,
            **{**self.options, **(options or {})},
        )
        self.meter.add(completion)
        parsed = completion.parsed
        if not isinstance(parsed, response_format):
            parsed = response_format.model_validate(parsed)
        return parsed

    def structured_or_none(
        self,
        template: str,
        response_format: type[T],
        *,
        failures: list[str],
        options: dict[str, Any] | None = None,
        **values: object,
    ) -> T | None:
        """Like :meth:`structured`, but an unparsable reply appends why to ``failures`` and
        returns None, so one bad reply skips one step instead of ending a long run."""
        from trace_core.llm.errors import LLMOutputError

        try:
            return self.structured(template, response_format, options=options, **values)
        except LLMOutputError as err:
            failures.append(f"{template}: reply unparsable ({err.reason}); step skipped")
            log.warning("%s", failures[-1])
            return None

    def text(
        self, template: str, *, options: dict[str, Any] | None = None, **values: object
    ) -> str:
        """The reply text."""
        completion = self.llm.complete(
            self._messages(template, values), **{**self.options, **(options or {})}
        )
        self.meter.add(completion)
        return str(completion.text)
