"""Bootstrap that runs *inside* the sandbox child, before the generated program.

Executed as a script (``python -I -B _child.py CONFIG_JSON``) so it imports nothing from the
project; it uses the standard library only. In order it: sets resource limits, installs a
seccomp filter that refuses new processes and network sockets (kernel-enforced, so ctypes
cannot get around it), defines the injected ``report()``, installs an audit hook (sockets,
subprocesses, writes outside the sandbox directory, other processes' environments), then runs
the program.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import platform
import re
import resource
import runpy
import struct
import sys
from typing import Any

_CONFIG: dict[str, Any] = json.loads(sys.argv[1])
_ROOT = os.path.realpath(_CONFIG["root"])
_REPORT = os.path.join(_ROOT, _CONFIG["report_name"])
_ALLOWED_WRITE_PREFIXES = (_ROOT + os.sep, "/dev/null", "/dev/shm/")
_ENVIRON_PATH = re.compile(r"^/proc/(?!self/)[^/]+/(environ|task/[^/]+/environ)$")


def _set_limits() -> None:
    """Soft == hard, so the program cannot raise them again (it also lacks the privilege)."""
    for name, value in _CONFIG["limits"].items():
        if value is None:
            continue
        res = getattr(resource, name)
        try:
            resource.setrlimit(res, (value, value))
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
    table = _SYSCALLS.get(platform.machine())
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
def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def report(objective: Any, status: str = "optimal", values: Any = None) -> None:
    """Record the program's result (objective value, status, variable values) for the caller.

    Call it once at the end; a later call replaces an earlier one.
    """
    if values is not None and not isinstance(values, dict):
        try:
            values = dict(values)
        except (TypeError, ValueError):
            values = {"value": values}
    clean = {str(k): _number(v) for k, v in (values or {}).items()}
    payload = {
        "objective": _number(objective),
        "raw_objective": repr(objective)[:200],
        "status": str(status),
        "values": clean,
    }
    tmp = _REPORT + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(payload, fh)
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


def _inside(path: Any) -> bool:
    if isinstance(path, int):
        return True  # an already-open descriptor
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    full = os.path.realpath(os.fspath(path))
    return full == _ROOT or full.startswith(_ALLOWED_WRITE_PREFIXES)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _REFUSED_EVENTS:
        raise PermissionError(f"sandbox: {event} is not allowed in generated programs")
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(
            (flags or 0) & _WRITE_FLAGS
        )
        if writing and not _inside(path):
            raise PermissionError(f"sandbox: writing {path!r} outside the working directory")
        if isinstance(path, str | bytes) and _ENVIRON_PATH.match(os.fsdecode(path)):
            raise PermissionError("sandbox: reading another process's environment")
    elif event in _PATH_WRITE_EVENTS:
        for target in args[:2]:
            if isinstance(target, str | bytes | os.PathLike) and not _inside(target):
                raise PermissionError(
                    f"sandbox: {event} on {target!r} outside the working directory"
                )
    elif (
        event in ("os.kill", "os.killpg", "signal.pthread_kill")
        and args
        and args[0] not in (0, os.getpid())
    ):
        raise PermissionError("sandbox: signalling other processes is not allowed")


def main() -> None:
    _set_limits()
    guards = []
    if _CONFIG.get("seccomp") and _install_filter():
        guards.append("seccomp")
    with open(os.path.join(_ROOT, _CONFIG["guards_name"]), "w") as fh:
        fh.write(",".join(guards))
    builtins.report = report  # type: ignore[attr-defined]
    sys.path.insert(0, _ROOT)
    program = os.path.join(_ROOT, _CONFIG["program_name"])
    sys.argv = [program]
    if _CONFIG.get("audit", True):
        sys.addaudithook(_audit)
    runpy.run_path(program, init_globals={"report": report}, run_name="__main__")


if __name__ == "__main__":
    main()
