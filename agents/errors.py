"""The error group of the agents package.

Every public error raised by ``agents`` (solvers, formulation, AlphaOPT, ReSocratic, evaluation,
CLI) derives from :class:`AgentsError`, which derives from the project root
:class:`trace_core.errors.OptoforgeError`. Each class also keeps its builtin base (``ValueError``,
``RuntimeError``, ...) so existing ``except`` clauses still work.
"""

from __future__ import annotations

from trace_core.errors import OptoforgeError


class AgentsError(OptoforgeError):
    """Base class of every error raised by ``agents``; catch it to handle any of them."""
