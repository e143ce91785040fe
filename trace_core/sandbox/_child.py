"""Bootstrap that runs *inside* the sandbox child, before the generated program.

Executed as a script (``python -I -B _child.py ROOT PROGRAM REPORT_FD FILTER_FD NAME=INT ...``)
so it imports nothing from the project; it uses the standard library only. In order it: asks
for SIGKILL when the caller dies (layers without namespaces), sets resource limits, loads the
seccomp filter the caller compiled (kernel-enforced, so ctypes cannot get around it; no
``execve`` from here on), defines the injected ``report()`` (which writes to a descriptor the
caller owns), installs an audit hook (a convenience that gives readable errors, not the
boundary), then runs the program. Any failure before the program starts exits with 125.
"""

from __future__ import annotations

import builtins
import contextlib
import math
import os
import resource
import sys
from _json import encode_basestring_ascii as _json_str  # json itself costs ~30 ms of imports
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

# argv: root, program file, report fd, filter fd, then NAME=INT settings (audit, parent,
# RLIMIT_*). Plain argv rather than JSON keeps start-up free of the json/re imports.
_ROOT = os.path.realpath(sys.argv[1])
_PROGRAM = os.path.join(_ROOT, sys.argv[2])
_REPORT_FD = int(sys.argv[3])  # a file the caller opened; the program never names a path
_FILTER_FD = int(sys.argv[4])  # a pipe holding the seccomp BPF program
_SETTINGS = {k: int(v) for k, _, v in (arg.partition("=") for arg in sys.argv[5:])}
_BOOTSTRAP_FAILED = 125
_ALLOWED_WRITE_PREFIXES = (_ROOT + os.sep, "/dev/null", "/dev/shm/")


def _set_limits() -> None:
    """Hard limits at (or just above) the soft ones, so the program cannot raise them."""
    for name, value in _SETTINGS.items():
        if not name.startswith("RLIMIT_"):
            continue
        res = getattr(resource, name)
        # CPU: the soft limit sends SIGXCPU (reported as a timeout); hard kills a second later.
        hard = value + 1 if name == "RLIMIT_CPU" else value
        try:
            resource.setrlimit(res, (value, hard))
        except (ValueError, OSError) as err:
            sys.stderr.write(f"[sandbox] could not set {name}={value}: {err}\n")
            os._exit(_BOOTSTRAP_FAILED)


# --- seccomp ------------------------------------------------------------------------------
def _install_filter(fd: int) -> None:
    """Load the BPF program the caller compiled (read from ``fd``); exit if that fails.

    Fail closed: the caller lists this filter among the run's guards, so the program must not
    start without it.
    """
    import ctypes

    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    program = b"".join(chunks)

    class _SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if (
        not program
        or len(program) % 8
        or libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0
        or libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(fprog), 0, 0) != 0
    ):
        code = ctypes.get_errno()
        sys.stderr.write(f"[sandbox] could not load the seccomp filter (errno {code})\n")
        os._exit(_BOOTSTRAP_FAILED)


