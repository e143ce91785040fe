"""Isolation layers for sandboxed runs, strongest first: bubblewrap, `unshare`, rlimits only.

- ``bwrap`` is the boundary (the promises of Flatpak and nsjail): a minimal filesystem view
  (the interpreter, its libraries and site-packages read-only, the run directory as a
  size-capped tmpfs, a fresh /dev and /proc; no home, /root, /run, host /tmp or project tree
  unless the caller lists it), uid 65534 in a new user namespace even when the caller is
  root, no capabilities, new net/pid/ipc/uts namespaces, and a seccomp filter loaded by
  bubblewrap for every process inside, its own pid 1 included.
- ``unshare``: own network, PID, IPC and UTS namespaces with a fresh /proc; the host
  filesystem is visible, and only the audit hook refuses writes outside the run directory.
- ``rlimits``: no namespaces at all.

The weaker layers load the same seccomp filter from the bootstrap, but what they do not stop
is listed in `LIMITATIONS` and in every `RunResult`; `choose()` uses them only when the caller
names one. A layer is used only after a probe run proves it works here (containers often
forbid namespaces); the probe result is cached per process.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from enum import StrEnum
from pathlib import Path

from trace_core.sandbox.errors import SandboxError


class Isolation(StrEnum):
    """Which isolation layer a run used (see the module docstring for the guarantees)."""

    BWRAP = "bwrap"
    UNSHARE = "unshare"
    RLIMITS = "rlimits"


_ORDER = (Isolation.BWRAP, Isolation.UNSHARE, Isolation.RLIMITS)
_PROBE_TIMEOUT_S = 10.0
SANDBOX_UID = 65534  # "nobody": never root inside, whoever the caller is
SHM_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_FILES = 4096  # files and directories in the run directory (inodes of its tmpfs)
BWRAP_BOOTSTRAP = "/.optoforge-sandbox/_child.py"
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives")
_TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")

# The namespaces and limits both namespaced layers (bwrap, unshare) set up.
_NAMESPACES_AND_LIMITS = (
    "netns",
    "pidns",
    "ipcns",
    "utsns",
    "rlimits",
    "env-allowlist",
    "audit-hook",
)
# What the caller sets up, per layer: the guards a RunResult lists (never read from the child).
GUARDS: dict[Isolation, tuple[str, ...]] = {
    Isolation.BWRAP: (
        "user-namespace-uid-65534",
        "no-capabilities",
        "seccomp-all-processes",
        "no-exec",
        "minimal-read-only-filesystem",
        "run-dir-tmpfs-size-cap",
        *_NAMESPACES_AND_LIMITS,
    ),
    Isolation.UNSHARE: ("seccomp", "no-exec", *_NAMESPACES_AND_LIMITS),
    Isolation.RLIMITS: ("seccomp", "no-exec", "rlimits", "env-allowlist", "audit-hook"),
}

# What a layer does NOT stop (stated in RunResult.limitations and SECURITY.md).
LIMITATIONS: dict[Isolation, tuple[str, ...]] = {
    Isolation.BWRAP: (
        "inside the user namespace the program owns the files of the caller's uid it can see "
        "(all read-only)",
        "CPU and memory are per-process rlimits, not a cgroup",
    ),
    Isolation.UNSHARE: (
        "reads any file the caller can read (home, caches, /etc/shadow when root)",
        "runs with the caller's uid and capabilities; writes outside the run directory are "
        "refused only by the audit hook (dir_fd and ctypes get around it)",
        "no total disk or file-count cap on the run directory",
    ),
    Isolation.RLIMITS: (
        "reads any file the caller can read (home, caches, /etc/shadow when root)",
        "runs with the caller's uid and capabilities; writes outside the run directory are "
        "refused only by the audit hook (dir_fd and ctypes get around it)",
        "sees and may signal the caller's processes; /proc/<pid>/environ of the caller is "
        "refused only by the audit hook",
        "no total disk or file-count cap on the run directory",
    ),
}


_UNCAPPED_FILES = "the number of files is not capped (needs a root caller; bytes are capped)"


def guards_for(layer: Isolation) -> list[str]:
    """What the caller sets up for a run in ``layer`` (RunResult.guards)."""
    extra = ["run-dir-file-count-cap"] if layer is Isolation.BWRAP and files_capped() else []
    return [*GUARDS[layer], *extra]


def limitations_for(layer: Isolation) -> list[str]:
    """What ``layer`` does not stop on this machine (RunResult.limitations)."""
    extra = [_UNCAPPED_FILES] if layer is Isolation.BWRAP and not files_capped() else []
    return [*LIMITATIONS[layer], *extra]


def _project_root() -> str:
    import trace_core

    return os.path.dirname(os.path.dirname(os.path.realpath(trace_core.__file__)))


def _python_paths() -> list[str]:
    """The interpreter, its standard library and site-packages; never the project tree."""
    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
        *(p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)),
    }
    project = _project_root()
    keep = set()
    for path in candidates:
        real = os.path.realpath(path)
        if not os.path.isdir(real) or real == "/" or real.startswith("/usr/"):
            continue
        if project == real or project.startswith(real + "/"):  # binding it would show the tree
            continue
        keep.add(real)
    return sorted(p for p in keep if not any(p.startswith(q + "/") for q in keep))


def _system_view() -> list[str]:
    """/usr, the top-level links into it, and the few /etc files the loader needs."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _TOP_LEVEL:
        path = "/" + name
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in _ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def bwrap_prefix(
    root: str,
    *,
    seccomp_fd: int,
    disk_bytes: int,
    inputs: dict[str, int],
    read_only_paths: tuple[str, ...] = (),
    max_files: int = DEFAULT_MAX_FILES,
) -> list[str]:
    """The bubblewrap command line for a run in ``root`` (a tmpfs of ``disk_bytes`` inside).

    ``inputs`` maps relative file names to open descriptors whose content bubblewrap copies
    into the tmpfs; ``read_only_paths`` are extra host paths the caller chooses to show.
    When the caller is root the tmpfs also caps the number of files (``max_files``, see
    `_inode_capped_tmpfs`); bubblewrap's own tmpfs can only cap bytes.
    """
    exe = shutil.which("bwrap") or "bwrap"
    python = [a for p in _python_paths() for a in ("--ro-bind", p, p)]
    extra = [a for p in read_only_paths for a in ("--ro-bind", os.path.realpath(p), p)]
    dirs = sorted({str(Path(root, rel).parent) for rel in inputs} - {root})
    wrapper = _inode_capped_tmpfs(root, disk_bytes, max_files)
    if wrapper:
        run_dir = ["--bind", root, root]
    else:
        run_dir = ["--perms", "0700", "--size", str(disk_bytes), "--tmpfs", root]
    # setpriv: the kernel kills the chain if the caller dies before bwrap asks for it itself.
    setpriv = shutil.which("setpriv")
    guard = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
    # fmt: off
    args = [
        *guard,
        *wrapper,
        exe,
        "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        *_system_view(), *python, *extra,
        "--ro-bind", str(Path(__file__).with_name("_child.py")), BWRAP_BOOTSTRAP,
        "--dev", "/dev",
        "--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm",
        "--proc", "/proc",
        *run_dir,
        "--dir", os.path.join(root, "tmp"),
        *(a for d in dirs for a in ("--dir", d)),
        *(a for rel, fd in inputs.items() for a in ("--file", str(fd), os.path.join(root, rel))),
        "--chdir", root,
        "--seccomp", str(seccomp_fd),
    ]
    # fmt: on
    return [*args, "--"]


