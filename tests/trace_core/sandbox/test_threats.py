"""Hostile programs: each is contained by the sandbox and the parent stays healthy.

Every test runs a real child process. "Healthy" means: no process of a finished run is left
behind, and a fresh sandbox run still works and reports its result.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from trace_core.sandbox import Isolation, RunResult, available_isolation, run

LAYERS = [layer.value for layer in available_isolation()]
NAMESPACED = [layer for layer in LAYERS if layer != Isolation.RLIMITS.value]


def _leaked_sandbox_processes() -> list[str]:
    """Live processes whose sandbox run already returned (its run directory is gone)."""
    leaked = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        for arg in argv:
            text = arg.decode(errors="replace")
            if "optoforge-sandbox-" in text and text.startswith("/") and not Path(text).exists():
                leaked.append(f"{entry.name}: {text}")
    return leaked


def assert_parent_healthy() -> None:
    assert _leaked_sandbox_processes() == []
    again = run("report(1.0, values={'ok': 1})", timeout_s=30)
    assert (again.objective, again.values, again.returncode) == (1.0, {"ok": 1.0}, 0)


def test_infinite_loop_is_killed_at_the_wall_clock_deadline() -> None:
    result = run("while True:\n    pass\n", timeout_s=1.0)
    assert result.timed_out
    assert result.returncode != 0
    assert result.objective is None
    assert_parent_healthy()


def test_50_gb_allocation_fails_inside_the_child() -> None:
    result = run("block = bytearray(50 * 1024**3)\nreport(1)\n", memory_mb=512)
    assert not result.timed_out
    assert result.returncode != 0
    assert "MemoryError" in result.stderr
    assert result.objective is None
    assert_parent_healthy()


def test_python_fork_bomb_is_refused() -> None:
    result = run("import os\nwhile True:\n    os.fork()\n", timeout_s=10)
    assert result.returncode != 0
    assert "not allowed" in result.stderr
    assert_parent_healthy()


def test_ctypes_fork_bomb_is_refused_by_the_kernel_filter() -> None:
    code = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "made = 0\n"
        "for _ in range(200):\n"
        "    pid = libc.fork()\n"
        "    if pid == 0:\n"
        "        os._exit(0)\n"
        "    made += pid > 0\n"
        "report(made, values={'errno': ctypes.get_errno()})\n"
    )
    result = run(code, timeout_s=10)
    assert result.objective == 0  # not one process was created
    assert result.values["errno"] == 1  # EPERM
    assert_parent_healthy()


def test_writing_outside_the_temp_dir_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    result = run(f"open({str(target)!r}, 'w').write('owned')\n")
    assert result.returncode != 0
    assert not target.exists()
    assert_parent_healthy()


@pytest.mark.parametrize("layer", [x for x in LAYERS if x == Isolation.BWRAP.value])
def test_writing_outside_via_ctypes_hits_the_read_only_root(layer: str) -> None:
    target = Path(__file__).with_name("escaped_via_ctypes.txt")
    code = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"fd = libc.open({str(target).encode()!r}, os.O_WRONLY | os.O_CREAT, 0o644)\n"
        "report(fd, values={'errno': ctypes.get_errno()})\n"
    )
    result = run(code, isolation=layer)
    assert result.objective == -1
    assert not target.exists()


def test_parent_api_key_is_invisible(monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "sk-canary-5f1e2d3c4b5a69788796a5b4c3d2e1f0"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    code = (
        "import os\n"
        "print(dict(os.environ))\n"
        f"for pid in {{os.getppid(), {os.getpid()}}}:\n"
        "    try:\n"
        "        print(open(f'/proc/{pid}/environ', 'rb').read())\n"
        "    except Exception as err:\n"
        "        print('refused', type(err).__name__)\n"
    )
    result = run(code)
    assert result.returncode == 0, result.stderr
    assert "OPENAI_API_KEY" not in result.stdout
    assert canary not in result.stdout + result.stderr
    assert_parent_healthy()


@pytest.mark.parametrize("layer", NAMESPACED)
def test_parent_environ_is_invisible_even_via_ctypes(
    layer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "sk-canary-0a1b2c3d4e5f"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    code = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"fd = libc.open(b'/proc/{os.getpid()}/environ', os.O_RDONLY)\n"
        "data = os.read(fd, 1 << 16) if fd >= 0 else b''\n"
        "print(data)\n"
        "report(fd)\n"
    )
    result = run(code, isolation=layer)
    assert canary not in result.stdout
    assert result.objective == -1  # the parent's pid does not exist in the child's namespace


def _run_next_to_a_listener(code: Callable[[int], str], layer: str) -> RunResult:
    """Run ``code(port)`` while a loopback listener waits on ``port``; it must get no connection."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        result = run(code(listener.getsockname()[1]), isolation=layer)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    return result


