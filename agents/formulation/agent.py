"""FormulationAgent: word problem -> (model description) -> solver program -> sandbox -> repair.

A thin facade over :class:`~agents.formulation.workflow.FormulationProgram`, the traced and
trainable workflow: the agent runs the program without recording a graph and returns the
:class:`FormulationResult`. Generated programs never run in this process; a program that
crashes, times out, reports an infeasible or unbounded model, or reports no objective is sent
back to the LLM with what went wrong, up to ``max_repairs`` times.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from agents.formulation.result import FormulationResult
from agents.formulation.workflow import FormulationProgram

log = logging.getLogger(__name__)


class _ProgramAttribute:
    """An attribute of the agent that is its program's attribute of the same name (one
    definition, in :class:`FormulationProgram`; the agent passes reads, and writes when
    ``writable``, on)."""

    def __init__(self, *, writable: bool = False) -> None:
        self.writable = writable

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, agent: FormulationAgent | None, owner: type | None = None) -> Any:
        return self if agent is None else getattr(agent.program, self.name)

    def __set__(self, agent: FormulationAgent, value: Any) -> None:
        if not self.writable:
            raise AttributeError(f"the agent's {self.name!r} is read-only")
        setattr(agent.program, self.name, value)


class FormulationAgent:
    """Formulates optimization word problems as solver programs and solves them.

    ``llm`` is any object with the ``trace_core.llm.LLM`` interface. ``solver`` picks the API the
    programs use: ``"scip"`` (pyscipopt, default) or ``"gurobi"`` (gurobipy, when installed).
    ``library`` is an optional :class:`~agents.formulation.library.InsightSource`.
    ``describe=True`` first asks for a written model, then for the program. ``program_path``
    loads trained parameters (a ``best.json`` written by ``optoforge formulate train``).
    """

    def __init__(
        self,
        llm: Any,
        *args: Any,
        program_path: str | Path | None = None,
        **options: Any,
    ):
        # The rest is FormulationProgram's signature (solver, library, max_repairs, describe,
        # timeout_s, memory_mb, prompt_dir, llm_options): one definition, passed through.
        self.program = FormulationProgram(llm, *args, **options)
        if program_path is not None:
            self.program.load(program_path, strict=False)

    llm = _ProgramAttribute()
    """The model that writes the programs."""
    library = _ProgramAttribute()
    """The insight source (:class:`~agents.formulation.library.InsightSource`), or None."""
    max_repairs = _ProgramAttribute()
    """Repair rounds after a failed attempt."""
    target = _ProgramAttribute(writable=True)
    """The solver API the generated programs use (:class:`ProgramTarget`); settable."""
    solver = _ProgramAttribute()
    """Name of the solver backend the generated programs target."""

    def solve(self, question: str) -> FormulationResult:
        """Write, run and repair a program for ``question``; see :class:`FormulationResult`."""
        from trace_core import no_trace

        with no_trace():
            result = self.program.solve(question).result
        for attempt in result.attempts:
            log.info("attempt %d: %s", attempt.index, attempt.outcome)
        return result
