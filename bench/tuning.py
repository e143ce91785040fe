"""Online tuning of SOR's omega over a stream of linear systems ("Learning to Relax" setting).

    python bench/tuning.py [--count 300]

Two seeded streams of 30x30 tridiagonal systems ``S T(c) S`` (random diagonal scaling S, so
the optimal omega depends on c alone and is known analytically, Young's formula):

- fixed: c = 0.05 for every system (the best fixed omega is the per-instance optimum);
- moving: c uniform in [0, 0.6] (the optimum moves with c; a contextual tuner can follow it).

Every arm is run on every system once, so each policy's cumulative SOR iterations can be set
against the best fixed omega in hindsight, Gauss-Seidel (omega = 1), and the per-instance
oracle (best grid omega per system). Iterations are capped at 300 (tol 1e-8).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# Run as a script, sys.path[0] is bench/, where this file would shadow the `alns` library:
# put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from agents.solvers.tuning import (  # noqa: E402
    ContextualTuner,
    ParameterTuner,
    optimal_sor_omega,
    sor_cost,
    sor_stream,
)

OMEGAS = [round(1.0 + 0.1 * k, 1) for k in range(10)]
CAP = 300


def run_policy(tuner, table: np.ndarray, contexts=None) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Replay the stream with precomputed costs (identical to running SOR: it is deterministic)."""
    costs = []
    for i in range(table.shape[0]):
        if contexts is None:
            arm = tuner.choose()
            cost = table[i, OMEGAS.index(arm)]
            tuner.observe(arm, cost)
        else:
            arm = tuner.choose(contexts[i])
            cost = table[i, OMEGAS.index(arm)]
            tuner.observe(arm, cost, contexts[i])
        costs.append(cost)
    return np.cumsum(costs)


def bench(label: str, shifts: tuple[float, float], count: int) -> None:
    stream = sor_stream(count, n=30, shifts=shifts, seed=2024)
    cost = sor_cost(max_iter=CAP)
    table = np.array([[cost(s, w) for w in OMEGAS] for s in stream])
    per_arm = table.sum(axis=0)
    best = int(np.argmin(per_arm))
    rows = {
        f"best fixed omega in hindsight ({OMEGAS[best]})": np.cumsum(table[:, best]),
        "Gauss-Seidel (omega = 1.0)": np.cumsum(table[:, 0]),
        "per-instance oracle (best grid omega)": np.cumsum(table.min(axis=1)),
    }
    for policy in ("epsilon_greedy", "ucb", "thompson"):
        tuner = ParameterTuner(OMEGAS, cost_cap=CAP, policy=policy, alpha=0.1, epsilon=0.05)
        rows[f"bandit: {policy}"] = run_policy(tuner, table)
    contexts = [s.features for s in stream]
    if shifts[0] != shifts[1]:
        for policy in ("linucb", "lingreedy"):
            contextual = ContextualTuner(
                OMEGAS, cost_cap=CAP, bounds=[shifts], policy=policy, alpha=0.2, epsilon=0.05
            )
            rows[f"contextual: {policy} on Chebyshev(c), degree 2"] = run_policy(
                contextual, table, contexts
            )
    omega_star = [optimal_sor_omega(s.A) for s in stream[:: max(1, count // 5)]]
    checkpoints = [count // 4, count // 2, count]
    ref = rows[f"best fixed omega in hindsight ({OMEGAS[best]})"]
    print(
        f"\n### {label}: {count} systems, c in [{shifts[0]}, {shifts[1]}]; "
        f"Young's omega* on samples: {', '.join(f'{w:.3f}' for w in omega_star)}\n"
    )
    header = " | ".join(f"cum. iters @ {c}" for c in checkpoints)
    print(f"| policy | {header} | / best fixed @ {count} |")
    print("|---|" + "---|" * (len(checkpoints) + 1))
    for name, cum in rows.items():
        cells = " | ".join(f"{int(cum[c - 1])}" for c in checkpoints)
        print(f"| {name} | {cells} | {cum[-1] / ref[-1]:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    bench("fixed optimum", (0.05, 0.05), args.count)
    bench("moving optimum", (0.0, 0.6), args.count)


if __name__ == "__main__":
    main()
