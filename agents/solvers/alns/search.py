"""Adaptive large-neighborhood search over any MIP backend, with bandit operator selection.

The loop is the ``alns`` library's (maintained; Balans builds on it too): each iteration a
bandit (:class:`.selection.BanditSelector` over ``mabwiser``) picks a destroy operator, the
operator cuts a sub-MIP around the current solution (:mod:`.neighborhoods`), the backend solves
the sub-MIP within a sub-time-limit, warm-started from the current solution through the
backend contract (``backend.solve(model, limit, start=..., options=...)``), and an acceptance
criterion (hill climbing or simulated annealing) decides whether the repaired solution becomes
the current one. The bandit is rewarded by the outcome: new best > better than current >
accepted > rejected.

The search is anytime: it stops at ``time_limit`` and returns the incumbent, its gap to the LP
relaxation bound, the incumbent trajectory and per-operator statistics, whatever happened.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any

from agents.solvers.alns.neighborhoods import (
    OPERATORS,
    Neighborhood,
    SearchContext,
    clean_values,
    relax,
    restrict,
)
from agents.solvers.alns.result import AlnsError, AlnsResult, OperatorStats
from agents.solvers.alns.selection import BanditSelector
from agents.solvers.alns.settings import AlnsSettings
from agents.solvers.base import SolverBackend, SolveResult, SolveStatus
from agents.solvers.model import Model, ObjectiveSense

_POOL_SIZE = 5
_FEAS_TOL = 1e-5
_OBJ_TOL = 1e-9
# quick_start: stop the initial solve at the backend's first solution, so the search starts
# improving it at once instead of waiting out a share of the budget.
_FIRST_SOLUTIONS: dict[str, dict[str, Any]] = {
    "highs": {"mip_max_improving_sols": 1},
    "scip": {"limits/bestsol": 1},
}
_MIN_SOLVE_SECONDS = 0.05
_RATE_OPERATORS = ("random", "mutation", "local_branching")  # sized by an adaptive rate


@dataclass
class _State:
    """An ALNS solution: values and the cost the library minimizes (objective, sign-adjusted)."""

    values: dict[str, float] | None
    cost: float
    hood: Neighborhood | None = None
    op: str = ""

    def objective(self) -> float:
        return self.cost


class AlnsSolver:
    """ALNS meta-solver over a `SolverBackend`: ``AlnsSolver("highs").solve(model, 60)``.

    How it searches is an :class:`~agents.solvers.alns.settings.AlnsSettings`: ``settings``,
    with any of its fields changed by keyword (``AlnsSolver("scip", policy="thompson")``).
    """

    def __init__(
        self,
        backend: str | SolverBackend = "highs",
        settings: AlnsSettings | None = None,
        **changes: Any,
    ) -> None:
        if isinstance(backend, str):
            from agents.solvers import get

            self.backend = get(backend)
        else:
            self.backend = backend
        self.settings = AlnsSettings.of(settings, **changes)

    # -- public ----------------------------------------------------------------------------

    def solve(
        self,
        model: Model,
        time_limit: float = 60.0,
        *,
        initial: dict[str, float] | None = None,
        max_iterations: int | None = None,
    ) -> AlnsResult:
        """Improve a solution of ``model`` by ALNS until ``time_limit`` seconds pass.

        ``initial`` is a feasible starting solution (else the backend finds one);
        ``max_iterations`` stops earlier after that many destroy-repair iterations (status
        ``iteration_limit``; ``time_limit`` when the clock stopped it; ``optimal`` only when the
        incumbent meets the LP bound).
        """
        if not (time_limit > 0 and math.isfinite(time_limit)):
            raise AlnsError(f"time_limit must be a positive number of seconds, got {time_limit}")
        # alns and mabwiser pull in matplotlib and scikit-learn (seconds on a busy machine):
        # import them before the clock starts so the whole budget goes to the search.
        import alns  # noqa: F401
        import mabwiser.mab  # noqa: F401

        return _Run(self, model, time_limit, max_iterations).run(initial)


class _Run:
    """One ALNS run: owns the clock, the incumbent, the pool and the statistics."""

    def __init__(
        self, solver: AlnsSolver, model: Model, time_limit: float, max_iterations: int | None
    ) -> None:
        self.solver = solver
        self.settings = solver.settings
        self.max_iterations = max_iterations
        self.model = model
        self.start = time.perf_counter()
        self.deadline = self.start + time_limit
        self.time_limit = time_limit
        self.sub_limit = self.settings.sub_time_limit or min(10.0, max(0.5, time_limit / 30.0))
        self.sign = 1.0 if model.sense is ObjectiveSense.MINIMIZE else -1.0
        self.rng = random.Random(self.settings.seed)
        self.stats = {name: OperatorStats() for name in self.settings.operators}
        self.rates = dict.fromkeys(self.settings.operators, self.settings.destroy_rate)
        self.pool: list[tuple[float, dict[str, float]]] = []
        self.best_cost = math.inf
        self.trajectory: list[tuple[float, float]] = []
        self.lp_values: dict[str, float] | None = None
        self.bound: float | None = None
        self.log: list[str] = []
        self.hit_iteration_limit = False

    # -- clock and bookkeeping -------------------------------------------------------------

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def _solve(
        self,
        model: Model,
        limit: float,
        start: dict[str, float] | None = None,
        options: dict[str, Any] | None = None,
    ) -> SolveResult | None:
        limit = min(limit, self.remaining())
        if limit < _MIN_SOLVE_SECONDS:
            return None
        return self.solver.backend.solve(model, limit, start=start, options=options)

    def _record(self, values: dict[str, float], cost: float) -> None:
        """Add a feasible solution to the pool and the trajectory (if it is a new best)."""
        if math.isinf(self.best_cost) or cost < self.best_cost - _OBJ_TOL * max(
            1.0, abs(self.best_cost)
        ):
            self.best_cost = cost
            self.trajectory.append((self.elapsed(), self.sign * cost))
        if all(values != v for _, v in self.pool):
            self.pool.append((cost, values))
            self.pool.sort(key=lambda item: item[0])
            del self.pool[_POOL_SIZE:]

    def _feasible_cost(self, result: SolveResult | None) -> tuple[dict[str, float], float] | None:
        if result is None or not result.has_solution:
            return None
        values = clean_values(self.model, result.values)
        if not self.model.is_feasible(values, tol=_FEAS_TOL):
            self.log.append("a repaired solution violated the original model; rejected")
            return None
        return values, self.sign * self.model.objective_value(values)

    # -- phases ----------------------------------------------------------------------------

    def run(self, start: dict[str, float] | None) -> AlnsResult:
        if not self.model.is_mip:
            result = self._solve(self.model, self.remaining())
            return self._finish_plain(result, "the model has no integer variables: solved as is")
        if start is not None:
            values = clean_values(self.model, start)
            if not self.model.is_feasible(values, tol=_FEAS_TOL):
                worst = self.model.max_violation(values)
                raise AlnsError(
                    f"the initial solution violates the model by {worst:g}; pass a feasible "
                    "solution or none (the backend then finds one)"
                )
            cost = self.sign * self.model.objective_value(values)
            self._record(values, cost)
        else:
            initial = self._initial_solution()
            if isinstance(initial, AlnsResult):
                return initial
            values, cost = initial
        # The LP relaxation (bound, RINS/DINS reference) comes after the first incumbent, so
        # that the run has a solution to return as early as the plain solver would.
        self._solve_relaxation()
        gap = self._gap(cost)
        if gap is not None and gap <= 1e-9:
            return self._finish(values, cost, 0, proven=True)
        iterations = self._iterate(values, cost)
        best_cost, best_values = self.pool[0]
        return self._finish(best_values, best_cost, iterations, proven=False)

    def _solve_relaxation(self) -> None:
        result = self._solve(relax(self.model), max(self.sub_limit, 0.1 * self.time_limit))
        if result is not None and result.status is SolveStatus.OPTIMAL and result.has_solution:
            self.lp_values = dict(result.values)
            self.bound = result.objective

    def _initial_solution(self) -> tuple[dict[str, float], float] | AlnsResult:
        """Solve the full model briefly, doubling the limit until a solution appears."""
        limit = max(self.sub_limit, self.settings.initial_fraction * self.time_limit)
        options = (
            _FIRST_SOLUTIONS.get(self.solver.backend.name) if self.settings.quick_start else None
        )
        while self.remaining() >= _MIN_SOLVE_SECONDS:
            result = self._solve(self.model, limit, options=options)
            if result is None:
                break
            found = self._feasible_cost(result)
            if result.status is SolveStatus.OPTIMAL and found is not None:
                self._record(*found)
                return self._finish(found[0], found[1], 0, proven=True)
            if found is not None:
                self._record(*found)
                return found
            if result.status in (
                SolveStatus.INFEASIBLE,
                SolveStatus.UNBOUNDED,
                SolveStatus.INFEASIBLE_OR_UNBOUNDED,
                SolveStatus.ERROR,
                SolveStatus.UNSUPPORTED,
                SolveStatus.UNAVAILABLE,
            ):
                return self._finish_plain(result, "the initial solve ended without a solution")
            limit *= 2.0
        return self._finish_plain(None, "no feasible solution found within the time limit")

    def _iterate(self, values: dict[str, float], cost: float) -> int:
        from alns import ALNS
        from alns.accept import HillClimbing, SimulatedAnnealing
        from alns.stop import MaxIterations, MaxRuntime
        from numpy.random import default_rng

        engine = ALNS(default_rng(self.settings.seed))
        for name in self.settings.operators:
            engine.add_destroy_operator(self._destroy_op(name), name=name)
        engine.add_repair_operator(self._repair, name="solver")
        select = BanditSelector(
            len(self.settings.operators),
            policy=self.settings.policy,
            epsilon=self.settings.epsilon,
            alpha=self.settings.alpha,
            seed=self.settings.seed,
        )
        if self.settings.acceptance == "hill_climbing":
            accept: Any = HillClimbing()
        else:
            expected = max(10, int(self.remaining() / max(self.sub_limit, 1e-3)))
            # Accept a 5 % worse solution with probability 1/2 at the start, cooling to ~0.
            accept = SimulatedAnnealing.autofit(max(abs(cost), 1.0), 0.05, 0.5, expected)
        runtime = MaxRuntime(max(self.remaining(), 0.0))
        budget = MaxIterations(self.max_iterations) if self.max_iterations is not None else None

        def stop(rng: Any, best: Any, current: Any) -> bool:
            if budget is not None and budget(rng, best, current):
                return True
            return bool(runtime(rng, best, current))

        result = engine.iterate(_State(values, cost), select, accept, stop)
        for name, counts in result.statistics.destroy_operator_counts.items():
            stats = self.stats[name]
            stats.best, stats.better, stats.accepted, stats.rejected = (int(c) for c in counts)
        for name, rate in self.rates.items():
            if name in _RATE_OPERATORS:
                self.stats[name].destroy_rate = rate
        iterations = len(result.statistics.objectives) - 1
        self.hit_iteration_limit = (
            self.max_iterations is not None and iterations >= self.max_iterations
        )
        return iterations

    def _destroy_op(self, name: str) -> Any:
        operator = OPERATORS[name]

        def destroy(state: _State, rng: Any, **_: Any) -> _State:
            self.stats[name].selected += 1
            ctx = SearchContext(
                model=self.model,
                incumbent=state.values or {},
                incumbent_objective=self.sign * state.cost,
                rng=self.rng,
                destroy_rate=self.rates[name],
                lp_values=self.lp_values,
                pool=[v for _, v in self.pool],
            )
            hood = operator(ctx)
            if hood is None:
                self.stats[name].not_applicable += 1
            return _State(state.values, state.cost, hood=hood, op=name)

        return destroy

    def _repair(self, state: _State, rng: Any, **_: Any) -> _State:
        rejected = _State(state.values, math.inf)
        if state.hood is None:
            return rejected
        stats = self.stats[state.op]
        began = time.perf_counter()
        start = state.values if self.settings.warm_start else None
        result = self._solve(restrict(self.model, state.hood), self.sub_limit, start)
        stats.seconds += time.perf_counter() - began
        found = self._feasible_cost(result)
        self._adapt_rate(state, result, found)
        if found is None:
            stats.no_solution += 1
            return rejected
        values, cost = found
        if abs(cost - state.cost) <= _OBJ_TOL * max(1.0, abs(state.cost)):
            cost = state.cost  # float noise is not an improvement: do not reward it as one
        self._record(values, cost)
        return _State(values, cost)

    def _adapt_rate(
        self,
        state: _State,
        result: SolveResult | None,
        found: tuple[dict[str, float], float] | None,
    ) -> None:
        """Grow the neighborhood after a fruitless optimal solve, shrink it on a timeout."""
        if state.op not in _RATE_OPERATORS or result is None:
            return
        rate = self.rates[state.op]
        if result.status is SolveStatus.OPTIMAL:
            if found is not None and found[1] >= state.cost - _OBJ_TOL * max(1.0, abs(state.cost)):
                rate = min(0.9, rate * 1.2)
        elif result.status is SolveStatus.TIME_LIMIT:
            rate = max(0.02, rate * 0.8)
        self.rates[state.op] = rate

    # -- results ---------------------------------------------------------------------------

    def _gap(self, cost: float) -> float | None:
        if self.bound is None:
            return None
        objective = self.sign * cost
        return abs(objective - self.bound) / max(abs(objective), 1e-9)

    def _finish(
        self, values: dict[str, float], cost: float, iterations: int, *, proven: bool
    ) -> AlnsResult:
        gap = 0.0 if proven else self._gap(cost)
        if gap is not None and gap <= 1e-9:
            status = SolveStatus.OPTIMAL
        elif self.hit_iteration_limit:
            status = SolveStatus.ITERATION_LIMIT
        else:
            status = SolveStatus.TIME_LIMIT
        return AlnsResult(
            status=status,
            objective=self.sign * cost,
            values=values,
            time=self.elapsed(),
            bound=self.sign * cost if proven else self.bound,
            gap=gap,
            iterations=iterations,
            operators=self.stats,
            trajectory=self.trajectory,
            solver=f"alns+{self.solver.backend.name}",
            message="; ".join(dict.fromkeys(self.log)),
        )

    def _finish_plain(self, result: SolveResult | None, message: str) -> AlnsResult:
        if result is None:
            return AlnsResult(
                status=SolveStatus.TIME_LIMIT,
                time=self.elapsed(),
                bound=self.bound,
                operators=self.stats,
                solver=f"alns+{self.solver.backend.name}",
                message=message,
            )
        return AlnsResult(
            status=result.status,
            objective=result.objective,
            values=result.values,
            time=self.elapsed(),
            log_tail=result.log_tail,
            bound=self.bound,
            operators=self.stats,
            trajectory=[(self.elapsed(), result.objective)]
            if result.objective is not None and result.values
            else [],
            solver=f"alns+{self.solver.backend.name}",
            message=f"{message}: {result.message}" if result.message else message,
        )


def solve_alns(
    model: Model,
    *,
    backend: str | SolverBackend = "highs",
    time_limit: float = 60.0,
    **options: Any,
) -> AlnsResult:
    """Solve ``model`` with ALNS over ``backend`` for ``time_limit`` seconds (see `AlnsSolver`)."""
    return AlnsSolver(backend, **options).solve(model, time_limit)
