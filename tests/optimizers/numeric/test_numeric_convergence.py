"""Every registered optimizer decreases a convex quadratic and gets close to Rosenbrock's minimum.

Each case states its settings, its step budget and the Rosenbrock loss it must reach from
(-1.2, 1.0) (fixed seeds; the starting loss is 24.2).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

torch = pytest.importorskip("torch")

from optimizers import numeric  # noqa: E402
from tests.optimizers.numeric.problems import quadratic, rosenbrock, run  # noqa: E402


class Case(NamedTuple):
    name: str
    kw: dict[str, Any]
    steps: int
    threshold: float


CASES = [
    Case("sgd", {"lr": 1.5e-3, "momentum": 0.9}, 1000, 1e-4),
    Case("adam", {"lr": 0.05}, 1000, 1e-2),
    Case("adamw", {"lr": 0.05, "weight_decay": 0.0}, 1000, 1e-2),
    Case("frugal", {"lr": 0.05}, 1000, 1e-2),
    Case("adadagrad", {"lr": 1.0}, 1000, 0.1),
    Case("adadagrad", {"lr": 0.05, "base": "adam"}, 1000, 1e-2),
    Case("mezo", {"lr": 1e-3, "seed": 0}, 3000, 0.05),
    Case("zo_adam", {"lr": 0.05, "seed": 0}, 1500, 0.15),
    Case("lion", {"lr": 0.01}, 1000, 0.1),
    Case("adabelief", {"lr": 0.05}, 1000, 1e-2),
    Case("diffgrad", {"lr": 0.05}, 1000, 0.1),
    Case("adamp", {"lr": 0.05}, 1000, 1e-2),
    Case("exadam", {"lr": 0.02}, 1000, 0.05),
    Case("apollo", {"lr": 0.05}, 1000, 1e-2),
    Case("apollo_mini", {"lr": 0.05}, 1000, 1e-2),
]


def _skip_unavailable(name: str) -> None:
    if name not in numeric.available():
        pytest.skip(f"{name} needs a library that is not installed")


def test_every_registered_builtin_has_a_case() -> None:
    builtin = {"sgd", "adam", "adamw", "frugal", "adadagrad", "mezo", "zo_adam"}
    library = {"lion", "adabelief", "diffgrad", "adamp", "exadam", "apollo", "apollo_mini"}
    assert builtin | library <= {c.name for c in CASES}


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c.name}-{'-'.join(map(str, c.kw.values()))}"
)
def test_decreases_convex_quadratic(case: Case) -> None:
    _skip_unavailable(case.name)
    torch.manual_seed(0)
    x, loss = quadratic()
    start = float(loss().detach())
    history = run(numeric.create(case.name, [x], **case.kw), case.name, loss, 100)
    assert float(loss().detach()) < start - 1.0, history[-5:]


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c.name}-{'-'.join(map(str, c.kw.values()))}"
)
def test_reaches_rosenbrock_threshold(case: Case) -> None:
    _skip_unavailable(case.name)
    torch.manual_seed(0)
    xy, loss = rosenbrock((-1.2, 1.0))
    run(numeric.create(case.name, [xy], **case.kw), case.name, loss, case.steps)
    final = float(loss().detach())
    assert final < case.threshold, f"{case.name}: {final:.3g} after {case.steps} steps"
