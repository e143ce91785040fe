"""`run()`: execute a generated Python program in a child process with limits and isolation.

The child starts in a fresh temporary directory with an allow-listed environment, under the
strongest isolation layer that works here (`trace_core.sandbox.isolation`), and runs the bootstrap
`_child.py`, which applies limits and guards and then the program. The parent reads stdout and
stderr with caps, kills the whole process group (and namespace) at the wall-clock deadline,
and collects the program's ``report()`` or, failing that, parses the printed objective.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, Field

from trace_core.sandbox.errors import SandboxError
from trace_core.sandbox.isolation import Isolation, choose, prefix
from trace_core.sandbox.stdout_result import read_printed_result
from trace_core.sandbox.threads import solver_threads, thread_files

DEFAULT_OUTPUT_LIMIT = 1_000_000
_BOOTSTRAP = str(Path(__file__).with_name("_child.py"))
_PROGRAM = "program.py"
_REPORT = ".optoforge-report.json"
_GUARDS = ".optoforge-guards"
_RESERVED = {_PROGRAM, _REPORT, _REPORT + ".tmp", _GUARDS}
# The only variables a child sees; values are fixed here, never copied from the parent.
_THREAD_CAPS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "OPTOFORGE_SOLVER_THREADS",
)
_DRAIN_AFTER_EXIT_S = 2.0
_MAX_REPORT_BYTES = 64 * 1024 * 1024
_WORKDIR_PREFIX = "optoforge-sandbox-"


class RunResult(BaseModel):
    """What a sandboxed program did: output, exit, isolation used and its reported result."""

    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None
    timed_out: bool = False
    isolation: Isolation
    guards: list[str] = Field(default_factory=list)
    objective: float | None = None
    status: str | None = None
    values: dict[str, float | None] = Field(default_factory=dict)
    result_source: Literal["report", "stdout"] | None = None
    duration_s: float = 0.0
    threads: int = 1
    stdout_truncated: bool = False
    stderr_truncated: bool = False

    @property
    def ok(self) -> bool:
        """True when the program exited normally (code 0) within its time."""
        return self.returncode == 0 and not self.timed_out


def run(
    code: str,
    *,
    timeout_s: float = 30.0,
    memory_mb: int = 2048,
    files: dict[str, str | bytes] | None = None,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    isolation: Isolation | str | None = None,
    max_processes: int = 256,
    threads: int | None = None,
) -> RunResult:
    """Run ``code`` (a Python program) in a sandboxed child process and return what happened.

    ``timeout_s`` bounds wall-clock time (CPU time is capped at the same value, rounded up);
    ``memory_mb`` caps the address space; ``files`` are written into the working directory
    first (relative paths only); ``output_limit`` caps stdout and stderr each (bytes; the head
    and the tail are kept). ``isolation`` forces a layer ("bwrap", "unshare", "rlimits");
    ``max_processes`` is RLIMIT_NPROC (threads count; the kernel ignores it for root, which is
    why new processes are also refused by seccomp and the audit hook). ``threads`` is the
    thread count every solver in the program gets (see :mod:`trace_core.sandbox.threads`;
    default ``OPTOFORGE_SOLVER_THREADS`` or 1, one per parallel worker). A run that timed out
    or crashed carries no objective or status, whatever it printed or reported before.
    """
    _check_args(timeout_s, memory_mb, output_limit)
    threads = solver_threads(threads)
    layer = choose(isolation)
    start = time.perf_counter()
    _sweep_stale_workdirs()
    workdir = tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{os.getpid()}-")
    try:
        root = os.path.realpath(workdir)
        _write_inputs(root, code, {**thread_files(threads), **(files or {})})
        settings = {
            "seccomp": 1,
            "audit": 1,
            # CPU seconds accrue per thread: allow every core for the whole wall time, so
            # the wall-clock deadline (not SIGXCPU) is what normally ends a long run.
            "RLIMIT_CPU": math.ceil(timeout_s) * (os.cpu_count() or 1) + 1,
            "RLIMIT_AS": memory_mb * 1024 * 1024,
            "RLIMIT_FSIZE": 256 * 1024 * 1024,
            "RLIMIT_NPROC": max_processes,
            "RLIMIT_CORE": 0,
            "threads": threads,
        }
        cmd = [
            *prefix(layer, root),
            sys.executable,
            "-I",
            "-B",
            _BOOTSTRAP,
            root,
            _PROGRAM,
            _REPORT,
            _GUARDS,
            *(f"{k}={v}" for k, v in settings.items()),
        ]
        out, err, returncode, timed_out = _execute(cmd, root, timeout_s, output_limit, threads)
        # Killed by the CPU-time limit (SIGXCPU, or 128 + SIGXCPU through bwrap): also "too long".
        timed_out = timed_out or returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU)
        result = RunResult(
            stdout=out.text(),
            stderr=err.text(),
            returncode=returncode,
            timed_out=timed_out,
            isolation=layer,
            threads=threads,
            stdout_truncated=out.dropped > 0,
            stderr_truncated=err.dropped > 0,
        )
        result.guards = _guards(root, layer)
        _attach_result(result, root)
        result.duration_s = time.perf_counter() - start
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _sweep_stale_workdirs() -> None:
    """Remove run directories left by parents that died before cleaning up (e.g. SIGKILL).

    Directories are named after the parent's pid; one whose parent is gone is stale.
    """
    base = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(base) if n.startswith(_WORKDIR_PREFIX)]
    except OSError:
        return
    for name in names:
        pid_text = name[len(_WORKDIR_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
        except PermissionError:
            pass  # alive, owned by someone else


def _check_args(timeout_s: float, memory_mb: int, output_limit: int) -> None:
    if not (timeout_s > 0 and math.isfinite(timeout_s)):
        raise SandboxError(f"timeout_s must be a positive number of seconds, got {timeout_s}")
    if memory_mb < 64:
        raise SandboxError(f"memory_mb={memory_mb} is too small to start Python; use >= 64")
    if output_limit < 1024:
        raise SandboxError(f"output_limit={output_limit} bytes is too small; use >= 1024")


def _write_inputs(root: str, code: str, files: dict[str, str | bytes]) -> None:
    Path(root, _PROGRAM).write_text(code)
    os.mkdir(os.path.join(root, "tmp"))
    for name, content in files.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or name in _RESERVED:
            raise SandboxError(
                f"file name {name!r} must be a relative path inside the run directory (no "
                f"'..', not one of {sorted(_RESERVED)})"
            )
        target = Path(root, *rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def _child_env(root: str, threads: int) -> dict[str, str]:
    """The allow-listed environment: nothing is inherited from the parent."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": root,
        "TMPDIR": os.path.join(root, "tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "MALLOC_ARENA_MAX": "2",  # fewer 64 MB malloc arenas under RLIMIT_AS
    }
    env.update(dict.fromkeys(_THREAD_CAPS, str(threads)))
    return env


