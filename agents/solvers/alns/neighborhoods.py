"""Destroy operators of the MIP ALNS: each turns an incumbent into a smaller sub-MIP.

A destroy operator never touches the solver. It returns a :class:`Neighborhood` (variables to
fix, bounds to tighten, constraints to add, optionally a replacement objective) and
:func:`restrict` applies it to the neutral `Model`. Every neighborhood except proximity's
improvement cut contains the incumbent, so the repair solve (the backend on the sub-MIP) can
always return a solution at least as good; the search re-checks every repaired solution against
the original model anyway.

Operators (the neighborhoods of the LNS-for-MIP literature that Balans also uses):
``random`` frees the variables of randomly drawn constraints; ``mutation`` fixes a random
subset of integer variables; ``local_branching`` allows at most k binary flips; ``rins`` fixes
the variables where incumbent and LP relaxation agree; ``dins`` bounds each integer variable by
its distance to the LP value; ``crossover`` fixes the variables where two pooled solutions
agree; ``proximity`` looks for the closest solution that improves the objective.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from agents.solvers.model import (
    Constraint,
    ConstraintSense,
    Model,
    ObjectiveSense,
    Variable,
    VarType,
)

_EPS = 1e-6


@dataclass
class Neighborhood:
    """How to cut a sub-MIP out of the model around the incumbent."""

    fix: dict[str, float] = field(default_factory=dict)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    constraints: list[Constraint] = field(default_factory=list)
    objective: dict[str, float] | None = None  # replaces the objective (minimized) when set


@dataclass
class SearchContext:
    """What destroy operators may read: the model, the incumbent, the LP optimum, the pool."""

    model: Model
    incumbent: dict[str, float]
    incumbent_objective: float
    rng: random.Random
    destroy_rate: float = 0.3
    lp_values: dict[str, float] | None = None
    pool: list[dict[str, float]] = field(default_factory=list)

    def integer_variables(self) -> list[Variable]:
        """The model's integer and binary variables."""
        return [v for v in self.model.variables if v.is_integral]

    def binary_variables(self) -> list[Variable]:
        """The model's binary variables."""
        return [v for v in self.model.variables if _is_binary(v)]


DestroyOperator = Callable[[SearchContext], Neighborhood | None]


def _is_binary(var: Variable) -> bool:
    return var.type is VarType.BINARY or (
        var.type is VarType.INTEGER and var.lower >= 0 and var.upper <= 1
    )


def _fix_all_but(ctx: SearchContext, free: set[str]) -> Neighborhood:
    return Neighborhood(
        fix={v.name: ctx.incumbent[v.name] for v in ctx.integer_variables() if v.name not in free}
    )


def mutation(ctx: SearchContext) -> Neighborhood:
    """Fix a random ``1 - destroy_rate`` share of the integer variables to their incumbent value."""
    ints = ctx.integer_variables()
    k = max(1, round(ctx.destroy_rate * len(ints)))
    free = {v.name for v in ctx.rng.sample(ints, min(k, len(ints)))}
    return _fix_all_but(ctx, free)


def random_constraints(ctx: SearchContext) -> Neighborhood:
    """Free every integer variable of randomly drawn constraints until ``destroy_rate`` is free.

    Unlike ``mutation`` it frees variables that interact, which is what lets a sub-MIP move.
    """
    ints = {v.name for v in ctx.integer_variables()}
    target = max(1, round(ctx.destroy_rate * len(ints)))
    order = list(range(len(ctx.model.constraints)))
    ctx.rng.shuffle(order)
    free: set[str] = set()
    for i in order:
        free.update(n for n in ctx.model.constraints[i].coefficients if n in ints)
        if len(free) >= target:
            break
    return _fix_all_but(ctx, free)


def local_branching(ctx: SearchContext) -> Neighborhood | None:
    """Allow at most ``k = destroy_rate * #binaries`` binaries to flip (Fischetti & Lodi)."""
    binaries = ctx.binary_variables()
    if not binaries:
        return None
    k = max(1, math.floor(ctx.destroy_rate * len(binaries)))
    coefficients: dict[str, float] = {}
    ones = 0
    for var in binaries:
        if ctx.incumbent[var.name] > 0.5:
            coefficients[var.name] = -1.0
            ones += 1
        else:
            coefficients[var.name] = 1.0
    # sum_{x*=0} x + sum_{x*=1} (1 - x) <= k  <=>  sum coef * x <= k - ones
    cut = Constraint(
        name="_alns_local_branching",
        coefficients=coefficients,
        sense=ConstraintSense.LE,
        rhs=float(k - ones),
    )
    return Neighborhood(constraints=[cut])


def rins(ctx: SearchContext) -> Neighborhood | None:
    """Fix the integer variables whose incumbent value equals their LP-relaxation value."""
    if ctx.lp_values is None:
        return None
    fix = {
        v.name: ctx.incumbent[v.name]
        for v in ctx.integer_variables()
        if abs(ctx.incumbent[v.name] - ctx.lp_values.get(v.name, math.nan)) < _EPS
    }
    if not fix:
        return None
    return Neighborhood(fix=fix)


