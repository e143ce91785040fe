"""Typed errors of the sandbox (a program's own failures are results, not exceptions)."""

from __future__ import annotations


class SandboxError(Exception):
    """The sandbox itself cannot run: bad arguments, an unusable isolation layer, a bad file."""
