"""The HTML report of the deepest bundled scenario (reentrancy-bank: 50 nested re-entries) in
Debian's headless Chromium: offline, the call tree collapses, expands and searches, the fund-flow
labels do not overlap, nothing overflows a 1,300 px page. Screenshots go to tmp (with
`UPDATE_SCREENSHOTS=1`, to docs/img/ for docs/output.md)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, REPO
from timemachine.analysis import analyze
from timemachine.analysis.report_html import render_html
from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1300


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI must not skip browser tests)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ModuleNotFoundError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        _unavailable("Debian chromium is missing (make setup installs it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
async def report_page(
    browser: Any, devnet: Devnet, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Any, list[str], int]]:
    record = devnet.history.scenario("reentrancy-bank")
    async with TimeMachine(devnet.rpc_url) as machine:
        result = await machine.replay(record.exploit_tx)
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(analyze(result, devnet.history.labels), result))
    page = await browser.new_page(viewport={"width": WIDTH, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(path.as_uri())
    assert requests == [path.as_uri()]  # self-contained: no CDN, font or image fetched
    frames = sum(1 for _ in result.trace.walk())
    yield page, errors, frames
    assert errors == []
    await page.close()


async def _shot(page: Any, section: str, name: str, tmp: Path, height: int = 900) -> None:
    """A screenshot of `section`'s first `height` pixels at the page's width."""
    path = REPO / "docs" / "img" / name if os.environ.get("UPDATE_SCREENSHOTS") else tmp / name
    top, tall = await page.evaluate(
        """(selector) => {
            const box = document.querySelector(selector).getBoundingClientRect();
            return [box.top + window.scrollY, box.height];
        }""",
        section,
    )
    clip = {"x": 0, "y": top, "width": WIDTH, "height": min(tall, height)}
    await page.screenshot(path=str(path), clip=clip, full_page=True)
    assert path.stat().st_size > 10_000


async def test_the_page_fits_and_the_tree_has_every_frame(
    report_page: tuple[Any, list[str], int], tmp_path: Path
) -> None:
    page, _, frames = report_page
    assert frames == 105  # attack → withdraw → receive, 50 times, and more: no folding limit
    assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert await page.locator("ul.tree details[open]").count() == frames
    text = await page.locator("ul.tree").inner_text()
    assert "BankAttacker::attack{value: 1 ETH}()" in text
    assert text.count("EtherBank::withdraw(1000000000000000000 [1e18])") == 51
    await _shot(page, "#tree", "report-tree-expanded.png", tmp_path)


async def test_the_tree_collapses_expands_and_searches(
    report_page: tuple[Any, list[str], int], tmp_path: Path
) -> None:
    page, _, frames = report_page
    tree = page.locator("#tree")
    await tree.locator("button[data-action=collapse]").click()
    assert await page.locator("ul.tree details[open]").count() == 0
    assert await page.locator("ul.tree summary:visible").count() == 1  # the root alone
    await _shot(page, "#tree", "report-tree-collapsed.png", tmp_path, height=200)
    await tree.locator("input[type=search]").fill("receive")
    hits = await page.locator("ul.tree .hit").count()
    assert hits > 0
    assert await tree.locator(".tree-count").inner_text() == f"{hits} matches"
    assert await page.locator("ul.tree .hit:visible").count() == hits  # ancestors opened
    await tree.locator("input[type=search]").fill("")
    await tree.locator("button[data-action=expand]").click()
    assert await page.locator("ul.tree details[open]").count() == frames


async def test_fund_flow_steps_are_legible(
    report_page: tuple[Any, list[str], int], tmp_path: Path
) -> None:
    page, _, _ = report_page
    boxes = await page.evaluate(
        """() => Array.from(document.querySelectorAll('svg.steps text')).map(t => {
            const b = t.getBoundingClientRect();
            return [b.left, b.top, b.right, b.bottom, t.textContent];
        })"""
    )
    heads = [box[4] for box in boxes if not box[4][0].isdigit()]
    assert heads == ["mallory", "BankAttacker", "EtherBank"]
    steps = [box for box in boxes if box[4][0].isdigit()]
    assert [box[4].split(".")[0] for box in steps] == [str(n) for n in range(1, len(steps) + 1)]
    assert steps[0][4] == "1. 1 ETH"
    for index, (left, top, right, bottom, label) in enumerate(boxes):
        for other in boxes[index + 1 :]:
            apart = right <= other[0] or other[2] <= left or bottom <= other[1] or other[3] <= top
            assert apart, f"{label!r} overlaps {other[4]!r}"
    await _shot(page, "#flow", "report-fund-flow.png", tmp_path, height=2200)
