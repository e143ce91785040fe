"""The hook through which an experience library (AlphaOPT) feeds lessons into prompts.

Protocol, kept minimal on purpose so any store can plug in:

* ``retrieve(question: str) -> Sequence[insight]`` is called once per :meth:`solve`, before the
  first program is written. Each insight is either a plain string or an object with an
  ``explanation`` attribute and optionally ``id`` and ``example`` (``agents.alphaopt.Insight``
  has all three). Their text goes into the prompt's "Lessons from earlier problems" section.
* ``retrieve_for_program(question, formulation) -> Sequence[insight]`` is optional: when
  present it is called after the model description is written (``formulation`` is None when the
  agent does not describe first), and its insights join the program prompt. AlphaOPT uses it
  to retrieve code lessons separately from modelling lessons.
* ``record(insight_ids, result)`` is optional: when present, it is called after the solve with
  the ids of the injected insights and the :class:`FormulationResult`, so a library can update
  its usage statistics (retrieved / helped / hurt).

A library error is not swallowed: a broken library should be fixed, not silently ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class InsightSource(Protocol):
    """Anything that can hand the agent lessons for a question."""

    def retrieve(self, question: str) -> Sequence[Any]:
        """Lessons (insights or strings) relevant to ``question``."""


def insight_text(insight: Any) -> str:
    """One insight as prompt text: ``[id] explanation`` plus its example when it has one."""
    if isinstance(insight, str):
        return insight.strip()
    explanation = str(getattr(insight, "explanation", "") or "").strip()
    if not explanation:
        raise TypeError(
            f"an insight must be a str or have an 'explanation' attribute, got {type(insight)!r}"
        )
    ident = getattr(insight, "id", None)
    text = f"[{ident}] {explanation}" if ident is not None else explanation
    example = str(getattr(insight, "example", "") or "").strip()
    return f"{text}\n  Example: {example}" if example else text


def insight_id(insight: Any) -> Any:
    """The insight's id, or None for plain strings and id-less objects."""
    return None if isinstance(insight, str) else getattr(insight, "id", None)
