"""Prefetch for latency: what a fork reads before the block's first transaction (the parent
block, EIP-2935's history slot) comes with the batches the replay sends anyway, so a slow
upstream costs round trips, not one request per read."""

from __future__ import annotations

import pytest

from timemachine.chain.gateway import StateGateway
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.replay.prefetch import (
    HISTORY_STORAGE,
    complete_accounts,
    remember_block,
    system_reads,
)
from timemachine.settings import Settings

from .no_debug_node import node_without_debug_api

pytestmark = pytest.mark.integration


def test_system_reads_follow_the_hardfork() -> None:
    assert system_reads("cancun", 20_000_000) == {}
    assert system_reads("prague", 8) == {HISTORY_STORAGE: ["0x8"]}
    assert system_reads("prague", 8191 * 3 + 5) == {HISTORY_STORAGE: ["0x5"]}


async def test_extra_accounts_and_slots_come_in_the_one_batch(devnet: Devnet) -> None:
    async with RpcClient(devnet.rpc_url) as rpc:
        completed = await complete_accounts(rpc, {}, 20, system_reads("prague", 20))
        assert (rpc.http_requests, rpc.requests) == (1, 4)  # nonce, balance, code, slot
        code, slot, nonce = await rpc.batch(
            [
                ("eth_getCode", [HISTORY_STORAGE, hex(20)]),
                ("eth_getStorageAt", [HISTORY_STORAGE, "0x14", hex(20)]),
                ("eth_getTransactionCount", [HISTORY_STORAGE, hex(20)]),
            ]
        )
    history = completed[HISTORY_STORAGE]
    assert len(code) > 2  # the system contract is deployed on the devnet (Prague)
    assert (history.code, history.storage, history.nonce) == (code, {"0x14": slot}, int(nonce, 16))


async def test_a_remembered_block_answers_both_forms(devnet: Devnet) -> None:
    async with RpcClient(devnet.rpc_url) as rpc:
        full = await rpc.call("eth_getBlockByNumber", [hex(9), True])
        hashes = await rpc.call("eth_getBlockByNumber", [hex(9), False])
        gateway = StateGateway(rpc)
        remember_block(gateway, full)
        await gateway.start()
        try:
            before = rpc.http_requests
            answers = await gateway.handle(
                [
                    {"id": 1, "method": "eth_getBlockByNumber", "params": ["0x9", True]},
                    {"id": 2, "method": "eth_getBlockByNumber", "params": ["0x9", False]},
                ]
            )
            assert rpc.http_requests == before
        finally:
            await gateway.stop()
    assert [answer["result"] for answer in answers] == [full, hashes]


async def test_an_exact_replay_reads_the_history_slot_from_its_seed(devnet: Devnet) -> None:
    scenario = devnet.history.scenario("reentrancy-bank")
    parent = scenario.block_number - 1
    async with TimeMachine(devnet.rpc_url) as machine:
        result = await machine.replay(scenario.exploit_tx)
        slot = hex(parent % 8191)
        assert machine.gateway.has("eth_getStorageAt", [HISTORY_STORAGE, slot, hex(parent)])
        assert machine.gateway.has("eth_getBlockByNumber", [hex(parent), False])
    assert result.fidelity.verdict == "exact"
    assert result.replayed.gas_used == 626_377


async def test_without_a_debug_api_access_lists_cut_the_round_trips(devnet: Devnet) -> None:
    tx = devnet.history.busy_tx  # a late transaction of the busiest block
    with node_without_debug_api(devnet.rpc_url) as url:
        async with TimeMachine(url, settings=Settings(prefetch_state=False)) as lazy:
            without = await lazy.replay(tx)
            lazy_round_trips = lazy.upstream.http_requests
        async with TimeMachine(url) as hinted:
            with_lists = await hinted.replay(tx)
            round_trips = hinted.upstream.http_requests
            assert hinted.gateway.hits > hinted.gateway.forwarded
    assert without.fidelity.verdict == with_lists.fidelity.verdict == "exact"
    assert with_lists.replayed == without.replayed
    assert with_lists.state_diff == without.state_diff
    assert round_trips * 3 < lazy_round_trips  # measured: 9 against 43
