"""Solving training items with the formulation agent and checking answers against gold values.

Learning works from gold *answers* only: an item counts as solved when the program reports an
optimal status and an objective within a relative-plus-absolute tolerance of the gold value
(the reference code's absolute 0.1 ignores scale). When the agent fails, :meth:`explore`
asks the LLM for a program while showing it the known optimal value and earlier failures
(the paper's self-explore); a program that reaches the value becomes the item's proxy gold
program, unless it merely reports the number it was shown (:func:`hardcoded_reason`). Every
program runs in :mod:`trace_core.sandbox`, never in this process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.alphaopt.insight import Insight
from agents.alphaopt.prompting import Prompter
from agents.alphaopt.retrieval import FixedSource
from agents.evaluation.dataset import Item
from agents.evaluation.scoring import Tolerance, as_number, score
from agents.formulation.agent import FormulationAgent
from agents.formulation.program import extract_program
from agents.formulation.result import FormulationResult
from agents.formulation.templates import render as render_agent_prompt
from agents.solvers.run_outcome import RunOutcome, classify_run, normalize_status

if TYPE_CHECKING:
    from agents.alphaopt.retrieval import Retriever
    from agents.alphaopt.store import ExperienceLibrary

_LITERAL_REPORT = re.compile(
    r"\breport\(\s*(?:objective\s*=\s*)?[-+]?[\d.]+(?:[eE][-+]?\d+)?\s*[,)]"
)


def hardcoded_reason(program: str) -> str | None:
    """Why a self-explored program cannot count as a proxy gold (it was shown the answer), or
    None. It must run a solver and must not report a number literal as the objective."""
    if _LITERAL_REPORT.search(program):
        return "it reports a literal number instead of the solver's objective"
    if "optimize(" not in program:
        return "it never calls the solver's optimize()"
    return None


@dataclass(frozen=True)
class SolveSettings:
    """How items are solved: solver API, repairs, time limit, tolerance, LLM options."""

    solver: str = "scip"
    max_repairs: int = 2
    describe: bool = False
    timeout_s: float = 60.0
    memory_mb: int = 2048
    tolerance: Tolerance = field(default_factory=Tolerance)


@dataclass
class SolveOutcome:
    """One solve of an item: correct or not, and the agent's result."""

    item: Item
    correct: bool
    result: FormulationResult

    @property
    def insight_ids(self) -> list[int]:
        """Ids of the library insights the agent used (other lessons have no int id)."""
        return [i for i in self.result.insight_ids if isinstance(i, int)]

    def failure_text(self) -> str:
        """The failed program and what went wrong, for diagnosis and extraction prompts."""
        final = self.result.final
        if final.outcome.value == "ok":
            what = (
                f"It ran and reported objective {final.objective}, "
                f"but the optimum is {self.item.answer}."
            )
        else:
            what = f"It ended with outcome {final.outcome.value}: {final.feedback or ''}"
        program = self.result.program or "(no program)"
        return f"```python\n{program}```\n{what.strip()}"


@dataclass
class FirstSolve:
    """An item's first solve with retrieval, and what it cost this thread.

    A Trainer's forward pass makes it and hands it to the optimizer step that learns from the
    item, so the solve is paid for once; ``notes`` are the retrieval failures met on the way.
    """

    outcome: SolveOutcome
    notes: list[str] = field(default_factory=list)
    tokens: int = 0
    cost: float = 0.0


