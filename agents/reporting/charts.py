"""Inline SVG charts for the run page, drawn with matplotlib (the page needs no network)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from agents.reporting.model import Series, UsagePoint

_SIZE = (7.0, 3.2)


def _svg(fig: object) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: the SVG is inlined


def _fresh_axes() -> tuple[object, object]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=_SIZE)
    ax.grid(alpha=0.3)
    return fig, ax


def curves_svg(series: Sequence[Series], *, xlabel: str, ylabel: str) -> str | None:
    """One line per series (label ``name`` or ``name / group``); None when nothing to draw."""
    drawable = [s for s in series if any(y is not None for y in s.ys)]
    if not drawable:
        return None
    fig, ax = _fresh_axes()
    for s in drawable:
        points = [(x, y) for x, y in zip(s.xs, s.ys, strict=False) if y is not None]
        label = f"{s.name} / {s.group}" if s.group else s.name
        ax.plot(
            *zip(*points, strict=True),
            marker="o" if len(points) < 60 else None,  # type: ignore[attr-defined]
            markersize=3,
            label=label,
        )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # type: ignore[attr-defined]
    ax.set_xlabel(xlabel)  # type: ignore[attr-defined]
    ax.set_ylabel(ylabel)  # type: ignore[attr-defined]
    ax.legend(fontsize=8)  # type: ignore[attr-defined]
    return _tag(_svg(fig), "curves")


def usage_svg(points: Sequence[UsagePoint], *, xlabel: str) -> str | None:
    """Cumulative calls, tokens and (when priced) cost over the run, one small panel each."""
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    xs = [p.x for p in points]
    panels = [("calls", [float(p.calls) for p in points], "tab:green")]
    if any(p.tokens for p in points):
        panels.append(("tokens", [float(p.tokens) for p in points], "tab:blue"))
    if all(p.cost is not None for p in points) and any(p.cost for p in points):
        panels.append(("cost (USD)", [float(p.cost or 0.0) for p in points], "tab:red"))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.6), squeeze=False)
    for ax, (title, ys, color) in zip(axes[0], panels, strict=True):
        ax.plot(xs, ys, color=color)
        ax.set_title(f"{title}, cumulative", fontsize=9)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return _tag(_svg(fig), "usage")


def _tag(svg: str, kind: str) -> str:
    """Mark the chart so the page (and its tests) can find it: ``<svg data-chart="curves" ...``."""
    return re.sub(r"^<svg", f'<svg data-chart="{kind}"', svg, count=1)
