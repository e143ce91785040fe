"""Typed errors and warnings raised by the trace graph.

Every error says what went wrong and what to do about it. ``OptoforgeError`` is the root of every
public error the project raises (trace_core, optimizers, agents); each package groups its own
errors under one base (``TraceError`` here), so callers catch as broadly or narrowly as they need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trace_core.nodes import ExceptionNode


class OptoforgeError(Exception):
    """Root of every public error optoforge raises; catch it to handle any of them."""


class TraceError(OptoforgeError):
    """Base class of every error raised by ``trace_core``."""


class ExecutionError(TraceError):
    """A traced operation raised; ``exception_node`` records the error inside the graph.

    Call ``err.exception_node.backward(feedback)`` (or use the node as an optimizer's output) so
    that the error message itself becomes the feedback for the parameters that produced it.
    """

    def __init__(self, exception_node: ExceptionNode) -> None:
        self.exception_node = exception_node
        exc = exception_node.exception
        super().__init__(
            f"{exception_node.op.name} raised {type(exc).__name__}: {exc} "
            f"(recorded as node {exception_node.label}; use err.exception_node as feedback)"
        )


class InvalidUpdate(TraceError, ValueError):
    """``ParameterNode.set()`` refused a value; the parameter keeps its previous value."""

    def __init__(self, parameter_label: str, reason: str) -> None:
        self.parameter_label = parameter_label
        self.reason = reason
        super().__init__(f"invalid update for parameter {parameter_label}: {reason}")


class GraphReleasedError(TraceError):
    """``backward()`` ran a second time from an output whose graph was not retained."""


class MissingInputsError(TraceError):
    """A bundled function read a node that was not passed to it as an argument."""


class SerializationError(TraceError):
    """A value cannot be written to, or read back from, the JSON format."""


class SandboxUnavailableError(TraceError):
    """``isolation="sandbox"`` was requested but ``trace_core.sandbox`` cannot be imported."""


class GraphvizNotFoundError(TraceError):
    """Rendering SVG/PNG needs the graphviz ``dot`` program on PATH."""


class DisconnectedFeedbackWarning(UserWarning):
    """Feedback was given to a node from which no trainable parameter can be reached."""