def files_capped() -> bool:
    """True when the run directory's file count can be capped (the caller is root)."""
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def _inode_capped_tmpfs(root: str, disk_bytes: int, max_files: int) -> list[str]:
    """A prefix that mounts a tmpfs with ``size`` and ``nr_inodes`` over ``root`` in a private
    mount namespace, then execs bubblewrap (same pid: --die-with-parent still sees the caller).

    Only root may mount; elsewhere the run directory is bubblewrap's tmpfs (bytes capped only).
    The files written before are hidden by the mount; bubblewrap copies them in from fds.
    """
    if not files_capped():
        return []
    options = f"size={disk_bytes},nr_inodes={max_files},mode=0700,uid=0,gid=0"
    script = 'mount -t tmpfs -o "$1" optoforge-run "$2" && shift 2 && exec "$@"'
    unshare = shutil.which("unshare") or "unshare"
    return [
        unshare,
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        script,
        "sh",
        options,
        root,
    ]


def unshare_prefix() -> list[str]:
    """The util-linux `unshare` command line: new network, PID, IPC, UTS, mount namespaces.

    `setpriv --pdeathsig` makes `unshare` itself die with the caller (a SIGKILLed caller
    otherwise leaves it and the program running); ``--kill-child`` then takes the program.
    """
    args = ["unshare", "--net", "--pid", "--ipc", "--uts", "--fork", "--mount-proc"]
    if os.geteuid() != 0:
        args[1:1] = ["--user", "--map-root-user"]
    setpriv = shutil.which("setpriv") or "setpriv"
    return [setpriv, "--pdeathsig", "KILL", "--", *args, "--kill-child", "--"]


