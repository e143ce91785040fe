"""The shared registry helper: lazy import, availability with a reason, typed unknown-name error."""

from __future__ import annotations

import sys

import pytest

from trace_core.registry import (
    Registry,
    SpecError,
    UnknownNameError,
    import_target,
    resolve_spec,
)


def test_a_path_target_is_imported_only_when_first_loaded() -> None:
    sys.modules.pop("colorsys", None)
    reg: Registry[object] = Registry("converter")
    reg.register("hls", "colorsys:rgb_to_hls")
    assert "colorsys" not in sys.modules  # naming it imported nothing
    fn = reg.load("HLS")  # names are case-insensitive by default
    assert fn(1.0, 0.0, 0.0) == (0.0, 0.5, 1.0)


def test_unknown_name_raises_the_registry_error_listing_known_names() -> None:
    class SolverMissing(LookupError):
        pass

    reg: Registry[object] = Registry("solver", error=SolverMissing, hint="Register one first")
    reg.register("scip", object)
    reg.register("highs", object)
    with pytest.raises(
        SolverMissing, match=r"unknown solver 'cplex'; known solvers: highs, scip\. Register"
    ):
        reg.load("cplex")
    with pytest.raises(UnknownNameError, match="known converters: \\(none\\)"):
        Registry("converter").load("x")


def test_availability_names_the_missing_package_and_the_fix() -> None:
    reg: Registry[object] = Registry("backend")
    reg.register("here", object, requires=["json"])
    reg.register(
        "gone",
        "no_such_pkg_xyz.mod:Thing",
        requires=["no_such_pkg_xyz"],
        install_hint="pip install no-such-pkg",
    )
    assert reg.availability("here").ok
    missing = reg.availability("gone")
    assert not missing
    assert missing.reason == "backend 'gone' needs 'no_such_pkg_xyz': pip install no-such-pkg"
    assert reg.available() == ["here"]
    assert reg.names() == ["here", "gone"]


def test_resolve_spec_calls_the_zero_argument_factory() -> None:
    assert resolve_spec("py:collections:OrderedDict") == {}
    with pytest.raises(SpecError, match=r"write py:package\.module:factory"):
        resolve_spec("collections:OrderedDict")
    with pytest.raises(SpecError, match=r"cannot import no_such_mod_xyz\.make"):
        resolve_spec("py:no_such_mod_xyz:make")
    with pytest.raises(SpecError, match="has no attribute 'nope'"):
        resolve_spec("py:collections:nope")


def test_spec_errors_can_be_raised_as_the_callers_own_type() -> None:
    class EmbedderError(ValueError):
        pass

    with pytest.raises(EmbedderError, match="--embedder 'py:x'"):
        resolve_spec("py:x", error=EmbedderError, what="--embedder")
    with pytest.raises(EmbedderError):
        import_target("json", error=EmbedderError)


def test_the_four_registries_share_the_helper() -> None:
    from agents.solvers import registry as solvers
    from optimizers.numeric import registry as numeric
    from optimizers.prompting import metrics
    from trace_core.llm import registry as llm

    for reg in (llm._PROVIDERS, solvers._BACKENDS, numeric._ENTRIES, metrics.METRICS):
        assert isinstance(reg, Registry)
    assert not solvers.availability("highs") or solvers.availability("highs").reason == ""
    assert llm.provider_availability("scripted").ok
