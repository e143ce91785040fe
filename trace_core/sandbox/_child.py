"""Bootstrap that runs *inside* the sandbox child, before the generated program.

Executed as a script (``python -I -B _child.py ROOT PROGRAM REPORT GUARDS NAME=INT ...``) so
it imports nothing from the project; it uses the standard library only. In order it: sets
resource limits, installs a seccomp filter that refuses new processes and network sockets
(kernel-enforced, so ctypes cannot get around it), defines the injected ``report()``,
installs an audit hook (sockets, subprocesses, writes outside the sandbox directory, other
processes' environments), then runs the program.
"""

from __future__ import annotations

import builtins
import contextlib
import math
import os
import resource
import struct
import sys
from _json import encode_basestring_ascii as _json_str  # json itself costs ~30 ms of imports
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

# argv: root, program file, report file, guards file, then NAME=INT settings (seccomp, audit,
# RLIMIT_*). Plain argv rather than JSON keeps start-up free of the json/re imports.
_ROOT = os.path.realpath(sys.argv[1])
_PROGRAM = os.path.join(_ROOT, sys.argv[2])
_REPORT = os.path.join(_ROOT, sys.argv[3])
_GUARDS = os.path.join(_ROOT, sys.argv[4])
_SETTINGS = {k: int(v) for k, _, v in (arg.partition("=") for arg in sys.argv[5:])}
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


# --- seccomp: no new processes, no network sockets -------------------------------------------
# (audit arch, clone, fork, vfork, clone3, socket, io_uring_setup); no fork/vfork on aarch64
_SYSCALLS = {
    "x86_64": (0xC000003E, 56, 57, 58, 435, 41, 425),
    "aarch64": (0xC00000B7, 220, None, None, 435, 198, 425),
}
_CLONE_THREAD = 0x00010000
_AF_UNIX = 1
_RET_ALLOW = 0x7FFF0000
_RET_EPERM = 0x00050000 | 1
_RET_ENOSYS = 0x00050000 | 38


def _bpf(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def _filter_program() -> bytes | None:
    """A classic-BPF seccomp program: refuse fork/vfork/clone3, clone without CLONE_THREAD,
    io_uring, and sockets other than AF_UNIX (threads and local socketpairs keep working)."""
    table = _SYSCALLS.get(os.uname().machine)
    if table is None:
        return None
    arch, clone, fork, vfork, clone3, sock, io_uring_setup = table
    ld_w_abs, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    prog = [
        _bpf(ld_w_abs, 4),  # seccomp_data.arch
        _bpf(jeq, arch, 1, 0),
        _bpf(ret, _RET_EPERM),  # a foreign ABI: refuse everything
        _bpf(ld_w_abs, 0),  # seccomp_data.nr
        _bpf(jge, 0x40000000, 0, 1),  # x32 syscalls
        _bpf(ret, _RET_EPERM),
        # clone3 hides its flags behind a pointer: ENOSYS makes libc fall back to clone.
        _bpf(jeq, clone3, 0, 1),
        _bpf(ret, _RET_ENOSYS),
    ]
    for nr in (fork, vfork, io_uring_setup):
        if nr is not None:
            prog += [_bpf(jeq, nr, 0, 1), _bpf(ret, _RET_EPERM)]
    for nr, flag_test in ((clone, (jset, _CLONE_THREAD)), (sock, (jeq, _AF_UNIX))):
        prog += [
            _bpf(jeq, nr, 0, 4),
            _bpf(ld_w_abs, 16),  # low 32 bits of args[0]: clone flags / socket domain
            _bpf(flag_test[0], flag_test[1], 0, 1),
            _bpf(ret, _RET_ALLOW),
            _bpf(ret, _RET_EPERM),
        ]
    prog.append(_bpf(ret, _RET_ALLOW))
    return b"".join(prog)


def _install_filter() -> bool:
    program = _filter_program()
    if program is None:
        return False
    import ctypes

    class _SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(fprog), 0, 0) == 0


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
    tmp = _REPORT + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(payload)
    os.replace(tmp, _REPORT)


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
    _set_limits()
    guards = []
    if _SETTINGS.get("seccomp") and _install_filter():
        guards.append("seccomp")
    with open(_GUARDS, "w") as fh:
        fh.write(",".join(guards))
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
