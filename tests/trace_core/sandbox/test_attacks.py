"""Issue 17's attacks, one program each, in every isolation layer.

Each test runs an attack program, asserts what it could NOT do, then checks that the caller is
healthy (no process of the run left behind, a fresh run works). A layer that cannot stop an
attack is marked ``xfail(strict=True)`` with the reason, so the table in SECURITY.md stays
true: if a weak layer starts containing an attack, the test says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
import warnings
from pathlib import Path

import pytest

from tests.trace_core.sandbox.test_threats import _leaked_sandbox_processes, assert_parent_healthy
from trace_core.sandbox import Isolation, available_isolation, run

WORKING = {layer.value for layer in available_isolation()}
ALL = ("bwrap", "unshare", "rlimits")
ROOT_CALLER = os.geteuid() == 0


def layers(contained_by: tuple[str, ...] = ALL, why: str = "") -> list[object]:
    """One parameter per layer: xfail where the layer cannot stop the attack, skip (with a
    reason) where the layer does not start on this machine."""
    params = []
    for layer in ALL:
        marks: list[pytest.MarkDecorator] = []
        if layer not in WORKING:
            marks.append(pytest.mark.skip(reason=f"{layer} does not start on this machine"))
        elif layer not in contained_by:
            marks.append(pytest.mark.xfail(strict=True, reason=f"{layer} does not stop: {why}"))
        params.append(pytest.param(layer, marks=marks, id=layer))
    return params


def attack(code: str, layer: str, **kwargs: object) -> object:
    return run(
        textwrap.dedent(code), isolation=layer, timeout_s=kwargs.pop("timeout_s", 20), **kwargs
    )  # type: ignore[arg-type]


# --- secrets and files ---------------------------------------------------------------------


@pytest.mark.parametrize("layer", layers(("bwrap",), "the host filesystem is visible"))
def test_host_files_are_invisible(layer: str, tmp_path: Path) -> None:
    canary = f"canary-{uuid.uuid4()}"
    secret = tmp_path / "secret.txt"
    secret.write_text(canary)
    project_file = Path(__file__).resolve()
    code = f"""
    import os
    seen = []
    for path in [{str(secret)!r}, {str(project_file)!r}, '/etc/shadow', '/root/.bashrc',
                 os.path.expanduser('~root/.ssh/id_rsa'), '/run', '/home']:
        try:
            seen.append(path if os.path.isdir(path) and os.listdir(path) else open(path).read())
        except OSError:
            pass
    print(seen)
    """
    result = attack(code, layer)
    assert result.returncode == 0, result.stderr
    assert canary not in result.stdout
    assert "def test_host_files_are_invisible" not in result.stdout  # the project tree
    assert "root:" not in result.stdout  # /etc/shadow
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers(("bwrap",), "the program keeps the caller's root uid"))
def test_program_is_not_root_and_has_no_capabilities(layer: str) -> None:
    if not ROOT_CALLER and layer != "bwrap":
        pytest.xfail("the caller is not root here, so this layer is not root either")
    code = """
    import os
    caps = [l for l in open('/proc/self/status') if l.startswith('CapEff')][0].split()[1]
    report(os.getuid(), values={'caps': int(caps, 16)})
    """
    result = attack(code, layer)
    assert result.objective != 0
    assert result.values["caps"] == 0
    assert_parent_healthy()


_ENV_THIEF = """
import ctypes, os
pid = CALLER_PID
for path in (f'//proc/{pid}/environ', 'environ'):
    try:
        if path == 'environ':
            os.chdir(f'/proc/{pid}')  # then a relative path
        print(open(path, 'rb').read())
    except Exception as err:
        print('refused', err)
