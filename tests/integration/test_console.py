"""The web console in a real browser (Debian's Chromium driven by Playwright) against a real
`timemachine serve` (one worker, Redis event bus, a mempool monitor on a paused devnet fork):
log in, replay a bundled exploit with a click and open its transaction view, expand the tree,
click a finding and land on its frame; run a what-if and read the comparison; see a pending
transaction arrive in the live feed; filter the MEV explorer; a viewer is offered no
state-changing action and the API refuses one (403). No page logs a console error. Screenshots
of each page go to docs/screenshots/."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import REPO
from tests.integration.console_support import (
    PASSWORD,
    Console,
    analyst,
    browser,
    console_server,
    paused_chain,
    playwright_sync,
    rpc,
)
from tests.integration.service_support import LiveServer, login
from timemachine.analysis.evidence import path_text
from timemachine.catalog.devnet import actor_account, actor_address
from timemachine.catalog.scenarios import get_scenario
from timemachine.devnet import Devnet
from timemachine.models.trace import CallFrame

pytestmark = pytest.mark.integration
__all__ = ["analyst", "browser", "paused_chain"]  # fixtures
expect = playwright_sync.expect

MEV_BLOCK = Path("../shared/fixtures/mev-inspect/blocks/12775690.json")
SLOW_MS = 180_000  # a first replay builds the worker's devnet on a loaded machine
GWEI = 10**9


def send_transfer(url: str, account: LocalAccount, to: str, value: int) -> str:
    """Sign and send an EIP-1559 transfer; its hash."""
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": int(rpc(url, "eth_chainId", []), 16),
        "nonce": int(rpc(url, "eth_getTransactionCount", [account.address, "pending"]), 16),
        "to": to,
        "value": value,
        "gas": 21_000,
        "maxFeePerGas": 100 * GWEI,
        "maxPriorityFeePerGas": 2 * GWEI,
    }
    signed = account.sign_transaction(tx)
    sent: str = rpc(url, "eth_sendRawTransaction", ["0x" + signed.raw_transaction.hex()])
    return sent.lower()


@pytest.fixture(scope="module")
def server(
    paused_chain: str, anvil_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with console_server(paused_chain, anvil_binary, tmp_path_factory.mktemp("console")) as live:
        yield live


@pytest.fixture(scope="module")
def bearer(server: LiveServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(server.base, 'ana', PASSWORD)}"}


@pytest.fixture(scope="module")
def exploit_session(analyst: Console) -> str:
    """reentrancy-bank replayed with one click in the catalog, followed live to completion."""
    page = analyst.go("exploits")
    page.check("text=Replayable here")
    row = page.locator("tr[data-exploit=reentrancy-bank]")
    row.get_by_role("button", name="Replay").click()
    row.locator(".progress").wait_for()
    link = row.get_by_text("Open transaction view")
    link.wait_for(timeout=SLOW_MS)
    href: str = link.get_attribute("href") or ""
    assert href.startswith("#/session/")
    return href.removeprefix("#/session/")


def searched_text(frame: CallFrame) -> str:
    """What the console's tree search matches (web/src/tree.js `searchText`)."""
    parts = [frame.type, frame.to, frame.from_, frame.error, frame.revert_reason]
    parts += [frame.decoded.signature if frame.decoded else None]
    for log in frame.logs:
        parts += [log.event.name if log.event else None, log.address]
    return " ".join(part for part in parts if part).lower()


def _result(server: LiveServer, bearer: dict[str, str], session_id: str) -> dict[str, Any]:
    detail = server.get(f"/api/time-machine/sessions/{session_id}", headers=bearer).json()
    result: dict[str, Any] = detail["results"][0]
    return result


def test_login_shows_the_catalog_with_its_charts(analyst: Console) -> None:
    page = analyst.go("exploits")
    page.wait_for_selector("tr[data-exploit]")
    assert page.locator(".who").inner_text() == "ana · analyst"
    assert page.locator("figure.chart figcaption").all_inner_texts() == [
        "Losses by class (USD)",
        "Losses by chain (USD)",
        "Losses by year (USD)",
    ]
    analyst.shot("catalog")
    page.check("text=Replayable here")
    bundled = page.locator("tr[data-exploit]").count()
    assert bundled == page.locator("tr[data-exploit] button", has_text="Replay").count() > 0
    assert analyst.errors == []


