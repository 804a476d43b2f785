"""The state gateway in front of a real anvil: caching, seeding, errors, batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from timemachine.chain.gateway import SeedAccount, StateGateway
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet
from timemachine.forks.process import AnvilProcess, free_port
from timemachine.machine import TimeMachine
from timemachine.replay.prefetch import complete_accounts

pytestmark = pytest.mark.integration

ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's first dev account


@pytest.fixture
async def upstream(anvil_binary: Path) -> AsyncIterator[AnvilProcess]:
    process = await AnvilProcess.start(anvil_binary, ["--silent"])
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def gateway(upstream: AnvilProcess) -> AsyncIterator[StateGateway]:
    async with RpcClient(upstream.url, retries=0) as rpc:
        gateway = StateGateway(rpc)
        await gateway.start()
        try:
            yield gateway
        finally:
            await gateway.stop()


async def post(url: str, payload: Any) -> Any:
    async with httpx.AsyncClient() as client:
        return (await client.post(url, json=payload)).json()


def call(method: str, *params: Any, call_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": call_id, "method": method, "params": list(params)}


async def test_pinned_state_is_fetched_once(gateway: StateGateway) -> None:
    first = await post(gateway.url, call("eth_getBalance", ACCOUNT, "0x0"))
    second = await post(gateway.url, call("eth_getBalance", ACCOUNT, "0x0", call_id=7))
    assert first["result"] == second["result"] == hex(10_000 * 10**18)
    assert second["id"] == 7
    assert (gateway.forwarded, gateway.hits) == (1, 1)


async def test_latest_state_is_always_forwarded(gateway: StateGateway) -> None:
    for _ in range(2):
        await post(gateway.url, call("eth_getBalance", ACCOUNT, "latest"))
    assert (gateway.forwarded, gateway.hits) == (2, 0)


async def test_seeded_state_never_reaches_the_upstream(gateway: StateGateway) -> None:
    seeded = "0x00000000000000000000000000000000000000aa"
    added = gateway.seed(
        0, {seeded: SeedAccount(balance=5, nonce=2, code="0x6000", storage={"0x1": "0x5"})}
    )
    assert added == 5
    replies = await post(
        gateway.url,
        [
            call("eth_getAccountInfo", seeded, "0x0", call_id=1),
            call("eth_getStorageAt", seeded, "0x01", "0x0", call_id=2),
            call("eth_getTransactionCount", seeded, {"blockNumber": "0x0"}, call_id=3),
        ],
    )
    assert [r["id"] for r in replies] == [1, 2, 3]
    assert replies[0]["result"] == {"balance": "0x5", "nonce": "0x2", "code": "0x6000"}
    assert replies[1]["result"] == "0x" + "0" * 63 + "5"
    assert replies[2]["result"] == "0x2"
    assert gateway.forwarded == 0


async def test_a_partial_seed_is_completed_from_the_upstream(gateway: StateGateway) -> None:
    gateway.seed(0, {ACCOUNT: SeedAccount(balance=1)})  # nonce unknown: no account info
    reply = await post(gateway.url, call("eth_getAccountInfo", ACCOUNT, "0x0"))
    assert reply["result"]["balance"] == hex(10_000 * 10**18)
    assert gateway.forwarded == 1


async def test_batches_mix_hits_and_misses_in_order(gateway: StateGateway) -> None:
    await post(gateway.url, call("eth_getBalance", ACCOUNT, "0x0"))
    replies = await post(
        gateway.url,
        [
            call("eth_getBalance", ACCOUNT, "0x0", call_id=10),
            call("eth_chainId", call_id=11),
            call("eth_noSuchMethod", call_id=12),
        ],
    )
    assert [r["id"] for r in replies] == [10, 11, 12]
    assert replies[1]["result"] == "0x7a69"
    assert replies[2]["error"]["code"] == -32601  # the upstream's code survives the gateway
    assert gateway.hits == 1


async def test_an_unreachable_upstream_yields_errors_not_a_crash() -> None:
    async with RpcClient(f"http://127.0.0.1:{free_port()}", retries=0) as rpc:
        gateway = StateGateway(rpc)
        await gateway.start()
        try:
            reply = await post(gateway.url, call("eth_chainId"))
        finally:
            await gateway.stop()
    assert "cannot reach RPC" in reply["error"]["message"]


async def test_complete_accounts_asks_only_for_missing_fields(upstream: AnvilProcess) -> None:
    other = "0x70997970C51812dc3A010C7d01b50e0d17dC79C8"
    async with RpcClient(upstream.url) as rpc:
        completed = await complete_accounts(
            rpc, {ACCOUNT.lower(): SeedAccount(balance=1), other.lower(): SeedAccount(nonce=9)}, 0
        )
        assert rpc.requests == 2  # the first account's nonce, the second one's balance
    assert completed[ACCOUNT.lower()] == SeedAccount(balance=1, nonce=0)
    assert completed[other.lower()] == SeedAccount(balance=10_000 * 10**18, nonce=9)


async def test_prefetch_cuts_upstream_requests_and_keeps_replays_exact(devnet: Devnet) -> None:
    from timemachine.settings import Settings

    tx = devnet.history.busy_tx
    async with TimeMachine(devnet.rpc_url, settings=Settings(prefetch_state=False)) as lazy:
        without = await lazy.replay(tx)
    async with TimeMachine(devnet.rpc_url) as seeded:
        with_prefetch = await seeded.replay(tx)
        assert seeded.gateway.hits > 0
    assert without.fidelity.verdict == with_prefetch.fidelity.verdict == "exact"
    assert with_prefetch.replayed == without.replayed
    assert with_prefetch.state_diff == without.state_diff
    assert with_prefetch.rpc_requests < without.rpc_requests
