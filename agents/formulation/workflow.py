"""FormulationProgram: the formulation workflow as a traced, trainable trace_core Module.

What decides the quality of a formulation is trainable: the system rules, the modelling guide
(how to write the model before coding), the program guide (how to write the solver program), the
repair guide (what a repair request says) and the set of experience-library insights the program
may use. Each LLM call, each extracted program, each sandbox run and the answer is a node of the
graph; a run that crashes, times out, is infeasible or unbounded, or reports no number is an
``ExceptionNode`` carrying the solver's log tail, and repairs hang off it. Optimizers read that
graph (``trace_core.summarize``) and rewrite the parameters.

Generated programs never run in this process: ``run_program`` hands them to
:func:`trace_core.sandbox.run`.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.errors import AgentsError
from agents.formulation.execution import classify, make_attempt, run_in_sandbox, tail
from agents.formulation.library import InsightSource, insight_id, insight_text
from agents.formulation.program import extract_program
from agents.formulation.result import Attempt, AttemptOutcome, FormulationResult, LLMUsage
from agents.formulation.targets import ProgramTarget, resolve_target
from agents.formulation.templates import load_template, render
from agents.solvers.run_outcome import is_repairable
from trace_core.bundle import bundle, node
from trace_core.errors import ExecutionError
from trace_core.llm.errors import BudgetExceeded
from trace_core.module import Module
from trace_core.nodes import Node, ParameterNode

PROMPT_PARAMETERS = ("system_rules", "modelling_guide", "program_guide", "repair_guide")


class FormulationFailure(AgentsError):
    """A program gave no optimal objective; ``outcome`` says how and ``log_tail`` shows why.

    It is the value of the graph's exception node for that run, so the guide and the
    optimizers read the failure (and the solver's output) from the graph itself.
    """

    def __init__(self, outcome: AttemptOutcome, feedback: str, log_tail: str = "") -> None:
        super().__init__(f"{outcome.value}: {feedback}")
        self.outcome = outcome
        self.feedback = feedback
        self.log_tail = log_tail


class Placeholders:
    """A constraint predicate: a prompt template must keep the named ``$placeholders``."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.__doc__ = "must keep the placeholders " + ", ".join(f"${n}" for n in names)
        self.__name__ = self.__doc__.replace("must keep", "keeps")

    def __call__(self, text: Any) -> bool:
        return isinstance(text, str) and all(f"${n}" in text for n in self.names)


def _template_parameter(
    name: str,
    template: str,
    prompt_dir: str | Path | None,
    description: str,
    placeholders: tuple[str, ...],
) -> ParameterNode:
    """A trainable request template, loaded from ``template``; a rewrite must keep its
    ``placeholders`` (the values each request fills in)."""
    return ParameterNode(
        load_template(template, prompt_dir),
        name=name,
        description=description,
        constraint=Placeholders(*placeholders),
    )


def _insight_ids(value: Any) -> bool:
    """must be a list of integer insight ids from the experience library"""
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    )


def fill(template: str, **values: object) -> str:
    """Fill a trainable template; placeholders it lost stay empty instead of raising."""
    return string.Template(template).safe_substitute({k: str(v) for k, v in values.items()})


@dataclass
class _Recorder:
    """What one solve collects on the side: per-call usage, for the attempt records."""

    calls: list[LLMUsage] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)

    def take(self) -> LLMUsage:
        usage = LLMUsage()
        for call in self.calls:
            usage = usage + call
        self.calls.clear()
        return usage


_RECORDER: ContextVar[_Recorder | None] = ContextVar("formulation_recorder", default=None)


@dataclass
class FormulationRun:
    """One solve: the graph's output node (or plain value without tracing) and the record."""

    output: Any
    result: FormulationResult


def _value(x: Any) -> Any:
    return x._data if isinstance(x, Node) else x


def _given(**values: Any) -> dict[str, Any]:
    """The arguments that exist (absent ones stay out of the graph instead of None nodes)."""
    return {k: v for k, v in values.items() if v is not None}


def _guarded(op: Any, *args: Any) -> tuple[Any, Any]:
    """Call a bundled op; a FormulationFailure comes back as (None, its exception node)."""
    try:
        return op(*args), None
    except ExecutionError as err:
        if isinstance(err.exception_node.exception, FormulationFailure):
            return None, err.exception_node
        raise
    except FormulationFailure as exc:  # without tracing the op raises the plain exception
        return None, exc


