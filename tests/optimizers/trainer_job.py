"""A small deterministic training run, used by the kill-and-resume test as a child process.

    python -m tests.optimizers.trainer_job RUN_DIR [--kill-after N] [--resume]

The scripted model's reply depends only on the prompt, so a resumed run asks the same
questions and gets the same answers as an uninterrupted one. The job's command line
(:func:`job_args`, :func:`killer`) and the test side's :func:`run_job` and
:func:`kill_and_resume` serve the other jobs too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from optimizers import OptoPrime, Trainer
from trace_core import bundle, node
from trace_core.llm import ScriptedLLM

REPO = Path(__file__).resolve().parents[2]

TRAIN = [(1, 3), (2, 6), (3, 9), (4, 12), (5, 15), (6, 18)]
VAL = [(7, 21), (8, 24)]


@bundle()
def scale(w: int, x: int) -> int:
    """Multiply the input by the weight."""
    return w * x


def guide(output: int, target: int) -> tuple[float, str]:
    """Negative distance to the target, with feedback naming both numbers."""
    return -abs(output - target), f"with the weight got {output}, expected {target}"


def policy(messages: list[dict[str, Any]]) -> str:
    """Raise the weight by one while outputs are too small; report how much memory it saw."""
    prompt = messages[-1]["content"]
    pairs = [(int(a), int(b)) for a, b in re.findall(r"got (-?\d+), expected (-?\d+)", prompt)]
    ratios = {b // a for a, b in pairs if a}
    current = re.search(r"weight is (\d+)", prompt)
    remembered = prompt.count("[attempt ")
    suggestion: dict[str, Any] = {}
    if current and any(a < b for a, b in pairs):
        suggestion = {"w": int(current.group(1)) + 1}
    reasoning = f"saw {len(pairs)} results, ratios {sorted(ratios)}, {remembered} remembered"
    return json.dumps({"reasoning": reasoning, "suggestion": suggestion})


def build(run_dir: str, kill_after: int | None) -> Trainer:
    w = node(1, name="w", trainable=True, description="the weight")
    opt = OptoPrime(
        [w],
        llm=ScriptedLLM(policy),
        memory_size=2,
        objective="Make the output equal the target.",
    )

    def forward(x: int) -> Any:
        return scale(w, x)

    def tagged_guide(output: int, target: int) -> tuple[float, str]:
        score, feedback = guide(output, target)
        return score, f"weight is {w.data}: {feedback}"

    return Trainer(
        forward,
        opt,
        tagged_guide,
        TRAIN,
        val_set=VAL,
        batch_size=2,
        epochs=2,
        seed=7,
        run_dir=run_dir,
        progress=False,
        on_step=killer(kill_after),
    )


def job_args() -> argparse.Namespace:
    """A job's command line: RUN_DIR [--kill-after N] [--resume]."""
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--kill-after", type=int)
    parser.add_argument("--resume", action="store_true")
    return parser.parse_args()


def killer(kill_after: int | None) -> Callable[[Any], None]:
    """An ``on_step`` that SIGKILLs this process after step ``kill_after`` (never when None)."""

    def on_step(record: Any) -> None:
        if kill_after is not None and record.step + 1 == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    return on_step


def run_job(module: str, run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the job ``python -m module RUN_DIR *args`` from the repository root, LLM cache off;
    return the finished process with its output captured (a test's side of a job)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPTOFORGE_CACHE": "0"}
    return subprocess.run(
        [sys.executable, "-m", module, str(run_dir), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def kill_and_resume(
    module: str, tmp_path: Path, kill_after: int
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str], list[str]]:
    """Run job ``module`` whole in ``tmp_path/full``; then in ``tmp_path/killed`` SIGKILL it
    after step ``kill_after`` and resume it. Each process must end as intended (exit 0, death
    by SIGKILL, exit 0). Returns the whole run, the resumed run and the killed run's history
    lines as the kill left them."""
    full = run_job(module, tmp_path / "full")
    assert full.returncode == 0, full.stderr
    killed = run_job(module, tmp_path / "killed", "--kill-after", str(kill_after))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    at_kill = (tmp_path / "killed" / "history.jsonl").read_text().splitlines()
    resumed = run_job(module, tmp_path / "killed", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    return full, resumed, at_kill


def main() -> None:
    args = job_args()
    report = build(args.run_dir, args.kill_after).fit(resume=args.resume)
    summary = {
        "start_step": report.start_step,
        "parameters": report.parameters,
        "best_step": report.best_step,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
