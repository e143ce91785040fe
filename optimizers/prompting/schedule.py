"""Instruction optimization (OptoPrime / OPRO on the instruction) and combined schedules.

Every strategy runs inside one :class:`~optimizers.prompting.evaluation.Search`, so all of its
LLM calls (the program's answers and the optimizer's proposals) come out of one budget:

==============  ==================================================================
``seed``        score the seed prompt only
``instruction`` LLM optimizer steps on the instruction (exemplars stay as they are)
``random``      random exemplar subsets of the labelled pool
``greedy``      greedy forward selection of exemplars, diverse candidates first
``diverse``     farthest-point exemplar sets
``bootstrap``   collect the model's own correct answers, then random search over them
``alternate``   instruction steps and exemplar random search, taking turns
``joint``       one optimizer proposes the instruction and the exemplars together
``combined``    bootstrap first, then ``alternate`` (the paper's best shape)
==============  ==================================================================

An instruction step costs the minibatch answers + 1 optimizer call + the validation answers of
the new instruction; it only starts when the budget can pay for all of it. A step whose
proposal scores worse than the best prompt is undone (the parameters go back to the best).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from optimizers.errors import OptimizerError
from optimizers.prompting.evaluation import Search, SearchResult, SearchStep
from optimizers.prompting.exemplars import (
    bootstrap_exemplars,
    diverse_search,
    greedy_search,
    random_search,
)
from optimizers.prompting.metrics import Metric, load_metric

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Unpack

    from optimizers.base import Optimizer
    from optimizers.prompting.exemplars import ExemplarChoice
    from optimizers.prompting.program import PromptProgram
    from optimizers.prompting.task import TaskItem
    from trace_core.llm import LLM

STRATEGIES: tuple[str, ...] = (
    "seed",
    "instruction",
    "random",
    "greedy",
    "diverse",
    "bootstrap",
    "alternate",
    "joint",
    "combined",
)
OPTIMIZERS: tuple[str, ...] = ("optoprime", "opro")

OBJECTIVE = (
    "Improve the prompt so the model's answers match the expected outputs exactly as the "
    "feedback describes."
)


class UnknownStrategy(OptimizerError, ValueError):
    """A strategy or optimizer name is not one of the known ones."""


def make_optimizer(
    name: str, search: Search, *, joint: bool = False, memory_size: int = 3
) -> Optimizer:
    """An OptoPrime or OPRO optimizer over the instruction (and the exemplars when ``joint``)
    whose calls are charged to ``search``'s budget."""
    program = search.program
    params = [program.instruction, program.exemplars] if joint else [program.instruction]
    objective = OBJECTIVE
    if joint:
        objective += (
            f" You may also change `exemplars`: a list of at most {program.max_exemplars} "
            "pool ids. The pool:\n" + program.pool.describe()
        )
    if name == "optoprime":
        from optimizers.optoprime import OptoPrime

        return OptoPrime(
            params, llm=search.optimizer_llm, objective=objective, memory_size=memory_size
        )
    if name == "opro":
        from optimizers.opro import OPRO

        return OPRO(params, llm=search.optimizer_llm, objective=objective)
    raise UnknownStrategy(f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}")


def _feedback(answer: str, expected: Any, score: float) -> str:
    verdict = "Correct" if score >= 1.0 else ("Partly correct" if score > 0 else "Wrong")
    return f"{verdict} (score {score:g}): expected {expected!r}, the answer was {answer!r}."


def instruction_steps(
    search: Search,
    optimizer: Optimizer,
    *,
    batch_size: int = 3,
    max_steps: int | None = None,
    kind: str = "instruction",
) -> int:
    """Run up to ``max_steps`` optimizer steps that the budget can fully pay for; return how
    many ran. Each step traces the program on a minibatch of training items (validation
    items when there is no training set), sends per-item feedback and applies the proposal."""
    program = search.program
    data = search.train or search.val
    done = 0
    while max_steps is None or done < max_steps:
        search.apply(search.best)
        batch = search.rng.sample(data, min(batch_size, len(data)))
        need = search.cost(search.best, [x for x, _ in batch]) + 1 + len(search.val)
        if not search.can_afford(need):
            search.stopped = "budget: the next instruction step would pass the call budget"
            break
        optimizer.zero_feedback()
        for x, y in batch:
            out = _traced_answer(program, x)
            score = search.metric(out.data, y)
            optimizer.backward(out, _feedback(out.data, y, score), score=score)
        result = optimizer.step()
        done += 1
        candidate = search.current()
        note = result.error or "; ".join(r.reason for r in result.rejected)
        if candidate.key() in search.scores:
            search.record(kind, search.scores[candidate.key()], candidate, note or "no change")
        else:
            search.evaluate(candidate, kind, note=note)
        search.apply(search.best)
    return done


