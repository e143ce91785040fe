"""Differentiable solver nodes: QP/LP solutions as traced ops, gradients vs finite differences."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("cvxpylayers")
cp = pytest.importorskip("cvxpy")

from optimizers import numeric  # noqa: E402
from optimizers.numeric.convex_layer import (  # noqa: E402
    ConvexLayer,
    linear_program,
    quadratic_program,
)
from trace_core import MessageNode, node  # noqa: E402

pytestmark = [pytest.mark.solver, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

F64 = torch.float64
L = torch.tensor([[1.0, 0.0, 0.0], [0.2, 1.1, 0.0], [-0.1, 0.3, 0.9]], dtype=F64)
G = torch.tensor([[1.0, 1.0, 1.0], [-1.0, 0.0, 0.0]], dtype=F64)
WEIGHTS = torch.tensor([1.0, 2.0, 3.0], dtype=F64)


@pytest.fixture(scope="module")
def qp() -> ConvexLayer:
    return quadratic_program(3, 2)


def _inputs() -> dict[str, torch.Tensor]:
    return {
        "q": torch.tensor([1.0, -2.0, 0.5], dtype=F64, requires_grad=True),
        "h": torch.tensor([1.0, 0.0], dtype=F64, requires_grad=True),
    }


def test_solution_is_a_traced_node_matching_cvxpy(qp: ConvexLayer) -> None:
    q = node(_inputs()["q"], name="q", trainable=True)
    h = _inputs()["h"]
    x = qp(L, q, G, h)
    assert isinstance(x, MessageNode) and q in x.parents
    xv = cp.Variable(3)
    q_np, h_np, l_np, g_np = (t.detach().numpy() for t in (q.data, h, L, G))
    objective = 0.5 * cp.sum_squares(l_np.T @ xv) + q_np @ xv
    cp.Problem(cp.Minimize(objective), [g_np @ xv <= h_np]).solve(solver=cp.CLARABEL)
    assert torch.allclose(x.data.detach(), torch.from_numpy(xv.value), atol=1e-6)


@pytest.mark.parametrize("which", ["q", "h"])
def test_gradient_matches_central_finite_differences(qp: ConvexLayer, which: str) -> None:
    inputs = _inputs()

    def objective(q: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return (qp(L, node(q), G, h).data * WEIGHTS).sum()

    objective(inputs["q"], inputs["h"]).backward()
    analytic = inputs[which].grad
    step = 1e-5
    numeric_grad = torch.zeros_like(analytic)
    with torch.no_grad():
        for i in range(len(numeric_grad)):
            up = {k: v.detach().clone() for k, v in inputs.items()}
            down = {k: v.detach().clone() for k, v in inputs.items()}
            up[which][i] += step
            down[which][i] -= step
            numeric_grad[i] = (objective(**up) - objective(**down)) / (2 * step)
    assert torch.allclose(analytic, numeric_grad, atol=1e-4), (analytic, numeric_grad)
    assert analytic.abs().max() > 0.1  # the constraint is active: a real, non-zero gradient


def test_tensor_parameter_trains_through_the_solver(qp: ConvexLayer) -> None:
    target = torch.tensor([0.2, 0.3, 0.1], dtype=F64)  # inside the feasible set
    # start with x0 > 0: at q = 0 the bound x0 >= 0 is active and its gradient is zero
    start = torch.tensor([-0.5, 0.0, 0.0], dtype=F64, requires_grad=True)
    q = node(start, name="q", trainable=True)
    opt = numeric.create("sgd", [q], lr=0.3)
    for _ in range(15):
        opt.zero_grad()
        loss = ((qp(L, q, G, _inputs()["h"].detach()).data - target) ** 2).sum()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 1e-3


def test_linear_program_solves_and_reports_shape() -> None:
    lp = linear_program(2, 3)
    c = torch.tensor([-1.0, -1.0], dtype=F64, requires_grad=True)
    g = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=F64)
    h = torch.tensor([1.0, 1.0, 1.5], dtype=F64)
    x = lp(c, g, h)
    assert float(x.data.detach().sum()) == pytest.approx(1.5, abs=1e-6)


def test_non_dpp_problem_is_refused_with_a_fix() -> None:
    x = cp.Variable(2)
    q_matrix = cp.Parameter((2, 2), PSD=True)
    problem = cp.Problem(cp.Minimize(cp.quad_form(x, q_matrix)))
    with pytest.raises(ValueError, match="not DPP"):
        ConvexLayer(problem, [q_matrix], [x])


def test_wrong_number_of_inputs_names_the_parameters(qp: ConvexLayer) -> None:
    with pytest.raises(TypeError, match="L, q, G, h"):
        qp(L, G)
