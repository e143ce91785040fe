"""Read any run directory optoforge writes into one :class:`~agents.reporting.model.RunView`.

Each command keeps its own files (the trainer's ``history.jsonl`` + ``checkpoint.json``, the
evaluation's ``results.jsonl``, the prompt search's ``run.json`` + ``history.jsonl``, the
experience library's per-item records, the synthesizer's ``*.state.jsonl``). ``load_run`` finds
which one a path holds and reads it tolerantly: a torn last line (a run still writing or killed)
is skipped and noted, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from agents.reporting.model import (
    Change,
    ItemView,
    ParamDiff,
    RunView,
    Series,
    StepView,
    UsagePoint,
)
from trace_core.errors import OptoforgeError

_VALUE_CHARS = 4000


class NotARunError(OptoforgeError, ValueError):
    """The path holds no run that optoforge wrote."""


def load_run(path: str | Path) -> RunView:
    """The :class:`RunView` of the run at ``path`` (a run directory or a synthesizer output).

    Raises:
        NotARunError: when nothing at ``path`` looks like an optoforge run.
    """
    root = Path(path)
    if root.is_file():
        state = root if root.name.endswith(".state.jsonl") else Path(f"{root}.state.jsonl")
        if state.is_file():
            view = RunView(kind="synthesis", path=str(state), title=f"Synthesis {state.name}")
            _synthesis(state, view)
            return view
        raise NotARunError(f"{root} is a file, not a run directory: pass the run directory")
    if not root.is_dir():
        raise NotARunError(f"{root} does not exist: pass a run directory a command wrote")
    for kind, title, probe, reader in _READERS:
        if probe(root):
            view = RunView(kind=kind, path=str(root), title=f"{title} {root.name}")
            reader(root, view)
            view.images = sorted(p.name for p in root.glob("*.png"))
            graph = root / "graph.dot"
            if graph.is_file():
                view.graph_dot = graph.read_text(encoding="utf-8", errors="replace")
            return view
    raise NotARunError(
        f"{root} holds no optoforge run (looked for history.jsonl, results.jsonl, "
        "per-item library records and *.state.jsonl)"
    )


def read_jsonl(path: Path, notes: list[str] | None = None) -> list[dict[str, Any]]:
    """Every complete JSON object line of ``path``; a torn or bad line is skipped (and noted)."""
    rows: list[dict[str, Any]] = []
    if not path.is_file():
        return rows
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if notes is not None:
                notes.append(f"{path.name} line {number + 1} is incomplete and was skipped")
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _first_row(path: Path) -> dict[str, Any]:
    """The first JSON object line of ``path`` ({} when none): enough to tell a run's kind
    without parsing a long history (live mode asks again every few seconds)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    return row if isinstance(row, dict) else {}
    except (OSError, json.JSONDecodeError):
        pass
    return {}


def _read_json(path: Path, notes: list[str]) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except json.JSONDecodeError:
        notes.append(f"{path.name} could not be read (is the run still writing it?)")
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=1, default=str)
    return text if len(text) <= _VALUE_CHARS else text[:_VALUE_CHARS] + "\n... (truncated)"


def _running_total(name: str, counts: Iterable[float], *, mean: bool = False) -> Series:
    """The curve of a count summed item by item (``mean``: over the items so far, e.g. the
    accuracy so far), with the items numbered from 1."""
    xs: list[float] = []
    ys: list[float | None] = []
    total = 0.0
    for index, count in enumerate(counts, start=1):
        total += count
        xs.append(float(index))
        ys.append(total / index if mean else total)
    return Series(name=name, xs=xs, ys=ys)


def _cumulative_usage(rows: Iterable[tuple[float, int, int, float | None]]) -> list[UsagePoint]:
    points, calls, tokens, cost = [], 0, 0, 0.0
    cost_known = True
    for x, c, t, k in rows:
        calls, tokens = calls + c, tokens + t
        if k is None:
            cost_known = False
        else:
            cost += k
        points.append(
            UsagePoint(x=x, calls=calls, tokens=tokens, cost=cost if cost_known else None)
        )
    return points


