"""The packages import cheaply: no torch, openai, litellm or solver library at import time."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "openai", "litellm", "ray", "pyscipopt", "highspy", "gurobipy"]


def _loaded_after(import_line: str) -> set[str]:
    code = f"import sys; {import_line}; print(','.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.strip().split(","))


def test_importing_top_packages_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import trace_core, optimizers, agents")
    assert not (set(HEAVY) & loaded), sorted(set(HEAVY) & loaded)


def test_unknown_top_level_name_raises_attribute_error() -> None:
    import trace_core

    try:
        trace_core.definitely_not_a_name  # noqa: B018
    except AttributeError as err:
        assert "definitely_not_a_name" in str(err)
    else:  # pragma: no cover - the test must be able to fail
        raise AssertionError("expected AttributeError")
