"""The printed-output fallback on a corpus of outputs in the styles real solver programs print."""

from __future__ import annotations

import pytest

from trace_core.sandbox.stdout_result import label_weight, read_printed_result

GUROBI_MIP_LOG = """\
Set parameter Threads to value 1
Read parameters from file gurobi.env
Restricted license - for non-production use only - expires 2027-11-29
Set parameter TimeLimit to value 60
Gurobi Optimizer version 13.0.3 build v13.0.3rc0 (linux64 - "Debian GNU/Linux 12 (bookworm)")
Thread count: 2 physical cores, 2 logical processors, using up to 2 threads

Non-default parameters:
TimeLimit  60

Optimize a model with 2 rows, 2 columns and 4 nonzeros (Max)
Model fingerprint: 0xa3ce3a4e
Model has 2 linear objective coefficients and an objective constant of -0.0359
Coefficient statistics:
  Matrix range     [1e+00, 4e+00]
  Objective range  [3e+00, 5e+00]

Found heuristic solution: objective 28.7159000
Presolve time: 0.01s
Root relaxation: objective 3.100000e+01, 2 iterations, 0.00 seconds (0.00 work units)
     0     0 infeasible    0               -   41.00000      -     -    0s
H    0     0                      28.7159000   31.00000  7.95%     -    0s

Explored 1 nodes (0 simplex iterations) in 0.01 seconds (0.00 work units)
Thread count was 2 (of 2 available processors)

Solution count 2: 28.7159 27

Optimal solution found (tolerance 1.00e-04)
Best objective 2.871590000000e+01, best bound 2.871590000000e+01, gap 0.0000%
"""

GUROBI_LP_TAIL = """\
Solved in 2 iterations and 0.01 seconds (0.00 work units)
Optimal objective  3.243590000e+01
"""

SCIP_TAIL = """\
feasible solution found by trivial heuristic after 0.0 seconds, objective value 0.000000e+00
 time | node  | left  |LP iter|  dualbound   | primalbound  |  gap   | compl.
t 0.0s|     1 |     0 |     0 | 4.060976e+01 | 3.680000e+00 |1003.53%| unknown
SCIP Status        : problem is solved [optimal solution found]
Solving Time (sec) : 0.00
Solving Nodes      : 1
Primal Bound       : +2.86800000000000e+01 (3 solutions)
Dual Bound         : +2.86800000000000e+01
Gap                : 0.00 %
"""

HIGHS_TAIL = """\
Model status        : Optimal
Objective value     :  2.8833333333e+01
P-D objective error :  6.0557619525e-17
HiGHS run time      :          0.00
"""


@pytest.mark.parametrize(
    ("stdout", "objective"),
    [
        # the number after the label's separator, not a number inside the label
        ("Total value at End of Year 3: 510000.00 yuan", 510000.0),
        ("Total Profit over 3 years: 280000.00 yuan", 280000.0),
        ("Cost in week 2 is 1,250 dollars", 1250.0),
        # units, currencies and thousands separators
        ("The minimum cost is $1,234.50.", 1234.5),
        ("Maximum profit: 1,200,000 USD", 1200000.0),
        ("Optimal total cost = -$45.5", -45.5),
        ("Optimal value: 3.5e3 kg", 3500.0),
        ("Maximum return: 12.5%", 12.5),
        # result lines that name the objective in other words
        ("Minimum makespan: 7.0", 7.0),
        ("Optimal Revenue: 8000.0", 8000.0),
        ("Maximum Lawn Area: 2480.0", 2480.0),
        ("Optimal total hours: 14.0", 14.0),
        ("Minimum number of vans needed: 12", 12.0),
        ("obj val = .5", 0.5),
        ("Optimal solution found: x = 3, y = 4, objective = 25", 25.0),
        # dict and JSON result lines
        ("{'status': 'optimal', 'obj': 4}", 4.0),
        ('{"objective_value": 17.25, "x": 3, "y": 2}', 17.25),
        ("Result: {'total_cost': 910.0, 'status': 'Optimal'}", 910.0),
        ("{'maxProfit': '64.5'}", 64.5),
        # nothing that names an objective
        ("took 3.0 seconds", None),
        ("x = 3\ny = 4", None),
        ("Optimal production plan: 20 units of A", None),
    ],
)
def test_result_lines_read_the_stated_objective(stdout: str, objective: float | None) -> None:
    assert read_printed_result(stdout).objective == objective


