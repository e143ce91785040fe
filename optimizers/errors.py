"""The error group of the optimizers package.

Every public error raised by ``optimizers`` derives from :class:`OptimizerError`, which derives
from the project root :class:`trace_core.errors.OptoforgeError`. Each class also keeps the builtin
base it always had (``ValueError``, ``KeyError``, ...) so existing ``except`` clauses still work.
"""

from __future__ import annotations

from trace_core.errors import OptoforgeError


class OptimizerError(OptoforgeError):
    """Base class of every error raised by ``optimizers`` (LLM, numeric, prompting, trainer)."""


class NothingToOptimizeError(OptimizerError, ValueError):
    """An optimizer was built over parameters none of which it will ever update.

    Raised at construction so a run that would change nothing fails before it starts; pass the
    parameters you mean to train (trainable nodes, or tensors for numeric optimizers).
    """