# --- trainer (optimizers.Trainer, formulate train) -------------------------------------------


def _is_trainer(root: Path) -> bool:
    first = _first_row(root / "history.jsonl")
    return (root / "checkpoint.json").is_file() or "train_score" in first


def _trainer(root: Path, view: RunView) -> None:
    records = read_jsonl(root / "history.jsonl", view.notes)
    checkpoint = _read_json(root / "checkpoint.json", view.notes)
    view.config = dict(checkpoint.get("run") or {})
    optimizer = checkpoint.get("optimizer") or {}
    if isinstance(optimizer, dict) and optimizer.get("optimizer"):
        view.config["optimizer"] = optimizer["optimizer"]
    groups = sorted({str(r.get("optimizer") or "") for r in records})
    for group in groups:
        mine = [r for r in records if str(r.get("optimizer") or "") == group]
        xs = [float(r.get("step", i)) for i, r in enumerate(mine)]
        view.curves.append(
            Series(name="train", xs=xs, ys=[r.get("train_score") for r in mine], group=group)
        )
        if any(r.get("val_score") is not None for r in mine):
            view.curves.append(
                Series(name="validation", xs=xs, ys=[r.get("val_score") for r in mine], group=group)
            )
    for record in records:
        usage = record.get("usage") or {}
        view.steps.append(
            StepView(
                step=int(record.get("step", 0)),
                group=str(record.get("optimizer") or ""),
                label=f"epoch {record.get('epoch', 0)}, batch {record.get('batch', [])}",
                train_score=record.get("train_score"),
                val_score=record.get("val_score"),
                accepted=[
                    Change(parameter=k, value=_text(v))
                    for k, v in (record.get("updates") or {}).items()
                ],
                rejected=[
                    Change(
                        parameter=str(r.get("parameter", "?")),
                        value=_text(r.get("value")),
                        reason=str(r.get("reason", "")),
                    )
                    for r in record.get("rejected") or []
                ],
                reasoning=str(record.get("reasoning") or ""),
                feedback=[str(f) for f in record.get("feedback") or []],
                error=record.get("error"),
                calls=int(usage.get("calls", 0)),
                tokens=int(usage.get("total_tokens", 0)),
                cost=usage.get("cost", 0.0),
            )
        )
    view.usage = _cumulative_usage((s.step + 1, s.calls, s.tokens, s.cost) for s in view.steps)
    checkpoint.setdefault("initial", _read_json(root / "initial.json", view.notes))
    view.diffs = _trainer_diffs(records, checkpoint)
    best = checkpoint.get("best") or {}
    changed = {d.name for d in view.diffs}
    unchanged = sorted(set(checkpoint.get("initial") or {}) - changed)
    view.summary = {
        "steps": len(records),
        "best_score": best.get("score"),
        "best_step": best.get("step"),
        "calls": view.usage[-1].calls if view.usage else 0,
        "tokens": view.usage[-1].tokens if view.usage else 0,
        "cost": view.usage[-1].cost if view.usage else 0.0,
    }
    if unchanged:
        view.summary["unchanged parameters"] = ", ".join(unchanged)
    if checkpoint.get("stopped"):
        view.summary["stopped"] = checkpoint["stopped"]
    if _is_library(root):  # library learn/evolve, or formulate train with alphaopt
        _library_items(root, view)


def _trainer_diffs(records: list[dict[str, Any]], checkpoint: dict[str, Any]) -> list[ParamDiff]:
    """First and best (else last) value of every text parameter; the first values are the ones
    the trainer saved in ``initial.json`` before its first step."""
    initial: dict[str, Any] = dict(checkpoint.get("initial") or {})
    best = (checkpoint.get("best") or {}).get("parameters")
    label = "best"
    if not best:
        best = dict((checkpoint.get("optimizer") or {}).get("parameters") or {})
        label = "last"
        for record in records:  # later updates win
            best.update(record.get("updates") or {})
    diffs = []
    for name in sorted(set(initial) | set(best or {})):
        first, last = initial.get(name), (best or {}).get(name)
        if first == last:
            continue  # the page lists changes only; unchanged names are in the summary
        if isinstance(first, str) or isinstance(last, str):
            diffs.append(
                ParamDiff(
                    name=name,
                    first=_text(first) if first is not None else "",
                    best=_text(last) if last is not None else "",
                    best_label=label,
                )
            )
    return diffs