fd = ctypes.CDLL(None).open(f'/proc/{pid}/environ'.encode(), 0)
print(os.read(fd, 1 << 16) if fd >= 0 else 'refused')
"""
_ENV_CALLER = (
    "import os, sys\n"
    "from trace_core.sandbox import run\n"
    "code = sys.argv[2].replace('CALLER_PID', str(os.getpid()))\n"
    "print(run(code, isolation=sys.argv[1]).stdout)\n"
)


@pytest.mark.parametrize("layer", layers(("bwrap", "unshare"), "the caller's /proc is visible"))
def test_caller_environment_is_unreadable(layer: str) -> None:
    canary = f"sk-canary-{uuid.uuid4().hex}"
    out = subprocess.run(
        [sys.executable, "-c", _ENV_CALLER, layer, _ENV_THIEF],
        env={**os.environ, "OPENAI_API_KEY": canary},  # in the caller's initial environment
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "refused" in out.stdout
    assert canary not in out.stdout + out.stderr
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers(("bwrap", "unshare"), "the caller's /proc is visible"))
def test_caller_memory_cannot_be_opened(layer: str) -> None:
    code = f"""
    import ctypes
    libc = ctypes.CDLL(None)
    report(libc.open(b'/proc/{os.getpid()}/mem', 0))
    """
    assert attack(code, layer).objective == -1
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers(("bwrap",), "dir_fd is not in the audit event"))
def test_dir_fd_writes_do_not_reach_the_host(layer: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    code = f"""
    import os
    try:
        d = os.open({str(tmp_path)!r}, os.O_RDONLY)
        os.close(os.open('planted.pth', os.O_CREAT | os.O_WRONLY, dir_fd=d))
        os.remove('victim.txt', dir_fd=d)
    except OSError as err:
        print('refused', err)
    """
    attack(code, layer)
    assert victim.read_text() == "keep"
    assert not (tmp_path / "planted.pth").exists()
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers())
def test_execve_through_ctypes_is_refused(layer: str) -> None:
    code = """
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    sys = __import__('sys')
    sys.audit = None  # the hook is not the boundary
    argv = (ctypes.c_char_p * 3)(b'/bin/echo', b'EXECUTED', None)
    rc = libc.execv(b'/bin/echo', argv)
    report(rc, values={'errno': ctypes.get_errno()})
    """
    result = attack(code, layer)
    assert "EXECUTED" not in result.stdout
    assert (result.objective, result.values["errno"]) == (-1, 1)  # EPERM
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers())
def test_block_device_node_cannot_be_made(layer: str) -> None:
    code = """
    import os, stat
    try:
        os.mknod('disk', stat.S_IFBLK | 0o600, os.makedev(7, 0))
    except OSError as err:
        print('refused', err.errno)
    report(os.path.exists('disk'))
    """
    result = attack(code, layer)
    assert result.objective == 0.0
    assert "refused 1" in result.stdout
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers(("bwrap",), "/dev/shm is the host's"))
def test_dev_shm_files_do_not_survive_the_run(layer: str) -> None:
    name = f"/dev/shm/optoforge-attack-{uuid.uuid4().hex}"
    try:
        attack(f"open({name!r}, 'w').write('persist')\n", layer)
        assert not os.path.exists(name)
    finally:
        if os.path.exists(name):
            os.remove(name)
    assert_parent_healthy()


# --- network and processes -----------------------------------------------------------------


@pytest.mark.parametrize("layer", layers())
@pytest.mark.parametrize("address", ["path", "abstract"])
def test_unix_sockets_of_the_host_are_unreachable(layer: str, address: str, tmp_path: Path) -> None:
    path = str(tmp_path / "host.sock") if address == "path" else f"\0optoforge-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        code = f"""
        import ctypes, socket
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect({path!r})
            s.send(b'x')
            print('CONNECTED')
        except OSError as err:
            print('refused', err)
        report(ctypes.CDLL(None).socket(socket.AF_UNIX, socket.SOCK_STREAM, 0))
        """
        result = attack(code, layer)
        server.settimeout(0.2)
        with pytest.raises(TimeoutError):
            server.accept()
    assert "CONNECTED" not in result.stdout
    assert result.objective == -1
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers())
@pytest.mark.parametrize("target", ["pid1", "parent"])
def test_ptrace_and_process_memory_are_refused(layer: str, target: str) -> None:
    code = f"""
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    pid = {"1" if target == "pid1" else "os.getppid()"}
    rc = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
    local = ctypes.create_string_buffer(8)
    iov = (ctypes.c_void_p * 2)(ctypes.addressof(local), 8)
    vm = libc.process_vm_readv(pid, iov, 1, iov, 1, 0)
    report(rc, values={{'vm': vm}})
    """
    result = attack(code, layer)
    assert (result.objective, result.values["vm"]) == (-1, -1)
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers())
def test_clearing_the_death_signal_and_setsid_do_not_outlive_the_deadline(layer: str) -> None:
    code = """
    import ctypes, os, time
    ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG, 0
    try:
        os.setsid()
    except OSError:
        pass
    time.sleep(60)
    """
    result = attack(code, layer, timeout_s=1.0)
    assert result.timed_out
    assert result.duration_s < 10
    assert_parent_healthy()


_CALLER = """
import sys
from trace_core.sandbox import run
print('started', flush=True)
run("import time\\ntime.sleep(60)\\n", isolation=sys.argv[1], timeout_s=120)
"""


@pytest.mark.parametrize("layer", layers())
def test_sandbox_dies_when_its_caller_is_sigkilled(layer: str) -> None:
    caller = subprocess.Popen(
        [sys.executable, "-c", _CALLER, layer], stdout=subprocess.PIPE, text=True
    )
    assert caller.stdout is not None and caller.stdout.readline() == "started\n"
    marker = f"optoforge-sandbox-{caller.pid}-"
    deadline = time.monotonic() + 20
    while not _programs_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _programs_with(marker), "the sandboxed program never started"
    caller.send_signal(signal.SIGKILL)
    caller.wait()
    deadline = time.monotonic() + 5
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert _programs_with(marker) == []  # the program is gone
        leftovers = _processes_with(marker)
        if leftovers:  # bwrap's own pid 1 sometimes lingers, idle (see SECURITY.md)
            warnings.warn(f"idle sandbox wrapper processes left: {leftovers}", stacklevel=1)
    finally:
        for pid in _processes_with(marker):  # ours: do not let them spoil later tests
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.2)
    assert_parent_healthy()


def _programs_with(marker: str) -> list[str]:
    """Processes running the bootstrap (the program itself) for ``marker``'s run."""
    return [p for p in _processes_with(marker) if b"_child.py" in _cmdline(p)]


