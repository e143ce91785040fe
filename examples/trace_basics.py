"""Trace a tiny workflow, send feedback back through it, and read what an optimizer would see.

Run: python examples/trace_basics.py [output-dir]

No LLM is needed: the "optimizer" step here is a hand-written update through ``set()``, the
same call real optimizers use.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from trace_core import ExecutionError, bundle, model, node, summarize, visualize


@bundle(trainable=True)
def price_with_tax(price: float, rate: float) -> float:
    """Return the price including tax."""
    return price * rate


@model
class Shop:
    def __init__(self) -> None:
        self.rate = node(0.2, name="rate", trainable=True, constraint="a tax rate between 0 and 1")

    def quote(self, price: float) -> object:
        return price_with_tax(node(price, name="price"), self.rate)


def main(out_dir: Path) -> None:
    shop = Shop()
    total = shop.quote(100.0)
    print(f"quote: {total.data}")
    total.backward("A 100 EUR item should cost 120 EUR including 20% tax.")
    summary = summarize(total, [*shop.parameters(), price_with_tax.code_parameter()])
    print(summary.to_text())

    # What an optimizer would do with its reply: set the code parameter to fixed source.
    summary.parameter("__code_price_with_tax").set(
        "def price_with_tax(price, rate):\n    return price * (1 + rate)\n"
    )
    print(f"after the fix: {shop.quote(100.0).data}")

    # A bad update is refused and the old code stays.
    try:
        price_with_tax.code_parameter().set("def price_with_tax(price):\n    return price\n")
    except ValueError as err:
        print(f"refused: {err}")

    # Errors are graph nodes too, so the error message can be the feedback.
    try:
        shop.quote("100")  # type: ignore[arg-type]
    except ExecutionError as err:
        print(f"error node: {err.exception_node.label}")

    out_dir.mkdir(parents=True, exist_ok=True)
    shop.save(out_dir / "shop.json")
    visualize(total, out_dir / "graph.dot")
    print(f"saved {out_dir / 'shop.json'} and {out_dir / 'graph.dot'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