def test_transaction_view_tree_and_finding_to_frame(
    analyst: Console, server: LiveServer, bearer: dict[str, str], exploit_session: str
) -> None:
    result = _result(server, bearer, exploit_session)
    tree = CallFrame.model_validate(result["replay"]["trace"])
    frames = sum(1 for _ in tree.walk())
    finding = result["analysis"]["findings"][0]
    assert finding["vulnerability_class"] == "reentrancy"
    target = finding["evidence"]["frames"][0]

    page = analyst.go(f"session/{exploit_session}")
    page.wait_for_selector(".row[data-path=root]")
    assert page.locator(".fidelity strong").inner_text() == "exact"
    assert page.locator(".summary .pill").inner_text() == "success"
    assert page.get_by_text(f"{frames} frames").is_visible()
    rows_shown = expect(page.get_by_test_id("rows-shown"))
    page.get_by_role("button", name="Expand all").click()
    rows_shown.to_have_text(f"{frames} rows shown")
    page.get_by_role("button", name="Collapse").click()
    rows_shown.to_have_text("1 rows shown")
    page.locator(".tree-box").focus()
    page.keyboard.press("ArrowRight")  # expand the root
    page.keyboard.press("ArrowDown")  # to its first call
    expect(page.locator(".row.selected")).to_have_attribute("data-path", "calls[0]")
    page.fill("input[aria-label=Depth]", "2")
    page.get_by_role("button", name="Expand to depth").click()
    rows_shown.to_have_text(f"{sum(1 for path, _ in tree.walk() if len(path) <= 2)} rows shown")
    withdraws = [path for path, frame in tree.walk() if "withdraw" in searched_text(frame)]
    page.fill("input[aria-label='Search the call tree']", "withdraw")
    expect(page.locator(".calltree .toolbar .muted")).to_have_text(
        f"{len(withdraws)} match" + ("" if len(withdraws) == 1 else "es")
    )
    page.keyboard.press("Enter")  # the first match after the selected frame
    expect(page.locator(".row.selected")).to_have_attribute("data-path", path_text(withdraws[0]))

    page.locator(".finding a[data-frame]").first.click()
    selected = page.locator(".row.selected")
    expect(selected).to_have_attribute("data-path", target)
    expect(selected).to_be_in_viewport()
    assert page.locator(".frame-detail").get_attribute("data-path") == target
    assert f"frame={target}" in page.url.replace("%5B", "[").replace("%5D", "]")
    analyst.shot("transaction")
    page.get_by_role("button", name="Switch theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    analyst.shot("transaction-light")
    page.get_by_role("button", name="Switch theme").click()
    page.locator(".node").first.click()  # focus one address's flows
    expect(page.locator(".fundflow").get_by_text("focused on")).to_be_visible()
    assert analyst.errors == []


def test_whatif_patch_compares_side_by_side(
    analyst: Console, server: LiveServer, bearer: dict[str, str], devnet: Devnet,
    exploit_session: str,
) -> None:  # fmt: skip
    tx_hash = _result(server, bearer, exploit_session)["tx_hash"]
    fix = get_scenario("reentrancy-bank").fix
    assert fix is not None
    source = files("timemachine.catalog") / "scenarios" / "contracts" / f"{fix.artifact}.sol"
    page = analyst.go(f"whatif?tx_hash={tx_hash}")
    assert page.locator("input[name=tx_hash]").input_value() == tx_hash
    page.fill("input[name=patch_address]", devnet.history.address_of(fix.contract))
    page.fill("input[name=contract]", fix.artifact)
    page.fill("textarea[aria-label='Patched Solidity source']", source.read_text())
    expect(page.locator(".editor .sol-keyword").first).to_have_text("pragma")
    page.get_by_role("button", name="Run what-if").click()
    table = page.locator("table.comparison")
    table.wait_for(timeout=SLOW_MS)
    status = table.locator("tr", has=page.locator("th", has_text="status"))
    assert status.locator("td").all_inner_texts() == ["1", "0"]
    assert table.locator("thead th").all_inner_texts()[1:] == ["replay", "what-if"]
    table.scroll_into_view_if_needed()
    analyst.shot("whatif")
    assert analyst.errors == []


def test_a_pending_transaction_appears_in_the_live_feed(
    analyst: Console, paused_chain: str
) -> None:
    page = analyst.go("live")
    page.wait_for_selector(".dot.on")
    sent: list[str] = []
    deadline = time.monotonic() + 90
    # the monitor subscribes some time after serve started: send until one arrives
    while not any(page.locator(f"tr[data-tx='{h}']").count() for h in sent):
        assert time.monotonic() < deadline, "no pending transaction reached the live feed"
        sent.append(send_transfer(paused_chain, actor_account("alice"), actor_address("bob"), GWEI))
        page.wait_for_timeout(1000)
    row = next(
        page.locator(f"tr[data-tx='{h}']")
        for h in sent
        if page.locator(f"tr[data-tx='{h}']").count()
    )
    cells = row.locator("td").all_inner_texts()
    assert cells[4:7] == ["0.000000001 ETH", "transfer", "pending"]
    analyst.shot("live")
    assert analyst.errors == []


def test_mev_explorer_filters_by_type(
    analyst: Console, server: LiveServer, bearer: dict[str, str]
) -> None:
    inspected = server.post(
        "/api/time-machine/mev/inspect",
        json={"chain_id": 1, "blocks": [json.loads((REPO / MEV_BLOCK).read_text())]},
        headers=bearer,
        timeout=60,
    )
    assert inspected.status_code == 200, inspected.text
    every = server.get("/api/time-machine/mev/findings?limit=500", headers=bearer).json()["items"]
    page = analyst.go("mev")
    expect(page.get_by_test_id("mev-count")).to_have_text(f"{len(every)} findings")
    page.select_option("select[aria-label='MEV type']", "sandwich")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("mev-count")).to_have_text("1 findings")
    assert page.locator("tr[data-type]").evaluate_all("rows => rows.map(r => r.dataset.type)") == [
        "sandwich"
    ]
    assert page.locator("tr[data-type] td").nth(3).inner_text() == "0x000000…c4d8"
    analyst.shot("mev")
    assert analyst.errors == []


