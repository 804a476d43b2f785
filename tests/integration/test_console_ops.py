"""The console's operations pages in a real browser (Debian's Chromium driven by Playwright),
against the same `timemachine serve` as test_console.py (console_support.py): an archive query
over a small archive written here, with its CSV download; alerts listed live, inspected and acked
by an analyst, not offered to a viewer; rules edited with validation and dry-run on a
transaction; the devnet provider, the queues and the worker on the operations page. No page logs
a console error; each page's screenshot goes to docs/screenshots/."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.console_support import (
    REDIS_URL,
    Console,
    analyst,
    browser,
    console_server,
    paused_chain,
    playwright_sync,
    rpc,
)
from tests.integration.service_support import REDIS_HOST, REDIS_PORT, LiveServer
from tests.unit.archive_support import cryo_logs
from timemachine.archive.layout import BlockRange
from timemachine.bus import event_bus
from timemachine.bus.topics import ALERTS
from timemachine.settings import DATABASE_FILE
from timemachine.store import Database
from timemachine.store.alerts import AlertStore

pytestmark = pytest.mark.integration
__all__ = ["analyst", "browser", "paused_chain"]  # fixtures
BROKER_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/14"

REFUSED = "Failed to load resource: the server responded with a status of {} ({})"
GROUPED = (
    "SELECT block_number, count(*) AS n FROM logs WHERE block_number < 3 GROUP BY 1 ORDER BY 1"
)


@pytest.fixture(scope="module")
def server(
    paused_chain: str, anvil_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Tasks on a Redis broker: the operations page asks the workers who they are."""
    folder = tmp_path_factory.mktemp("console-ops")
    with console_server(paused_chain, anvil_binary, folder, broker_url=BROKER_URL) as live:
        yield live


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
    assert analyst.errors == [
        REFUSED.format(400, "Bad Request")
    ]  # Chromium logs the refused request itself
    analyst.errors.clear()

    page = viewer.go("archive")
    page.wait_for_selector("tr[data-dataset=logs]")
    assert page.get_by_text("Archive queries need the analyst role; you are viewer.").is_visible()
    assert page.locator("textarea[name=sql]").count() == 0
    assert viewer.errors == []


def _raise_alert(server: LiveServer) -> dict[str, Any]:
    """An alert stored with one failed webhook attempt, then announced on the event bus, as the
    monitor's notifier does."""
    alert: dict[str, Any] = {
        "id": "a1e47" + "0" * 27,
        "rule_id": "big-transfer",
        "severity": "high",
        "stage": "pending",
        "chain": "devnet",
        "chain_id": 31337,
        "tx_hash": "0x" + "ab" * 32,
        "evidence": {"value": 5 * 10**18},
        "notify": ["ops-webhook"],
        "created_at": "2026-01-02T03:04:05+00:00",
    }
    db = Database(f"sqlite:///{Path(server.env['TIME_MACHINE_DATA_DIR']) / DATABASE_FILE}")
    try:
        with db.session() as s:
            store = AlertStore(s)
            assert store.add(alert, alert["notify"], now=time.time())
            store.record_attempt(
                alert["id"], "ops-webhook", at=time.time(), outcome="http_error",
                status="queued", status_code=502, error="bad gateway",
            )  # fmt: skip
    finally:
        db.dispose()
    event_bus(REDIS_URL).publish(ALERTS, {"type": "rule_alert", **alert})
    return alert


def test_alerts_arrive_live_and_an_analyst_acks_one(
    analyst: Console, viewer: Console, server: LiveServer
) -> None:
    page = analyst.go("alerts")
    page.wait_for_selector("h2 .dot.on")
    watching = viewer.go("alerts")
    watching.wait_for_selector("h2 .dot.on")
    alert = _raise_alert(server)
    row = page.locator(f"tr[data-alert='{alert['id']}']")
    row.wait_for()  # pushed over /ws/alerts, no reload
    assert row.locator("td").all_inner_texts()[1:6] == [
        "high", "big-transfer", "devnet", "pending", "0xababab…abab"
    ]  # fmt: skip
    row.get_by_role("button", name="Details").click()
    detail = page.locator(f".alert-detail[data-alert='{alert['id']}']")
    detail.wait_for()
    assert detail.locator("tr.delivery td").all_inner_texts()[:3] == ["ops-webhook", "queued", "1"]
    assert detail.locator("tr.attempt td").all_inner_texts()[1:] == [
        "ops-webhook", "http_error", "502", "bad gateway"
    ]  # fmt: skip
    assert detail.locator("pre").inner_text() == '{\n  "value": "5000000000000000000"\n}'
    row.get_by_role("button", name="Ack").click()
    playwright_sync.expect(row.locator("td").nth(6)).to_have_text("by ana")
    playwright_sync.expect(detail.locator("p.muted")).to_contain_text("acked by ana")
    analyst.shot("alerts")
    assert analyst.errors == []

    seen = watching.locator(f"tr[data-alert='{alert['id']}']")
    seen.wait_for()
    assert seen.get_by_role("button", name="Ack").count() == 0
    watching.reload()
    playwright_sync.expect(seen.locator("td").nth(6)).to_have_text("by ana")
    assert viewer.errors == []


