"""The block tracker and live streams on real anvils: `anvil_reorg` gives one `chain_reorged`
with the right depth and common ancestor and invalidates the state gateway's by-number entries;
pending transactions arrive once each over WebSocket and over polling; heads survive a provider
that is killed and restarted (the gap is filled)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from timemachine.chain.gateway import StateGateway
from timemachine.chain.pool import PoolOptions, ProviderPool
from timemachine.chain.rpc import RpcClient
from timemachine.chain.streams import Chain
from timemachine.chain.tracker import BlockRef, BlockTracker, ChainReorged, invalidate_gateway
from timemachine.forks.process import AnvilProcess
from timemachine.machine import TimeMachine

from .chain_support import TcpProxy, rpc

pytestmark = pytest.mark.integration

DEV0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEV1 = "0x70997970C51812dc3A010C7d01b50e0d4E69dC8f"


@pytest.fixture
async def chain(anvil_binary: Path) -> AsyncIterator[AnvilProcess]:
    process = await AnvilProcess.start(anvil_binary, ["--silent"])
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def mempool(anvil_binary: Path) -> AsyncIterator[AnvilProcess]:
    """An anvil with mining disabled: sent transactions stay pending."""
    process = await AnvilProcess.start(anvil_binary, ["--silent", "--no-mining"])
    try:
        yield process
    finally:
        process.stop()


async def _block(url: str, number: int) -> dict[str, Any]:
    block: dict[str, Any] = await rpc(url, "eth_getBlockByNumber", hex(number), False)
    return block


async def test_anvil_reorg_emits_one_event_and_invalidates_the_gateway(
    chain: AnvilProcess,
) -> None:
    for _ in range(6):
        await rpc(chain.url, "evm_mine")
    before = {n: (await _block(chain.url, n))["hash"] for n in range(7)}
    async with RpcClient(chain.url, retries=0) as upstream:
        gateway = StateGateway(upstream)
        await gateway.start()
        try:
            tracker = BlockTracker(upstream, chain="devnet", confirmations=64)
            events: list[ChainReorged] = []
            tracker.on_reorg(events.append)
            tracker.on_reorg(invalidate_gateway(gateway))
            for n in range(7):  # the tracker has followed the chain from genesis
                await tracker.observe(await _block(chain.url, n))
            # The gateway has cached, by number, a block and a balance inside the soon-reorged
            # range, one below it, and one block by hash.
            for n in (4, 5):
                gateway.remember(
                    "eth_getBlockByNumber", [hex(n), False], await _block(chain.url, n)
                )
            gateway.remember("eth_getBalance", [DEV1, hex(6)], "0x1")
            gateway.remember("eth_getBlockByHash", [before[5], False], {"hash": before[5]})

            await rpc(chain.url, "anvil_reorg", 2, [])
            new = await tracker.poll()

            assert len(events) == 1
            event = events[0]
            assert event.depth == 2
            assert event.common_ancestor == BlockRef.of(await _block(chain.url, 4))
            assert event.common_ancestor.hash == before[4]
            assert [b.hash for b in event.old] == [before[5], before[6]]
            after = [(await _block(chain.url, n))["hash"] for n in (5, 6)]
            assert [b.hash for b in event.new] == after == [b.hash for b in new]
            assert set(after).isdisjoint(before.values())
            assert event.as_event()["type"] == "chain_reorged"
            assert tracker.head is not None
            assert tracker.head.hash == after[1]
            # By-number entries of blocks 5.. are gone, block 4 and by-hash entries stay.
            assert gateway.has("eth_getBlockByNumber", [hex(4), False])
            assert not gateway.has("eth_getBlockByNumber", [hex(5), False])
            assert not gateway.has("eth_getBalance", [DEV1, hex(6)])
            assert gateway.has("eth_getBlockByHash", [before[5], False])
            # ... so anvil forking through the gateway now sees the new block 5, not the stale one.
            served = await rpc(gateway.url, "eth_getBlockByNumber", hex(5), False)
            assert served["hash"] == after[0]
            assert await tracker.poll() == []  # nothing new: no second event
            assert len(events) == 1
        finally:
            await gateway.stop()


async def _collect(iterator: AsyncIterator[Any], count: int, *, settle: float) -> list[Any]:
    """The first `count` items, then anything else arriving within `settle` seconds."""
    items: list[Any] = []
    async with asyncio.timeout(30):
        while len(items) < count:
            items.append(await anext(iterator))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(settle):
            while True:
                items.append(await anext(iterator))
    return items


async def _send(url: str, count: int) -> list[str]:
    return [
        await rpc(url, "eth_sendTransaction", {"from": DEV0, "to": DEV1, "value": hex(n + 1)})
        for n in range(count)
    ]


@pytest.mark.parametrize("transport", ["websocket", "polling", "both"])
async def test_pending_transactions_arrive_once_each(mempool: AnvilProcess, transport: str) -> None:
    urls = {
        "websocket": f"ws://127.0.0.1:{mempool.port}",
        "polling": mempool.url,
        "both": f"ws://127.0.0.1:{mempool.port},{mempool.url}",
    }[transport]
    async with Chain(ProviderPool(urls, PoolOptions(timeout=5)), poll_interval=0.1) as live:
        stream = live.pending_transactions()
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.5)  # subscriptions and filters are installed
        sent = await _send(mempool.url, 4)
        items = [await first, *await _collect(stream, 3, settle=1.0)]
        await stream.aclose()
    assert [item["hash"] for item in items] == sent  # full transactions, each once, in order
    assert {item["to"].lower() for item in items} == {DEV1.lower()}
    assert await rpc(mempool.url, "eth_blockNumber") == "0x0"  # still pending


async def test_pending_hashes_without_full_transactions(mempool: AnvilProcess) -> None:
    async with Chain(ProviderPool(f"ws://127.0.0.1:{mempool.port}")) as live:
        stream = live.pending_transactions(full=False)
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.5)
        sent = await _send(mempool.url, 2)
        items = [await first, *await _collect(stream, 1, settle=0.5)]
        await stream.aclose()
    assert items == sent


@pytest.mark.parametrize("scheme", ["ws", "http"])
async def test_heads_survive_a_killed_and_restarted_provider(
    chain: AnvilProcess, scheme: str
) -> None:
    proxy = TcpProxy(chain.port)
    await proxy.start()
    url = proxy.ws_url if scheme == "ws" else proxy.http_url
    pool = ProviderPool(url, PoolOptions(timeout=2, bench_base=0.2))
    async with Chain(pool, poll_interval=0.1, reconnect_base=0.05, reconnect_cap=0.3) as live:
        heads = live.heads()
        seen = [await anext(heads)]  # the current head (genesis)
        for _ in range(3):
            await rpc(chain.url, "evm_mine")
            seen.append(await asyncio.wait_for(anext(heads), 10))
        await proxy.stop()  # the provider dies; the chain goes on without it
        for _ in range(4):
            await rpc(chain.url, "evm_mine")
        await asyncio.sleep(0.5)
        await proxy.start()  # back on the same port
        await rpc(chain.url, "evm_mine")
        seen.extend(await _collect(heads, 5, settle=0.5))
        await heads.aclose()
        await proxy.stop()
    assert [block.number for block in seen] == list(range(9))
    for block in seen:
        assert block.hash == (await _block(chain.url, block.number))["hash"]
    assert live.reconnects.get(pool.providers[0].label, 0) >= 1


async def test_a_replay_after_a_reorg_forks_from_the_new_blocks(chain: AnvilProcess) -> None:
    await rpc(chain.url, "evm_mine")
    (old_tx,) = await _send(chain.url, 1)  # block 2
    await rpc(chain.url, "evm_mine")  # block 3
    old_parent = await _block(chain.url, 1)
    async with TimeMachine(f"{chain.url},{chain.url}/b") as machine:
        tracker = BlockTracker(machine.upstream, chain="devnet")
        machine.follow_reorgs(tracker)
        await tracker.poll()
        first = await machine.replay(old_tx)
        assert first.fidelity.verdict == "exact"
        assert machine.gateway.has("eth_getBlockByNumber", [hex(1), False])
        # Blocks 1..3 are replaced; the new block 2 holds another transfer.
        transfer = {"from": DEV0, "to": DEV1, "value": hex(7), "nonce": "0x0"}
        await rpc(chain.url, "anvil_reorg", 3, [[transfer, 1]])
        await tracker.poll()
        assert [event.depth for event in tracker.reorgs] == [3]
        assert not machine.gateway.has("eth_getBlockByNumber", [hex(1), False])
        new_parent = await _block(chain.url, 1)
        assert new_parent["hash"] != old_parent["hash"]
        new_tx = (await _block(chain.url, 2))["transactions"][0]
        second = await machine.replay(new_tx)
        assert second.fidelity.verdict == "exact"
        served = await rpc(machine.gateway.url, "eth_getBlockByNumber", hex(1), False)
        assert served["hash"] == new_parent["hash"]
