"""Every numeric optimizer refuses an out-of-range hyperparameter by name, rule and value."""

from __future__ import annotations

import re
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from optimizers.numeric import FRUGAL, MeZO  # noqa: E402
from optimizers.numeric.adadagrad import NormTestBatchSize  # noqa: E402
from optimizers.numeric.hyperparameters import RULES, check_ranges  # noqa: E402
from optimizers.numeric.ranking import ZORankSGD  # noqa: E402
from optimizers.numeric.sgd_sai import SGDSaI  # noqa: E402
from optimizers.numeric.sparse_mezo import SparseMeZO  # noqa: E402
from optimizers.numeric.zo_variants import ForwardGradient, ZOBlock  # noqa: E402

pytestmark = pytest.mark.torch


def _params() -> list[torch.Tensor]:
    return [torch.zeros(3, requires_grad=True)]


def _forward_gradient(**kw: Any) -> Any:
    module = torch.nn.Linear(2, 1)
    return ForwardGradient(module.parameters(), module=module, **kw)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SGDSaI(_params(), lr=-1.0), "lr must be >= 0, got -1.0"),
        (lambda: SGDSaI(_params(), momentum=1.0), "momentum must be in [0, 1), got 1.0"),
        (lambda: SGDSaI(_params(), weight_decay=-0.1), "weight_decay must be >= 0, got -0.1"),
        (lambda: SGDSaI(_params(), eps=0.0), "eps must be > 0, got 0.0"),
        (lambda: SparseMeZO(_params(), sparsity=1.0), "sparsity must be in [0, 1), got 1.0"),
        (lambda: SparseMeZO(_params(), chunk_size=0), "chunk_size must be >= 1, got 0"),
        (lambda: FRUGAL(_params(), density=1.5), "density must be in [0, 1], got 1.5"),
        (lambda: FRUGAL(_params(), update_gap=0), "update_gap must be >= 1, got 0"),
        (lambda: MeZO(_params(), lr=0.0), "lr must be > 0, got 0.0"),
        (lambda: NormTestBatchSize(eta=0.0), "eta must be > 0, got 0.0"),
        (lambda: ZORankSGD(_params(), None, mu=0.0), "mu must be > 0, got 0.0"),  # type: ignore[arg-type]
        (lambda: ZOBlock(_params(), eps=-1.0), "eps must be > 0, got -1.0"),
        (lambda: _forward_gradient(num_directions=0), "num_directions must be >= 1, got 0"),
    ],
)
def test_out_of_range_hyperparameter_is_refused_by_name(build: Any, message: str) -> None:
    with pytest.raises(ValueError) as err:
        build()
    assert str(err.value) == message


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_accepts_its_boundary_case_and_refuses_past_it(rule: str) -> None:
    inside, outside = {
        "> 0": (1e-12, 0.0),
        ">= 0": (0.0, -1e-12),
        ">= 1": (1, 0),
        "in [0, 1)": (0.0, 1.0),
        "in [0, 1]": (1.0, 1.0 + 1e-12),
    }[rule]
    check_ranges(x=(inside, rule))
    with pytest.raises(ValueError, match=re.escape(f"x must be {rule}, got {outside}")):
        check_ranges(x=(outside, rule))