def _traced_answer(program: PromptProgram, x: Any) -> Any:
    """Run the program traced; a model error surfaces as itself, not as a graph error."""
    from trace_core.errors import ExecutionError

    try:
        return program(x)
    except ExecutionError as err:
        raise err.exception_node.exception from None


def alternate(
    search: Search,
    optimizer: Optimizer,
    *,
    instruction_steps_per_round: int = 1,
    exemplar_candidates_per_round: int = 4,
    batch_size: int = 3,
    **choice: Unpack[ExemplarChoice],
) -> int:
    """Take turns: instruction steps, then exemplar random search with the best instruction
    over the chosen entries (:class:`~optimizers.prompting.exemplars.ExemplarChoice`), until
    neither can be paid for. Returns the number of rounds."""
    rounds = 0
    while True:
        steps = instruction_steps(
            search, optimizer, batch_size=batch_size, max_steps=instruction_steps_per_round
        )
        scored = random_search(search, max_candidates=exemplar_candidates_per_round, **choice)
        rounds += 1
        if steps == 0 and scored == 0:
            return rounds


def run_strategy(
    strategy: str,
    program: PromptProgram,
    train: Sequence[TaskItem | tuple[Any, Any]],
    val: Sequence[TaskItem | tuple[Any, Any]],
    metric: Metric | str,
    *,
    budget: int,
    seed: int = 0,
    optimizer: str = "optoprime",
    optimizer_llm: LLM | None = None,
    batch_size: int = 3,
    on_call: Callable[[], None] | None = None,
    on_step: Callable[[SearchStep], None] | None = None,
) -> SearchResult:
    """Run one strategy (see the module table) on ``program`` within ``budget`` LLM calls.

    The program is changed in place: it ends holding the best prompt found, and its pool holds
    any bootstrapped exemplars. Use ``program.fork()`` to keep the original.
    """
    if strategy not in STRATEGIES:
        raise UnknownStrategy(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    if optimizer not in OPTIMIZERS:
        raise UnknownStrategy(
            f"unknown optimizer {optimizer!r}; use one of {', '.join(OPTIMIZERS)}"
        )
    search = Search(
        program,
        train,
        val,
        load_metric(metric),
        budget=budget,
        seed=seed,
        strategy=strategy,
        optimizer_llm=optimizer_llm,
        on_call=on_call,
        on_step=on_step,
    )
    from trace_core.llm import BudgetExceeded

    with search:
        search.start()
        try:
            _dispatch(strategy, search, optimizer, batch_size)
        except BudgetExceeded as err:  # a safety net: strategies check costs before spending
            search.stopped = f"budget: {err}"
        return search.finish()


def _dispatch(strategy: str, search: Search, optimizer: str, batch_size: int) -> None:
    if strategy == "seed":
        search.stopped = "seed prompt scored"
    elif strategy == "instruction":
        instruction_steps(search, make_optimizer(optimizer, search), batch_size=batch_size)
    elif strategy == "random":
        random_search(search, source="task")
    elif strategy == "greedy":
        greedy_search(search, source="task")
    elif strategy == "diverse":
        diverse_search(search, source="task")
    elif strategy == "bootstrap":
        # With no correct answer to reuse, search falls back to the labelled pool.
        random_search(search, source="task", entries=bootstrap_exemplars(search))
    elif strategy == "alternate":
        alternate(search, make_optimizer(optimizer, search), batch_size=batch_size, source="task")
    elif strategy == "joint":
        instruction_steps(
            search,
            make_optimizer(optimizer, search, joint=True),
            batch_size=batch_size,
            kind="joint",
        )
    elif strategy == "combined":
        found = bootstrap_exemplars(search, max_calls=search.budget.remaining // 3)
        alternate(
            search,
            make_optimizer(optimizer, search),
            batch_size=batch_size,
            source="task",
            entries=found,
        )
