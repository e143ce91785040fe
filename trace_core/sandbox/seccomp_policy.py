"""The seccomp filters of the sandbox, compiled to BPF with libseccomp (``pyseccomp``).

Two filters, both "allow by default, refuse a list" so that interpreters, solvers and their
threads run unchanged:

- ``process_filter()``: for every process of the sandbox. bubblewrap loads it (``--seccomp``)
  before it starts its own pid 1 and the program, so no process in the sandbox is unfiltered.
  It refuses new processes (threads stay allowed), ptrace and cross-process memory access,
  device nodes, sockets (``socketpair`` stays allowed), memfd, SysV shared memory, io_uring,
  namespaces and mounts, kernel keyrings, BPF and clearing the death signal.
- ``exec_filter()``: loaded by the bootstrap once the interpreter runs and the limits are set,
  so the program cannot ``execve`` anything (bubblewrap itself needs one ``execve`` after the
  first filter) nor change its resource limits (a root caller's weak layers could raise them).

Weaker layers have no bubblewrap; their bootstrap loads both filters at once.
"""

from __future__ import annotations

import errno
import functools
import tempfile
from typing import Any

from trace_core.sandbox.errors import SandboxError

_CLONE_THREAD = 0x00010000
_PR_SET_PDEATHSIG = 1

REFUSED_SYSCALLS = (
    # processes and other processes' memory
    "fork",
    "vfork",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    # devices, sockets, memory outside every size cap
    "mknod",
    "mknodat",
    "socket",
    "memfd_create",
    "memfd_secret",
    "shmget",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "userfaultfd",
    # namespaces, mounts, kernel state
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "mount_setattr",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
)
# Refused once the bootstrap has started the interpreter and set the limits.
AFTER_START_SYSCALLS = ("execve", "execveat", "setrlimit")


def _library() -> Any:
    try:
        import pyseccomp
    except (ImportError, OSError) as err:  # OSError: libseccomp.so.2 missing
        raise SandboxError(
            "seccomp filters need the `pyseccomp` package and libseccomp "
            f"(`pip install pyseccomp`, `apt-get install libseccomp2`): {err}"
        ) from err
    return pyseccomp


def _compile(process_rules: bool, exec_rules: bool) -> bytes:
    sc = _library()
    refuse = sc.ERRNO(errno.EPERM)
    filt = sc.SyscallFilter(sc.ALLOW)
    names = (REFUSED_SYSCALLS if process_rules else ()) + (
        AFTER_START_SYSCALLS if exec_rules else ()
    )
    for name in names:
        try:
            filt.add_rule(refuse, name)
        except (OSError, ValueError):
            continue  # a syscall this kernel/architecture does not have cannot be called either
    if process_rules:
        # clone makes threads too: refuse it only without CLONE_THREAD. clone3 hides its flags
        # behind a pointer, so it gets ENOSYS, which makes libc fall back to clone.
        filt.add_rule(refuse, "clone", sc.Arg(0, sc.MASKED_EQ, _CLONE_THREAD, 0))
        filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        filt.add_rule(refuse, "prctl", sc.Arg(0, sc.EQ, _PR_SET_PDEATHSIG))
    if exec_rules:  # limits only go down from here (a root caller's weak layers could raise)
        filt.add_rule(refuse, "prlimit64", sc.Arg(2, sc.NE, 0))
    with tempfile.TemporaryFile() as out:
        filt.export_bpf(out)
        out.seek(0)
        return out.read()


@functools.cache
def process_filter() -> bytes:
    """BPF for every process of the sandbox (no new processes, sockets, ptrace, mknod, ...)."""
    return _compile(process_rules=True, exec_rules=False)


@functools.cache
def exec_filter() -> bytes:
    """BPF the bootstrap loads before the program: no ``execve``, no resource-limit changes."""
    return _compile(process_rules=False, exec_rules=True)


@functools.cache
def full_filter() -> bytes:
    """Both filters in one, for layers where the bootstrap is the only place to load them."""
    return _compile(process_rules=True, exec_rules=True)
