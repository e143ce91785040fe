"""SOR on linear systems: the setting of "Learning to Relax" that the parameter tuners learn on.

Successive over-relaxation's iteration count depends on the relaxation parameter omega, and for
the tridiagonal systems of :func:`sor_stream` the best omega is known analytically (Young's
formula), so a tuner's choices can be scored against the truth. :func:`sor_cost` is the cost
function :func:`agents.solvers.tuning.tune_stream` takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from agents.solvers.errors import TuningError


@dataclass(frozen=True)
class SORResult:
    """Outcome of one SOR run: iterations used and whether the residual tolerance was met."""

    iterations: int
    converged: bool
    residual: float
    x: np.ndarray


@dataclass(frozen=True)
class LinearSystem:
    """One instance of a linear-system stream, with features a contextual tuner can use."""

    A: np.ndarray
    b: np.ndarray
    features: tuple[float, ...] = ()


def sor(
    A: np.ndarray,
    b: np.ndarray,
    omega: float,
    *,
    tol: float = 1e-8,
    max_iter: int = 1000,
    x0: np.ndarray | None = None,
) -> SORResult:
    """Successive over-relaxation for ``A x = b`` until ``||b - A x|| <= tol * ||b||``.

    Each sweep solves the lower-triangular system ``(D + omega L) x' = omega b - (omega U +
    (omega - 1) D) x``, the matrix form of the Gauss-Seidel sweep with relaxation ``omega``.
    """
    from scipy.linalg import solve_triangular

    if not 0.0 < omega < 2.0:
        raise TuningError(f"SOR converges only for 0 < omega < 2, got {omega!r}")
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    diag = np.diag(np.diag(A))
    lower = np.tril(A, -1)
    upper = np.triu(A, 1)
    left = diag + omega * lower
    right = -(omega * upper + (omega - 1.0) * diag)
    rhs_b = omega * b
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=float)
    target = tol * max(float(np.linalg.norm(b)), 1e-300)
    residual = float(np.linalg.norm(b - A @ x))
    iterations = 0
    while residual > target and iterations < max_iter:
        x = solve_triangular(left, rhs_b + right @ x, lower=True, check_finite=False)
        residual = float(np.linalg.norm(b - A @ x))
        iterations += 1
    return SORResult(iterations, residual <= target, residual, x)


def jacobi_spectral_radius(A: np.ndarray) -> float:
    """Spectral radius of the Jacobi iteration matrix ``I - D^-1 A``."""
    A = np.asarray(A, dtype=float)
    jacobi = np.eye(len(A)) - A / np.diag(A)[:, None]
    return float(np.max(np.abs(np.linalg.eigvals(jacobi))))


def optimal_sor_omega(A: np.ndarray) -> float:
    """Young's optimal relaxation ``2 / (1 + sqrt(1 - rho(J)^2))``.

    Exact for consistently ordered matrices whose Jacobi matrix has real eigenvalues with
    rho(J) < 1 (tridiagonal SPD matrices, the 5-point Laplacian in natural order, ...).
    """
    rho = jacobi_spectral_radius(A)
    if rho >= 1.0:
        raise TuningError(f"rho(J) = {rho:.4f} >= 1: Jacobi (and Young's formula) does not apply")
    return 2.0 / (1.0 + math.sqrt(1.0 - rho * rho))


def tridiagonal(n: int, shift: float = 0.0) -> np.ndarray:
    """The matrix ``tridiag(-1, 2 + shift, -1)``: rho(J) = 2 cos(pi / (n + 1)) / (2 + shift)."""
    return (
        np.diag(np.full(n, 2.0 + shift)) - np.diag(np.ones(n - 1), 1) - np.diag(np.ones(n - 1), -1)
    )


def sor_stream(
    count: int,
    *,
    n: int = 30,
    shifts: tuple[float, float] = (0.0, 0.0),
    seed: int = 0,
) -> list[LinearSystem]:
    """A seeded stream of tridiagonal systems whose optimal omega is known analytically.

    Each matrix is ``S T(c) S`` for a random positive diagonal ``S`` and ``T(c) =
    tridiag(-1, 2 + c, -1)`` with ``c`` uniform in ``shifts``; the diagonal scaling changes the
    matrix but not the spectrum of its Jacobi matrix, so the optimal omega depends on ``c``
    alone (constant for a zero-width ``shifts``). ``features`` is ``(c,)``.
    """
    rng = np.random.default_rng(seed)
    systems = []
    for _ in range(count):
        shift = float(rng.uniform(*shifts))
        scale = np.diag(rng.uniform(0.5, 2.0, size=n))
        A = scale @ tridiagonal(n, shift) @ scale
        b = rng.normal(size=n)
        systems.append(LinearSystem(A=A, b=b, features=(shift,)))
    return systems


def sor_cost(tol: float = 1e-8, max_iter: int = 1000) -> Callable[[LinearSystem, Hashable], float]:
    """A cost function for :func:`tune_stream`: SOR iterations for a given omega."""

    def cost(system: LinearSystem, omega: Hashable) -> float:
        return float(sor(system.A, system.b, float(omega), tol=tol, max_iter=max_iter).iterations)  # type: ignore[arg-type]

    return cost
