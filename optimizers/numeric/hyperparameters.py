"""Range checks for numeric optimizers' hyperparameters, with one message shape for all.

A constructor states its rules as data, ``check_ranges(lr=(lr, ">= 0"), eps=(eps, "> 0"))``,
instead of an ``if``/``raise`` pair per argument, so a refused value always reads
"<name> must be <rule>, got <value>" and the rules read like the paper's table.
"""

from __future__ import annotations

from collections.abc import Callable

# Each rule as its violation, so a NaN is treated exactly as the comparisons it replaced did.
_VIOLATES: dict[str, Callable[[float], bool]] = {
    "> 0": lambda v: v <= 0,
    ">= 0": lambda v: v < 0,
    ">= 1": lambda v: v < 1,
    "in [0, 1)": lambda v: not 0 <= v < 1,
    "in [0, 1]": lambda v: not 0 <= v <= 1,
}

RULES = tuple(_VIOLATES)


def check_ranges(**values: tuple[float, str]) -> None:
    """Refuse the first hyperparameter outside its rule (one of :data:`RULES`).

    Raises ``ValueError("lr must be >= 0, got -1")``; the keyword is the argument's name.
    """
    for name, (value, rule) in values.items():
        if _VIOLATES[rule](value):
            raise ValueError(f"{name} must be {rule}, got {value}")
