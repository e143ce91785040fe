"""`Synthesizer`: seeds -> demonstration -> program -> optimal? -> questions -> round trip -> items.

One *sample* (task number k) picks a 1- or 2-seed combination, writes a demonstration step by
step, expands it into its prefix levels, and for each level writes a program (kept only if it
solves to optimal), back-translates it into a table and a no-table question, and keeps each
question whose independent re-formulation reaches the same optimum. Samples run concurrently;
items are written as soon as they are verified, so a killed run loses at most its in-flight work.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.resocratic.dedup import DEFAULT_THRESHOLD, DedupIndex
from agents.resocratic.demonstration import MAX_CONSTRAINTS, Demonstration, validate
from agents.resocratic.seeds import Seed, builtin_seeds, plan
from agents.resocratic.stats import SynthesisStats
from agents.resocratic.steps import (
    VARIANTS,
    StepContext,
    Variant,
    back_translate,
    check_question,
    generate_demonstration,
    write_program,
)
from agents.resocratic.store import RunStore
from agents.resocratic.verify import Formulator, default_formulator, objectives_match, solve_program

log = logging.getLogger(__name__)

SOURCE = "resocratic"


@dataclass(frozen=True)
class _Level:
    """A demonstration level whose program solved to optimal: what every item written from it
    shares (the questions back-translated from it differ by variant)."""

    task: int
    examples: tuple[Seed, ...]
    demo: Demonstration
    program: str
    objective: float


class Synthesizer:
    """Synthesizes verified optimization problems from seed scenarios (ReSocratic, verified).

    ``llm`` follows ``trace_core.llm.LLM``. ``solver`` names the program API ("scip": the
    programs use pyscipopt). ``formulator`` re-solves each question for the round trip (default:
    :func:`~agents.resocratic.verify.default_formulator` on the same LLM).
    """

    def __init__(
        self,
        llm: Any,
        solver: str = "scip",
        *,
        seeds: list[Seed] | None = None,
        formulator: Formulator | None = None,
        variants: tuple[Variant, ...] = VARIANTS,
        expand_prefixes: bool = True,
        min_constraints: int = 1,
        max_constraints: int = MAX_CONSTRAINTS,
        dedup_threshold: float = DEFAULT_THRESHOLD,
        timeout_s: float = 10.0,
        rel_tol: float = 1e-4,
        abs_tol: float = 1e-6,
        temperature: float = 0.7,
        sample_seed: int = 0,
        prompt_dir: str | Path | None = None,
    ) -> None:
        if solver != "scip":
            raise ValueError(f"solver {solver!r} is not supported; synthesized programs use 'scip'")
        if not 1 <= min_constraints <= max_constraints <= MAX_CONSTRAINTS:
            raise ValueError(
                f"need 1 <= min_constraints <= max_constraints <= {MAX_CONSTRAINTS}, "
                f"got {min_constraints} and {max_constraints}"
            )
        self.llm = llm
        self.solver = solver
        self.seeds = list(seeds) if seeds is not None else builtin_seeds()
        if not self.seeds:
            raise ValueError("no seed scenarios: pass seeds=[...] or leave it None for the pool")
        self.formulator = formulator or default_formulator(llm, timeout_s=timeout_s)
        self.variants = variants
        self.expand_prefixes = expand_prefixes
        self.min_constraints = min_constraints
        self.max_constraints = max_constraints
        self.dedup_threshold = dedup_threshold
        self.timeout_s = timeout_s
        self.rel_tol = rel_tol
        self.abs_tol = abs_tol
        self.temperature = temperature
        self.sample_seed = sample_seed
        self.prompt_dir = prompt_dir

    @property
    def model_id(self) -> str:
        """The LLM's model id, for recording with the run's settings."""
        return str(
            getattr(self.llm, "model_id", getattr(self.llm, "model", type(self.llm).__name__))
        )

    def settings(self) -> dict[str, Any]:
        """What decides the items of a run (recorded so a resume can spot a changed setup)."""
        return {
            "llm": self.model_id,
            "seeds": [seed.id for seed in self.seeds],
            "sample_seed": self.sample_seed,
            "constraints": [self.min_constraints, self.max_constraints],
            "prefixes": self.expand_prefixes,
            "variants": list(self.variants),
            "dedup_threshold": self.dedup_threshold,
        }

    # -- one sample ------------------------------------------------------------------------------

    def synthesize_sample(
        self,
        task: int,
        dedup: DedupIndex,
        emit: Callable[[dict[str, Any]], bool],
        stop: Callable[[], bool] = lambda: False,
    ) -> SynthesisStats:
        """Run every stage for sample ``task``; ``emit(row)`` writes a verified item.

        ``stop()`` is checked between prefix levels, so samples still running when the run
        has its ``n`` items end without spending more LLM calls.
        """
        stats = SynthesisStats(samples=1)
        ctx = StepContext(
            self.llm,
            stats.usage,
            temperature=self.temperature,
            rollout=f"resocratic:{self.sample_seed}:{task}",
            prompt_dir=self.prompt_dir,
        )
        examples = plan(self.seeds, task, seed=self.sample_seed)
        rng = random.Random(f"{self.sample_seed}:{task}:constraints")
        n_constraints = rng.randint(self.min_constraints, self.max_constraints)
        from trace_core.llm import BudgetExceeded, LLMError

        key = f"task-{task}"
        # A sample resumed after a kill already has items (and its dedup entry) on file.
        resumed = key in dedup
        admitted = kept = False
        try:
            demo, problem = generate_demonstration(ctx, examples, n_constraints)
            stats.bump("generated")
            if demo is None:
                stats.drop(f"format: {_short(problem)}")
                return stats
            if problem:
                log.info("sample %d truncated: %s", task, problem)
            stats.bump("validated")
            admitted = dedup.admit(key, demo.variables_objective_text())
            if not admitted:
                stats.drop("duplicate")
                return stats
            stats.bump("deduped")
            levels = demo.prefixes() if self.expand_prefixes else [demo]
            for level_demo in levels:
                if stop():
                    break
                kept |= self._synthesize_level(task, examples, level_demo, ctx, stats, emit)
        except BudgetExceeded:
            raise
        except LLMError as err:
            stats.drop(f"llm error: {type(err).__name__}")
            log.warning("sample %d: LLM error: %s", task, err)
        finally:
            if admitted and not kept and not resumed:
                dedup.remove(key)
        return stats

    def _synthesize_level(
        self,
        task: int,
        examples: tuple[Seed, ...],
        demo: Demonstration,
        ctx: StepContext,
        stats: SynthesisStats,
        emit: Callable[[dict[str, Any]], bool],
    ) -> bool:
        stats.bump("problems")
        program = write_program(ctx, demo)
        if program is None:
            stats.drop("program: no code in reply")
            return False
        outcome = solve_program(program, timeout_s=self.timeout_s)
        if not outcome.ok:
            stats.drop(f"solve: {outcome.reason}")
            return False
        assert outcome.objective is not None
        level = _Level(task, examples, demo, program, outcome.objective)
        stats.bump("solved")
        stats.bump("questions", len(self.variants))
        kept = False
        for variant in self.variants:
            question = back_translate(ctx, demo, variant)
            problem = check_question(question, demo, variant)
            if problem:
                stats.drop(f"question: {_short(problem)}")
                continue
            stats.bump("back_translated")
            result = self.formulator.solve(question)
            stats.usage.add_totals(getattr(result, "usage", None))
            if not getattr(result, "ok", False):
                outcome_name = str(getattr(result, "outcome", "failed"))
                stats.drop(f"round trip: formulation {outcome_name}")
                continue
            got = getattr(result, "objective", None)
            if not objectives_match(
                level.objective, got, rel_tol=self.rel_tol, abs_tol=self.abs_tol
            ):
                stats.drop("round trip: objective mismatch")
                continue
            stats.bump("verified")
            if emit(self._row(level, variant, question, got)):
                stats.bump("written")
                kept = True
        return kept

    def _row(
        self, level: _Level, variant: Variant, question: str, round_trip: Any
    ) -> dict[str, Any]:
        demo = level.demo
        return {
            "id": f"{SOURCE}-{level.task:06d}-L{demo.level}-{variant}",
            "source": SOURCE,
            "question": question,
            "answer": level.objective,
            "tags": ["synthetic", *demo.tags(), variant, f"level-{demo.level}"],
            "program": level.program,
            "provenance": {
                "method": "resocratic",
                "task": level.task,
                "seeds": [seed.id for seed in level.examples],
                "level": demo.level,
                "variant": variant,
                "demonstration": demo.render(),
                "llm": self.model_id,
                "solver": self.solver,
                "round_trip_objective": float(round_trip),
            },
        }

    # -- a whole run -----------------------------------------------------------------------------

    def run(
        self,
        n: int,
        out: str | Path,
        *,
        workers: int = 1,
        max_samples: int | None = None,
        on_progress: Callable[[RunStore], None] | None = None,
    ) -> RunStore:
        """Write up to ``n`` verified items to ``out`` (JSONL), resuming an earlier run.

        Samples are numbered; finished ones are skipped, so rerunning after a crash continues
        where it stopped and never writes an item id twice. Stops after ``max_samples`` sample
        numbers (default ``10 * n``) even if fewer than ``n`` items were kept.
        """
        if n < 1 or workers < 1:
            raise ValueError("n and workers must be at least 1")
        store = RunStore(out, limit=n)
        changed = store.check_config(self.settings())
        if changed:
            log.warning("%s", changed)
        dedup = DedupIndex(self.dedup_threshold)
        for row in store.rows:
            text = _variables_objective(row)
            if text:
                dedup.add(f"task-{row.get('provenance', {}).get('task')}", text)
        limit = max_samples if max_samples is not None else 10 * n
        pending = (task for task in range(limit) if task not in store.done)
        if on_progress:
            on_progress(store)
        from trace_core.llm import BudgetExceeded

        def stop() -> bool:
            return store.full or store.stopped is not None

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="resocratic") as pool:
            running: dict[Future[SynthesisStats], int] = {}
            while True:
                while not store.full and store.stopped is None and len(running) < workers:
                    task = next(pending, None)
                    if task is None:
                        break
                    future = pool.submit(self.synthesize_sample, task, dedup, store.write, stop)
                    running[future] = task
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = running.pop(future)
                    try:
                        stats = future.result()
                    except BudgetExceeded as err:
                        # The sample stays unfinished: a rerun with a larger budget redoes it.
                        store.stopped = f"budget exceeded: {err}"
                        continue
                    store.finish(task, stats)
                    if on_progress:
                        on_progress(store)
        return store


def _variables_objective(row: dict[str, Any]) -> str:
    text = (row.get("provenance") or {}).get("demonstration")
    if not isinstance(text, str):
        return ""
    try:
        demo, _ = validate(text)
    except ValueError:
        return ""
    return demo.variables_objective_text()


def _short(problem: str, limit: int = 80) -> str:
    return problem if len(problem) <= limit else problem[: limit - 3] + "..."