# --- evaluation (optoforge evaluate, library evaluate) -------------------------------------


def _is_evaluation(root: Path) -> bool:
    return (root / "results.jsonl").is_file()


def _evaluation(root: Path, view: RunView) -> None:
    rows = read_jsonl(root / "results.jsonl", view.notes)
    view.config = _read_json(root / "run.json", view.notes)
    report = _read_json(root / "report.json", view.notes)
    for index, row in enumerate(rows, start=1):
        view.items.append(
            ItemView(
                id=str(row.get("id", index)),
                outcome=str(row.get("outcome", "?")),
                source=str(row.get("source", "")),
                tags=[str(t) for t in row.get("tags") or []],
                correct=row.get("correct"),
                objective=row.get("objective"),
                gold=row.get("gold"),
                detail=str(row.get("error") or row.get("status") or ""),
                program=row.get("program"),
                log=row.get("log") or row.get("stderr") or row.get("error"),
            )
        )
    hits = [float(bool(row.get("correct"))) for row in rows]
    if hits:
        view.curves.append(_running_total("accuracy so far", hits, mean=True))
    correct = int(sum(hits))
    view.usage = _cumulative_usage(
        (float(i), int(r.get("attempts", 1) or 0), int(r.get("tokens", 0) or 0), r.get("cost"))
        for i, r in enumerate(rows, start=1)
    )
    scalars = {k: v for k, v in report.items() if isinstance(v, int | float | str)}
    view.summary = scalars or {
        "n": len(rows),
        "correct": correct,
        "accuracy": correct / len(rows) if rows else None,
    }


# --- prompt search (optoforge prompt optimize / ablate) ------------------------------------


def _is_prompt(root: Path) -> bool:
    return "strategy" in _first_row(root / "history.jsonl")


def _prompt(root: Path, view: RunView) -> None:
    rows = read_jsonl(root / "history.jsonl", view.notes)
    config = _read_json(root / "run.json", view.notes)
    view.config = {k: v for k, v in config.items() if k != "template"}
    previous_calls: dict[str, int] = {}
    for strategy in dict.fromkeys(str(r.get("strategy", "")) for r in rows):
        mine = [r for r in rows if str(r.get("strategy", "")) == strategy]
        xs = [float(r.get("step", i)) for i, r in enumerate(mine)]
        view.curves.append(
            Series(name="validation", xs=xs, ys=[r.get("val_score") for r in mine], group=strategy)
        )
        view.curves.append(
            Series(name="best", xs=xs, ys=[r.get("best_score") for r in mine], group=strategy)
        )
        instruction = str(config.get("instruction", ""))
        for row in mine:
            accepted = []
            if row.get("instruction") is not None and row["instruction"] != instruction:
                accepted.append(Change(parameter="instruction", value=_text(row["instruction"])))
                instruction = row["instruction"]
            if row.get("exemplar_ids"):
                accepted.append(Change(parameter="exemplars", value=", ".join(row["exemplar_ids"])))
            calls = int(row.get("calls", 0) or 0)
            view.steps.append(
                StepView(
                    step=int(row.get("step", 0)),
                    group=strategy,
                    label=str(row.get("kind", "")),
                    val_score=row.get("val_score"),
                    accepted=accepted,
                    reasoning=str(row.get("note", "")),
                    calls=calls - previous_calls.get(strategy, 0),
                )
            )
            previous_calls[strategy] = calls
        best = _read_json(root / "strategies" / f"{strategy}.json", view.notes).get("best") or {}
        if best.get("instruction") is not None:
            view.diffs.append(
                ParamDiff(
                    name=f"instruction ({strategy})",
                    first=str(config.get("instruction", "")),
                    best=str(best["instruction"]),
                )
            )
    view.usage = _cumulative_usage((float(i), s.calls, 0, None) for i, s in enumerate(view.steps))
    results = _read_json(root / "results.json", view.notes)
    view.summary = {f"{r.get('strategy')} val": r.get("val") for r in results.get("rows") or []}


