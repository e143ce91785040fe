"""Models survive a round trip through MPS, CPLEX-LP and JSON files."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.solvers import ModelFormatError, get, read_model, write_model
from tests.agents.solvers.test_backends import _knapsack, _lp, _miqcp, _qcqp, _qp

pytestmark = pytest.mark.solver
pytest.importorskip("highspy")


@pytest.mark.parametrize("suffix", [".mps", ".lp", ".json"])
@pytest.mark.parametrize("build", [_lp, _knapsack, _qp], ids=["lp", "milp", "qp"])
def test_round_trip_keeps_the_optimum_names_and_types(
    tmp_path: Path, suffix: str, build: object
) -> None:
    model = build()  # type: ignore[operator]
    again = read_model(write_model(model, tmp_path / f"model{suffix}"))
    assert [v.name for v in again.variables] == [v.name for v in model.variables]
    assert [v.type for v in again.variables] == [v.type for v in model.variables]
    assert again.sense is model.sense
    assert again.objective_constant == model.objective_constant
    before, after = get("highs").solve(model), get("highs").solve(again)
    assert after.objective == pytest.approx(before.objective, rel=1e-9)


@pytest.mark.parametrize("suffix", [".mps", ".lp"])
@pytest.mark.parametrize("build", [_qcqp, _miqcp], ids=["qcqp", "miqcqp"])
def test_quadratic_constraints_round_trip_through_scip(
    tmp_path: Path, suffix: str, build: object
) -> None:
    pytest.importorskip("pyscipopt")
    model = build()  # type: ignore[operator]
    again = read_model(write_model(model, tmp_path / f"model{suffix}"))
    assert again.has_quadratic_constraints
    assert get("scip").solve(again).objective == pytest.approx(
        get("scip").solve(model).objective, rel=1e-6
    )


def test_unknown_suffix_names_the_supported_formats(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match=r"\.json, \.lp, \.mps"):
        write_model(_lp(), tmp_path / "model.xlsx")


def test_garbage_file_raises_model_format_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mps"
    bad.write_text("this is not\nan MPS file at all\n")
    with pytest.raises(ModelFormatError, match="could parse"):
        read_model(bad)


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="does not exist"):
        read_model(tmp_path / "nope.lp")
