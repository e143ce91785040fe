"""LLM factories for driving the CLI with ``--llm py:tests.agents.cli.fakes:<name>``.

``counting`` answers without code (so no sandbox is needed) and counts its calls in ``CALLS``,
which lets a test prove that a refused command paid for nothing. ``fault_server`` is a real
OpenAI client aimed at ``$FAULT_SERVER_URL`` (a ``tests.servers.chat_server``), with quick
retries so that faults surface in a second rather than in minutes of backoff.
"""

from __future__ import annotations

import os
from typing import Any

CALLS: list[int] = []
NO_CODE = "I would model this as a linear program, but here is no code."


def counting() -> Any:
    """A scripted LLM that replies without a program and records each call in ``CALLS``."""
    from trace_core.llm import ScriptedLLM

    def reply(messages: list[Any]) -> str:
        CALLS.append(1)
        return NO_CODE

    return ScriptedLLM(reply)


def fault_server() -> Any:
    """The ``openai`` backend at ``$FAULT_SERVER_URL``, two tries, no waits between them."""
    from trace_core.llm import get_llm
    from trace_core.llm.retry import RetryPolicy

    return get_llm(
        "openai:fault-model",
        base_url=os.environ["FAULT_SERVER_URL"],
        retry=RetryPolicy(max_attempts=2, initial_wait=0.0, max_wait=0.0, jitter=0.0),
        cache=False,
    )