@pytest.mark.parametrize("layer", LAYERS)
def test_socket_to_loopback_reaches_no_listener(layer: str) -> None:
    def code(port: int) -> str:
        return (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).send(b'x')\n"
            "    print('CONNECTED')\n"
            "except OSError as err:\n"
            "    print('blocked', type(err).__name__)\n"
        )

    result = _run_next_to_a_listener(code, layer)
    assert "CONNECTED" not in result.stdout
    assert "blocked" in result.stdout


@pytest.mark.parametrize("layer", LAYERS)
def test_socket_via_ctypes_is_refused_by_namespace_or_kernel_filter(layer: str) -> None:
    def code(port: int) -> str:
        return (
            "import ctypes, socket, struct\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)\n"
            f"addr = struct.pack('!HH4s8x', 0, {port}, bytes([127, 0, 0, 1]))\n"
            "addr = struct.pack('=H', socket.AF_INET) + addr[2:]\n"
            "rc = libc.connect(fd, addr, len(addr))\n"
            "report(rc, values={'errno': ctypes.get_errno()})\n"
        )

    result = _run_next_to_a_listener(code, layer)
    assert result.objective == -1, result.stderr


def test_100_mb_of_stdout_is_capped_and_the_tail_still_parsed() -> None:
    code = (
        "import sys\n"
        "chunk = 'x' * (1024 * 1024)\n"
        "for _ in range(100):\n"
        "    sys.stdout.write(chunk)\n"
        "print()\n"
        "print('objective value: 5')\n"
    )
    result = run(code, timeout_s=60)
    assert result.returncode == 0
    assert result.stdout_truncated
    assert len(result.stdout.encode()) < 1_100_000
    assert (result.objective, result.result_source) == (5.0, "stdout")
    assert_parent_healthy()


def test_os_exit_keeps_the_exit_code_and_drops_the_report_made_before() -> None:
    # issue 19: a run that did not exit cleanly carries no objective, reported or printed
    result = run("import os\nreport(7.0)\nos._exit(3)\n")
    assert result.returncode == 3
    assert (result.objective, result.result_source) == (None, None)
    assert_parent_healthy()


def test_segfault_is_a_failed_run_not_a_parent_crash() -> None:
    result = run("import ctypes\nctypes.string_at(0)\n")
    assert result.returncode not in (0, None)
    assert not result.timed_out
    assert result.objective is None
    assert_parent_healthy()


@pytest.mark.solver
def test_solver_running_past_its_time_limit_is_killed() -> None:
    pytest.importorskip("pyscipopt")
    # A market split instance: tiny and very hard for branch and bound; SCIP's own limit is
    # far beyond the sandbox's deadline, so only the sandbox can stop it.
    code = (
        "import random\n"
        "from pyscipopt import Model, quicksum\n"
        "rng = random.Random(3)\n"
        "m = Model(); m.hideOutput(); m.setParam('limits/time', 3600)\n"
        "x = [m.addVar(vtype='B') for _ in range(36)]\n"
        "ts = []\n"
        "for i in range(5):\n"
        "    a = [rng.randint(0, 99) for _ in x]\n"
        "    s = m.addVar(lb=None)\n"
        "    t = m.addVar()\n"
        "    ts.append(t)\n"
        "    m.addCons(quicksum(c * v for c, v in zip(a, x)) + s == sum(a) // 2)\n"
        "    m.addCons(t >= s); m.addCons(t >= -s)\n"
        "m.setObjective(quicksum(ts))\n"
        "m.optimize()\n"
        "report(m.getObjVal())\n"
    )
    result = run(code, timeout_s=2.0)
    assert result.timed_out
    assert result.objective is None
    assert_parent_healthy()
