"""Typed errors of the sandbox (a program's own failures are results, not exceptions)."""

from __future__ import annotations

from trace_core.errors import OptoforgeError


class SandboxError(OptoforgeError):
    """The sandbox itself cannot run: bad arguments, an unusable isolation layer, a bad file."""