def _probe_bwrap() -> str | None:
    from trace_core.sandbox.seccomp_policy import process_filter

    program = process_filter()
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, program)
        os.close(write_fd)
        with tempfile.TemporaryDirectory(prefix="optoforge-probe-") as workdir:
            root = os.path.realpath(workdir)
            cmd = [
                *bwrap_prefix(root, seccomp_fd=read_fd, disk_bytes=1 << 20, inputs={}),
                sys.executable,
                "-I",
                "-c",
                "import os; assert os.getuid() != 0; open('probe', 'w').write('ok')",
            ]
            probe = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_PROBE_TIMEOUT_S,
                check=False,
                pass_fds=(read_fd,),
            )
    finally:
        os.close(read_fd)
    if probe.returncode != 0:
        detail = probe.stderr.decode(errors="replace").strip().splitlines()
        return f"bubblewrap failed to start a sandbox: {detail[-1] if detail else 'no output'}"
    return None


@functools.cache
def why_not(isolation: Isolation) -> str | None:
    """None when ``isolation`` can start a process here, else the reason (probed once)."""
    if isolation is Isolation.RLIMITS:
        return None
    tool = "bwrap" if isolation is Isolation.BWRAP else "unshare"
    if isolation is Isolation.UNSHARE and shutil.which("setpriv") is None:
        return "`setpriv` is not installed (apt-get install util-linux)"
    if shutil.which(tool) is None:
        package = "bubblewrap" if tool == "bwrap" else "util-linux"
        return f"`{tool}` is not installed (apt-get install {package})"
    try:
        if isolation is Isolation.BWRAP:
            return _probe_bwrap()
        cmd = [*unshare_prefix(), "/bin/sh", "-c", "exit 0"]
        probe = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=_PROBE_TIMEOUT_S
        )
    except SandboxError as err:
        return str(err)
    except (OSError, subprocess.SubprocessError) as err:
        return f"`{tool}` could not run: {err}"
    if probe.returncode != 0:
        detail = probe.stderr.decode(errors="replace").strip().splitlines()
        return f"`unshare` failed (namespaces forbidden?): {detail[-1] if detail else ''}"
    return None


def works(isolation: Isolation) -> bool:
    """True when ``isolation`` can start a process on this machine (probed once, cached)."""
    return why_not(isolation) is None


def available_isolation() -> list[Isolation]:
    """The layers that work here, strongest first."""
    return [layer for layer in _ORDER if works(layer)]


def choose(requested: Isolation | str | None = None) -> Isolation:
    """The strong layer, or the weaker layer the caller names; `SandboxError` otherwise.

    A weaker layer is never picked silently: name it (``isolation="unshare"``) or set the
    environment variable ``OPTOFORGE_SANDBOX_ISOLATION`` to accept what it does not stop.
    """
    requested = requested or os.environ.get("OPTOFORGE_SANDBOX_ISOLATION") or None
    if requested is None:
        reason = why_not(Isolation.BWRAP)
        if reason is None:
            return Isolation.BWRAP
        weaker = ", ".join(x.value for x in available_isolation())
        raise SandboxError(
            f"the strong sandbox layer cannot start here ({reason}); refusing untrusted code. "
            f"Fix that, or name a weaker layer (isolation=... or OPTOFORGE_SANDBOX_ISOLATION; "
            f"working here: {weaker}); `optoforge doctor` says what each layer does not stop"
        )
    try:
        layer = Isolation(requested)
    except ValueError as err:
        known = ", ".join(layer.value for layer in _ORDER)
        raise SandboxError(f"unknown isolation {requested!r}; use one of: {known}") from err
    reason = why_not(layer)
    if reason is not None:
        raise SandboxError(
            f"isolation {layer.value!r} does not work on this machine: {reason}; working "
            "layers: " + ", ".join(x.value for x in available_isolation())
        )
    return layer
