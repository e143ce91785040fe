"""LLM failures reach the user of `demo` and `formulate` as one line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.cli.app import create_app
from tests.servers.chat_server import ChatServer, Reply

ROOT = Path(__file__).resolve().parents[3]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real ``optoforge`` process (tracebacks would show here, not in CliRunner)."""
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OPTOFORGE_CACHE": "0", **env},
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture
def refusing_server() -> ChatServer:
    with ChatServer(lambda body: Reply.error(401, "invalid key")) as server:
        yield server  # type: ignore[misc]


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--llm", "openai:m", "--steps", "1"],
        ["formulate", "Maximize x subject to x <= 3.", "--llm", "openai:m", "--max-repairs", "0"],
    ],
    ids=["demo", "formulate"],
)
def test_an_llm_failure_is_one_line_with_exit_code_2(
    args: list[str], refusing_server: ChatServer
) -> None:
    done = run_cli(*args, env={"OPENAI_BASE_URL": refusing_server.url})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: openai:m: the provider refused the credentials (HTTP 401)")


def test_an_unknown_json_mode_is_refused_before_any_call() -> None:
    result = CliRunner().invoke(
        create_app(), ["formulate", "x", "--llm", "openai:m", "--json-mode", "yaml"]
    )
    assert result.exit_code == 2
    assert "json_object" in result.output  # the message lists the modes


def test_json_mode_option_pins_the_mode_for_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from agents.cli.common import _apply_json_mode

    monkeypatch.setenv("OPTOFORGE_JSON_MODE", "auto")  # restored (unset) after the test
    _apply_json_mode("tool")
    assert os.environ["OPTOFORGE_JSON_MODE"] == "tool"
