"""The ``optoforge`` command line: one module per command group, assembled in ``app``.

``formulate`` (formulate.py), ``evaluate`` (evaluate.py), ``viz`` (viz.py), ``demo`` (demo.py),
``prompt`` (prompt.py), ``synthesize`` (synthesize.py), ``library`` (library.py) and ``solve``
(solve.py); shared one-line error handling lives in common.py.
"""

from __future__ import annotations

from agents.cli.app import app, create_app, main

__all__ = ["app", "create_app", "main"]