def _cmdline(pid: str) -> bytes:
    try:
        return Path("/proc", pid, "cmdline").read_bytes()
    except OSError:
        return b""


def _processes_with(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(entry.name)
        except OSError:
            continue
    return found


# --- resources -----------------------------------------------------------------------------


@pytest.mark.parametrize("layer", layers())
def test_memfd_and_sysv_shared_memory_are_refused(layer: str) -> None:
    code = """
    import ctypes, os
    try:
        os.memfd_create('hold')
        made = 1
    except OSError:
        made = 0
    shm = ctypes.CDLL(None).shmget(0, 1 << 30, 0o1600)  # IPC_PRIVATE, IPC_CREAT
    report(made, values={'shm': shm})
    """
    result = attack(code, layer)
    assert (result.objective, result.values["shm"]) == (0, -1)
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers(("bwrap",), "only each file's size is capped"))
def test_total_disk_use_is_capped(layer: str) -> None:
    code = """
    total = 0
    block = b'x' * (1 << 20)
    for i in range(5):
        try:
            with open(f'fill{i}', 'wb') as fh:
                for _ in range(20):
                    fh.write(block)
                    fh.flush()
                    total += len(block)
        except OSError:
            pass
    report(total / (1 << 20))
    """
    result = attack(code, layer, disk_mb=32)
    assert result.objective is not None and result.objective <= 32
    assert_parent_healthy()


FILES_CAPPED = ("bwrap",) if ROOT_CALLER else ()


@pytest.mark.parametrize("layer", layers(FILES_CAPPED, "only bwrap with a root caller caps inodes"))
def test_number_of_files_is_capped(layer: str) -> None:
    code = """
    made = 0
    try:
        for i in range(6000):
            open(f'empty{i}', 'w').close()
            made += 1
    except OSError:
        pass
    report(made)
    """
    result = attack(code, layer, max_files=500)
    assert result.objective is not None and result.objective < 500
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers())
def test_open_files_are_capped(layer: str) -> None:
    code = """
    held = []
    try:
        for i in range(5000):
            held.append(open(f'f{i % 10}', 'a'))
    except OSError:
        pass
    report(len(held))
    """
    result = attack(code, layer)
    assert result.objective is not None and result.objective < 256
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers())
def test_limits_cannot_be_raised_through_ctypes(layer: str) -> None:
    code = """
    import ctypes, resource
    libc = ctypes.CDLL(None)
    unlimited = (ctypes.c_ulong * 2)(2**64 - 1, 2**64 - 1)
    rc = libc.prlimit(0, resource.RLIMIT_AS, unlimited, None)
    rc2 = libc.setrlimit(resource.RLIMIT_NOFILE, unlimited)
    report(resource.getrlimit(resource.RLIMIT_AS)[1], values={'rc': rc, 'rc2': rc2})
    """
    result = attack(code, layer, memory_mb=512)
    assert result.objective == 512 * 1024 * 1024
    assert (result.values["rc"], result.values["rc2"]) == (-1, -1)
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers())
def test_threads_keep_working(layer: str) -> None:
    code = """
    import threading
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(8) as pool:
        report(sum(pool.map(lambda x: x * x, range(100))), values={'n': threading.active_count()})
    """
    assert attack(code, layer).objective == sum(x * x for x in range(100))


