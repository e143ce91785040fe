"""The numeric optimizer registry: names, errors, lazy imports, ParameterNode unwrapping."""

from __future__ import annotations

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from optimizers import numeric  # noqa: E402
from optimizers.numeric import registry  # noqa: E402


def test_available_lists_torch_optimizers() -> None:
    assert {"sgd", "adam", "adamw"} <= set(numeric.available())


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(numeric.UnknownOptimizerError, match=r"known: .*adam"):
        numeric.create("adamm", [torch.zeros(2, requires_grad=True)])


def test_create_returns_torch_optimizer_with_kwargs() -> None:
    opt = numeric.create("ADAM", [torch.zeros(2, requires_grad=True)], lr=0.5)
    assert isinstance(opt, torch.optim.Adam)
    assert opt.param_groups[0]["lr"] == 0.5


def test_registering_a_taken_name_is_refused() -> None:
    with pytest.raises(numeric.NumericOptimizerError, match="already registered"):
        numeric.register("adam", lambda params, **kw: None, source="torch")


def test_unimportable_source_is_registered_but_not_available() -> None:
    numeric.register("ghost", lambda params, **kw: None, source="no_such_lib_xyz", replace=True)
    try:
        assert "ghost" in numeric.registered()
        assert "ghost" not in numeric.available()
        with pytest.raises(numeric.OptimizerUnavailableError, match="no_such_lib_xyz"):
            numeric.create("ghost", [torch.zeros(1, requires_grad=True)])
    finally:
        registry._ENTRIES.pop("ghost")


def test_a_required_keyword_is_named_before_the_factory_runs() -> None:
    built: list[dict[str, object]] = []

    def factory(params: object, **kw: object) -> torch.optim.Optimizer:
        built.append(kw)
        return torch.optim.SGD(params, lr=0.1)  # type: ignore[arg-type]

    numeric.register("needy", factory, source="torch", required={"teacher": "<a model>"})
    try:
        with pytest.raises(TypeError, match=r"^needy needs teacher=<a model>$"):
            numeric.create("needy", [torch.zeros(1, requires_grad=True)])
        assert built == []
        numeric.create("needy", [torch.zeros(1, requires_grad=True)], teacher="t")
        assert built == [{"teacher": "t"}]
    finally:
        registry._ENTRIES.pop("needy")


def test_tensor_holders_are_unwrapped() -> None:
    class Holder:  # stands for a tensor ParameterNode: anything with a tensor .data
        def __init__(self) -> None:
            self.data = torch.ones(3, requires_grad=True)

    h = Holder()
    opt = numeric.create("sgd", [h], lr=0.1)
    assert opt.param_groups[0]["params"][0] is h.data


def test_importing_the_package_loads_no_torch() -> None:
    code = "import optimizers.numeric, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_eight_bit_adam_keeps_uint8_moments_and_descends() -> None:
    pytest.importorskip("bitsandbytes", exc_type=ImportError)
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(64, 128, generator=gen)  # >= 4096 elements: bitsandbytes quantizes
    w = torch.zeros(64, 128, requires_grad=True)
    opt = numeric.create("adam", [w], lr=0.05, eight_bit=True)
    for _ in range(30):
        opt.zero_grad()
        loss = ((w - target) ** 2).mean()
        loss.backward()
        opt.step()
    assert opt.state[w]["state1"].dtype == torch.uint8
    assert float(loss.detach()) < 0.5 * float((target**2).mean())


def test_eight_bit_without_bitsandbytes_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)
    monkeypatch.setitem(sys.modules, "bitsandbytes.optim", None)
    with pytest.raises(numeric.OptimizerUnavailableError, match="pip install bitsandbytes"):
        numeric.create("adamw", [torch.zeros(2, requires_grad=True)], eight_bit=True)
