"""`optoforge demo` and `optoforge formulate` end to end against the real llama.cpp server.

SmolLM2 is far too small to optimize or formulate well; these tests check the plumbing: the
commands finish with the default settings (structured output negotiated, a default max_tokens
so nothing waits behind an endless reply), report what happened, and never print a traceback.
"""

from __future__ import annotations

import json

import pytest

from tests.agents.cli.test_llm_errors import run_cli
from tests.servers.llama_server import LlamaServer, llama_server, missing  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.local_llm,
    pytest.mark.slow,
    pytest.mark.skipif(missing() is not None, reason=missing() or ""),
]


def env_for(server: LlamaServer) -> dict[str, str]:
    # Small replies keep the run short on a busy 2-core machine; a generous timeout because a
    # 700-token prompt takes a while there.
    return {
        "OPENAI_BASE_URL": server.url,
        "OPTOFORGE_MAX_TOKENS": "48",
        "OPTOFORGE_LLM_TIMEOUT": "180",
    }


def test_optimizer_demo_runs_end_to_end(server: LlamaServer) -> None:
    # The numeric example: the flagship's formulation prompts do not fit SmolLM2's 2k context.
    args = ["demo", "--example", "numeric", "--llm", "openai:smollm2", "--steps", "1"]
    done = run_cli(*args, env=env_for(server))
    assert "Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["steps"] == 1 and isinstance(result["errors"], list)
    for error in result["errors"]:  # a step error is shown to the user, on one line
        assert f"step error: {error}" in done.stderr


def test_formulate_runs_end_to_end(server: LlamaServer) -> None:
    done = run_cli(
        "formulate",
        "Maximize x + y subject to x + y <= 4 and x, y >= 0.",
        "--llm",
        "openai:smollm2",
        "--max-repairs",
        "0",
        "--timeout",
        "20",
        env=env_for(server),
    )
    assert "Traceback" not in done.stderr
    # 0: solved; 1: the program failed (a 135M model rarely writes a working one); never 2+.
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert done.stdout.startswith("outcome: ")