class FormulationProgram(Module):
    """Formulates an optimization word problem as a solver program, runs it, repairs it.

    ``llm`` is any ``trace_core.llm.LLM``; ``solver`` the API programs use (``scip`` or
    ``gurobi``); ``library`` an optional :class:`InsightSource`. With ``restrict_insights``
    only retrieved insights whose id is in the ``insights`` parameter reach the prompt (the
    AlphaOPT optimizer trains that set). ``describe=True`` asks for the model before the code.
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
        insights: Sequence[int] = (),
        restrict_insights: bool = False,
    ) -> None:
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
        self.restrict_insights = restrict_insights
        module = self.target.module
        self.system_rules = ParameterNode(
            render("system", prompt_dir, solver_name=module, solver_module=module),
            name="system_rules",
            description="system message of every LLM call: the rules for writing programs",
        )
        self.modelling_guide = _template_parameter(
            "modelling_guide",
            "describe",
            prompt_dir,
            "request for the mathematical model written before the program",
            ("question", "insights"),
        )
        self.program_guide = ParameterNode(
            render(self.target.guide, prompt_dir),
            name="program_guide",
            description="how to write the solver program (shown in every program request)",
        )
        self.repair_guide = _template_parameter(
            "repair_guide",
            "repair",
            prompt_dir,
            "request sent after a failed run, asking for a corrected program",
            ("question", "program", "feedback"),
        )
        self.insights = ParameterNode(
            [int(i) for i in insights],
            name="insights",
            description="ids of the experience-library insights this program may use",
            constraint=_insight_ids,
        )

    @property
    def solver(self) -> str:
        """Name of the solver backend the generated programs target."""
        return self.target.name

    def prompt_parameters(self) -> list[Any]:
        """The four prompt parameters (what the LLM optimizers train)."""
        return [getattr(self, name) for name in PROMPT_PARAMETERS]

    # -- traced operations -------------------------------------------------------------------
    @bundle(catch_execution_error=False)
    def retrieve_lessons(self, question: str, insights: list[int]) -> list[Any]:
        """Look up experience-library lessons for the question (within the insight set)."""
        assert self.library is not None
        return self._allowed(self.library.retrieve(question), insights)

    @bundle(catch_execution_error=False)
    def retrieve_program_lessons(
        self, question: str, insights: list[int], formulation: str | None = None
    ) -> list[Any]:
        """Look up code lessons for the program step (AlphaOPT retrieves them separately)."""
        formulation = formulation.strip() if formulation else None
        found = self.library.retrieve_for_program(question, formulation)  # type: ignore[union-attr]
        return self._allowed(found, insights)

    def _allowed(self, found: Any, insights: list[int]) -> list[Any]:
        found = list(found)
        if not self.restrict_insights:
            return found
        allowed = set(insights)
        return [i for i in found if insight_id(i) is None or insight_id(i) in allowed]

    @bundle()
    def compose_model_request(
        self, modelling_guide: str, question: str, lessons: list[Any] | None = None
    ) -> str:
        """Fill the modelling guide with the question and lessons: the request for a model."""
        return fill(modelling_guide, question=question, insights=self._lessons_text(lessons))

    @bundle()
    def compose_program_request(
        self,
        program_guide: str,
        question: str,
        formulation: str | None = None,
        lessons: list[Any] | None = None,
        program_lessons: list[Any] | None = None,
    ) -> str:
        """The request for a solver program: question, written model, lessons, program guide."""
        formulation = formulation.strip() if formulation else formulation
        section = render("formulation_section", self.prompt_dir, formulation=formulation)
        return render(
            "program",
            self.prompt_dir,
            question=question,
            solver_guide=program_guide,
            formulation=section if formulation else "",
            insights=self._lessons_text([*(lessons or []), *(program_lessons or [])]),
        )

    @bundle()
    def compose_repair_request(
        self,
        repair_guide: str,
        program_guide: str,
        question: str,
        failure: Any,
        attempt: int,
        program: str | None = None,
    ) -> str:
        """Fill the repair guide with the failed program and what went wrong in its run."""
        return fill(
            repair_guide,
            question=question,
            attempt=attempt,
            program=program or "(no program found in the reply)",
            feedback=getattr(failure, "feedback", str(failure)),
            solver_guide=program_guide,
        )

    @bundle(catch_execution_error=False)
    def call_llm(self, system_rules: str, request: str) -> str:
        """Ask the LLM (system rules + request) and return its reply text."""
        messages = [
            {"role": "system", "content": system_rules},
            {"role": "user", "content": request},
        ]
        completion = self.llm.complete(messages, **self.llm_options)
        recorder = _RECORDER.get()
        if recorder is not None:
            recorder.calls.append(LLMUsage().add(completion))
        return str(completion.text)

    @bundle()
    def extract_code(self, reply: str) -> str:
        """Pull the Python program out of the reply (a reply without one is a failure)."""
        program = extract_program(reply)
        if program is None:
            attempt = make_attempt(0, reply, None, LLMUsage(), None, self.timeout_s)
            raise FormulationFailure(AttemptOutcome.NO_CODE, attempt.feedback or "")
        return program

    @bundle(catch_execution_error=False)
    def run_program(self, program: str) -> dict[str, Any]:
        """Run the program in the sandbox; returns status, objective, values and log tails."""
        run = run_in_sandbox(
            program,
            timeout_s=self.timeout_s,
            memory_mb=self.memory_mb,
            solver_module=self.target.module,
        )
        # Timing stays out of the graph: identical runs must give identical optimizer prompts
        # (and LLM cache hits) in every process.
        duration = run.pop("duration_s")
        recorder = _RECORDER.get()
        if recorder is not None:
            recorder.durations.append(duration)
        return run

    @bundle()
    def read_answer(self, run: dict[str, Any]) -> float:
        """The run's optimal objective; a failed run raises with the solver's log tail.

        Failures: a crash, a timeout, an infeasible or unbounded model, or no number reported.
        """
        outcome, feedback = classify(run, self.timeout_s)
        if outcome is not AttemptOutcome.OK:
            log = "\n".join(t for t in (run.get("stdout"), run.get("stderr")) if t)
            raise FormulationFailure(outcome, feedback or "", tail(log, 1500))
        return float(run["objective"])

    # -- the workflow --------------------------------------------------------------------------
    def _lessons_text(self, lessons: list[Any] | None) -> str:
        texts = [insight_text(i) for i in lessons or []]
        if not texts:
            return ""
        return render(
            "insights_section", self.prompt_dir, insights="\n".join(f"- {t}" for t in texts)
        )

    def forward(self, question: str) -> Any:
        """Solve ``question``; the answer node, or the last failure's exception node."""
        return self.solve(question).output

    __call__ = forward

    def solve(self, question: str) -> FormulationRun:
        """Write, run and repair a program; returns the graph output and the full record."""
        recorder = _Recorder()
        token = _RECORDER.set(recorder)
        try:
            output, attempts, formulation, lessons, stopped = self._run(question, recorder)
        finally:
            _RECORDER.reset(token)
        usage = LLMUsage()
        if formulation is not None:
            usage = usage + formulation[1]
        for attempt in attempts:
            usage = usage + attempt.usage
        result = FormulationResult(
            question=question,
            solver=self.target.name,
            attempts=attempts,
            formulation=formulation[0] if formulation else None,
            insights=[insight_text(i) for i in lessons],
            insight_ids=[insight_id(i) for i in lessons],
            usage=usage,
            stopped=stopped,
        )
        record = getattr(self.library, "record", None)
        if callable(record):
            record(result.insight_ids, result)
        return FormulationRun(output=output, result=result)

    def _run(
        self, question: str, recorder: _Recorder
    ) -> tuple[Any, list[Attempt], tuple[str, LLMUsage] | None, list[Any], str | None]:
        q = node(question, name="question")
        lessons: Any = None
        if self.library is not None:
            lessons = self.retrieve_lessons(q, self.insights)
        formulation: Any = None
        described: tuple[str, LLMUsage] | None = None
        if self.describe:
            request = self.compose_model_request(self.modelling_guide, q, **_given(lessons=lessons))
            formulation = self.call_llm(self.system_rules, request)
            described = (str(_value(formulation)).strip(), recorder.take())
        program_lessons: Any = None
        if callable(getattr(self.library, "retrieve_for_program", None)):
            program_lessons = self.retrieve_program_lessons(
                q, self.insights, **_given(formulation=formulation)
            )
        context = _given(formulation=formulation, lessons=lessons, program_lessons=program_lessons)
        request = self.compose_program_request(self.program_guide, q, **context)
        attempts: list[Attempt] = []
        output: Any = None
        stopped: str | None = None
        for index in range(1, self.max_repairs + 2):
            try:
                reply = self.call_llm(self.system_rules, request)
            except BudgetExceeded as err:
                if not attempts:
                    raise
                # The attempts made so far are paid for: return them rather than lose them.
                stopped = f"stopped by the budget before repair {index - 1}: {err}"
                break
            usage = recorder.take()
            program, failure = _guarded(self.extract_code, reply)
            run = None
            if failure is None:
                run = self.run_program(program)
                output, failure = _guarded(self.read_answer, run)
            record = None if run is None else {**_value(run), "duration_s": recorder.durations[-1]}
            attempts.append(
                make_attempt(index, _value(reply), _value(program), usage, record, self.timeout_s)
            )
            if failure is None:
                break
            output = failure
            if index == self.max_repairs + 1 or not is_repairable(attempts[-1].outcome):
                break  # no repairs left, or a failure no program can fix (licence, no solver)
            attempt = node(index, name="attempt")
            request = self.compose_repair_request(
                self.repair_guide,
                self.program_guide,
                q,
                failure,
                attempt,
                **_given(program=program),
            )
        used = [*(_value(lessons) or []), *(_value(program_lessons) or [])]
        return output, attempts, described, used, stopped