class ItemSolver:
    """Solves items with a :class:`FormulationAgent` and scores them against their gold."""

    def __init__(self, prompter: Prompter, settings: SolveSettings | None = None):
        self.prompter = prompter
        self.settings = settings or SolveSettings()

    def is_correct(self, item: Item, objective: Any, status: str | None) -> bool:
        """True when an optimal ``objective`` matches the item's answer within tolerance, or
        the status matches a gold status ("infeasible" / "unbounded")."""
        status = normalize_status(status)
        if isinstance(item.answer, str):
            return score(item.answer, objective, status=status).correct
        value = as_number(objective)
        if item.answer is None or value is None or (status or "optimal") != "optimal":
            return False
        return self.settings.tolerance.accepts(value, item.answer)

    def agent(self, library: Any, temperature: float | None = None) -> FormulationAgent:
        """A formulation agent on the prompter's LLM using ``library`` for lessons."""
        options = dict(self.prompter.options)
        if temperature is not None:
            options["temperature"] = temperature
        return FormulationAgent(
            self.prompter.llm,
            solver=self.settings.solver,
            library=library,
            max_repairs=self.settings.max_repairs,
            describe=self.settings.describe,
            timeout_s=self.settings.timeout_s,
            memory_mb=self.settings.memory_mb,
            llm_options=options,
        )

    def solve(self, item: Item, library: Any, *, temperature: float | None = None) -> SolveOutcome:
        """Solve ``item`` once with insights from ``library`` (any InsightSource, or None)."""
        return self.judge(item, self.agent(library, temperature).solve(item.question))

    def solve_traced(
        self, item: Item, library: Any, *, temperature: float | None = None, insights: Any = None
    ) -> tuple[SolveOutcome, Any]:
        """:meth:`solve` with the formulation traced: the outcome and the graph's output node
        (the answer, or the failed run's exception node), for a Trainer's forward pass.
        ``insights`` (a ParameterNode of insight ids) becomes the program's insight set, so
        feedback on the output reaches it."""
        program = self.agent(library, temperature).program
        if insights is not None:
            program.insights = insights
        run = program.solve(item.question)
        return self.judge(item, run.result), run.output

    def judge(self, item: Item, result: FormulationResult) -> SolveOutcome:
        """Meter one solve's usage and check its answer against the item's gold."""
        self.prompter.meter.add_usage(result.usage)
        ran = result.ok or (isinstance(item.answer, str) and not result.error)
        correct = ran and self.is_correct(item, result.objective, result.status)
        return SolveOutcome(item=item, correct=correct, result=result)

    def first_solve(
        self, item: Item, source: Any, *, temperature: float, traced: Any = None
    ) -> tuple[FirstSolve, Any]:
        """Solve ``item`` once retrieving from ``source`` (a ``LibrarySource``). ``traced``
        (the insight-set ParameterNode) traces the solve and also returns the graph's output
        node (else None)."""
        before = self.prompter.meter.thread_usage
        if traced is not None:
            outcome, output = self.solve_traced(
                item, source, temperature=temperature, insights=traced
            )
        else:
            outcome, output = self.solve(item, source, temperature=temperature), None
        spent = self.prompter.meter.thread_usage
        notes = [failure for trace in source.traces for failure in trace.failures]
        first = FirstSolve(
            outcome, notes, spent.total_tokens - before.total_tokens, spent.cost - before.cost
        )
        return first, output

    def charge(self, state: Any, first: FirstSolve, before: Any) -> Any:
        """Give ``state`` (an ``ItemState``) the first solve's notes and the item's spend: the
        first solve's plus what this thread spent since ``before``."""
        spent = self.prompter.meter.thread_usage
        state.notes = [*first.notes, *state.notes]
        state.tokens = first.tokens + spent.total_tokens - before.total_tokens
        state.cost = first.cost + spent.cost - before.cost
        return state

    def solve_with(self, item: Item, insights: Sequence[Insight]) -> SolveOutcome:
        """Solve ``item`` with exactly ``insights`` injected (verification replays)."""
        return self.solve(item, FixedSource(insights) if insights else None)

    def run_program(self, program: str) -> tuple[float | None, str | None, str]:
        """Run a program in the sandbox: (objective, status, what happened in words)."""
        from trace_core import sandbox

        run = sandbox.run(
            program, timeout_s=self.settings.timeout_s, memory_mb=self.settings.memory_mb
        )
        verdict = classify_run(run)
        if verdict.outcome is RunOutcome.TIMEOUT:
            return None, None, f"stopped after {self.settings.timeout_s:g} s"
        if verdict.outcome is RunOutcome.ERROR:
            return None, None, f"crashed:\n{(run.stderr or '')[-2000:]}"
        if not verdict.repairable and verdict.outcome is not RunOutcome.OK:
            return None, None, verdict.reason
        return (
            verdict.objective,
            verdict.status,
            f"status {verdict.status}, objective {verdict.objective}",
        )

    def explore(self, item: Item, failures: Sequence[str], tries: int = 5) -> str | None:
        """Self-explore: programs written knowing the gold value; the first that reaches it."""
        history = list(failures)
        guide = render_agent_prompt(
            "solver_scip" if self.settings.solver == "scip" else "solver_gurobi"
        )
        for attempt in range(1, tries + 1):
            reply = self.prompter.text(
                "self_explore",
                options={"temperature": 0.7},
                question=item.question,
                target=item.answer,
                history="\n\n".join(history) or "(none)",
                solver_guide=guide,
            )
            program = extract_program(reply)
            if program is None:
                history.append(f"Explore attempt {attempt}: the reply held no program.")
                continue
            shortcut = hardcoded_reason(program)
            if shortcut is not None:
                history.append(f"Explore attempt {attempt} was rejected: {shortcut}.")
                continue
            objective, status, what = self.run_program(program)
            if self.is_correct(item, objective, status):
                return program
            history.append(f"Explore attempt {attempt}:\n```python\n{program}```\n{what}")
        return None


class LibraryPhase:
    """Base of the phases that work on a library item by item (learning, diagnosis, evolution):
    the library, its retriever and the item solver they share, wired once by ``AlphaOpt``."""

    def __init__(self, library: ExperienceLibrary, retriever: Retriever, solver: ItemSolver):
        self.library = library
        self.retriever = retriever
        self.solver = solver

    @property
    def prompter(self) -> Prompter:
        """The LLM prompter every phase asks through (the solver's)."""
        return self.solver.prompter
