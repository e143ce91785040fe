"""Numeric optimizers on a 10M-parameter MLP: step time and state memory relative to torch Adam.

Run: ``python bench/numeric.py`` (about two minutes on two CPU cores; ``--steps`` trades time
for noise). For each optimizer it reports

- ``step``: time of ``optimizer.step()`` alone, on fixed gradients (for the zeroth-order
  optimizers: ``step(closure)``, which includes their two forward passes);
- ``state``: bytes of tensors in ``optimizer.state`` after a step;
- ``peak extra``: the most bytes of temporaries alive at once during a step
  (``PeakTensorMemory``);

each also as a ratio to torch Adam. Timings are medians over ``--steps`` steps after one
warm-up step, so the first step's lazy state allocation is not counted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optimizers import numeric
from optimizers.numeric.memory import PeakTensorMemory, state_bytes
from optimizers.numeric.registry import entry

# Settings per optimizer (learning rates do not change the timing; ranks and densities do).
SETTINGS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 1e-2, "momentum": 0.9},
    "adam": {"lr": 1e-3},
    "adamw": {"lr": 1e-3},
    "adam8bit": {"lr": 1e-3, "eight_bit": True},
    "lion": {"lr": 1e-4},
    "adabelief": {"lr": 1e-3},
    "diffgrad": {"lr": 1e-3},
    "adamp": {"lr": 1e-3},
    "exadam": {"lr": 1e-3},
    "apollo": {"lr": 1e-2},
    "apollo_mini": {"lr": 1e-2},
    "frugal": {"lr": 1e-3},
    "adadagrad": {"lr": 1e-2},
    "mezo": {"lr": 1e-6},
    "zo_adam": {"lr": 1e-3},
}
ALIASES = {"adam8bit": "adam"}


def mlp(device: torch.device) -> torch.nn.Module:
    """1024 -> 3072 -> 2048 -> 512 -> 10: 10.0M parameters."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(1024, 3072),
        torch.nn.GELU(),
        torch.nn.Linear(3072, 2048),
        torch.nn.GELU(),
        torch.nn.Linear(2048, 512),
        torch.nn.GELU(),
        torch.nn.Linear(512, 10),
    ).to(device)


def _median_ms(fn: Callable[[], Any], steps: int) -> float:
    fn()  # warm-up: lazy state allocation
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(name: str, steps: int, device: torch.device, batch: int) -> dict[str, float] | None:
    registry_name = ALIASES.get(name, name)
    if registry_name not in numeric.available():
        return None
    model = mlp(device)
    gen = torch.Generator(device=device).manual_seed(1)
    x = torch.randn(batch, 1024, generator=gen, device=device)
    y = torch.randint(0, 10, (batch,), generator=gen, device=device)

    def loss() -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(x), y)

    try:
        opt = numeric.create(registry_name, model.parameters(), **SETTINGS[name])
    except numeric.OptimizerUnavailableError:
        return None
    zeroth_order = entry(registry_name).zeroth_order
    if zeroth_order:
        step_ms = _median_ms(lambda: opt.step(loss), steps)
    else:
        loss().backward()  # fixed gradients: time the optimizer, not the model
        step_ms = _median_ms(opt.step, steps)
    with PeakTensorMemory() as peak:
        opt.step(loss) if zeroth_order else opt.step()
    return {
        "step_ms": step_ms,
        "state": state_bytes(opt),
        "peak": peak.peak,
        "params": sum(p.numel() for p in model.parameters()),
    }


def table(rows: dict[str, dict[str, float]]) -> str:
    base = rows["adam"]
    mib = 2**20
    lines = [
        "| optimizer | step ms | × Adam | state MiB | × Adam | peak extra MiB | × Adam |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['step_ms']:.1f} | {r['step_ms'] / base['step_ms']:.2f} "
            f"| {r['state'] / mib:.1f} | {r['state'] / base['state']:.2f} "
            f"| {r['peak'] / mib:.1f} | {r['peak'] / max(base['peak'], 1):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per optimizer")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", nargs="*", help="optimizer names (default: all available)")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    device = torch.device(args.device)
    names = ["adam", *[n for n in (args.only or SETTINGS) if n != "adam"]]
    rows: dict[str, dict[str, float]] = {}
    skipped = []
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        result = measure(name, args.steps, device, args.batch)
        if result is None:
            skipped.append(name)
        else:
            rows[name] = result
    params = rows["adam"]["params"]
    header = (
        f"MLP with {params / 1e6:.1f}M parameters on {device} "
        f"(torch {torch.__version__}, {torch.get_num_threads()} threads), batch {args.batch}, "
        f"median of {args.steps} steps"
    )
    text = f"{header}\n\n{table(rows)}\n"
    if skipped:
        text += f"\nnot measured (library not installed): {', '.join(skipped)}\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
