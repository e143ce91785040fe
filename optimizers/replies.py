"""Reply schemas the LLM optimizers ask for, and the one place replies are requested.

Suggestions are kept as a free ``{name: value}`` map on purpose: each value is validated on its
own by ``param.set`` so that one bad value is rejected with a reason while the others still
apply, instead of the whole reply failing to parse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from optimizers.base import Optimizer, StepUsage, Suggestion


# Replies are strict: the answer fields are required and no other key is allowed. A lenient model
# accepted a copy of the JSON schema ({"description": ..., "properties": {}}) as an empty
# suggestion, so an optimizer silently changed nothing; now such a reply is an output error
# that gets a repair re-ask and, failing that, is recorded as the step's error.
_STRICT = ConfigDict(extra="forbid")


class SuggestionReply(BaseModel):
    """Your reasoning, then the new value of each variable you change, by variable name."""

    model_config = _STRICT

    reasoning: str = ""
    suggestion: dict[str, Any]


class GradientReply(BaseModel):
    """For each input of the operation, by input name: how it should change."""

    model_config = _STRICT

    gradients: dict[str, str]


class UpdateReply(BaseModel):
    """Your reasoning, then the improved value of the variable."""

    model_config = _STRICT

    reasoning: str = ""
    value: Any


def parse_reply(completion: Any, schema: type[BaseModel]) -> BaseModel:
    """The completion's parsed object as ``schema`` (validating text when nothing was parsed)."""
    parsed = getattr(completion, "parsed", None)
    if isinstance(parsed, schema):
        return parsed
    if parsed is not None:
        return schema.model_validate(
            parsed.model_dump() if isinstance(parsed, BaseModel) else parsed
        )
    return schema.model_validate_json(completion.text)


def ask_for_suggestion(
    optimizer: Optimizer, messages: list[dict[str, Any]], usage: StepUsage
) -> Suggestion:
    """Ask the optimizer's model for a :class:`SuggestionReply`; a bad reply becomes an error."""
    from pydantic import ValidationError

    from optimizers.base import Suggestion
    from trace_core.llm import LLMOutputError

    try:
        completion = optimizer._complete(messages, usage, response_format=SuggestionReply)
        reply = parse_reply(completion, SuggestionReply)
    except (LLMOutputError, ValidationError) as err:
        return Suggestion({}, usage=usage, error=f"the model's reply was not usable: {err}")
    assert isinstance(reply, SuggestionReply)
    return Suggestion(dict(reply.suggestion), reasoning=reply.reasoning, usage=usage)
