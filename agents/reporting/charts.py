"""Inline SVG charts for the run page, drawn with matplotlib (the page needs no network).

Figures are built with matplotlib's object API, like ``optimizers.history.plot_history``: no
pyplot state and no backend switch, so making a page leaves the caller's matplotlib alone.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from agents.reporting.model import Series, UsagePoint

_SIZE = (7.0, 3.2)


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: the SVG is inlined


def _style(ax: Any, xlabel: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.grid(alpha=0.3)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def curves_svg(series: Sequence[Series], *, xlabel: str, ylabel: str) -> str | None:
    """One line per series (label ``name`` or ``name / group``); None when nothing to draw."""
    from matplotlib.figure import Figure

    drawable = [s for s in series if any(y is not None for y in s.ys)]
    if not drawable:
        return None
    fig = Figure(figsize=_SIZE)
    ax = fig.subplots()
    for s in drawable:
        points = [(x, y) for x, y in zip(s.xs, s.ys, strict=False) if y is not None]
        label = f"{s.name} / {s.group}" if s.group else s.name
        marker = "o" if len(points) < 60 else None
        ax.plot(*zip(*points, strict=True), marker=marker, markersize=3, label=label)
    _style(ax, xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return _tag(_svg(fig), "curves")


def usage_svg(points: Sequence[UsagePoint], *, xlabel: str) -> str | None:
    """Cumulative calls, tokens and (when priced) cost over the run, one small panel each."""
    from matplotlib.figure import Figure

    if not points:
        return None
    xs = [p.x for p in points]
    panels = [("calls", [float(p.calls) for p in points], "tab:green")]
    if any(p.tokens for p in points):
        panels.append(("tokens", [float(p.tokens) for p in points], "tab:blue"))
    if all(p.cost is not None for p in points) and any(p.cost for p in points):
        panels.append(("cost (USD)", [float(p.cost or 0.0) for p in points], "tab:red"))
    fig = Figure(figsize=(3.2 * len(panels), 2.6))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (title, ys, color) in zip(axes[0], panels, strict=True):
        ax.plot(xs, ys, color=color)
        ax.set_title(f"{title}, cumulative", fontsize=9)
        _style(ax, xlabel)
    fig.tight_layout()
    return _tag(_svg(fig), "usage")


def _tag(svg: str, kind: str) -> str:
    """Mark the chart so the page (and its tests) can find it: ``<svg data-chart="curves" ...``."""
    return re.sub(r"^<svg", f'<svg data-chart="{kind}"', svg, count=1)
