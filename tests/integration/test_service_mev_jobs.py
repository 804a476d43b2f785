"""Range MEV inspection through the API with a real Celery worker, on the devnet: the range is
split into batches, progress is visible (GET and the `mev` channel), the MEV scenarios' findings
come out exact, re-inspecting replaces the range, and bad input is one 4xx line, nothing stored."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.integration.no_debug_node import node_without_debug_api
from tests.integration.service_support import (
    REDIS_HOST,
    REDIS_PORT,
    REDIS_URL,
    require_service,
    start_worker,
    wait_for,
)
from tests.unit.api_support import ANALYST, headers_for, make_settings
from timemachine.api import create_app
from timemachine.bus.redis_pubsub import RedisBus
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet
from timemachine.mev import RpcTraceSource, inspect_block
from timemachine.mev.events import MEV_CHANNEL
from timemachine.mev.prices import PairPrices, valued
from timemachine.mev.truth import project
from timemachine.models.auth import Role
from timemachine.store.mev_jobs import MevJob

pytestmark = pytest.mark.integration

MEV = "/api/time-machine/mev"
KINDS = {
    "sandwiches": "sandwich",
    "arbitrages": "arbitrage",
    "liquidations": "liquidation",
    "jit_liquidity": "jit_liquidity",
}


class Collector:
    """Every event on the `mev` channel (Redis), gathered in a thread."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._bus = RedisBus(REDIS_URL)
        self._task = asyncio.run_coroutine_threadsafe(self._collect(), self._loop)

    async def _collect(self) -> None:
        async for event in self._bus.subscribe(MEV_CHANNEL):
            self.events.append(event)

    def close(self) -> None:
        self._task.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API (in process) and one real worker on the same embedded store and broker, events
    on Redis; loopback nodes allowed as user-supplied RPC URLs."""
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIME_MACHINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OUTBOUND_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    settings = make_settings(
        tmp_path / "data", redis_url=REDIS_URL, outbound_allow_hosts="127.0.0.1"
    )
    worker = start_worker(settings, tmp_path)
    try:
        with TestClient(create_app(settings)) as client:
            client.headers.update(headers_for(client, ANALYST, Role.ANALYST))
            yield client
    finally:
        worker.stop()


def _finished(client: TestClient, job_id: str) -> dict[str, Any] | None:
    job: dict[str, Any] = client.get(f"{MEV}/jobs/{job_id}").json()
    return job if job["status"] in ("completed", "failed") else None


def _run(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(f"{MEV}/jobs", json=body)
    assert answer.status_code == 202, answer.text
    job: dict[str, Any] = answer.json()
    assert (job["status"], job["batches_done"]) == ("queued", 0)
    done = wait_for(lambda: _finished(client, job["id"]), 180, "the MEV job to finish")
    assert (done["status"], done["error"]) == ("completed", None)
    return done


def _findings(client: TestClient, kind: str) -> list[dict[str, Any]]:
    page = client.get(f"{MEV}/findings", params={"type": kind, "chain_id": 31337}).json()
    return [item["payload"] for item in page["items"]]


def test_range_job_on_a_worker_finds_the_devnet_mev_exactly(
    service: TestClient, devnet: Devnet
) -> None:
    records = [r for r in devnet.history.scenarios if r.expected_mev]
    start, end = records[0].block_number, records[-1].block_number + 1
    body = {"chain_id": 31337, "start_block": start, "end_block": end, "batch_size": 4,
            "rpc_url": devnet.rpc_url}  # fmt: skip
    batches = -(-(end - start) // 4)
    events = Collector()
    try:
        first = _run(service, body)
        again = _run(service, body)  # re-inspecting the range replaces it
        wait_for(lambda: sum(e.get("kind") is not None for e in events.events) >= 8, 30, "events")
    finally:
        events.close()
    stranger = headers_for(service, "mallory", Role.ANALYST)
    hidden = service.get(f"{MEV}/jobs/{first['id']}", headers=stranger)
    assert hidden.status_code == 404  # another user's job does not exist for them
    for job in (first, again):
        assert (job["batches_total"], job["batches_done"], job["mev_count"]) == (
            batches,
            batches,
            4,
        )
    for record in records:
        [(kind, [truth])] = record.expected_mev.items()
        [payload] = _findings(service, KINDS[kind])  # once, not once per inspection
        assert project(payload, truth) == truth, record.id
    progress = [e for e in events.events if e["type"] == "mev_job" and e["id"] == first["id"]]
    assert [e["batches_done"] for e in progress] == list(range(1, batches + 1))
    assert progress[-1]["status"] == "completed"
    found = sorted(e["kind"] for e in events.events if e["type"] == "mev")
    assert found == sorted(["arbitrage", "sandwich", "liquidation", "jit_liquidity"] * 2)


def test_a_priced_job_values_a_token_profit_like_the_library(
    service: TestClient, devnet: Devnet
) -> None:
    """The flash-loan arbitrage profits in USDX: with pair_prices the stored summary values it
    in ETH exactly as `valued(…, PairPrices)` does in process; without, it stays unvalued."""
    record = devnet.history.scenario("flash-loan-arbitrage")
    weth = devnet.history.address_of("WrappedEther")
    block = record.block_number
    body = {"chain_id": 31337, "start_block": block, "end_block": block + 1,
            "rpc_url": devnet.rpc_url}  # fmt: skip

    async def expected() -> dict[str, Any]:
        async with RpcClient(devnet.rpc_url) as rpc:
            [traces] = await RpcTraceSource(rpc).blocks([block])
            result = await valued(inspect_block(traces), PairPrices(rpc, weth))
        return result.summary.by_type["arbitrage"].model_dump(mode="json")

    truth = asyncio.run(expected())
    assert truth["profit_eth"] > 0
    assert truth["unpriced"] == []
    priced = _run(service, body | {"pair_prices": True, "wrapped_native": weth})
    assert priced["price_token"] == weth.lower()
    summary = service.get(f"{MEV}/blocks/{block}", params={"chain_id": 31337}).json()["summary"]
    assert summary["by_type"]["arbitrage"] == truth
    _run(service, body)  # re-inspected without prices: the token profit is left unvalued
    summary = service.get(f"{MEV}/blocks/{block}", params={"chain_id": 31337}).json()["summary"]
    unvalued = summary["by_type"]["arbitrage"]
    assert (unvalued["profit"], unvalued["profit_eth"], unvalued["priced"]) == (
        truth["profit"],
        0,
        {},
    )


def test_bad_ranges_are_one_clear_4xx_and_store_nothing(
    service: TestClient, devnet: Devnet
) -> None:
    head = devnet.history.head_block

    def rejects(body: dict[str, Any], status: int, words: str) -> None:
        answer = service.post(f"{MEV}/jobs", json={"chain_id": 31337} | body)
        detail = answer.json()["detail"]
        assert answer.status_code == status, detail
        assert words in detail
        assert "\n" not in detail

    def blocks(start: int, end: int, url: str = devnet.rpc_url) -> dict[str, Any]:
        return {"start_block": start, "end_block": end, "rpc_url": url}

    rejects(blocks(10, 5), 400, "empty or reversed")
    rejects(blocks(0, 20_001), 400, "inspect at most 10,000")
    rejects(blocks(head, head + 5), 404, f"block {head + 4} is not known")
    with node_without_debug_api(devnet.rpc_url, ("debug_", "trace_")) as bare:
        rejects(blocks(1, 3, bare), 400, "neither trace_block nor debug_traceBlockByNumber")
    rejects(blocks(1, 2) | {"chain_id": 777, "pair_prices": True}, 400, "no known wrapped native")
    rejects({"start_block": 1, "end_block": 2}, 400, "no RPC configured")
    rejects(blocks(1, 2, "http://10.0.0.1:8545"), 400, "rpc_url cannot be used")
    db = service.app.state.timemachine.db  # type: ignore[attr-defined]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(MevJob)) == 0
    assert _findings(service, "swap") == []
    assert service.get(f"{MEV}/jobs/{'0' * 32}").status_code == 404
