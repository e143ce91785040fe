"""Training a FormulationProgram with the framework's optimizers (``formulate train``).

The program is trained by :class:`optimizers.Trainer`: minibatches of items, the formulation
guide's (score, feedback) sent back through each traced formulation, one optimizer step per
batch, validation after every step with keep-best, ``history.jsonl``, ``checkpoint.json`` and
``scores.png`` in the run directory, and exact resume. Optimizers: optoprime, opro, textgrad,
gepa (reflective Pareto search) and alphaopt (the experience library trains the insight set),
or a ``+`` combination where each steps on the same feedback. The run directory also gets
``best.json`` (the trained program), ``initial_program.json`` (the starting program, loadable
like ``best.json``), ``val_before.json``
and ``llm_calls.jsonl``, a journal with one line per LLM call (cached or paid, tokens, cost) that
survives kills, so a resumed run reports every call the whole run made.

It lives above ``agents.formulation`` and ``agents.alphaopt`` because it composes them: the
formulation program is what is trained, the experience library is one of the optimizers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agents.evaluation.dataset import Item
from agents.formulation.guide import formulation_guide
from agents.formulation.workflow import FormulationProgram
from optimizers.base import Optimizer
from optimizers.history import StepRecord
from optimizers.trainer import Trainer
from trace_core.durable import append_line, write_atomic
from trace_core.errors import OptoforgeError

OPTIMIZERS = ("optoprime", "opro", "textgrad", "gepa", "alphaopt")


class TrainSetupError(OptoforgeError, ValueError):
    """The training settings cannot work (unknown optimizer, empty data, ...)."""


class FormulationTrainReport(BaseModel):
    """What ``formulate train --json`` prints: accuracy before/after and what it cost."""

    optimizer: str
    val_before: float | None
    val_after: float | None
    steps: int = Field(description="optimizer steps finished in the whole run")
    best_step: int | None = Field(description="-1: the initial program was never beaten")
    calls: int = Field(description="LLM calls that reached the model (cache hits excluded)")
    cached_calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    run_dir: str
    program: str = Field(description="path of the trained program (best.json)")
    changed: list[str] = Field(default_factory=list, description="parameters that changed")
    stopped: str | None = None


def parse_optimizer(spec: str) -> list[str]:
    """``"optoprime+alphaopt"`` -> ``["optoprime", "alphaopt"]`` (validated, no repeats)."""
    names = [part.strip().lower() for part in spec.split("+") if part.strip()]
    unknown = [n for n in names if n not in OPTIMIZERS]
    if not names or unknown or len(set(names)) != len(names):
        raise TrainSetupError(
            f"--optimizer {spec!r}: use one of {', '.join(OPTIMIZERS)} or a '+' combination "
            "of different ones (e.g. optoprime+alphaopt)"
        )
    if names.count("alphaopt") == len(names) == 1:
        return names
    prompt_optimizers = [n for n in names if n != "alphaopt"]
    if len(prompt_optimizers) > 1:
        raise TrainSetupError(
            f"--optimizer {spec!r}: {' and '.join(prompt_optimizers)} would both train the "
            "prompts; combine at most one prompt optimizer with alphaopt"
        )
    return names


def _attach_budget(llm: Any, max_calls: int | None) -> None:
    if max_calls is None:
        return
    from trace_core.llm import Budget

    if hasattr(llm, "budget"):
        llm.budget = Budget(max_calls=max_calls)
    else:
        raise TrainSetupError("--budget-calls needs an LLM from trace_core.llm (it has no budget)")


def build_optimizer(
    names: Sequence[str],
    program: FormulationProgram,
    llm: Any,
    *,
    alphaopt: Any = None,
    items: Sequence[Item] = (),
    val_pairs: Sequence[Any] = (),
    run_dir: Path,
) -> Optimizer:
    """The optimizer (or combination) for ``names`` over the program's parameters."""
    members: list[Optimizer] = []
    prompts = program.prompt_parameters()
    objective = (
        "Change the prompts so that the programs the model writes solve the problems "
        "correctly: the reported objective must equal the gold optimum."
    )
    for name in names:
        if name == "optoprime":
            from optimizers.optoprime import OptoPrime

            members.append(OptoPrime(prompts, llm=llm, objective=objective, memory_size=3))
        elif name == "opro":
            from optimizers.opro import OPRO

            members.append(OPRO(prompts, llm=llm, objective=objective))
        elif name == "textgrad":
            from optimizers.textgrad import TextGrad

            members.append(TextGrad(prompts, llm=llm, objective=objective))
        elif name == "gepa":
            members.append(_gepa(prompts, program, llm, val_pairs))
        elif name == "alphaopt":
            from agents.alphaopt.optimizer import LibraryOptimizer

            members.append(
                LibraryOptimizer(
                    [program.insights], alphaopt=alphaopt, items=items, run_dir=run_dir
                )
            )
    if len(members) == 1:
        return members[0]
    from optimizers.combined import CombinedOptimizer

    return CombinedOptimizer(members)


def _gepa(prompts: list[Any], program: FormulationProgram, llm: Any, val: Sequence[Any]) -> Any:
    from optimizers.gepa import GEPA

    return GEPA(
        prompts,
        forward=lambda item: program(item.question),
        guide=formulation_guide,
        val_set=list(val),
        llm=llm,
    )


def _alphaopt(
    llm: Any, run_dir: Path, library: str | Path | None, program_kw: dict[str, Any]
) -> Any:
    from agents.alphaopt.pipeline import AlphaOpt
    from agents.alphaopt.solving import SolveSettings

    solve = SolveSettings(
        solver=program_kw["solver"],
        max_repairs=program_kw["max_repairs"],
        timeout_s=program_kw["timeout_s"],
    )
    return AlphaOpt(library or run_dir / "library.sqlite", llm, solve=solve)


