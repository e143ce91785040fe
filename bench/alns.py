"""ALNS vs the plain solver at equal wall time on generated hard MIPs.

    python bench/alns.py [--time-limit 18] [--backends highs,scip] [--with-balans]

Instances (fixed seeds): set cover 500x1000, combinatorial auctions 150 items x 750 bids and
400 x 2000, capacitated facility location 100 customers x 50 sites; each takes plain HiGHS past
20 s. Methods: plain solver and ALNS over it, per backend (HiGHS by default; SCIP with
--backends highs,scip), and balans over SCIP with --with-balans. For each instance and method
the incumbent trajectory is recorded (HiGHS through its improving-solution callback, SCIP
through a best-solution event handler, ALNS through its own trajectory) and scored by

- final objective, and
- primal integral: the integral over [0, T] of the primal gap
  ``|z* - z(t)| / max(|z*|, |z(t)|)`` (1 while there is no incumbent), where z* is the best
  objective any method found; reported in seconds (lower is better; T means "never found").

Timings on a shared machine are noisy: the table reports what this run measured, once per
method (no repetitions: 4 instances x 2 methods x 18 s keeps the default run near 3 minutes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as a script, sys.path[0] is bench/, where this file would shadow the `alns` library:
# put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from agents.solvers.alns import (  # noqa: E402
    AlnsSolver,
    balans_available,
    combinatorial_auction,
    facility_location,
    set_cover,
    solve_with_balans,
)
from agents.solvers.model import Model, ObjectiveSense  # noqa: E402

Trajectory = list[tuple[float, float]]


def instances() -> list[tuple[str, Model]]:
    return [
        ("set cover 500x1000", set_cover(500, 1000, 0.05, seed=1)),
        ("auction 150x750", combinatorial_auction(150, 750, 6, seed=1)),
        ("facility 100x50", facility_location(100, 50, 5.0, seed=1)),
        ("auction 400x2000", combinatorial_auction(400, 2000, 6, seed=2)),
    ]


def plain_highs(model: Model, time_limit: float) -> tuple[Trajectory, float | None]:
    """HiGHS on the full model, recording each improving incumbent through its callback."""
    from agents.solvers.highs import model_to_highs, new_highs

    h = new_highs()
    h.setOptionValue("time_limit", time_limit)
    start = time.perf_counter()
    model_to_highs(model, h)
    trajectory: Trajectory = []

    def improved(event) -> None:  # type: ignore[no-untyped-def]
        trajectory.append(
            (time.perf_counter() - start, float(event.data_out.objective_function_value))
        )

    h.cbMipImprovingSolution.subscribe(improved)
    h.run()
    bound = h.getInfo().mip_dual_bound
    return trajectory, float(bound)


def plain_scip(model: Model, time_limit: float) -> tuple[Trajectory, float | None]:
    """SCIP on the full model, recording each new best solution through an event handler."""
    from pyscipopt import SCIP_EVENTTYPE, Eventhdlr
    from pyscipopt import Model as ScipModel

    from agents.solvers.scip import model_to_scip

    scip = ScipModel()
    scip.hideOutput(True)
    scip.setParam("limits/time", time_limit)
    start = time.perf_counter()
    model_to_scip(model, scip)
    trajectory: Trajectory = []

    class BestSolution(Eventhdlr):  # type: ignore[misc]
        def eventinit(self) -> None:
            self.model.catchEvent(SCIP_EVENTTYPE.BESTSOLFOUND, self)

        def eventexec(self, event) -> None:  # type: ignore[no-untyped-def]
            sol = self.model.getBestSol()
            trajectory.append((time.perf_counter() - start, float(self.model.getSolObjVal(sol))))

    scip.includeEventhdlr(BestSolution(), "best-solution", "records incumbents")
    scip.optimize()
    bound = float(scip.getDualbound())
    scip.freeProb()
    return trajectory, bound


def primal_integral(traj: Trajectory, best: float, horizon: float) -> float:
    """Integral of the primal gap over [0, horizon] for a step-function incumbent."""
    total, gap, last = 0.0, 1.0, 0.0
    for t, z in traj:
        t = min(t, horizon)
        total += gap * (t - last)
        last = t
        denom = max(abs(best), abs(z))
        gap = 0.0 if denom == 0 else abs(best - z) / denom
    return total + gap * (horizon - last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time-limit", type=float, default=18.0)
    parser.add_argument("--backends", default="highs", help="comma-separated: highs,scip")
    parser.add_argument("--with-balans", action="store_true", help="also run balans (SCIP)")
    args = parser.parse_args()
    T = args.time_limit
    import alns  # noqa: F401  (import cost outside the timed runs)
    import mabwiser.mab  # noqa: F401

    rows = []
    for name, model in instances():
        runs: dict[str, tuple[Trajectory, float | None]] = {}
        alns_info: dict[str, tuple[int, str]] = {}
        for backend in args.backends.split(","):
            plain = {"highs": plain_highs, "scip": plain_scip}[backend]
            label = {"highs": "HiGHS", "scip": "SCIP"}[backend]
            print(f"{name}: plain {label} {T:g} s ...", file=sys.stderr, flush=True)
            runs[label] = plain(model, T)
            print(f"{name}: ALNS+{label} {T:g} s ...", file=sys.stderr, flush=True)
            result = AlnsSolver(backend, policy="ucb", seed=0).solve(model, T)
            method = f"ALNS+{label} (ucb, HC)"
            runs[method] = (result.trajectory, result.bound)
            ops = {k: v for k, v in result.operators.items() if v.selected}
            wins = ", ".join(f"{k} {v.best}/{v.selected}" for k, v in ops.items() if v.best)
            alns_info[method] = (result.iterations, wins)
        if args.with_balans and balans_available():
            print(f"{name}: balans+SCIP {T:g} s ...", file=sys.stderr, flush=True)
            bal = solve_with_balans(model, time_limit=T, seed=1)
            runs["balans+SCIP"] = (bal.trajectory, None)
        maximize = model.sense is ObjectiveSense.MAXIMIZE
        finals = {k: (tr[-1][1] if tr else None) for k, (tr, _) in runs.items()}
        found = [z for z in finals.values() if z is not None]
        best = (max if maximize else min)(found)
        for method, (traj, _) in runs.items():
            rows.append(
                (
                    name,
                    method,
                    finals[method],
                    primal_integral(traj, best, T),
                    traj[0][0] if traj else None,
                    alns_info.get(method, (None, ""))[1],
                    alns_info.get(method, (None, ""))[0],
                )
            )
    print(f"\nEqual wall time T = {T:g} s per method (one run each; 2 shared cores).\n")
    print(
        "| instance | method | final objective | primal integral (s) | first incumbent (s) "
        "| ALNS iterations | ALNS new-best per operator (best/selected) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, method, final, pi, first, wins, iters in rows:
        final_s = "none" if final is None else f"{final:.2f}"
        first_s = "-" if first is None else f"{first:.1f}"
        iters_s = "" if iters is None else str(iters)
        print(f"| {name} | {method} | {final_s} | {pi:.2f} | {first_s} | {iters_s} | {wins} |")


if __name__ == "__main__":
    main()
