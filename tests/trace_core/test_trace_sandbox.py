"""isolation="sandbox": the child-program protocol and the restricted result unpickler."""

from __future__ import annotations

import base64
import pickle
import subprocess
import sys

import pytest

from trace_core import ExecutionError, SandboxUnavailableError, bundle, node
from trace_core.sandboxed import (
    MARKER,
    SandboxCallError,
    decode_result,
    sandbox_program,
)

SOURCE = "def combine(a, b=2):\n    return {'sum': a + b, 'items': [a, b]}\n"


def _run_child(program: str) -> str:
    done = subprocess.run(
        [sys.executable, "-I", "-c", program], capture_output=True, text=True, timeout=60
    )
    return done.stdout


def test_program_runs_the_function_and_returns_its_result() -> None:
    program = sandbox_program(SOURCE, "combine", (3,), {"b": 4})
    assert decode_result(_run_child(program)) == {"sum": 7, "items": [3, 4]}


def test_program_reports_the_child_exception() -> None:
    program = sandbox_program(SOURCE, "combine", ("x",), {})
    with pytest.raises(SandboxCallError, match="TypeError"):
        decode_result(_run_child(program))


def test_result_unpickler_refuses_anything_but_plain_data() -> None:
    class Evil:
        def __reduce__(self) -> tuple:
            return (print, ("pwned",))

    payload = base64.b64encode(pickle.dumps(("ok", Evil()))).decode()
    with pytest.raises(SandboxCallError, match="plain data"):
        decode_result(f"noise\n{MARKER}{payload}\n")


def test_missing_result_is_a_clear_error() -> None:
    with pytest.raises(SandboxCallError, match="no result"):
        decode_result("crashed before writing")


def test_unpicklable_argument_is_rejected_before_running() -> None:
    with pytest.raises(TypeError, match="must pickle"):
        sandbox_program(SOURCE, "combine", (lambda: 1,), {})


def test_sandboxed_bundle_runs_in_agents_sandbox() -> None:
    sandbox = pytest.importorskip("trace_core.sandbox")
    if not hasattr(sandbox, "run"):
        pytest.skip("trace_core.sandbox.run is not available yet")

    @bundle(trainable=True, isolation="sandbox")
    def double(x: int) -> int:
        return x * 2

    assert double(node(21)).data == 42
    double.code_parameter().set("def double(x):\n    return x * 3\n")
    assert double(node(2)).data == 6
    double.code_parameter().set("def double(x):\n    return x // 0\n")
    with pytest.raises(ExecutionError, match="ZeroDivisionError"):
        double(node(1))


def test_sandbox_unavailable_is_a_setup_error_not_feedback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "trace_core.sandbox", None)

    @bundle(isolation="sandbox")
    def ident(x: int) -> int:
        return x

    with pytest.raises(SandboxUnavailableError, match=r"trace_core\.sandbox"):
        ident(node(1))