CALLS_FILE = "llm_calls.jsonl"


@contextmanager
def _journaled_calls(llm: Any, path: Path) -> Iterator[None]:
    """Append one line per finished LLM call to ``path`` (fsynced), for the whole run.

    The journal survives a kill, so a resumed run reports every call the run paid for, and
    how many were answered by the cache instead.
    """
    tracker = getattr(llm, "usage", None)
    original = getattr(tracker, "record", None)
    if tracker is None or original is None:
        yield
        return

    def record(call: Any) -> None:
        original(call)
        usage = getattr(call, "usage", None)
        line = {
            "cached": bool(getattr(call, "cached", False)),
            "tokens": int(getattr(usage, "total_tokens", 0) or 0),
            "cost": float(getattr(call, "cost", 0.0) or 0.0),
        }
        append_line(path, json.dumps(line))

    tracker.record = record
    try:
        yield
    finally:
        tracker.record = original


def _usage(run_dir: Path) -> dict[str, Any]:
    """Totals of the run's call journal: paid calls, cache hits, tokens and dollars paid."""
    path = run_dir / CALLS_FILE
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    paid = [r for r in rows if not r["cached"]]
    return {
        "calls": len(paid),
        "cached_calls": len(rows) - len(paid),
        "total_tokens": sum(r["tokens"] for r in paid),
        "cost": sum(r["cost"] for r in paid),
    }


def _after_step(
    record: StepRecord,
    usage: dict[str, Any],
    callback: Callable[[StepRecord, dict[str, Any]], None] | None,
) -> None:
    if callback is not None:
        callback(record, usage)


def train_formulation(
    train: Sequence[Item],
    val: Sequence[Item],
    *,
    llm: Any,
    optimizer: str = "optoprime",
    steps: int = 3,
    batch_size: int = 4,
    run_dir: str | Path,
    resume: bool = False,
    budget_calls: int | None = None,
    seed: int = 0,
    workers: int = 2,
    progress: bool = True,
    solver: str = "scip",
    max_repairs: int = 1,
    timeout_s: float = 60.0,
    library: str | Path | None = None,
    on_step: Callable[[StepRecord, dict[str, Any]], None] | None = None,
) -> FormulationTrainReport:
    """Train a fresh FormulationProgram on ``train``, keep the best on ``val``; see module doc.

    ``on_step(record, usage)`` is called after each step with the trainer's record and the
    run's LLM usage so far (calls, cached_calls, total_tokens, cost).
    """
    from agents.evaluation.executors import ThreadExecutor

    names = parse_optimizer(optimizer)
    if not train or not val:
        raise TrainSetupError("both the training and the validation set need at least one item")
    if steps < 1 or batch_size < 1:
        raise TrainSetupError("--steps and --batch-size must be at least 1")
    root = Path(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    _attach_budget(llm, budget_calls)
    program_kw: dict[str, Any] = {
        "solver": solver,
        "max_repairs": max_repairs,
        "timeout_s": timeout_s,
    }
    alpha = _alphaopt(llm, root, library, program_kw) if "alphaopt" in names else None
    program = FormulationProgram(
        llm,
        library=alpha.source(count_stats=False) if alpha is not None else None,
        insights=[i.id for i in alpha.library.all() if i.id is not None] if alpha else (),
        restrict_insights=alpha is not None,
        **program_kw,
    )
    initial_path = root / "initial_program.json"
    if not resume and not (root / "checkpoint.json").exists():
        # A fresh run (a run dir holding a run without --resume is refused by the Trainer).
        for stale in (CALLS_FILE, "val_before.json", "initial_program.json"):
            (root / stale).unlink(missing_ok=True)
    if not initial_path.exists():
        program.save(initial_path)  # what "changed" compares with, across resumes
    initial = {k: v["value"] for k, v in json.loads(initial_path.read_text())["parameters"].items()}
    val_pairs = [(item, item) for item in val]
    opt = build_optimizer(
        names, program, llm, alphaopt=alpha, items=train, val_pairs=val_pairs, run_dir=root
    )
    per_epoch = math.ceil(len(train) / batch_size)
    trainer = Trainer(
        lambda item: program(item.question),
        opt,
        formulation_guide,
        [(item, item) for item in train],
        val_set=val_pairs,
        batch_size=batch_size,
        epochs=math.ceil(steps / per_epoch),
        seed=seed,
        run_dir=root,
        progress=progress,
        max_steps=steps,
        executor=ThreadExecutor(workers) if workers > 1 else None,
        on_step=lambda record: _after_step(record, _usage(root), on_step),
    )
    with _journaled_calls(llm, root / CALLS_FILE):
        report = trainer.fit(resume=resume)
    before_path = root / "val_before.json"
    if report.initial_score is not None:  # a resumed run restores it from the checkpoint
        write_atomic(before_path, json.dumps({"val_before": report.initial_score}))
    val_before = json.loads(before_path.read_text())["val_before"] if before_path.exists() else None
    best_path = program.save(root / "best.json")
    usage = _usage(root)
    final = {name: p.data for name, p in program.named_parameters().items()}
    return FormulationTrainReport(
        optimizer="+".join(names),
        val_before=val_before,
        val_after=report.best_score,
        steps=report.steps,
        best_step=report.best_step,
        calls=usage["calls"],
        cached_calls=usage["cached_calls"],
        tokens=usage["total_tokens"],
        cost=usage["cost"],
        run_dir=str(root),
        program=str(best_path),
        changed=sorted(k for k in final if final[k] != initial.get(k)),
        stopped=report.stopped,
    )
