"""Run one call of a bundled function in ``trace_core.sandbox`` (``@bundle(isolation="sandbox")``).

Protocol: the child program is the function's source, then the pickled ``(args, kwargs)``
(base64, embedded in the program text), then the call; it writes one marker line to stdout
holding base64 of ``pickle.dumps(("ok", result))`` or ``("error", type, message, traceback)``.
The parent unpickles that line with a restricted unpickler that only rebuilds plain data
(numbers, strings, containers, numpy arrays), so code running in the sandbox cannot make the
parent execute anything by writing a crafted pickle. ``trace_core.sandbox`` is imported only when a
sandboxed call happens; trace_core does not depend on it otherwise.
"""

from __future__ import annotations

import base64
import importlib
import io
import pickle
from typing import Any

from trace_core.errors import SandboxUnavailableError, TraceError

MARKER = "@@optoforge-sandbox-result@@"

_SAFE_GLOBALS = {
    ("builtins", name)
    for name in (
        "bool",
        "bytearray",
        "bytes",
        "complex",
        "dict",
        "float",
        "frozenset",
        "int",
        "list",
        "range",
        "set",
        "slice",
        "str",
        "tuple",
    )
} | {
    ("collections", "OrderedDict"),
    ("collections", "deque"),
    ("decimal", "Decimal"),
    ("fractions", "Fraction"),
    ("datetime", "date"),
    ("datetime", "datetime"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
}


class SandboxCallError(TraceError):
    """The sandboxed call failed: it raised, timed out, or produced no readable result."""


class _PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"sandbox results may only contain plain data; refusing {module}.{name}"
        )


def sandbox_program(
    source: str, function_name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str:
    """The child program that runs ``function_name(*args, **kwargs)`` from ``source``."""
    try:
        payload = base64.b64encode(pickle.dumps((args, kwargs))).decode("ascii")
    except Exception as err:
        raise TypeError(
            f"arguments of a sandboxed bundle must pickle; {function_name}: {err}"
        ) from err
    return (
        "import base64 as _b64, pickle as _pickle, sys as _sys, traceback as _tb\n"
        f"{source}\n"
        f"_args, _kwargs = _pickle.loads(_b64.b64decode({payload!r}))\n"
        "try:\n"
        f"    _out = ('ok', {function_name}(*_args, **_kwargs))\n"
        "except BaseException as _exc:\n"
        "    _out = ('error', type(_exc).__name__, str(_exc), _tb.format_exc())\n"
        "try:\n"
        "    _data = _pickle.dumps(_out)\n"
        "except Exception as _exc:\n"
        "    _data = _pickle.dumps(('error', 'PicklingError', f'result does not pickle: {_exc}',"
        " ''))\n"
        f"_sys.stdout.write('\\n{MARKER}' + _b64.b64encode(_data).decode() + '\\n')\n"
    )


def decode_result(stdout: str) -> Any:
    """The value returned by the child, or ``SandboxCallError`` with the child's error."""
    lines = [line for line in stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise SandboxCallError("the sandboxed call produced no result (it may have crashed)")
    raw = base64.b64decode(lines[-1][len(MARKER) :])
    try:
        out = _PlainDataUnpickler(io.BytesIO(raw)).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise SandboxCallError(f"cannot read the sandboxed result: {err}") from None
    if not isinstance(out, tuple) or not out or out[0] not in ("ok", "error"):
        raise SandboxCallError("the sandboxed call returned a malformed result")
    if out[0] == "error":
        _, kind, message, trace = out
        raise SandboxCallError(f"{kind}: {message}\n{trace}".rstrip())
    return out[1]


def call_in_sandbox(
    source: str,
    function_name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    timeout_s: float = 30.0,
    memory_mb: int = 2048,
) -> Any:
    """Run one call in ``trace_core.sandbox`` and return its (plain-data) result."""
    try:
        sandbox = importlib.import_module("trace_core.sandbox")
    except ImportError as err:
        raise SandboxUnavailableError(
            f"isolation='sandbox' needs trace_core.sandbox, which cannot be imported ({err}); "
            "install optoforge fully or use isolation=None"
        ) from err
    program = sandbox_program(source, function_name, args, kwargs)
    result = sandbox.run(program, timeout_s=timeout_s, memory_mb=memory_mb)
    if getattr(result, "timed_out", False):
        raise SandboxCallError(f"{function_name} timed out after {timeout_s} s in the sandbox")
    try:
        return decode_result(result.stdout)
    except SandboxCallError as err:
        if MARKER in result.stdout:
            raise
        tail = (result.stderr or "")[-500:]
        raise SandboxCallError(
            f"{function_name} produced no result in the sandbox "
            f"(returncode {result.returncode}): {tail}"
        ) from err