@pytest.fixture(scope="module")
def admin(browser: Any, server: LiveServer) -> Iterator[Console]:
    console = Console(browser, server, "ada")
    yield console
    console.context.close()


def test_operations_show_the_devnet_provider_and_the_worker(
    admin: Console, analyst: Console, server: LiveServer, paused_chain: str
) -> None:
    head = int(rpc(paused_chain, "eth_blockNumber", []), 16)
    page = admin.go("ops")
    pool = page.locator(".card[data-pool=monitor]")
    playwright_sync.expect(pool.locator(".quorum")).to_have_text(
        f"head {head} (2 of 2 agree, policy 2/3+1)"
    )
    assert pool.locator("h3").inner_text().startswith("monitor · chain 31337")
    providers = pool.locator("tr.provider").evaluate_all("rows => rows.map(r => r.dataset.url)")
    assert providers == [paused_chain, paused_chain.replace("http://", "ws://")]
    for row in pool.locator("tr.provider").all():
        cells = row.locator("td").all_inner_texts()
        assert (cells[1], cells[2], cells[4]) == (str(head), "0", "ok")
    count = page.get_by_test_id("worker-count")
    count.wait_for()
    deadline = time.monotonic() + 60
    while count.inner_text() != "1 worker(s) · 0 task(s) running":  # it may still be starting
        assert time.monotonic() < deadline, count.inner_text()
        page.get_by_role("button", name="Refresh").click()
        page.wait_for_timeout(1000)
    assert page.locator("tr.worker").count() == 1
    assert page.locator("h3 .dot.on").count() == 1  # /ws/status
    admin.shot("operations")
    assert admin.errors == []

    page = analyst.go("ops")
    playwright_sync.expect(
        page.get_by_text(
            "Operations (providers, queues, workers) are shown to admins; you are analyst."
        )
    ).to_be_visible()
    assert analyst.errors == []


RULE_DOCUMENT = """rules:
  - id: large-transfer
    when: 'stage == "pending" and tx.value >= 1000000000000000000'
    severity: high
"""


def test_rules_edit_validate_and_dry_run(
    analyst: Console, viewer: Console, server: LiveServer
) -> None:
    if server.get("/api/time-machine/rules").status_code == 404:
        pytest.skip("the rules REST router (/api/time-machine/rules) is not in this build")
    page = analyst.go("rules")
    page.fill("input[name=rule_name]", "big transfers")
    page.fill("textarea[name=document]", "rules: [{id: a, when: 'tx.value > \"x\"'}]")
    page.get_by_role("button", name="Validate").click()
    note = page.get_by_test_id("rule-note")
    playwright_sync.expect(note).to_contain_text("compares int with str")
    assert analyst.errors == [REFUSED.format(400, "Bad Request")]
    analyst.errors.clear()
    page.fill("textarea[name=document]", RULE_DOCUMENT)
    page.get_by_role("button", name="Validate").click()
    playwright_sync.expect(note).to_have_text("valid: 1 rule(s), 0 channel(s)")
    page.get_by_role("button", name="Create").click()
    row = page.locator("tr[data-rule-id]")
    playwright_sync.expect(row.locator("td").first).to_have_text("big transfers")
    rule_id = row.get_attribute("data-rule-id")
    row.get_by_role("link", name="big transfers").click()
    event = {"stage": "pending", "chain": "devnet", "chain_id": 31337,
             "tx": {"hash": "0x" + "cd" * 32, "value": 2 * 10**18}}  # fmt: skip
    page.fill("textarea[name=event]", json.dumps(event))
    page.get_by_role("button", name="Dry run").click()
    playwright_sync.expect(page.get_by_test_id("dryrun-summary")).to_have_text("1 rule(s) match")
    assert page.locator("tr.match").get_attribute("data-rule") == f"{rule_id}:large-transfer"
    page.locator("tr.match").scroll_into_view_if_needed()
    analyst.shot("rules-stored")
    page.fill("textarea[name=event]", json.dumps({**event, "tx": {"value": 1}}))
    page.get_by_role("button", name="Dry run").click()
    playwright_sync.expect(page.get_by_test_id("dryrun-summary")).to_have_text("0 rule(s) match")
    assert analyst.errors == []

    page = viewer.go("rules")
    refused = page.get_by_text("Editing rules needs the analyst role; you are viewer.")
    playwright_sync.expect(refused).to_be_visible()
    assert page.get_by_role("button", name="Create").count() == 0
    assert page.get_by_role("button", name="Validate").count() == 0
    assert viewer.errors == []