class _Capped:
    """Keeps the first and the last bytes of a stream up to ``limit``; counts what it drops."""

    def __init__(self, limit: int) -> None:
        self.tail_limit = min(limit // 4, 64 * 1024)
        self.head_limit = limit - self.tail_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            excess = len(self.tail) - self.tail_limit
            if excess > 0:
                self.dropped += excess
                del self.tail[:excess]

    def text(self) -> str:
        middle = (
            f"\n[... {self.dropped} bytes omitted by the sandbox ...]\n" if self.dropped else ""
        )
        return self.head.decode("utf-8", "replace") + middle + self.tail.decode("utf-8", "replace")


def _execute(
    cmd: list[str], root: str, timeout_s: float, limit: int, threads: int
) -> tuple[_Capped, _Capped, int | None, bool]:
    """Run ``cmd``; returns capped stdout, stderr, exit code and whether it was killed."""
    out, err = _Capped(limit), _Capped(limit)
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=_child_env(root, threads),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        raise SandboxError(f"could not start the sandbox child ({cmd[0]}): {exc}") from exc
    deadline = time.monotonic() + timeout_s
    timed_out = False
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    drain_until: float | None = None
    try:
        while True:
            now = time.monotonic()
            if not timed_out and now >= deadline:
                timed_out = True
                _kill(proc)
            exited = proc.poll() is not None
            if exited and drain_until is None:
                drain_until = now + _DRAIN_AFTER_EXIT_S
            if not sel.get_map():
                if exited:
                    break
                # Both pipes closed but the program still runs: wait for it (or the deadline).
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(0.01, min(deadline - now, 0.25)))
                continue
            if drain_until is not None and now >= drain_until:
                break  # a leftover descendant holds the pipe open; stop listening
            wait = (drain_until if drain_until is not None else deadline) - now
            for key, _ in sel.select(timeout=max(0.01, min(wait, 0.25))):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    key.data.add(chunk)
                else:
                    sel.unregister(key.fileobj)
    finally:
        sel.close()
        _kill(proc)  # no-op when it already exited; reaps stragglers in its process group
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return out, err, proc.returncode, timed_out


def _kill(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the child's whole process group (namespaced children die with their init)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _guards(root: str, layer: Isolation) -> list[str]:
    guards = ["rlimits", "audit-hook", "env-allowlist"]
    try:
        extra = Path(root, _GUARDS).read_text().strip()
    except OSError:
        extra = ""
    guards += [g for g in extra.split(",") if g]
    if layer is Isolation.BWRAP:
        guards += ["netns", "pidns", "read-only-root", "private-tmp", "no-capabilities"]
    elif layer is Isolation.UNSHARE:
        guards += ["netns", "pidns"]
    return guards


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _attach_result(result: RunResult, root: str) -> None:
    """Fill objective/status/values from ``report()``, else from the printed output.

    A run killed at its deadline or ended by a crash gets nothing: what it printed or
    reported before was an intermediate incumbent at best.
    """
    if not result.ok:
        return
    path = Path(root, _REPORT)
    try:
        # The program owns this file and may have written anything: size-cap it and check types.
        payload = json.loads(path.read_text()) if path.stat().st_size <= _MAX_REPORT_BYTES else None
    except (OSError, ValueError):
        payload = None
    if isinstance(payload, dict):
        values = payload.get("values")
        result.objective = _finite(payload.get("objective"))
        result.status = str(payload.get("status"))[:100] if payload.get("status") else None
        if isinstance(values, dict):
            result.values = {str(k): _finite(v) for k, v in values.items()}
        result.result_source = "report"
        return
    printed = read_printed_result(result.stdout)
    if printed.objective is not None or printed.status is not None:
        result.objective = printed.objective
        result.status = printed.status
        result.result_source = "stdout"