# --- the report file and the guards --------------------------------------------------------

_BAD_REPORTS = {
    "huge-int": "'{\"objective\": ' + '9' * 400 + '}'",
    "deep-nesting": "'{\"values\": ' + '[' * 100000 + ']' * 100000 + '}'",
    "too-big": "'{\"status\": \"' + 'x' * (20 << 20) + '\"}'",
    "not-utf8": "b'\\xff\\xfe{'",
    "not-an-object": "'[1, 2, 3]'",
}


@pytest.mark.parametrize("layer", layers())
@pytest.mark.parametrize("kind", sorted(_BAD_REPORTS))
def test_bad_report_becomes_a_result_not_an_exception(layer: str, kind: str) -> None:
    code = f"""
    import os
    data = {_BAD_REPORTS[kind]}
    data = data if isinstance(data, bytes) else data.encode()
    os.pwrite(report.__globals__['_REPORT_FD'], data, 0)
    """
    result = attack(code, layer)
    assert result.objective is None
    assert result.status is None or result.status == "optimal"
    assert result.report_error is not None or kind == "huge-int"
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers())
def test_report_descriptor_cannot_be_swapped_for_a_device_or_fifo(layer: str) -> None:
    code = """
    import os
    fd = report.__globals__['_REPORT_FD']
    os.mkfifo('fifo')
    os.dup2(os.open('/dev/zero', os.O_RDONLY), fd)
    for name in ('.optoforge-report.json', '.optoforge-guards'):
        os.symlink('/dev/zero', name)
    """
    result = attack(code, layer, timeout_s=5)
    assert not result.timed_out
    assert (result.objective, result.result_source) == (None, None)
    assert_parent_healthy()


@pytest.mark.parametrize("layer", layers())
def test_guards_are_what_the_caller_set_up(layer: str) -> None:
    code = "open('.optoforge-guards', 'w').write('read-only-root,netns,made-up')\n"
    result = attack(code, layer)
    assert "made-up" not in result.guards
    assert result.guards == run("pass", isolation=layer).guards
    assert (layer == "bwrap") == ("minimal-read-only-filesystem" in result.guards)


@pytest.mark.parametrize("layer", layers(("bwrap", "unshare"), "other runs' /proc/<pid>/fd"))
def test_concurrent_run_cannot_overwrite_another_runs_report(layer: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    victim = "import time\nreport(1.0)\ntime.sleep(1.2)\n"
    thief = """
    import ctypes, os, time
    libc = ctypes.CDLL(None)  # the audit hook would refuse a plain open()
    end = time.time() + 1.5
    while time.time() < end:
        for pid in os.listdir('/proc'):
            try:
                if b'_child.py' not in open(f'/proc/{pid}/cmdline', 'rb').read():
                    continue
                for fd in os.listdir(f'/proc/{pid}/fd'):
                    link = os.readlink(f'/proc/{pid}/fd/{fd}')
                    if link.startswith('/tmp/#') and pid != str(os.getpid()):
                        fd2 = libc.open(f'/proc/{pid}/fd/{fd}'.encode(), os.O_RDWR)
                        os.pwrite(fd2, b'{"objective": 666}', 0) if fd2 >= 0 else None
            except OSError:
                pass
        time.sleep(0.05)
    """
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(attack, victim, layer)
        time.sleep(0.2)
        second = pool.submit(attack, thief, layer)
        assert first.result().objective == 1.0
        second.result()
    assert _leaked_sandbox_processes() == []


def test_weaker_layers_are_never_chosen_silently(monkeypatch: pytest.MonkeyPatch) -> None:
    from trace_core.sandbox import SandboxError
    from trace_core.sandbox import isolation as iso

    monkeypatch.delenv("OPTOFORGE_SANDBOX_ISOLATION", raising=False)
    monkeypatch.setattr(iso, "why_not", lambda layer: "no bwrap" if layer == "bwrap" else None)
    with pytest.raises(SandboxError, match=r"refusing untrusted code.*name a weaker layer"):
        run("report(1)")
    monkeypatch.setenv("OPTOFORGE_SANDBOX_ISOLATION", "rlimits")
    result = run("report(1)")
    assert (result.isolation, result.objective) == (Isolation.RLIMITS, 1.0)
    assert any("reads any file" in line for line in result.limitations)
