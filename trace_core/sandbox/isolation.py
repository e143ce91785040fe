"""Isolation layers for sandboxed runs, strongest first: bubblewrap, `unshare`, rlimits only.

Every layer adds, inside the child, resource limits, a seccomp filter refusing new processes
(where the architecture is known) and a Python audit hook. The layers differ in what the
kernel enforces around that:

- ``bwrap``: read-only root, private /tmp, only the run directory writable, own network
  namespace (no loopback either), own PID namespace (other processes and their environments
  are invisible), all capabilities dropped, dies with its parent.
- ``unshare``: own network, PID and mount namespace with a fresh /proc; file writes outside
  the run directory are refused by the audit hook only.
- ``rlimits``: no namespaces; network, writes and other processes' environments are refused
  by the audit hook (a program that uses ctypes can get around it).

A layer is used only after a probe run proves it works on this machine (containers often
forbid namespaces); the probe result is cached per process.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from enum import StrEnum

from trace_core.sandbox.errors import SandboxError


class Isolation(StrEnum):
    """Which isolation layer a run used (see the module docstring for the guarantees)."""

    BWRAP = "bwrap"
    UNSHARE = "unshare"
    RLIMITS = "rlimits"


_ORDER = (Isolation.BWRAP, Isolation.UNSHARE, Isolation.RLIMITS)
_PROBE_TIMEOUT_S = 10.0


_PRIVATE_MOUNTS = ("/tmp", "/dev/shm")


def _needed_under_private_mounts() -> list[str]:
    """Paths the child needs that the private /tmp would hide (a venv or a clone in /tmp)."""
    import sys

    import trace_core

    candidates = {
        sys.prefix,
        sys.base_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
        os.path.dirname(os.path.dirname(os.path.realpath(trace_core.__file__))),
        *(p for p in sys.path if p and os.path.isdir(p)),
    }
    hidden = set()
    for path in candidates:
        real = os.path.realpath(path)
        if any(real.startswith(m + "/") for m in _PRIVATE_MOUNTS):  # never all of /tmp
            hidden.add(real)
    # Binding a parent makes its children visible already; keep the outermost paths only.
    return sorted(p for p in hidden if not any(p.startswith(q + "/") for q in hidden))


def bwrap_prefix(workdir: str) -> list[str]:
    """The bubblewrap command line that wraps a child running in ``workdir``."""
    exe = shutil.which("bwrap") or "bwrap"
    visible = [arg for p in _needed_under_private_mounts() for arg in ("--ro-bind", p, p)]
    # fmt: off
    args = [
        exe,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        "--tmpfs", "/dev/shm",
        *visible,
        "--bind", workdir, workdir,
        "--chdir", workdir,
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent", "--new-session",
        "--cap-drop", "ALL",
    ]
    # fmt: on
    if os.geteuid() != 0:
        args.insert(1, "--unshare-user")
    return [*args, "--"]


def unshare_prefix(workdir: str) -> list[str]:
    """The util-linux `unshare` command line: new network, PID and mount namespaces."""
    del workdir  # the run directory needs no mapping here
    exe = shutil.which("unshare") or "unshare"
    args = [exe, "--net", "--pid", "--fork", "--mount-proc", "--kill-child"]
    if os.geteuid() != 0:
        args[1:1] = ["--user", "--map-root-user"]
    return [*args, "--"]


def prefix(isolation: Isolation, workdir: str) -> list[str]:
    """Command prefix that applies ``isolation`` (empty for rlimits-only)."""
    if isolation is Isolation.BWRAP:
        return bwrap_prefix(workdir)
    if isolation is Isolation.UNSHARE:
        return unshare_prefix(workdir)
    return []


@functools.cache
def works(isolation: Isolation) -> bool:
    """True when ``isolation`` can start a process on this machine (probed once, cached)."""
    if isolation is Isolation.RLIMITS:
        return True
    tool = "bwrap" if isolation is Isolation.BWRAP else "unshare"
    if shutil.which(tool) is None:
        return False
    try:
        with tempfile.TemporaryDirectory(prefix="optoforge-probe-") as workdir:
            cmd = [*prefix(isolation, os.path.realpath(workdir)), "/bin/sh", "-c", "exit 0"]
            probe = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=_PROBE_TIMEOUT_S,
                check=False,
            )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def available_isolation() -> list[Isolation]:
    """The layers that work here, strongest first."""
    return [layer for layer in _ORDER if works(layer)]


def choose(requested: Isolation | str | None = None) -> Isolation:
    """The strongest working layer, or ``requested`` (raises `SandboxError` if it does not work).

    The environment variable ``OPTOFORGE_SANDBOX_ISOLATION`` may name a weaker layer to use by
    default (e.g. on a machine where bubblewrap is installed but misbehaves).
    """
    requested = requested or os.environ.get("OPTOFORGE_SANDBOX_ISOLATION") or None
    if requested is not None:
        try:
            layer = Isolation(requested)
        except ValueError as err:
            known = ", ".join(layer.value for layer in _ORDER)
            raise SandboxError(f"unknown isolation {requested!r}; use one of: {known}") from err
        if not works(layer):
            raise SandboxError(
                f"isolation {layer.value!r} does not work on this machine (is "
                f"{'bubblewrap' if layer is Isolation.BWRAP else 'util-linux unshare'} "
                "installed, and are namespaces allowed?); working layers: "
                + ", ".join(x.value for x in available_isolation())
            )
        return layer
    return next(layer for layer in _ORDER if works(layer))  # probes only as far as needed
