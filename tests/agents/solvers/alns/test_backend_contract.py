"""ALNS and the MIP tuner reach the solver only through `SolverBackend.solve(start=, options=)`."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("highspy")
pytest.importorskip("alns")
pytest.importorskip("mabwiser")

from agents.solvers import registry
from agents.solvers.alns import AlnsSolver, set_cover
from agents.solvers.highs import HighsBackend
from agents.solvers.tuning import MIPSetting, mip_cost

pytestmark = pytest.mark.solver


class RecordingHighs(HighsBackend):
    """HiGHS that remembers the start and options of every solve it was asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, float] | None, dict[str, Any]]] = []

    def solve(self, model, time_limit=None, *, start=None, options=None):  # type: ignore[no-untyped-def]
        self.calls.append((dict(start) if start is not None else None, dict(options or {})))
        return super().solve(model, time_limit, start=start, options=options)


def test_alns_repairs_hand_the_incumbent_to_the_backend_as_a_start() -> None:
    cover = set_cover(n_rows=30, n_cols=60, density=0.1, seed=5)
    incumbent = {v.name: 1.0 for v in cover.variables}
    backend = RecordingHighs()
    result = AlnsSolver(backend, operators=["mutation"], sub_time_limit=2.0, seed=0).solve(
        cover, time_limit=30, initial=incumbent, max_iterations=3
    )
    starts = [start for start, _ in backend.calls if start is not None]
    assert starts, "no repair was warm-started"
    assert starts[0] == incumbent  # the first repair starts from the given incumbent
    assert cover.is_feasible(result.values, tol=1e-6)


def test_mip_tuning_passes_a_settings_options_through_solve() -> None:
    backend = RecordingHighs()
    registry.register("recording_highs", RecordingHighs)
    registry._INSTANCES["recording_highs"] = backend
    try:
        setting = MIPSetting("no-presolve", "recording_highs", (("presolve", "off"),))
        cost = mip_cost(time_limit=10.0)(set_cover(n_rows=20, n_cols=40, seed=1), setting)
    finally:
        registry._BACKENDS.unregister("recording_highs")
        registry._INSTANCES.pop("recording_highs", None)
    assert backend.calls == [(None, {"presolve": "off"})]
    assert 0.0 < cost < 10.0  # solved to optimality within the limit
