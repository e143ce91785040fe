"""Correctness on models nobody here wrote: GLPK's examples, with the optima their authors state.

Each GMPL model is converted by ``glpsol`` (free MPS and CPLEX LP) into tmp_path, read into the
neutral model and solved with HiGHS and SCIP. The expected optimum is the one stated in the
example's own comment ("The optimal solution is ..."). MPS has no objective sense, so the sense
of the maximization examples is taken from the table below (the LP files carry it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agents.solvers import ObjectiveSense, SolveStatus, get, read_model

pytestmark = pytest.mark.solver

_DIRS = [Path("/usr/share/doc/glpk-utils/examples"), Path("/usr/share/doc/glpk/examples")]
EXAMPLES = next((d for d in _DIRS if d.is_dir()), None)

# example -> (stated optimum, maximize?), taken from the comment in each .mod file
KNOWN = {
    "assign": (76.0, False),  # assignment problem
    "cpp": (46.0, False),  # critical path
    "maxflow": (29.0, True),  # maximum flow
    "gap": (261.0, False),  # generalized assignment (MILP)
    "mvcp": (6.0, False),  # minimum vertex cover (MILP)
    "fctp": (471.55, False),  # fixed-charge transportation (MILP)
    "maxcut": (20.0, True),  # maximum cut (MILP)
}


def _convert(name: str, tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("glpsol") is None or EXAMPLES is None:
        pytest.skip("glpk-utils (glpsol and its examples) is not installed")
    mod = EXAMPLES / f"{name}.mod"
    if not mod.is_file():
        pytest.skip(f"{mod} is missing")
    mps, lp = tmp_path / f"{name}.mps", tmp_path / f"{name}.lp"
    subprocess.run(
        ["glpsol", "--check", "-m", str(mod), "--wfreemps", str(mps), "--wlp", str(lp)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return mps, lp


@pytest.mark.parametrize("solver", ["highs", "scip"])
@pytest.mark.parametrize("name", sorted(KNOWN))
def test_glpk_example_optimum_matches_stated_value(name: str, solver: str, tmp_path: Path) -> None:
    backend = get(solver)
    if not backend.available():
        pytest.skip(f"{solver} is not installed")
    optimum, maximize = KNOWN[name]
    mps, lp = _convert(name, tmp_path)
    for path in (mps, lp):
        model = read_model(path)
        if path.suffix == ".mps" and maximize:
            model.sense = ObjectiveSense.MAXIMIZE
        assert model.sense is (ObjectiveSense.MAXIMIZE if maximize else ObjectiveSense.MINIMIZE)
        result = backend.solve(model, time_limit=30)
        assert result.status is SolveStatus.OPTIMAL, (path.name, result.message)
        assert result.objective == pytest.approx(optimum, rel=1e-6), path.name
