"""Compile a demonstration's formal ``//`` lines into a pyscipopt program (test oracle only).

Used to check that every shipped seed is a solvable model, in one sandbox run for all seeds.
"""

from __future__ import annotations

import re

from agents.resocratic.demonstration import Demonstration

_OPS = re.compile(r"(<=|>=|==|=|<|>)")
_TYPES = {"continuous": "C", "integer": "I", "binary": "B"}


def _python(expr: str) -> str:
    return expr.strip().replace("^", "**")


def _comparisons(line: str) -> list[str]:
    """``0 <= x <= 9`` -> ["0 <= x", "x <= 9"]; a single '=' becomes '=='."""
    parts = _OPS.split(line)
    terms, ops = parts[::2], parts[1::2]
    return [
        f"{_python(terms[i])} {'==' if op == '=' else op} {_python(terms[i + 1])}"
        for i, op in enumerate(ops)
    ]


def model_code(demo: Demonstration, key: str) -> list[str]:
    lines = ["m = Model()", "m.hideOutput()"]
    for var in demo.variables:
        lines.append(
            f"{var.symbol} = m.addVar({var.symbol!r}, vtype={_TYPES[var.type]!r}, lb=None)"
        )
        if var.type != "binary":
            lines += [f"m.addCons({c})" for c in _comparisons(var.range)]
    objective = demo.sections[2].formal[0].split(":", 1)[1]
    lines += [
        "z = m.addVar('z', lb=None)",
        f"m.addCons(z == {_python(objective)})",
        f"m.setObjective(z, {demo.sense!r})",
    ]
    for section in demo.constraints:
        for line in section.formal:
            lines += [f"m.addCons({c})" for c in _comparisons(line)]
    lines += [
        "m.optimize()",
        f"results[{key!r}] = m.getObjVal() if m.getStatus() == 'optimal' else None",
    ]
    return lines


def program(demos: dict[str, Demonstration]) -> str:
    """One program solving every demonstration; reports {key: optimal objective or None}."""
    lines = ["from pyscipopt import Model, exp, log, sqrt", "results = {}"]
    for key, demo in demos.items():
        lines += model_code(demo, key)
    lines.append("report(0.0, 'optimal', results)")
    return "\n".join(lines) + "\n"
