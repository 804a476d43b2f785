"""The console's operations pages in a real browser (Debian's Chromium driven by Playwright),
against the same `timemachine serve` as test_console.py (its fixtures): an archive query over a
small archive written here, with its CSV download; alerts listed live, inspected and acked by an
analyst, not offered to a viewer; rules edited with validation and dry-run on a transaction; the
devnet provider, the queues and the worker on the operations page. No page logs a console error;
each page's screenshot goes to docs/screenshots/."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.service_support import LiveServer
from tests.integration.test_console import (
    PASSWORD,
    Console,
    browser,
    paused_chain,
    playwright_sync,
    server,
)
from tests.unit.archive_support import cryo_logs
from timemachine.archive.layout import BlockRange

pytestmark = pytest.mark.integration
__all__ = ["browser", "paused_chain", "server"]  # fixtures

REFUSED = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
GROUPED = "SELECT block_number, count(*) AS n FROM logs WHERE block_number < 3 GROUP BY 1 ORDER BY 1"


@pytest.fixture(scope="module")
def analyst(browser: Any, server: LiveServer) -> Iterator[Console]:
    console = Console(browser, server, "ana")
    yield console
    console.context.close()


@pytest.fixture(scope="module")
def viewer(browser: Any, server: LiveServer) -> Iterator[Console]:
    console = Console(browser, server, "vic")
    yield console
    console.context.close()


def test_archive_query_shows_rows_and_downloads_csv(
    analyst: Console, viewer: Console, server: LiveServer
) -> None:
    root = Path(server.env["TIME_MACHINE_DATA_DIR"]) / "archive"
    cryo_logs(root, BlockRange(0, 20), logs_per_block=3, chunk_size=10)
    page = analyst.go("archive")
    page.wait_for_selector("tr[data-dataset=logs]")
    assert page.locator("tr[data-dataset=logs] td").all_inner_texts() == ["logs", "ethereum", "2"]
    page.fill("textarea[name=sql]", GROUPED)
    page.get_by_role("button", name="Run query").click()
    playwright_sync.expect(page.get_by_test_id("query-rows")).to_have_text("3 rows")
    assert page.locator("table thead th").last.inner_text() == "n"
    cells = page.locator("tr.result").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert cells == [["0", "3"], ["1", "3"], ["2", "3"]]
    analyst.shot("archive")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = Path(download.value.path()).read_text()
    assert list(csv.reader(io.StringIO(saved))) == [["block_number", "n"], *cells]
    assert analyst.errors == []
    page.fill("textarea[name=sql]", "DELETE FROM logs")
    page.get_by_role("button", name="Run query").click()
    playwright_sync.expect(page.locator("p.error")).to_have_text(
        "only a SELECT (or WITH … SELECT) statement is allowed, got DELETE"
    )
    assert analyst.errors == [REFUSED]  # Chromium logs the refused request itself
    analyst.errors.clear()

    page = viewer.go("archive")
    page.wait_for_selector("tr[data-dataset=logs]")
    assert page.get_by_text("Archive queries need the analyst role; you are viewer.").is_visible()
    assert page.locator("textarea[name=sql]").count() == 0
    assert viewer.errors == []
