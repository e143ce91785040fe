"""Differentiable convex-optimization nodes: a traced op whose output is a problem's solution.

The data of a parametrized convex problem (LP, QP, SOCP in cvxpy's DPP form) are tensor nodes;
the op solves the problem in the forward pass and, through cvxpylayers, differentiates the
solution by implicit differentiation of the optimality conditions in the backward pass. So a
workflow can put a solver in the middle of a differentiable pipeline and still train the tensor
parameters that feed it, while the trace graph records the op like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import cvxpy as cp


DEFAULT_SOLVER: dict[str, Any] = {"eps_abs": 1e-9, "eps_rel": 1e-9}


class ConvexLayer:
    """A parametrized convex problem as a traced, differentiable op.

    ``layer(*data)`` takes one value per cvxpy ``Parameter`` (tensors or tensor nodes; a
    leading batch dimension solves a batch) and returns a ``MessageNode`` holding the optimal
    values of ``variables`` (a tensor for one variable, a tuple for several). Gradients flow to
    every tensor input with ``requires_grad``.

    Args:
        problem: a cvxpy problem that is DPP (``problem.is_dpp()``).
        parameters: the cvxpy Parameters, in the order the call passes their values.
        variables: the cvxpy Variables whose optimal values the op returns.
        name: the op's name in the trace graph.
        solver_args: options for the solver (cvxpylayers' ``solver_args``, passed to diffcp).
            The default tightens SCS's tolerances from 1e-4 to 1e-9: at 1e-4 a solution, and
            so anything compared with it, is only good to about four digits.
    """

    def __init__(
        self,
        problem: cp.Problem,
        parameters: Sequence[cp.Parameter],
        variables: Sequence[cp.Variable],
        *,
        name: str = "convex_solve",
        description: str | None = None,
        solver_args: dict[str, Any] | None = None,
    ) -> None:
        from cvxpylayers.torch import CvxpyLayer

        if not problem.is_dpp():
            raise ValueError(
                "the problem is not DPP (disciplined parametrized programming), so it cannot be "
                "differentiated; write parameters so they enter affinely (e.g. sum_squares(L @ x) "
                "instead of quad_form(x, Q) with a Q parameter)"
            )
        self.problem = problem
        self.parameters = list(parameters)
        self.variables = list(variables)
        self._layer = CvxpyLayer(problem, parameters=self.parameters, variables=self.variables)
        self.solver_args = dict(solver_args) if solver_args is not None else dict(DEFAULT_SOLVER)
        self._op = self._make_op(name, description or f"[{name}] solve {_summary(problem)}")

    def _make_op(self, name: str, description: str) -> Any:
        from trace_core.bundle import bundle

        def solve(*data: Any) -> Any:
            solution = self._layer(*data, solver_args=self.solver_args or None)
            return solution[0] if len(solution) == 1 else tuple(solution)

        solve.__name__ = name
        solve.__qualname__ = name
        return bundle(description=description)(solve)

    def __call__(self, *data: Any) -> Any:
        if len(data) != len(self.parameters):
            names = ", ".join(p.name() for p in self.parameters)
            raise TypeError(f"expected {len(self.parameters)} values ({names}), got {len(data)}")
        return self._op(*data)


def _summary(problem: cp.Problem) -> str:
    kind = "minimize" if problem.objective.NAME == "minimize" else "maximize"
    return f"{kind} a convex objective over {len(problem.variables())} variable(s) subject to " + (
        f"{len(problem.constraints)} constraint(s)"
    )


def quadratic_program(n: int, n_inequalities: int, n_equalities: int = 0) -> ConvexLayer:
    """The QP  min ½‖Lᵀx‖² + qᵀx  s.t. Gx ≤ h, Ax = b  as a layer.

    Call it with ``(L, q, G, h)`` or ``(L, q, G, h, A, b)`` (L is n×n; Q = LLᵀ is written
    through L so the problem is DPP). Returns the optimal x.
    """
    import cvxpy as cp

    x = cp.Variable(n, name="x")
    chol = cp.Parameter((n, n), name="L")
    q = cp.Parameter(n, name="q")
    g = cp.Parameter((n_inequalities, n), name="G")
    h = cp.Parameter(n_inequalities, name="h")
    params = [chol, q, g, h]
    constraints = [g @ x <= h]
    if n_equalities:
        a = cp.Parameter((n_equalities, n), name="A")
        b = cp.Parameter(n_equalities, name="b")
        params += [a, b]
        constraints.append(a @ x == b)
    objective = cp.Minimize(0.5 * cp.sum_squares(chol.T @ x) + q @ x)
    return ConvexLayer(cp.Problem(objective, constraints), params, [x], name="quadratic_program")


def linear_program(n: int, n_inequalities: int) -> ConvexLayer:
    """The LP  min cᵀx  s.t. Gx ≤ h  as a layer; call it with ``(c, G, h)``.

    An LP's solution is piecewise constant in c, so its gradient is zero almost everywhere;
    cvxpylayers returns the (generalized) derivative through the optimality conditions.
    """
    import cvxpy as cp

    x = cp.Variable(n, name="x")
    c = cp.Parameter(n, name="c")
    g = cp.Parameter((n_inequalities, n), name="G")
    h = cp.Parameter(n_inequalities, name="h")
    problem = cp.Problem(cp.Minimize(c @ x), [g @ x <= h])
    return ConvexLayer(problem, [c, g, h], [x], name="linear_program")
