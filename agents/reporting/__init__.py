"""Run pages and experiment tracking for every run directory optoforge writes.

``load_run(path)`` reads any run directory into a ``RunView``; ``write_page(view, out)`` renders
it as one self-contained HTML page; ``track_run(path)`` logs it to MLflow. Names load lazily.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "RunView": "agents.reporting.model",
    "load_run": "agents.reporting.readers",
    "NotARunError": "agents.reporting.readers",
    "render_page": "agents.reporting.page",
    "write_page": "agents.reporting.page",
    "track_run": "agents.reporting.tracking",
    "TrackingError": "agents.reporting.tracking",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
