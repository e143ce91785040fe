"""Child-process helpers for the CLI's crash-safety tests (kill a run mid-way, then resume)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any


def kill_after_first_line(child: subprocess.Popen[Any], path: Path, timeout_s: float) -> None:
    """SIGKILL ``child``'s process group once ``path`` holds a complete line, so the run is
    killed with durable progress behind it and work still in flight.

    ``child`` must be started with ``start_new_session=True`` (the kill reaches its sandbox
    children too). Fails the test when the child ends first or no line comes in ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while not (path.is_file() and path.read_text("utf-8").count("\n") >= 1):
        assert child.poll() is None, _ended(child)
        assert time.monotonic() < deadline, f"{path.name} got no line within {timeout_s:g} s"
        time.sleep(0.05)
    assert child.poll() is None, _ended(child)
    os.killpg(child.pid, signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL


def _ended(child: subprocess.Popen[Any]) -> str:
    _, stderr = child.communicate()
    text = stderr.decode() if isinstance(stderr, bytes) else stderr or ""
    return f"the run ended (exit code {child.returncode}) before it could be killed: {text}"
