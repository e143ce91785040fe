"""The run page in a real headless Chromium: what a user must see, plus a kept screenshot."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from agents.reporting import load_run, write_page
from tests.agents.reporting.runs import BEST_RULE, evaluation_run, trainer_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Screenshots stay here after the run (CI keeps the work tree), for a person to look at.
ARTIFACTS = Path(os.environ.get("OPTOFORGE_TEST_ARTIFACTS", "test-artifacts"))

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get)")


@pytest.fixture(scope="module")
def browser() -> Any:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def _open(browser: Any, page_path: Path) -> Any:
    page = browser.new_page(viewport={"width": 1200, "height": 1600})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.resolve().as_uri())
    page.requests = requests
    return page


def test_trainer_page_draws_curves_and_shows_the_rule_diff(browser: Any, tmp_path: Path) -> None:
    out = write_page(load_run(trainer_run(tmp_path)), tmp_path / "train.html")
    page = _open(browser, out)
    curves = page.locator('svg[data-chart="curves"]')
    assert curves.count() == 1
    assert curves.locator("path").count() >= 2  # train and validation lines at least
    assert page.locator("table.diff").count() == 1
    assert BEST_RULE in page.locator("table.diff").inner_text().replace("\xa0", " ")
    assert page.locator("details.step").count() == 3
    rejected = page.locator("details.step").nth(1)
    rejected.locator("summary").first.click()  # open it as a user would
    assert "rejected weight" in rejected.inner_text()
    assert page.locator("div.graph svg, #graph + p").count() >= 1
    assert all(url.startswith("file:") or url.startswith("data:") for url in page.requests)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "run-page-trainer.png"), full_page=True)


def test_item_table_filters_by_outcome_and_shows_a_program(browser: Any, tmp_path: Path) -> None:
    out = write_page(load_run(evaluation_run(tmp_path, n=450)), tmp_path / "eval.html")
    page = _open(browser, out)
    rows = page.locator("#items tbody tr")
    assert rows.count() == 200  # paged: long runs stay usable
    assert "450 of 450" in page.locator("#f-count").inner_text()
    page.select_option("#f-outcome", "correct")
    assert "180 of 450" in page.locator("#f-count").inner_text()
    assert {rows.nth(i).get_attribute("data-outcome") for i in range(rows.count())} == {"correct"}
    page.select_option("#f-outcome", "")
    page.select_option("#f-source", "IndustryOR")
    assert "225 of 450" in page.locator("#f-count").inner_text()
    rows.first.click()
    assert page.locator("pre.item-program").inner_text().strip() == "print('program of item 0')"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "run-page-evaluation.png"), full_page=True)
