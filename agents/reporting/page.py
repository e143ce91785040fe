"""Render a :class:`RunView` as one self-contained HTML page (no network when it is viewed).

Charts are inline SVG (matplotlib), diffs are tables from :mod:`difflib`, the item table is
filtered and paged by a few lines of inline script over embedded JSON, and the traced graph is
inline SVG when graphviz's ``dot`` is installed (its DOT text otherwise).
"""

from __future__ import annotations

import base64
import difflib
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from agents.reporting.charts import curves_svg, usage_svg
from agents.reporting.model import RunView

_TEMPLATE = "run.html"
_X_LABELS = {
    "trainer": "step",
    "prompt": "step",
    "evaluation": "items finished",
    "library": "records",
    "synthesis": "samples",
}


def render_page(view: RunView, *, refresh_s: int | None = None) -> str:
    """The page's HTML; ``refresh_s`` makes the browser reload it (live mode)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("agents.reporting", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    env.filters["fmt"] = _fmt
    xlabel = _X_LABELS.get(view.kind, "step")
    items = [item.model_dump(mode="json") for item in view.items]
    return env.get_template(_TEMPLATE).render(
        view=view,
        refresh_s=refresh_s,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        curves=curves_svg(view.curves, xlabel=xlabel, ylabel="score"),
        usage=usage_svg(view.usage, xlabel=xlabel),
        diffs=[
            (d.name, d.best_label, _diff_table(d.first, d.best, d.best_label)) for d in view.diffs
        ],
        graph_svg=_graph_svg(view.graph_dot),
        images=[(name, _png_data_uri(Path(view.path) / name)) for name in view.images],
        items_json=_script_json(items),
        outcomes=sorted({i.outcome for i in view.items}),
        sources=sorted({i.source for i in view.items if i.source}),
        tags=sorted({t for i in view.items for t in i.tags}),
    )


def write_page(view: RunView, out: str | Path, *, refresh_s: int | None = None) -> Path:
    """Write the page atomically (a browser reloading it never sees half a file)."""
    from trace_core.durable import write_atomic

    target = Path(out)
    write_atomic(target, render_page(view, refresh_s=refresh_s))
    return target


def _fmt(value: object) -> str:
    """Summary values: floats to four significant digits, None as "unknown"."""
    if value is None:
        return "unknown"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _diff_table(first: str, best: str, best_label: str) -> str:
    differ = difflib.HtmlDiff(tabsize=4, wrapcolumn=80)
    return differ.make_table(
        first.splitlines(), best.splitlines(), "first", best_label, context=False
    )


def _graph_svg(dot_text: str | None) -> str | None:
    if not dot_text or shutil.which("dot") is None:
        return None
    from trace_core.visualize import write_dot

    with tempfile.TemporaryDirectory() as tmp:
        try:
            svg = write_dot(dot_text, Path(tmp) / "graph.svg").read_text(encoding="utf-8")
        except Exception:  # a graph that does not render still leaves its DOT text on the page
            return None
    return svg[svg.index("<svg") :] if "<svg" in svg else None


def _png_data_uri(path: Path) -> str:
    try:
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return ""


def _script_json(value: object) -> str:
    """JSON that is safe inside ``<script>`` (no ``</script>`` or ``<!--`` can end it early)."""
    text = json.dumps(value, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