def dins(ctx: SearchContext) -> Neighborhood | None:
    """Bound each integer variable to within its incumbent-to-LP distance of the LP value.

    Binaries whose incumbent value is the LP value's rounding are fixed; a general integer x
    with incumbent x* and LP value l gets ``|x - l| <= |x* - l|`` (Ghosh's distance-induced
    neighborhood), which always contains the incumbent.
    """
    if ctx.lp_values is None:
        return None
    hood = Neighborhood()
    for var in ctx.integer_variables():
        inc = ctx.incumbent[var.name]
        lp = ctx.lp_values.get(var.name, inc)
        if _is_binary(var):
            if abs(inc - lp) < 0.5:
                hood.fix[var.name] = inc
            continue
        dist = abs(inc - lp)
        low = max(var.lower, math.ceil(lp - dist - _EPS))
        high = min(var.upper, math.floor(lp + dist + _EPS))
        if low == high:
            hood.fix[var.name] = low
        elif (low, high) != (var.lower, var.upper):
            hood.bounds[var.name] = (low, high)
    if not hood.fix and not hood.bounds:
        return None
    return hood


def crossover(ctx: SearchContext) -> Neighborhood | None:
    """Fix the integer variables on which the incumbent and another pooled solution agree."""
    others = [s for s in ctx.pool if s is not ctx.incumbent and s != ctx.incumbent]
    if not others:
        return None
    mate = ctx.rng.choice(others)
    fix = {
        v.name: ctx.incumbent[v.name]
        for v in ctx.integer_variables()
        if abs(ctx.incumbent[v.name] - mate[v.name]) < _EPS
    }
    return Neighborhood(fix=fix)


def proximity(ctx: SearchContext) -> Neighborhood | None:
    """Minimize the Hamming distance to the incumbent subject to a strictly better objective.

    (Fischetti & Monaci's proximity search.) The improvement step is 1 when the objective
    only takes integer values, else a small relative step.
    """
    binaries = ctx.binary_variables()
    if not binaries or ctx.model.objective_quadratic:
        return None
    model = ctx.model
    integral_objective = all(
        float(c).is_integer() and model.variable(n).is_integral for n, c in model.objective.items()
    )
    step = 1.0 if integral_objective else 1e-4 * max(1.0, abs(ctx.incumbent_objective))
    linear = dict(model.objective)
    target = ctx.incumbent_objective - model.objective_constant
    if model.sense is ObjectiveSense.MINIMIZE:
        cut = Constraint(
            name="_alns_proximity", coefficients=linear, sense=ConstraintSense.LE, rhs=target - step
        )
    else:
        cut = Constraint(
            name="_alns_proximity", coefficients=linear, sense=ConstraintSense.GE, rhs=target + step
        )
    distance = {v.name: (-1.0 if ctx.incumbent[v.name] > 0.5 else 1.0) for v in binaries}
    return Neighborhood(constraints=[cut], objective=distance)


OPERATORS: dict[str, DestroyOperator] = {
    "random": random_constraints,
    "mutation": mutation,
    "local_branching": local_branching,
    "rins": rins,
    "dins": dins,
    "crossover": crossover,
    "proximity": proximity,
}


def restrict(model: Model, hood: Neighborhood) -> Model:
    """The sub-MIP: ``model`` with the neighborhood's fixings, bounds, cuts and objective."""
    variables = []
    for var in model.variables:
        if var.name in hood.fix:
            value = float(round(hood.fix[var.name])) if var.is_integral else hood.fix[var.name]
            variables.append(var.model_copy(update={"lower": value, "upper": value}))
        elif var.name in hood.bounds:
            low, high = hood.bounds[var.name]
            variables.append(var.model_copy(update={"lower": low, "upper": high}))
        else:
            variables.append(var)
    update: dict[str, object] = {
        "variables": variables,
        "constraints": [*model.constraints, *hood.constraints],
    }
    if hood.objective is not None:
        update.update(
            objective=hood.objective,
            objective_quadratic=[],
            objective_constant=0.0,
            sense=ObjectiveSense.MINIMIZE,
        )
    # Constraints are shared, not copied: sub-MIPs never mutate them.
    return model.model_copy(update=update)


def relax(model: Model) -> Model:
    """The LP relaxation: every integer and binary variable made continuous, bounds kept."""
    variables = [
        v.model_copy(update={"type": VarType.CONTINUOUS}) if v.is_integral else v
        for v in model.variables
    ]
    return model.model_copy(update={"variables": variables})


def clean_values(model: Model, values: Mapping[str, float]) -> dict[str, float]:
    """Solver values with integral variables rounded (solvers return 0.9999999 for 1)."""
    out = {}
    for var in model.variables:
        x = float(values.get(var.name, 0.0))
        out[var.name] = float(round(x)) if var.is_integral else x
    return out


def operator_names(names: Sequence[str] | None = None) -> list[str]:
    """Validated operator names (all of them when ``names`` is None)."""
    if names is None:
        return list(OPERATORS)
    unknown = [n for n in names if n not in OPERATORS]
    if unknown or not names:
        raise ValueError(
            f"unknown destroy operator(s) {unknown!r}; choose from {sorted(OPERATORS)}"
        )
    return list(names)
