"""Crash-safe file writes for run directories: fsync-ed appends and atomic replacement.

Resumable runs (training checkpoints, prompt-search histories, evaluation results, AlphaOPT
and ReSocratic state) must survive a kill at any moment: an appended line is on disk when the
call returns, and a rewritten file is either the old one or the new one, whole.
"""

from __future__ import annotations

import os
from pathlib import Path


def append_line(path: str | Path, line: str) -> None:
    """Append ``line`` plus a newline to ``path`` (created if missing); returns once on disk."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` via an fsync-ed temporary file and a rename.

    The temporary file is hidden and named after this process, so concurrent writers of the
    same file never share one; its folder must exist.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)