@pytest.mark.parametrize(
    ("stdout", "objective"),
    [
        # a later breakdown does not override the objective
        (
            "Optimal total cost: 1520.0\nCalculated Total Costs: 1519.99\nTotal Revenue: 4000",
            1520.0,
        ),
        ("Objective value: 310\nTotal Revenue: 900\nTotal Cost: 590", 310.0),
        ("Total Profit: 280\nTotal Revenue: 900\nTotal Cost: 620", 280.0),
        ("Optimal number of A: 20\nOptimal number of B: 30\nMaximum profit: 500", 500.0),
        # the solver's full precision wins over the program's own rounding
        (GUROBI_LP_TAIL + "Optimal total cost: 32.44\nTotal Revenue: 99", 32.4359),
        ("Optimal total profit: 28.72\n" + GUROBI_MIP_LOG, 28.7159),
        (GUROBI_MIP_LOG + "Maximum profit: $28.72", 28.7159),
        # a minimisation of the negated profit: the sign the program states
        (GUROBI_LP_TAIL.replace("3.2435", "-3.2435") + "Max profit: 32.44", 32.4359),
        # the program states a different number (a constant it adds): its own statement
        (GUROBI_LP_TAIL + "Minimum total cost: 132.44", 132.44),
        # a weak label that disagrees with the solver loses to the solver
        (GUROBI_LP_TAIL + "Total units shipped: 70", 32.4359),
        (GUROBI_MIP_LOG, 28.7159),
        (SCIP_TAIL, 28.68),
        (HIGHS_TAIL, 28.833333333),
        # the last of several solver lines is the final solve
        (GUROBI_LP_TAIL.replace("3.2435", "9.9") + GUROBI_LP_TAIL, 32.4359),
    ],
)
def test_solver_and_stated_objective_win_over_breakdowns(stdout: str, objective: float) -> None:
    assert read_printed_result(stdout).objective == pytest.approx(objective, rel=1e-12)


@pytest.mark.parametrize(
    "stdout",
    [
        "Found heuristic solution: objective 67.99",
        "feasible solution found by trivial heuristic after 0.0 seconds, objective value 0.0",
        "Root relaxation: objective 6.500000e+01, 3 iterations, 0.00 seconds",
        "  Objective range  [3e+00, 5e+00]",
        "Model has 2 linear objective coefficients and an objective constant of -0.0359",
        "P-D objective error :  6.0557619525e-17",
        "x1                                                  5 \t(obj:5)",
        "Best bound: 41.0",
    ],
)
def test_incumbents_statistics_and_echoes_are_not_objectives(stdout: str) -> None:
    assert read_printed_result(stdout).objective is None


@pytest.mark.parametrize(
    ("stdout", "status"),
    [
        # parameter echoes never make a status
        ("Set parameter TimeLimit to value 60\nOptimal value: 4", "optimal"),
        (
            "Non-default parameters:\nTimeLimit  3600\n\nOptimal objective  4.000000000e+00",
            "optimal",
        ),
        (GUROBI_MIP_LOG, "optimal"),  # its node log says "infeasible" about one node
        (SCIP_TAIL, "optimal"),
        (HIGHS_TAIL, "optimal"),
        # statements of a status
        ("Model is infeasible", "infeasible"),
        ("Infeasible model", "infeasible"),
        ("Model is infeasible or unbounded", "infeasible_or_unbounded"),
        ("Unbounded model", "unbounded"),
        ("The problem is infeasible.", "infeasible"),
        ("Status: 3", "infeasible"),
        ("Optimization status: 2\nObjective: 10", "optimal"),
        ("Status: Optimal\nTotal cost: 5", "optimal"),
        ("Model status        : Infeasible", "infeasible"),
        (
            "SCIP Status        : solving was interrupted [time limit reached]\n"
            "Primal Bound       : +6.79900000000000e+01 (2 solutions)",
            "time_limit",
        ),
        (
            "Time limit reached\nBest objective 6.799e+01, best bound 6.5e+01, gap 4.41%",
            "time_limit",
        ),
        ("status: timelimit\nobj: 67.99", "time_limit"),
        ("{'status': 'infeasible', 'obj': None}", "infeasible"),
        ("No optimal solution found.", "no_solution"),
        ("x = 3", None),
    ],
)
def test_status_comes_only_from_status_statements(stdout: str, status: str | None) -> None:
    assert read_printed_result(stdout).status == status


def test_time_limited_run_keeps_its_incumbent_with_time_limit_status() -> None:
    result = read_printed_result(
        "Time limit reached\nBest objective 6.799e+01, best bound 7e+01, gap 3%"
    )
    assert (result.objective, result.status) == (67.99, "time_limit")


def test_an_infeasible_verdict_carries_no_objective() -> None:
    result = read_printed_result("Objective value: 12\nModel is infeasible")
    assert (result.objective, result.status) == (None, "infeasible")


@pytest.mark.parametrize(
    ("label", "weight"),
    [
        ("Objective value", 40),
        ("Minimum total cost", 30),
        ("Optimal solution", 20),
        ("Optimal number of trucks for route 2", 0),
        ("Best production plan", 0),
        ("Total Revenue", 10),
        ("Profit", 5),
        ("Best bound", 0),
        ("Solving time", 0),
        ("x", 0),
    ],
)
def test_label_weight_ranks_objective_labels_above_breakdowns(label: str, weight: int) -> None:
    assert label_weight(label) == weight
