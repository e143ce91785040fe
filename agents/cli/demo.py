"""``optoforge demo``: run one of the examples end to end with whatever model is available.

The default is the flagship: the formulation program trained for two steps, with validation
accuracy before and after and the prompt change as a diff. It needs a capable model, so it uses
``--llm`` or ``OPTOFORGE_LLM`` and otherwise says so in one line and runs the scripted world.
For the other examples the model choice is, first match wins: ``--llm``; ``OPTOFORGE_LLM``; the
embedded local model when its extra is installed; otherwise the example's scripted stand-in
model, and the command says so and how to point it at a real model.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import typer

from agents.cli.common import JsonModeOpt, fail
from agents.cli.tracking import TrackOpt, tracked

EXAMPLES = {
    "formulation": "formulation_training",
    "numeric": "numeric_target",
    "prompt": "prompt_tuning",
    "code": "code_tuning",
    "workflow": "agent_workflow",
}

LIVE_STEPS = 5

HOW_TO_USE_A_REAL_MODEL = (
    "To use a real model: pass --llm provider:model (e.g. --llm openai:gpt-4o-mini with "
    "OPENAI_API_KEY set, or any OpenAI-compatible server via OPENAI_BASE_URL), or export "
    "OPTOFORGE_LLM=provider:model; for the small embedded model install the `local` extra "
    "(pip install 'optoforge[local]')."
)


def examples_dir() -> Path:
    """Where the example scripts live (the repository's ``examples/``)."""
    return Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<file>.py`` for the demo named ``name``."""
    if name not in EXAMPLES:
        raise typer.BadParameter(f"unknown example {name!r}; choose one of {sorted(EXAMPLES)}")
    path = examples_dir() / f"{EXAMPLES[name]}.py"
    if not path.is_file():
        raise typer.BadParameter(
            f"{path} is missing: the demo runs the examples shipped in the repository; run it "
            "from a source checkout (pip install -e .)"
        )
    spec = importlib.util.spec_from_file_location(f"optoforge_demo_{EXAMPLES[name]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def choose_capable_llm(llm_id: str | None) -> tuple[Any, str]:
    """The model for the flagship demo: ``--llm`` or ``OPTOFORGE_LLM``, else the scripted world."""
    from trace_core.llm import get_llm

    chosen = llm_id or os.environ.get("OPTOFORGE_LLM")
    if chosen:
        return get_llm(chosen), f"Using {chosen} on 6 items of examples/data/sample.jsonl."
    return None, (
        "No capable model configured (pass --llm or set OPTOFORGE_LLM): running the SCRIPTED "
        "WORLD, where a stand-in model writes integer variables only when told to."
    )


def print_formulation_report(result: dict[str, Any]) -> None:
    """The flagship demo's result for people: accuracy before/after and the prompt diff."""
    typer.echo(f"world: {result['world']}")
    typer.echo(
        f"validation accuracy: {result['accuracy_before']:.0%} -> {result['accuracy_after']:.0%}"
        f" after {result['steps']} OptoPrime step(s); {result['calls']} LLM call(s), "
        f"{result['tokens']} tokens, ${result['cost']:.4f}"
    )
    typer.echo("prompt change:\n" + (result["diff"] or "(none)"))
    typer.echo(f"run dir: {result['run_dir']} (history.jsonl, scores.png, best.json)")
    typer.echo(f"look at it: optoforge report {result['run_dir']}")


def choose_llm(llm_id: str | None) -> tuple[Any, str]:
    """The model to use (None: the example's scripted stand-in) and a sentence saying why."""
    from trace_core.llm import LLMError, get_llm

    if llm_id:
        return get_llm(llm_id), f"Using {llm_id} (from --llm)."
    env_id = os.environ.get("OPTOFORGE_LLM")
    if env_id:
        return get_llm(env_id), f"Using {env_id} (from OPTOFORGE_LLM)."
    try:
        local = _local_llm()
    except (LLMError, ImportError) as err:
        local, why = None, f"the embedded local model is installed but failed to load ({err})"
    else:
        why = "the embedded local model is not installed"
    if local is not None:
        return local, (
            "Using the embedded local model (SmolLM2-135M): it proves the plumbing offline but "
            "is too small to optimize well. " + HOW_TO_USE_A_REAL_MODEL
        )
    return None, (
        f"No LLM configured (OPTOFORGE_LLM is unset and {why}): using the example's scripted "
        "stand-in model, which answers like a sensible optimizer without calling any model. "
        + HOW_TO_USE_A_REAL_MODEL
    )


_PROBE = (
    "from trace_core.llm import get_llm; "
    "get_llm('local:smollm2', cache=False).complete([{'role': 'user', 'content': 'hi'}], "
    "max_tokens=1)"
)


def _local_llm() -> Any | None:
    """The embedded local model when its extra is installed and runs here, else None.

    A llama.cpp build made for another CPU dies with SIGILL, which no ``except`` can catch, so
    the model first answers one token in a child process.
    """
    from trace_core.llm import LLMConfigError, get_llm, local_model_available

    if not local_model_available():
        return None
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=300
        )
    except subprocess.TimeoutExpired as err:
        raise LLMConfigError("the local model did not answer within 300 s") from err
    if probe.returncode != 0:
        raise LLMConfigError(
            f"llama-cpp-python cannot generate on this machine (exit {probe.returncode}); "
            "rebuild it with CMAKE_ARGS=-DGGML_NATIVE=OFF pip install --no-cache-dir "
            "--force-reinstall llama-cpp-python"
        )
    return get_llm("local:smollm2")


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the CLI."""

    @app.command()
    def demo(
        example: str = typer.Option(
            "formulation", "--example", "-e", help=f"which example to run: {', '.join(EXAMPLES)}"
        ),
        llm: str | None = typer.Option(
            None, "--llm", help="provider:model, e.g. openai:gpt-4o-mini (default: OPTOFORGE_LLM)"
        ),
        run_dir: Path | None = typer.Option(
            None, "--run-dir", help="where trainer examples write history and checkpoints"
        ),
        steps: int | None = typer.Option(
            None,
            "--steps",
            min=1,
            help="optimizer steps for the formulation, numeric and code examples",
        ),
        json_output: bool = typer.Option(
            False, "--json", help="print the result as JSON (always for examples but formulation)"
        ),
        resume: bool = typer.Option(
            False, "--resume", help="continue the trainer run in --run-dir (prompt, workflow)"
        ),
        json_mode: JsonModeOpt = None,
        track: TrackOpt = None,
    ) -> None:
        """Run one optimization example end to end (default: train the formulation program)."""
        from agents.cli.common import reported_errors

        module = load_example(example)
        flagship = example == "formulation"
        accepts = inspect.signature(module.run).parameters
        if (run_dir is not None or resume) and "run_dir" not in accepts:
            with_dir = [name for name in EXAMPLES if _takes_run_dir(name)]
            raise fail(
                f"--run-dir and --resume work with the {' and '.join(with_dir)} examples, not "
                f"{example!r}"
            )
        if resume and run_dir is None:
            raise fail("--resume needs the --run-dir of the run to continue")
        if not resume and run_dir is not None and (run_dir / "checkpoint.json").exists():
            raise fail(
                f"{run_dir} already holds a run; pass --resume to continue it, or choose "
                "another --run-dir"
            )
        kwargs: dict[str, Any] = {}
        if run_dir is not None:
            kwargs["run_dir"] = str(run_dir)
        if resume:
            kwargs["resume"] = True
        with tracked(run_dir, track, f"demo {example}"), reported_errors(run_dir):
            model, note = choose_capable_llm(llm) if flagship else choose_llm(llm)
            typer.echo(note, err=True)
            if flagship and steps is not None:
                kwargs["steps"] = steps
            elif "steps" in accepts and (steps is not None or model is not None):
                # A real model is slow and costs money: a few steps show the loop working.
                kwargs["steps"] = steps if steps is not None else LIVE_STEPS
            # Examples print their progress; keep stdout for the JSON result.
            stdout, sys.stdout = sys.stdout, sys.stderr
            try:
                result = module.run(model, **kwargs)
            finally:
                sys.stdout = stdout
        if flagship and not json_output:
            print_formulation_report(result)
        else:
            typer.echo(json.dumps(result, indent=2, default=str))


def _takes_run_dir(name: str) -> bool:
    """True when example ``name`` writes a trainer run directory (so it can resume)."""
    return "run_dir" in inspect.signature(load_example(name).run).parameters
