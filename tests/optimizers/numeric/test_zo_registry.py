"""The optimizers of this area are reachable by name through optimizers.numeric.create."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from optimizers import numeric  # noqa: E402
from optimizers.numeric.nonfinite import NonFiniteError  # noqa: E402
from optimizers.numeric.ranking import NumericRanking, ZORankSGD  # noqa: E402
from optimizers.numeric.sgd_sai import SGDSaI  # noqa: E402
from optimizers.numeric.sparse_mezo import SparseMeZO  # noqa: E402
from optimizers.numeric.zo_variants import ForwardGradient, ZOBlock, ZOHybrid  # noqa: E402

pytestmark = pytest.mark.torch


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))


@pytest.mark.parametrize(
    ("name", "cls", "extra"),
    [
        ("sparse_mezo", SparseMeZO, {}),
        ("zo_block", ZOBlock, {}),
        ("zo_hybrid", ZOHybrid, {}),
        ("sgd_sai", SGDSaI, {}),
        ("forward_grad", ForwardGradient, "module"),
        ("zo_ranksgd", ZORankSGD, "oracle"),
    ],
)
def test_create_builds_each_optimizer_by_name(name: str, cls: type, extra: object) -> None:
    model = _model()
    kw: dict[str, object] = {}
    if extra == "module":
        kw["module"] = model
    elif extra == "oracle":
        kw["oracle"] = NumericRanking(lambda v: float(v.square().sum()))
    assert name in numeric.available()
    assert isinstance(numeric.create(name, model.parameters(), **kw), cls)


@pytest.mark.parametrize(
    ("name", "needs"), [("forward_grad", "module="), ("zo_ranksgd", "oracle=")]
)
def test_create_says_which_argument_is_missing(name: str, needs: str) -> None:
    with pytest.raises(TypeError, match=needs):
        numeric.create(name, _model().parameters())


# Sparse MeZO recomputes its mask from the perturbed weights (as the paper's memory-optimized
# algorithm does), so a masked weight within eps*|z| of the threshold may keep a residue of at
# most 2*eps*|z| (eps = 1e-3 here); every other optimizer restores to float rounding.
@pytest.mark.parametrize(
    ("name", "atol"), [("sparse_mezo", 1e-2), ("zo_block", 1e-6), ("zo_hybrid", 1e-6)]
)
def test_nonfinite_loss_raises_and_leaves_parameters_unchanged(name: str, atol: float) -> None:
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    opt = numeric.create(name, model.parameters())
    with pytest.raises(NonFiniteError):
        opt.step(lambda: model(torch.ones(1, 4)).sum() * math.inf)
    for p, p0 in zip(model.parameters(), before, strict=True):
        torch.testing.assert_close(p.detach(), p0, atol=atol, rtol=0)


def test_nonfinite_skip_counts_the_skipped_step() -> None:
    model = _model()
    opt = numeric.create("zo_block", model.parameters(), nonfinite="skip")
    opt.step(lambda: torch.tensor(math.nan))
    assert opt.skipped_steps == 4  # one per block
