"""Programs the benchmarks run in the sandbox, written once.

``KNAPSACK_MODEL`` builds and solves a seeded 40-item knapsack MILP in pyscipopt as ``m``; each
benchmark appends how the program reports its objective (a printed line or ``report(...)``).
"""

KNAPSACK_MODEL = """
import random
from pyscipopt import Model, quicksum
rng = random.Random(0)
w = [rng.randint(5, 40) for _ in range(40)]
v = [rng.randint(5, 60) for _ in range(40)]
m = Model(); m.hideOutput()
x = [m.addVar(vtype="B") for _ in w]
m.addCons(quicksum(a * b for a, b in zip(w, x)) <= sum(w) // 3)
m.setObjective(quicksum(a * b for a, b in zip(v, x)), "maximize")
m.optimize()
"""