DRAFT_RULES = """rules:
  - id: big-transfer
    when: 'tx.value >= 10 ether'
    severity: high
"""


def test_rules_validate_then_dry_run_a_draft_on_an_event(analyst: Console) -> None:
    """An unsaved document checked by the server, then dry-run on a typed event; none stored."""
    page = analyst.go("rules")
    page.fill("textarea[name=document]", DRAFT_RULES)
    note = page.get_by_test_id("rule-note")
    page.get_by_role("button", name="Validate").click()
    expect(note).to_have_text("valid: 1 rule(s), 0 channel(s)")
    tx = {"from": "0x" + "11" * 20, "to": "0x" + "22" * 20, "value": 20 * 10**18}
    event = {"stage": "pending", "chain": "devnet", "chain_id": 31337, "tx": tx}
    page.fill("textarea[name=event]", json.dumps(event))
    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_test_id("dryrun-summary")).to_have_text("1 rule(s) match")
    match = page.locator("tr.match")
    assert match.get_attribute("data-rule") == "big-transfer"
    assert match.locator("td").nth(1).inner_text() == "high"
    match.scroll_into_view_if_needed()
    analyst.shot("rules")
    page.fill("textarea[name=document]", "rules: [{id: x, when: 'tx.value >>'}]")
    page.get_by_role("button", name="Validate").click()
    expect(note).to_have_class("error")
    # the browser itself logs the refused request (a 400 with its one-line reason shown)
    assert analyst.errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    analyst.errors.clear()
    assert page.locator("tr[data-rule-id]").count() == 0  # nothing was stored


def test_account_creates_an_api_key_that_works_then_revokes_it(
    analyst: Console, server: LiveServer
) -> None:
    page = analyst.go("account")
    page.fill("input[name=name]", "ci key")
    page.check("input[value='sessions:read']")
    page.get_by_role("button", name="Create key").click()
    key = page.locator(".new-key code").inner_text()
    assert key.startswith("tm_")
    me = server.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert (me["user"]["username"], me["via"], me["scopes"]) == (
        "ana",
        "api_key",
        ["sessions:read"],
    )
    row = page.locator("tr", has_text="ci key")
    row.get_by_role("button", name="Revoke").click()
    expect(row.locator("td").last).to_have_text("revoked")
    assert server.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert analyst.errors == []


