"""The packages import cheaply: no torch, openai, litellm or solver library at import time."""

from __future__ import annotations

from tests.import_probe import modules_loaded_by

HEAVY = ["torch", "openai", "litellm", "ray", "pyscipopt", "highspy", "gurobipy"]


def test_importing_top_packages_loads_no_heavy_library() -> None:
    loaded = modules_loaded_by("import trace_core, optimizers, agents")
    assert not (set(HEAVY) & loaded), sorted(set(HEAVY) & loaded)


def test_unknown_top_level_name_raises_attribute_error() -> None:
    import trace_core

    try:
        trace_core.definitely_not_a_name  # noqa: B018
    except AttributeError as err:
        assert "definitely_not_a_name" in str(err)
    else:  # pragma: no cover - the test must be able to fail
        raise AssertionError("expected AttributeError")
