"""Trace's ``opto.trace`` namespace spelled with trace_core names, so a Trace program ports by
changing ``from opto import trace`` to ``from trace_core import compat as trace``.

Only names whose behaviour matches are offered; see docs/coming_from_trace.md for the map and
the deliberate differences.
"""

from __future__ import annotations

from trace_core import functional as operators
from trace_core import propagators
from trace_core.bundle import bundle, node
from trace_core.bundle import no_trace as stop_tracing
from trace_core.containers import Map, NodeDict, NodeList, NodeTuple, Seq, apply_op
from trace_core.errors import ExecutionError
from trace_core.module import Module, model
from trace_core.nodes import ExceptionNode, MessageNode, Node, ParameterNode

__all__ = [
    "ExceptionNode",
    "ExecutionError",
    "Map",
    "MessageNode",
    "Module",
    "Node",
    "NodeDict",
    "NodeList",
    "NodeTuple",
    "ParameterNode",
    "Seq",
    "apply_op",
    "bundle",
    "model",
    "node",
    "operators",
    "propagators",
    "stop_tracing",
]