def test_a_viewer_is_not_offered_and_is_refused_a_replay(browser: Any, server: LiveServer) -> None:
    viewer = Console(browser, server, "vic")
    try:
        page = viewer.go("exploits")
        page.wait_for_selector("tr[data-exploit]")
        page.check("text=Replayable here")
        expect(page.locator("tr[data-exploit=reentrancy-bank]")).to_be_visible()
        expect(page.get_by_role("button", name="Replay")).to_have_count(0)
        page = viewer.go("whatif")
        expect(
            page.get_by_text("What-if runs need the analyst role; you are viewer.")
        ).to_be_visible()
        cookies = viewer.cookies()
        refused = server.post(
            "/api/time-machine/replay/exploit/start",
            json={"exploit_id": "reentrancy-bank"},
            cookies={"tm_session": cookies["tm_session"], "tm_csrf": cookies["tm_csrf"]},
            headers={"X-CSRF-Token": cookies["tm_csrf"]},
        )
        assert refused.status_code == 403
        assert refused.json()["detail"] == "this needs the analyst role; you are viewer"
        viewer.page.goto(server.base + "/console/")
        viewer.page.wait_for_selector("tr[data-exploit]")  # nothing in flight at logout
        viewer.page.locator("button", has_text="Log out").click()
        viewer.page.wait_for_selector("input[name=username]")
        viewer.shot("login")
        assert viewer.errors == []
    finally:
        viewer.context.close()


@contextlib.contextmanager
def _cookie_login(server: LiveServer) -> Iterator[httpx.Client]:
    """A client logged in as the analyst through the console's login (cookies checked)."""
    with httpx.Client(base_url=server.base, timeout=10) as client:
        yield _checked_login(client)


def _checked_login(client: httpx.Client) -> httpx.Client:
    answer = client.post("/api/console/login", json={"username": "ana", "password": PASSWORD})
    assert answer.status_code == 204
    flags = {c.split("=", 1)[0]: c.lower() for c in answer.headers.get_list("set-cookie")}
    assert set(flags) == {"tm_session", "tm_refresh", "tm_csrf"}
    for name, flag in flags.items():
        assert "samesite=strict" in flag
        assert "secure" not in flag  # plain HTTP here; Secure when served over HTTPS
        assert ("httponly" in flag) == (name != "tm_csrf")
    assert "path=/api/console" in flags["tm_refresh"]
    return client


def test_cookie_session_needs_the_csrf_header_for_unsafe_methods(server: LiveServer) -> None:
    root = httpx.get(server.base + "/", timeout=10)
    assert (root.status_code, root.headers["location"]) == (307, "/console/")
    page = httpx.get(server.base + "/console/", timeout=10)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    with _cookie_login(server) as client:
        assert client.get("/api/auth/me").json()["user"]["username"] == "ana"
        start = "/api/time-machine/whatif/start"
        body = {"tx_hash": "0x" + "ab" * 32, "chain_id": 999_999}
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            refused = client.post(start, json=body, headers=headers)
            assert refused.status_code == 403
            assert refused.json()["detail"].startswith("missing or wrong X-CSRF-Token header")
        csrf = {"X-CSRF-Token": client.cookies["tm_csrf"]}
        passed = client.post(start, json=body, headers=csrf)  # past CSRF and the role check
        assert passed.status_code == 400
        assert passed.json()["detail"].startswith("no RPC configured for chain 999999")
        old = client.cookies["tm_session"]
        assert client.post("/api/console/refresh").status_code == 403
        assert client.post("/api/console/refresh", headers=csrf).status_code == 204
        assert client.cookies["tm_session"] != old
        assert client.cookies["tm_csrf"] != csrf["X-CSRF-Token"]  # rotated with the session
        old = client.cookies["tm_session"]
        csrf = {"X-CSRF-Token": client.cookies["tm_csrf"]}
        assert client.post("/api/console/logout", headers=csrf).status_code == 204
        assert "tm_session" not in client.cookies
    revoked = httpx.get(server.base + "/api/auth/me", cookies={"tm_session": old}, timeout=10)
    assert revoked.status_code == 401


def _first_message(url: str, cookie: str, origin: str) -> tuple[dict[str, Any], int | None]:
    """The socket's first message, and its close code once it closed after an error."""
    headers = {"Cookie": f"tm_session={cookie}", "Origin": origin}
    with connect(url, additional_headers=headers) as ws:
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if message["type"] == "error":
            with contextlib.suppress(ConnectionClosed):
                ws.recv(timeout=10)
        return message, ws.close_code


def test_websockets_take_the_cookie_from_this_origin_only(server: LiveServer) -> None:
    with _cookie_login(server) as client:
        cookie = client.cookies["tm_session"]
    url = server.base.replace("http://", "ws://") + "/ws/status"
    hello, _ = _first_message(url, cookie, server.base)
    assert hello == {"type": "hello", "channel": "status"}
    refused, code = _first_message(url, cookie, "http://evil.example")
    assert (refused["error"], code) == ("AuthenticationError", 4401)
