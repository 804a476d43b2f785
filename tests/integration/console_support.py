"""What the console's browser tests share: a `timemachine serve` with a mempool monitor on a paused
devnet fork (Redis event bus, one worker, an analyst, a viewer and an admin), Debian's Chromium,
and a logged-in page that records console errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import IN_CI, REPO
from tests.integration.service_support import (
    REDIS_HOST,
    REDIS_PORT,
    LiveServer,
    bootstrap_password,
    live_server,
    login,
    require_service,
    server_env,
)
from timemachine.devnet import Devnet
from timemachine.forks.manager import ForkManager
from timemachine.monitor.setup import PAUSED_CHAIN_ARGS, both_transports
from timemachine.ports import ForkSpec

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "docs" / "screenshots"
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/12"
PASSWORD = "a long console passphrase"
USERS = (("ana", "analyst"), ("vic", "viewer"), ("ada", "admin"))


@pytest.fixture(scope="module")
async def paused_chain(devnet: Devnet) -> AsyncIterator[str]:
    """A fork of the devnet that does not mine: what is sent to it stays pending."""
    forks = ForkManager()
    head = int(rpc(devnet.rpc_url, "eth_blockNumber", []), 16)
    live = await forks.acquire(ForkSpec(devnet.rpc_url, head, extra_args=PAUSED_CHAIN_ARGS))
    yield live.url
    await forks.release(live, keep_warm=False)
    await forks.shutdown()


def rpc(url: str, method: str, params: list[Any]) -> Any:
    """One JSON-RPC call's result (asserts it did not fail)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    answer = httpx.post(url, json=body, timeout=10).json()
    assert "error" not in answer, answer
    return answer["result"]


@contextmanager
def console_server(
    paused_chain: str, anvil_binary: Path, folder: Path, *, broker_url: str | None = None
) -> Iterator[LiveServer]:
    """The server with the monitor on `paused_chain` and the USERS created; its tasks on the
    embedded broker, or on `broker_url` (a Redis database, emptied first: the embedded broker
    cannot ask the workers who they are)."""
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    env = server_env() | {
        "TIME_MACHINE_DATA_DIR": str(folder),
        "ANVIL_PATH": str(anvil_binary),
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": REDIS_URL,  # the monitor (another process) reaches /ws/transactions
        "MONITOR_RPC_URLS": both_transports(paused_chain),
        "MONITOR_SIMULATE": "none",
    }
    if broker_url is not None:
        redis.Redis.from_url(broker_url).flushdb()
        env["CELERY_BROKER_URL"] = broker_url
    with live_server(folder, ["--workers", "1"], env, startup_timeout=90) as live:
        admin = {
            "Authorization": f"Bearer {login(live.base, 'admin', bootstrap_password(live.log))}"
        }
        for username, role in USERS:
            body = {"username": username, "password": PASSWORD, "role": role}
            assert live.post("/api/admin/users", json=body, headers=admin).status_code == 201
        yield live


@pytest.fixture(scope="module")
def browser(server: LiveServer) -> Iterator[Any]:
    """Chromium; after the server (whose fixtures need the event loop Playwright's sync API
    would occupy)."""
    if not CHROMIUM.exists():
        reason = "no /usr/bin/chromium: apt-get install -y chromium chromium-driver"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    with playwright_sync.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Console:
    """One logged-in browser page, recording console errors."""

    def __init__(self, browser: Any, server: LiveServer, username: str) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(server.base + "/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector(".who")

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def go(self, route: str) -> Any:
        self.page.goto(f"{self.server.base}/console/#/{route}")
        return self.page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    def cookies(self) -> dict[str, str]:
        return {c["name"]: c["value"] for c in self.context.cookies()}


@pytest.fixture(scope="module")
def analyst(browser: Any, server: LiveServer) -> Iterator[Console]:
    console = Console(browser, server, "ana")
    yield console
    console.context.close()
