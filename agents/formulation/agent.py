"""FormulationAgent: word problem -> (model description) -> solver program -> sandbox -> repair.

Generated programs never run in this process: each one goes to :func:`trace_core.sandbox.run`,
a child process with time and memory limits and no network. A program that crashes, times out,
reports an infeasible or unbounded model, or reports no objective is sent back to the LLM with
what went wrong, up to ``max_repairs`` times. Runs are classified by
:func:`agents.evaluation.run_outcome.classify_run`; failures no program can fix (a licence
limit, the solver not installed) end the loop without a repair call.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from agents.evaluation.run_outcome import RunVerdict, classify_run, is_repairable
from agents.formulation.library import InsightSource, insight_id, insight_text
from agents.formulation.program import extract_program
from agents.formulation.result import Attempt, AttemptOutcome, FormulationResult, LLMUsage
from agents.formulation.targets import ProgramTarget, resolve_target
from agents.formulation.templates import render
from trace_core.llm.errors import BudgetExceeded

log = logging.getLogger(__name__)

_TAIL_CHARS = 3000


def _tail(text: str | None, limit: int = _TAIL_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


def _status_text(status: Any) -> str | None:
    if status is None:
        return None
    return str(getattr(status, "value", status)).strip().lower() or None


class FormulationAgent:
    """Formulates optimization word problems as solver programs and solves them.

    ``llm`` is any object with the ``trace_core.llm.LLM`` interface. ``solver`` picks the API the
    programs use: ``"scip"`` (pyscipopt, default) or ``"gurobi"`` (gurobipy, when installed).
    ``library`` is an optional :class:`~agents.formulation.library.InsightSource`.
    ``describe=True`` first asks for a written model, then for the program.
    """

    def __init__(
        self,
        llm: Any,
        solver: str = "scip",
        library: InsightSource | None = None,
        max_repairs: int = 3,
        *,
        describe: bool = False,
        timeout_s: float = 60.0,
        memory_mb: int = 2048,
        prompt_dir: str | Path | None = None,
        llm_options: dict[str, Any] | None = None,
    ):
        if max_repairs < 0:
            raise ValueError(f"max_repairs must be >= 0, got {max_repairs}")
        self.llm = llm
        self.target: ProgramTarget = resolve_target(solver)
        self.library = library
        self.max_repairs = max_repairs
        self.describe = describe
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.prompt_dir = prompt_dir
        self.llm_options = dict(llm_options or {})

    @property
    def solver(self) -> str:
        """Name of the solver backend the generated programs target."""
        return self.target.name

    def _render(self, name: str, **values: object) -> str:
        return render(name, self.prompt_dir, **values)

    def _system(self) -> dict[str, str]:
        return {
            "role": "system",
            "content": self._render(
                "system", solver_name=self.target.module, solver_module=self.target.module
            ),
        }

    def _ask(self, content: str) -> Any:
        messages = [self._system(), {"role": "user", "content": content}]
        return self.llm.complete(messages, **self.llm_options)

    def _run(self, program: str) -> Any:
        from trace_core import sandbox

        return sandbox.run(program, timeout_s=self.timeout_s, memory_mb=self.memory_mb)

    def solve(self, question: str) -> FormulationResult:
        """Write, run and repair a program for ``question``; see :class:`FormulationResult`."""
        usage = LLMUsage()
        insights = list(self.library.retrieve(question)) if self.library is not None else []
        formulation = None
        if self.describe:
            completion = self._ask(
                self._render(
                    "describe", question=question, insights=self._insights_section(insights)
                )
            )
            usage = usage.add(completion)
            formulation = completion.text.strip()
        # Optional second retrieval for the program step (AlphaOPT retrieves code lessons
        # against the written formulation, separately from modelling lessons).
        retrieve_for_program = getattr(self.library, "retrieve_for_program", None)
        if callable(retrieve_for_program):
            insights += list(retrieve_for_program(question, formulation))
        insight_texts = [insight_text(insight) for insight in insights]
        guide = self._render(self.target.guide)
        prompt = self._render(
            "program",
            question=question,
            solver_guide=guide,
            formulation=self._render("formulation_section", formulation=formulation)
            if formulation
            else "",
            insights=self._insights_section(insights),
        )
        attempts: list[Attempt] = []
        stopped = None
        for index in range(1, self.max_repairs + 2):
            try:
                completion = self._ask(prompt)
            except BudgetExceeded as err:
                if not attempts:
                    raise
                # The attempts made so far are paid for: return them rather than lose them.
                stopped = f"stopped by the budget before repair {index - 1}: {err}"
                break
            call_usage = LLMUsage().add(completion)
            usage = usage + call_usage
            attempt = self._attempt(index, completion.text, call_usage)
            attempts.append(attempt)
            log.info("attempt %d: %s", index, attempt.outcome)
            if not is_repairable(attempt.outcome):
                break
            prompt = self._render(
                "repair",
                question=question,
                attempt=index,
                program=attempt.program or "(no program found in the reply)",
                feedback=attempt.feedback or "",
                solver_guide=guide,
            )
        result = FormulationResult(
            question=question,
            solver=self.target.name,
            attempts=attempts,
            formulation=formulation,
            insights=insight_texts,
            insight_ids=[insight_id(insight) for insight in insights],
            usage=usage,
            stopped=stopped,
        )
        record = getattr(self.library, "record", None)
        if callable(record):
            record(result.insight_ids, result)
        return result

    def _insights_section(self, insights: list[Any]) -> str:
        texts = [insight_text(insight) for insight in insights]
        if not texts:
            return ""
        return self._render("insights_section", insights="\n".join(f"- {t}" for t in texts))

    def _attempt(self, index: int, reply: str, usage: LLMUsage) -> Attempt:
        program = extract_program(reply)
        if program is None:
            return Attempt(
                index=index,
                reply=reply,
                program=None,
                usage=usage,
                outcome=AttemptOutcome.NO_CODE,
                feedback="The reply contained no Python program. Reply with one "
                "fenced ```python block holding the complete program.",
            )
        started = time.perf_counter()
        run = self._run(program)
        duration = float(getattr(run, "duration_s", 0.0) or time.perf_counter() - started)
        verdict = classify_run(run, solver_module=self.target.module)
        objective = verdict.objective
        returncode = getattr(run, "returncode", None)
        timed_out = bool(getattr(run, "timed_out", False))
        # A non-numeric reported objective is shown to the repair, unless the run died.
        raw = getattr(run, "objective", None) if returncode == 0 and not timed_out else None
        stdout, stderr = _tail(getattr(run, "stdout", "")), _tail(getattr(run, "stderr", ""))
        outcome, feedback = self._feedback(verdict, raw, stdout, stderr)
        return Attempt(
            index=index,
            reply=reply,
            program=program,
            outcome=outcome,
            objective=objective,
            raw_objective=None if objective is not None else _plain(raw),
            status=verdict.status,
            values=getattr(run, "values", None) if objective is not None else None,
            feedback=feedback,
            returncode=returncode,
            timed_out=timed_out,
            stdout=stdout,
            stderr=stderr,
            isolation=_status_text(getattr(run, "isolation", None)),
            duration_s=duration,
            usage=usage,
        )

    def _feedback(
        self, verdict: RunVerdict, raw: Any, stdout: str, stderr: str
    ) -> tuple[AttemptOutcome, str | None]:
        """The attempt's outcome and what a repair would be told (or why none is made)."""
        outcome, status = verdict.outcome, verdict.status
        if outcome in (AttemptOutcome.LICENSE_LIMIT, AttemptOutcome.SOLVER_MISSING):
            return outcome, (
                f"Not sent for repair: {verdict.reason}. Install or license the solver, or "
                "choose another one with --solver."
            )
        if outcome is AttemptOutcome.TIMEOUT:
            return outcome, (
                f"The program was stopped after {self.timeout_s:g} s. Make the model smaller or "
                "tighter (fewer variables, better bounds) so it solves quickly."
            )
        if outcome is AttemptOutcome.ERROR:
            return outcome, (f"The program {verdict.reason}. Its error output:\n{stderr}")
        if outcome is AttemptOutcome.INFEASIBLE:
            return outcome, (
                f"The solver reported the model {status}. Check constraint directions, units, "
                "right-hand sides and variable bounds against the problem text."
            )
        if outcome is AttemptOutcome.UNBOUNDED:
            return outcome, (
                "The solver reported the model unbounded: a constraint or bound that the "
                "problem implies is missing, or the objective sense is wrong."
            )
        if outcome is AttemptOutcome.NO_RESULT:
            shown = f" It reported {raw!r}." if raw is not None else ""
            return outcome, (
                "The program finished but reported no numeric objective value."
                + shown
                + " Call report(objective, status, values) with the optimal objective value."
                f"\nIts output was:\n{stdout or '(empty)'}"
            )
        if outcome is AttemptOutcome.NOT_OPTIMAL:
            return outcome, (
                f"The solver stopped with status {status!r} before proving optimality."
            )
        return outcome, None


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)