# --- experience library (library learn / evolve) -------------------------------------------


def _library_records(root: Path) -> list[tuple[str, Path]]:
    """(phase, file) of each per-item record, in the run dir or its phase subdirectories."""
    found = []
    for directory in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        for path in sorted(directory.glob("*.json")):
            try:
                head = path.read_text(encoding="utf-8", errors="replace")[:200]
            except OSError:
                continue
            if '"item_id"' in head:
                found.append((directory.name if directory != root else "", path))
    return found


def _is_library(root: Path) -> bool:
    return bool(_library_records(root))


def _library(root: Path, view: RunView) -> None:
    rows = _library_items(root, view)
    view.usage = _cumulative_usage(
        (float(i), 0, int(r.get("tokens", 0) or 0), r.get("cost")) for i, r in enumerate(rows, 1)
    )
    view.summary = {"records": len(rows), "insights added": view.summary["insights added"]}


def _library_items(root: Path, view: RunView) -> list[dict[str, Any]]:
    """The per-item records as the item table and an "insights added" curve; returns them."""
    rows = []
    for phase, path in _library_records(root):
        record = _read_json(path, view.notes)
        if not record:
            continue
        rows.append(record)
        view.items.append(
            ItemView(
                id=str(record.get("item_id")),
                outcome=str(record.get("status", "?")),
                source=phase,
                detail="; ".join(str(n) for n in record.get("notes") or [])[:_VALUE_CHARS],
                tags=[f"added {i}" for i in record.get("added") or []],
            )
        )
    added_per_item = [len(r.get("added") or []) for r in rows]
    view.curves.append(_running_total("insights added", added_per_item))
    view.summary["insights added"] = sum(added_per_item)
    return rows


# --- synthesis (optoforge synthesize) ------------------------------------------------------


def _synthesis(state: Path, view: RunView) -> None:
    rows = read_jsonl(state, view.notes)
    view.config = next((r["config"] for r in rows if "config" in r), {})
    tasks = sorted((r for r in rows if "task" in r), key=lambda r: r["task"])
    written_per_task = []
    for row in tasks:
        stats = row.get("stats") or {}
        mine = int((stats.get("counts") or {}).get("written", 0))
        written_per_task.append(mine)
        dropped = stats.get("dropped") or {}
        view.items.append(
            ItemView(
                id=f"sample {row['task']}",
                outcome=f"{mine} written" if mine else "dropped",
                detail="; ".join(f"{k}: {v}" for k, v in dropped.items()),
            )
        )
    view.curves.append(_running_total("problems written", written_per_task))
    written = sum(written_per_task)
    view.usage = _cumulative_usage(
        (float(i), int(u.get("calls", 0)), int(u.get("total_tokens", 0)), u.get("cost"))
        for i, u in enumerate(((r.get("stats") or {}).get("usage") or {} for r in tasks), 1)
    )
    view.summary = {"samples": len(tasks), "written": written}


# (kind, title, probe, reader): the first kind whose probe accepts a directory reads it into a
# fresh view titled "<title> <directory name>".
_READERS: list[tuple[str, str, Callable[[Path], bool], Callable[[Path, RunView], None]]] = [
    ("trainer", "Training run", _is_trainer, _trainer),
    ("prompt", "Prompt search", _is_prompt, _prompt),
    ("evaluation", "Evaluation", _is_evaluation, _evaluation),
    ("library", "Experience library run", _is_library, _library),
]
