"""Seeded generators of classic hard MIP families, as neutral `Model`s.

The families used to evaluate learned MIP heuristics (Gasse et al.; Balans): set cover,
combinatorial auctions and capacitated facility location. Sizes are parameters so tests use
tiny instances and benchmarks use instances a plain solver needs tens of seconds for.
"""

from __future__ import annotations

import random

from agents.solvers.model import ConstraintSense, Model, ObjectiveSense, VarType

__all__ = ["combinatorial_auction", "facility_location", "set_cover"]


def set_cover(n_rows: int = 200, n_cols: int = 400, density: float = 0.05, seed: int = 0) -> Model:
    """Minimum-cost set cover: every row covered by a chosen column (Balas & Ho style costs)."""
    rng = random.Random(seed)
    model = Model(name=f"setcover-{n_rows}x{n_cols}-s{seed}")
    for j in range(n_cols):
        model.add_variable(f"x{j}", 0.0, 1.0, VarType.BINARY)
    for i in range(n_rows):
        k = max(2, round(density * n_cols * rng.uniform(0.5, 1.5)))
        cols = sorted(rng.sample(range(n_cols), k))
        model.add_constraint(f"cover{i}", {f"x{j}": 1.0 for j in cols}, ConstraintSense.GE, 1.0)
    model.set_objective({f"x{j}": float(rng.randint(1, 100)) for j in range(n_cols)})
    return model


def combinatorial_auction(
    n_items: int = 100, n_bids: int = 500, max_bundle: int = 6, seed: int = 0
) -> Model:
    """Winner determination: accept bids for item bundles, each item sold at most once.

    Bundles favour items that are "close" (a circular neighbourhood, as in the arbitrary
    relationships of Leyton-Brown's CATS) and prices are super-additive in the items' values,
    which makes bids compete in overlapping ways.
    """
    if n_items < 2 or n_bids < 1 or max_bundle < 2:
        raise ValueError(
            f"an auction needs n_items >= 2, n_bids >= 1 and max_bundle >= 2; got "
            f"{n_items}, {n_bids}, {max_bundle}"
        )
    rng = random.Random(seed)
    value = [rng.uniform(1.0, 100.0) for _ in range(n_items)]
    model = Model(name=f"auction-{n_items}x{n_bids}-s{seed}")
    bundles, objective = [], {}
    for b in range(n_bids):
        size = rng.randint(2, min(max_bundle, n_items))
        start = rng.randrange(n_items)
        bundle = {start}
        while len(bundle) < size:
            step = int(rng.expovariate(0.3)) + 1
            bundle.add(
                (max(bundle) + step) % n_items if rng.random() < 0.5 else rng.randrange(n_items)
            )
        bundles.append(bundle)
        price = sum(value[i] for i in bundle) * (1.0 + 0.2 * rng.random()) * len(bundle) ** 0.2
        model.add_variable(f"bid{b}", 0.0, 1.0, VarType.BINARY)
        objective[f"bid{b}"] = round(price, 2)
    for item in range(n_items):
        holders = [f"bid{b}" for b, bundle in enumerate(bundles) if item in bundle]
        if len(holders) > 1:
            model.add_constraint(
                f"item{item}", dict.fromkeys(holders, 1.0), ConstraintSense.LE, 1.0
            )
    model.set_objective(objective, ObjectiveSense.MAXIMIZE)
    return model


def facility_location(
    n_customers: int = 100, n_facilities: int = 40, ratio: float = 5.0, seed: int = 0
) -> Model:
    """Capacitated facility location (Cornuéjols et al.): open facilities, serve all demand.

    Continuous ``y[i,j]`` is the share of customer i's demand served by facility j, binary
    ``open[j]`` pays a fixed cost; ``ratio`` is total capacity over total demand.
    """
    rng = random.Random(seed)
    cx = [rng.random() for _ in range(n_customers)]
    cy = [rng.random() for _ in range(n_customers)]
    fx = [rng.random() for _ in range(n_facilities)]
    fy = [rng.random() for _ in range(n_facilities)]
    demand = [rng.randint(5, 35) for _ in range(n_customers)]
    capacity = [rng.randint(10, 160) for _ in range(n_facilities)]
    scale = ratio * sum(demand) / sum(capacity)
    capacity = [round(c * scale) for c in capacity]
    fixed = [round(rng.randint(100, 110) * c**0.5 + rng.randint(0, 90)) for c in capacity]
    model = Model(name=f"facility-{n_customers}x{n_facilities}-s{seed}")
    for j in range(n_facilities):
        model.add_variable(f"open{j}", 0.0, 1.0, VarType.BINARY)
    objective: dict[str, float] = {f"open{j}": float(fixed[j]) for j in range(n_facilities)}
    for i in range(n_customers):
        for j in range(n_facilities):
            name = f"y{i}_{j}"
            model.add_variable(name, 0.0, 1.0)
            dist = ((cx[i] - fx[j]) ** 2 + (cy[i] - fy[j]) ** 2) ** 0.5
            objective[name] = round(10.0 * dist * demand[i], 3)
            # Tight linking y <= open strengthens the relaxation (the classic formulation).
            model.add_constraint(
                f"link{i}_{j}", {name: 1.0, f"open{j}": -1.0}, ConstraintSense.LE, 0.0
            )
        shares = {f"y{i}_{j}": 1.0 for j in range(n_facilities)}
        model.add_constraint(f"demand{i}", shares, ConstraintSense.EQ, 1.0)
    for j in range(n_facilities):
        coefficients = {f"y{i}_{j}": float(demand[i]) for i in range(n_customers)}
        coefficients[f"open{j}"] = -float(capacity[j])
        model.add_constraint(f"capacity{j}", coefficients, ConstraintSense.LE, 0.0)
    opened = {f"open{j}": float(capacity[j]) for j in range(n_facilities)}
    model.add_constraint("total_capacity", opened, ConstraintSense.GE, float(sum(demand)))
    model.set_objective(objective)
    return model
