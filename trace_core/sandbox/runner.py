"""`run()`: execute a generated Python program in a child process with limits and isolation.

The child starts in a fresh temporary directory with an allow-listed environment, under the
strongest isolation layer that works here (`trace_core.sandbox.isolation`), and runs the bootstrap
`_child.py`, which applies limits and guards and then the program. The parent reads stdout and
stderr with caps, kills the whole process group (and namespace) at the wall-clock deadline,
and collects the program's ``report()`` or, failing that, parses the printed objective.
"""

from __future__ import annotations

import contextlib
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

from trace_core.sandbox import seccomp_policy
from trace_core.sandbox.errors import SandboxError
from trace_core.sandbox.isolation import (
    BWRAP_BOOTSTRAP,
    DEFAULT_MAX_FILES,
    Isolation,
    bwrap_prefix,
    choose,
    guards_for,
    limitations_for,
    unshare_prefix,
)
from trace_core.sandbox.report_file import read_report
from trace_core.sandbox.stdout_result import read_printed_result
from trace_core.sandbox.threads import solver_threads, thread_environment, thread_files

DEFAULT_OUTPUT_LIMIT = 1_000_000
_BOOTSTRAP = str(Path(__file__).with_name("_child.py"))
_PROGRAM = "program.py"
_RESERVED = {_PROGRAM}
_DRAIN_AFTER_EXIT_S = 2.0
DEFAULT_DISK_MB = 256
_MAX_OPEN_FILES = 256
_WORKDIR_PREFIX = "optoforge-sandbox-"


class RunResult(BaseModel):
    """What a sandboxed program did: output, exit, isolation used and its reported result.

    ``guards`` are what the caller set up for this run (never what the child claims);
    ``limitations`` say what the layer used does not stop; ``report_error`` says why a
    ``report()`` file was ignored (too big, not JSON, ...).
    """

    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None
    timed_out: bool = False
    isolation: Isolation
    guards: list[str] = Field(default_factory=list)
    limitations: list[str] = Field(default_factory=list)
    report_error: str | None = None
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
    disk_mb: int = DEFAULT_DISK_MB,
    max_files: int = DEFAULT_MAX_FILES,
    read_only_paths: tuple[str, ...] = (),
    threads: int | None = None,
) -> RunResult:
    """Run ``code`` (a Python program) in a sandboxed child process and return what happened.

    ``timeout_s`` bounds wall-clock time (CPU time is capped at the same value, rounded up);
    ``memory_mb`` caps the address space; ``files`` are written into the working directory
    first (relative paths only); ``output_limit`` caps stdout and stderr each (bytes; the head
    and the tail are kept). ``isolation`` names a layer ("bwrap", "unshare", "rlimits"); without
    it only the strong layer runs code (`trace_core.sandbox.isolation.choose`). ``disk_mb``
    caps what the run may store in total (bwrap: the run directory is a tmpfs of that size;
    elsewhere it caps each file); ``max_files`` caps the files and directories it may create
    (bwrap with a root caller). ``read_only_paths`` are host paths the strong layer shows
    read-only (e.g. a source tree the program imports). ``max_processes`` is RLIMIT_NPROC.
    ``threads`` is the thread count every solver in the program gets (see
    :mod:`trace_core.sandbox.threads`; default ``OPTOFORGE_SOLVER_THREADS`` or 1, one per
    parallel worker). A run that timed out or crashed carries no objective or status, whatever
    it printed or reported before.
    """
    _check_args(timeout_s, memory_mb, output_limit)
    threads = solver_threads(threads)
    layer = choose(isolation)
    start = time.perf_counter()
    _sweep_stale_workdirs()
    workdir = tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{os.getpid()}-")
    with contextlib.ExitStack() as cleanup:
        root = os.path.realpath(workdir)
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        names = _write_inputs(root, code, {**thread_files(threads), **(files or {})})
        report = cleanup.enter_context(tempfile.TemporaryFile(prefix="optoforge-report-"))
        settings = {
            "audit": 1,
            # CPU seconds accrue per thread: allow every core for the whole wall time, so
            # the wall-clock deadline (not SIGXCPU) is what normally ends a long run.
            "RLIMIT_CPU": math.ceil(timeout_s) * (os.cpu_count() or 1) + 1,
            "RLIMIT_AS": memory_mb * 1024 * 1024,
            "RLIMIT_FSIZE": disk_mb * 1024 * 1024,
            "RLIMIT_NPROC": max_processes,
            "RLIMIT_NOFILE": _MAX_OPEN_FILES,
            "RLIMIT_CORE": 0,
            "threads": threads,
        }
        if layer is Isolation.RLIMITS:
            settings["parent"] = os.getpid()
        owned: list[int] = []  # descriptors the child inherits; closed here when run() ends
        cleanup.callback(_close_all, owned)
        lifeline, caller_end = os.pipe()  # EOF in the child when this process dies
        owned += [lifeline, caller_end]
        settings["lifeline"] = lifeline
        limits = (disk_mb, max_files)
        child_filter, prefix = _launch(layer, root, names, limits, read_only_paths, owned)
        bootstrap = BWRAP_BOOTSTRAP if layer is Isolation.BWRAP else _BOOTSTRAP
        cmd = [
            *prefix,
            sys.executable,
            "-I",
            "-B",
            bootstrap,
            root,
            _PROGRAM,
            str(report.fileno()),
            str(child_filter),
            *(f"{k}={v}" for k, v in settings.items()),
        ]
        pass_fds = (*(fd for fd in owned if fd != caller_end), report.fileno())
        out, err, returncode, timed_out = _execute(
            cmd, root, timeout_s, output_limit, threads, pass_fds
        )
        # Killed by the CPU-time limit (SIGXCPU, or 128 + SIGXCPU through bwrap): also "too long".
        timed_out = timed_out or returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU)
        result = RunResult(
            stdout=out.text(),
            stderr=err.text(),
            returncode=returncode,
            timed_out=timed_out,
            isolation=layer,
            threads=threads,
            guards=guards_for(layer),
            limitations=limitations_for(layer),
            stdout_truncated=out.dropped > 0,
            stderr_truncated=err.dropped > 0,
        )
        _attach_result(result, report.fileno())
        result.duration_s = time.perf_counter() - start
    return result


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _bpf_pipe(owned: list[int], program: bytes) -> int:
    """A pipe holding ``program`` (a few KB: fits the pipe buffer), read end kept for the child."""
    read_fd, write_fd = os.pipe()
    owned.append(read_fd)
    try:
        os.write(write_fd, program)
    finally:
        os.close(write_fd)
    return read_fd