def _die_with_parent(parent: int) -> None:
    """Without namespaces nothing else kills the program when the caller dies: ask the kernel
    (the seccomp filter then forbids clearing it)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the caller died before the request took effect
        os._exit(_BOOTSTRAP_FAILED)


def _watch_caller(fd: int) -> None:
    """Exit when the caller dies: ``fd`` is a pipe whose only write end the caller holds, so
    reading it returns (EOF) exactly then. A second path besides the death signals, which a
    SIGKILLed caller does not always get to deliver through every wrapper process."""
    import threading

    def watch() -> None:
        try:
            os.read(fd, 1)
        finally:
            os._exit(137)

    threading.Thread(target=watch, name="optoforge-caller-watch", daemon=True).start()


# --- report() -------------------------------------------------------------------------------
def _number(value: object) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def _json_number(value: float | None) -> str:
    return "null" if value is None else repr(value)


def report(objective: object, status: str = "optimal", values: object = None) -> None:
    """Record the program's result (objective value, status, variable values) for the caller.

    Call it once at the end; a later call replaces an earlier one.
    """
    if values is not None and not isinstance(values, dict):
        try:
            values = dict(values)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            values = {"value": values}
    pairs = (values or {}).items()  # type: ignore[attr-defined]
    items = ", ".join(f"{_json_str(str(k))}: {_json_number(_number(v))}" for k, v in pairs)
    payload = (
        f'{{"objective": {_json_number(_number(objective))}, '
        f'"raw_objective": {_json_str(repr(objective)[:200])}, '
        f'"status": {_json_str(str(status))}, "values": {{{items}}}}}'
    )
    data = payload.encode()
    os.ftruncate(_REPORT_FD, 0)
    os.pwrite(_REPORT_FD, data, 0)


# --- audit hook -----------------------------------------------------------------------------
_REFUSED_EVENTS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "os.startfile",
    "socket.connect",
    "socket.bind",
    "socket.sendto",
    "socket.sendmsg",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.gethostbyname_ex",
    "resource.setrlimit",
    "resource.prlimit",
    "sys.remote_exec",
}
_PATH_WRITE_EVENTS = {
    "os.remove",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.truncate",
    "os.utime",
    "os.link",
    "os.symlink",
    "os.rename",
    "shutil.rmtree",
    "shutil.chown",
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _is_other_environ(path: str) -> bool:
    """/proc/<pid>/environ or /proc/<pid>/task/<tid>/environ of a process other than self."""
    parts = path.split("/")
    return (
        len(parts) in (4, 6)
        and parts[1] == "proc"
        and parts[-1] == "environ"
        and parts[2] not in ("self", "thread-self", str(os.getpid()))
    )


def _inside(path: object) -> bool:
    if isinstance(path, int):
        return True  # an already-open descriptor
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    full = os.path.realpath(os.fspath(path))  # type: ignore[call-overload]
    return full == _ROOT or full.startswith(_ALLOWED_WRITE_PREFIXES)


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event in _REFUSED_EVENTS:
        raise PermissionError(f"sandbox: {event} is not allowed in generated programs")
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(
            (flags if isinstance(flags, int) else 0) & _WRITE_FLAGS
        )
        if writing and not _inside(path):
            raise PermissionError(f"sandbox: writing {path!r} outside the working directory")
        if isinstance(path, str | bytes) and _is_other_environ(os.path.normpath(os.fsdecode(path))):
            raise PermissionError("sandbox: reading another process's environment")
    elif event in _PATH_WRITE_EVENTS:
        for target in args[:2]:
            if isinstance(target, str | bytes | os.PathLike) and not _inside(target):
                raise PermissionError(
                    f"sandbox: {event} on {target!r} outside the working directory"
                )
    elif event in ("os.kill", "os.killpg") and args and args[0] not in (0, os.getpid()):
        raise PermissionError("sandbox: signalling other processes is not allowed")


# --- solver threads: options set on import, for solvers that read no environment variable --
def _limit_highs(module: object, threads: int) -> None:
    """Every ``highspy.Highs`` starts with ``threads`` as its thread option."""
    cls = getattr(module, "Highs", None)
    init = getattr(cls, "__init__", None)
    if cls is None or init is None:
        return

    def __init__(self: object, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)
        # an unexpected highspy version must not break the program
        with contextlib.suppress(Exception):
            self.setOptionValue("threads", threads)  # type: ignore[attr-defined]

    with contextlib.suppress(AttributeError, TypeError):
        cls.__init__ = __init__


_AFTER_IMPORT = {"highspy": _limit_highs}


class _SolverThreads:
    """A meta-path finder that applies ``_AFTER_IMPORT`` once a solver module has loaded."""

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        hook = _AFTER_IMPORT.get(name)
        if hook is None:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec
        threads = self.threads

        def exec_module(module: object) -> None:
            run(module)
            hook(module, threads)

        loader.exec_module = exec_module  # type: ignore[union-attr]
        return spec


def main() -> None:
    """Apply the limits and guards, inject ``report``, then run the program as ``__main__``."""
    if _SETTINGS.get("parent"):
        _die_with_parent(_SETTINGS["parent"])
    _set_limits()
    _install_filter(_FILTER_FD)
    # Whatever else was inherited (bubblewrap's input copies, ...) is not the program's.
    keep = sorted({_REPORT_FD, _SETTINGS.get("lifeline", _REPORT_FD)})
    for low, high in zip([2, *keep], [*keep, 1 << 16], strict=True):
        os.closerange(low + 1, high)
    if "lifeline" in _SETTINGS:
        _watch_caller(_SETTINGS["lifeline"])
    builtins.report = report  # type: ignore[attr-defined]
    sys.meta_path.insert(0, _SolverThreads(max(1, _SETTINGS.get("threads", 1))))
    sys.path.insert(0, _ROOT)
    sys.argv = [_PROGRAM]
    with open(_PROGRAM, encoding="utf-8") as fh:
        code = compile(fh.read(), _PROGRAM, "exec")
    main_module = type(sys)("__main__")
    main_module.__file__ = _PROGRAM
    main_module.report = report  # type: ignore[attr-defined]
    sys.modules["__main__"] = main_module
    if _SETTINGS.get("audit", 1):
        sys.addaudithook(_audit)
    exec(code, main_module.__dict__)


if __name__ == "__main__":
    main()
