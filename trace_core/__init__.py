"""trace_core: record a workflow as a graph (OPTO) and propagate feedback through it.

Public names are loaded lazily so that ``import trace_core`` stays cheap and never imports
torch, openai or litellm.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    # graph nodes and errors
    "Node": "trace_core.nodes",
    "ParameterNode": "trace_core.nodes",
    "MessageNode": "trace_core.nodes",
    "ExceptionNode": "trace_core.nodes",
    "OptoforgeError": "trace_core.errors",
    "TraceError": "trace_core.errors",
    "ExecutionError": "trace_core.errors",
    "InvalidUpdate": "trace_core.errors",
    "MissingInputsError": "trace_core.errors",
    "GraphReleasedError": "trace_core.errors",
    "SerializationError": "trace_core.errors",
    "SandboxUnavailableError": "trace_core.errors",
    "GraphvizNotFoundError": "trace_core.errors",
    "DisconnectedFeedbackWarning": "trace_core.errors",
    "CodePolicyError": "trace_core.code_policy",
    # building graphs
    "node": "trace_core.bundle",
    "bundle": "trace_core.bundle",
    "BundledFunction": "trace_core.bundle",
    "no_trace": "trace_core.bundle",
    "Op": "trace_core.operators",
    "model": "trace_core.module",
    "NodeList": "trace_core.containers",
    "NodeDict": "trace_core.containers",
    "NodeTuple": "trace_core.containers",
    "Seq": "trace_core.containers",
    "Map": "trace_core.containers",
    "apply_op": "trace_core.containers",
    "stop_tracing": "trace_core.bundle",
    "NestedMessageNode": "trace_core.nested_call",
    "Module": "trace_core.module",
    # walking, propagating, summarizing
    "topological_order": "trace_core.graph",
    "ancestors": "trace_core.graph",
    "subgraph": "trace_core.graph",
    "parameters_of": "trace_core.graph",
    "to_networkx": "trace_core.graph",
    "Propagator": "trace_core.propagators",
    "FeedbackPropagator": "trace_core.propagators",
    "register": "trace_core.propagators",
    "unregister": "trace_core.propagators",
    "summarize": "trace_core.summary",
    "TraceSummary": "trace_core.summary",
    "visualize": "trace_core.visualize",
    "save_graph": "trace_core.serialize",
    "graph_to_json": "trace_core.serialize",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