def _open_input(owned: list[int], path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    owned.append(fd)
    return fd


def _launch(
    layer: Isolation,
    root: str,
    names: list[str],
    limits: tuple[int, int],
    read_only_paths: tuple[str, ...],
    owned: list[int],
) -> tuple[int, list[str]]:
    """The seccomp pipe the bootstrap loads and the command prefix of ``layer``."""
    if layer is not Isolation.BWRAP:
        child_filter = _bpf_pipe(owned, seccomp_policy.full_filter())
        return child_filter, unshare_prefix() if layer is Isolation.UNSHARE else []
    process_filter = _bpf_pipe(owned, seccomp_policy.process_filter())
    child_filter = _bpf_pipe(owned, seccomp_policy.exec_filter())
    inputs = {n: _open_input(owned, os.path.join(root, n)) for n in names}
    prefix = bwrap_prefix(
        root,
        seccomp_fd=process_filter,
        disk_bytes=limits[0] * 1024 * 1024,
        inputs=inputs,
        read_only_paths=read_only_paths,
        max_files=limits[1],
    )
    return child_filter, prefix


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


def _write_inputs(root: str, code: str, files: dict[str, str | bytes]) -> list[str]:
    """Write the program and ``files`` under ``root``; returns their relative names."""
    Path(root, _PROGRAM).write_text(code)
    os.mkdir(os.path.join(root, "tmp"))
    names = [_PROGRAM]
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
        names.append(str(rel))
    return names


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
    env.update(thread_environment(threads))
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
    cmd: list[str],
    root: str,
    timeout_s: float,
    limit: int,
    threads: int = 1,
    pass_fds: tuple[int, ...] = (),
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
            pass_fds=pass_fds,
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
    """SIGKILL the child and its process group (namespaced children die with their init)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            proc.kill()


def _attach_result(result: RunResult, report_fd: int) -> None:
    """Fill objective/status/values from ``report()``, else from the printed output.

    A run killed at its deadline or ended by a crash gets nothing: what it printed or
    reported before was an intermediate incumbent at best.
    """
    report = read_report(report_fd)
    result.report_error = report.error
    if not result.ok:
        return
    if report.present:
        result.objective = report.objective
        result.status = report.status
        result.values = report.values
        result.result_source = "report"
        return
    printed = read_printed_result(result.stdout)
    if printed.objective is not None or printed.status is not None:
        result.objective = printed.objective
        result.status = printed.status
        result.result_source = "stdout"
