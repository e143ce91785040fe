"""The scripted world model as a ``py:`` LLM factory that can die on cue, for crash tests.

``--llm py:tests.optimizers.prompting.killable:make_world`` builds it in a CLI subprocess.
Environment:

- ``PROMPT_CALL_LOG``: a file that gets one line per answered call (the calls "paid for");
- ``PROMPT_KILL_AT_CALL``: N > 0 makes the process SIGKILL itself when the N-th call arrives,
  before answering it (so the log then holds N - 1 lines).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from tests.optimizers.prompting.world import is_optimizer_call, optimizer_reply, worker_reply
from trace_core.llm import ScriptedLLM


def make_world() -> ScriptedLLM:
    """The world model (worker and instruction optimizer), counting and maybe dying."""
    kill_at = int(os.environ.get("PROMPT_KILL_AT_CALL", "0"))
    log = os.environ.get("PROMPT_CALL_LOG")
    seen = 0

    def reply(messages: list[dict[str, Any]]) -> str:
        nonlocal seen
        seen += 1
        if seen == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if is_optimizer_call(messages):
            answer = optimizer_reply(messages)
        else:
            answer = worker_reply(messages)
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write("call\n")
        return answer

    return ScriptedLLM(reply, model="world")
