"""Keeping stdout for the machine-readable report: everything else goes to stderr."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def _fileno(stream: object) -> int | None:
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
        return None


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout (Python objects and file descriptor 1) to stderr.

    Solver libraries and Ray write banners from C code straight to fd 1; redirecting the file
    descriptor, not only ``sys.stdout``, keeps ``--json`` output a single clean JSON object.
    """
    saved_stream = sys.stdout
    out_fd, err_fd = _fileno(sys.stdout), _fileno(sys.stderr)
    saved_fd = None
    if out_fd is not None and err_fd is not None:
        sys.stdout.flush()
        saved_fd = os.dup(out_fd)
        os.dup2(err_fd, out_fd)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = saved_stream
        if saved_fd is not None and out_fd is not None:
            sys.stderr.flush()
            os.dup2(saved_fd, out_fd)
            os.close(saved_fd)
