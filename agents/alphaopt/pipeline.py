"""AlphaOpt: one object wiring library, LLM, retrieval, solving, learning and evolution."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.alphaopt.diagnosis import Diagnoser
from agents.alphaopt.evolution import Evolver, EvolveSettings
from agents.alphaopt.extraction import InsightMaker
from agents.alphaopt.learning import Learner, LearnSettings
from agents.alphaopt.prompting import Prompter
from agents.alphaopt.retrieval import Embedder, LibrarySource, Retriever
from agents.alphaopt.runs import ItemState
from agents.alphaopt.solving import ItemSolver, LibraryPhase, SolveSettings
from agents.alphaopt.store import ExperienceLibrary
from agents.evaluation.dataset import Item
from agents.formulation.agent import FormulationAgent
from trace_core.llm.meter import LLMUsage, Meter


class AlphaOpt:
    """Learn, evolve and use an :class:`ExperienceLibrary` with one LLM.

    ``library`` is a store or a path. ``llm`` is any ``trace_core.llm.LLM``. Retrieval caps
    (``max_insights``, ``batch_size``) and the optional ``embedder`` prefilter go to the
    :class:`Retriever`. Usage and cost of every call are totalled in :attr:`usage`.
    """

    def __init__(
        self,
        library: ExperienceLibrary | str | Path,
        llm: Any,
        *,
        solve: SolveSettings | None = None,
        learn: LearnSettings | None = None,
        evolve: EvolveSettings | None = None,
        verify_rounds: int = 3,
        verify_replays: int = 1,
        batch_size: int = 30,
        max_insights: int = 8,
        embedder: Embedder | None = None,
        prompt_dir: str | Path | None = None,
        llm_options: dict[str, Any] | None = None,
    ):
        self.library = (
            library if isinstance(library, ExperienceLibrary) else ExperienceLibrary(library)
        )
        self.meter = Meter()
        self.prompter = Prompter(
            llm,
            meter=self.meter,
            prompt_dir=prompt_dir,
            options={"temperature": 0.0, **(llm_options or {})},
        )
        self.retriever = Retriever(
            self.library,
            self.prompter,
            batch_size=batch_size,
            max_insights=max_insights,
            embedder=embedder,
        )
        self.solver = ItemSolver(self.prompter, solve)
        learn = learn or LearnSettings()
        self.maker = InsightMaker(
            self.library,
            self.prompter,
            self.solver,
            rounds=verify_rounds,
            replays=verify_replays,
            temperature=learn.temperature,
        )
        parts = LibraryPhase(self.library, self.retriever, self.solver)
        self.learner = Learner(parts, self.maker, learn)
        self.diagnoser = Diagnoser(parts, self.maker, self.learner.gold_program)
        self.evolver = Evolver(self.diagnoser, evolve)

    @property
    def usage(self) -> LLMUsage:
        """Tokens and dollars spent so far by this object (every step, solves included)."""
        return self.meter.usage

    def learn(self, items: Sequence[Item], run_dir: str | Path, **options: Any) -> list[ItemState]:
        """Iteration 0: online learning over ``items`` on the Trainer (resumes from
        ``run_dir``); ``options`` are :func:`agents.alphaopt.training.learn`'s (batch_size,
        workers, progress, context)."""
        from agents.alphaopt.training import learn

        return learn(self, items, run_dir, **options)

    def evolve(
        self, items: Sequence[Item], run_dir: str | Path, **options: Any
    ) -> dict[str, object]:
        """Iterations 1..N on the Trainer: diagnosis, condition refinement and pruning (resumes);
        ``options`` are :func:`agents.alphaopt.training.evolve`'s (batch_size, workers,
        progress)."""
        from agents.alphaopt.training import evolve

        return evolve(self, items, run_dir, **options)

    def source(self, *, count_stats: bool = True) -> LibrarySource:
        """The library as an insight source for :class:`FormulationAgent`."""
        return LibrarySource(self.retriever, count_stats=count_stats)

    def agent(self, **kw: Any) -> FormulationAgent:
        """A formulation agent that retrieves from this library (``kw`` overrides settings)."""
        settings = self.solver.settings
        options = {
            "solver": settings.solver,
            "max_repairs": settings.max_repairs,
            "describe": settings.describe,
            "timeout_s": settings.timeout_s,
            "memory_mb": settings.memory_mb,
            "llm_options": dict(self.prompter.options),
            **kw,
        }
        return FormulationAgent(self.prompter.llm, library=self.source(), **options)
