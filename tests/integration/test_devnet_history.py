"""The devnet history is deterministic and contains the drained bank and the busy block."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from timemachine.catalog.artifacts import load_artifact
from timemachine.catalog.devnet import DEVNET_ANVIL_ARGS
from timemachine.catalog.models import DevnetHistory
from timemachine.catalog.scenarios import get_scenario
from timemachine.catalog.scenarios.history import build_history
from timemachine.chain.rpc import RpcClient
from timemachine.errors import DevnetBuildError, NotFoundError
from timemachine.forks.process import AnvilProcess

pytestmark = pytest.mark.integration

ETHER = 10**18


@dataclass
class Built:
    rpc: RpcClient
    history: DevnetHistory

    async def call(self, method: str, *params: Any) -> Any:
        return await self.rpc.call(method, params)

    async def balance(self, address: str, block: int) -> int:
        return int(await self.call("eth_getBalance", address, hex(block)), 16)


@contextlib.asynccontextmanager
async def _fresh_anvil(binary: Path) -> AsyncIterator[RpcClient]:
    """A fresh devnet anvil on a free port; stopped on exit whatever happens."""
    process = await AnvilProcess.start(binary, DEVNET_ANVIL_ARGS)
    try:
        async with RpcClient(process.url, retries=0, timeout=10) as rpc:
            yield rpc
    finally:
        process.stop()


@pytest.fixture(scope="module")
async def built(anvil_binary: Path) -> AsyncIterator[tuple[Built, Built]]:
    """The history built on two separate fresh anvils."""
    async with _fresh_anvil(anvil_binary) as first, _fresh_anvil(anvil_binary) as second:
        histories = await asyncio.gather(build_history(first), build_history(second))
        yield Built(first, histories[0]), Built(second, histories[1])


async def _chain_contents(net: Built) -> list[tuple[int, str, list[str]]]:
    blocks = await net.rpc.batch(
        [("eth_getBlockByNumber", [hex(n), False]) for n in range(net.history.head_block + 1)]
    )
    return [(int(b["number"], 16), b["hash"], b["transactions"]) for b in blocks]


async def test_history_is_deterministic(built: tuple[Built, Built]) -> None:
    first, second = built
    assert first.history == second.history
    assert await _chain_contents(first) == await _chain_contents(second)
    contents = await _chain_contents(first)
    assert sum(len(txs) for _, _, txs in contents) == first.history.transactions


async def test_exploit_drains_the_bank(built: tuple[Built, Built]) -> None:
    net = built[0]
    record = net.history.scenario("reentrancy-bank")
    assert record.vulnerability_class == "reentrancy"
    assert get_scenario("reentrancy-bank").title == record.title
    [bank] = record.victims
    [attacker_contract] = record.attacker_contracts
    block = record.block_number
    labels = net.history.labels
    assert (labels[bank], labels[attacker_contract], labels[record.attacker]) == (
        "EtherBank",
        "BankAttacker",
        "mallory",
    )
    assert record.expected_loss_wei == 50 * ETHER
    assert await net.balance(bank, block - 1) == 50 * ETHER
    assert await net.balance(bank, block) == 0

    receipt = await net.call("eth_getTransactionReceipt", record.exploit_tx)
    assert int(receipt["status"], 16) == 1
    assert int(receipt["blockNumber"], 16) == block
    assert receipt["from"].lower() == record.attacker.lower()
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    profit = await net.balance(record.attacker, block) - await net.balance(
        record.attacker, block - 1
    )
    assert profit == 50 * ETHER - fee
    # the attacker contract already existed one block earlier
    assert await net.call("eth_getCode", attacker_contract, hex(block - 1)) != "0x"

    bank_logs = [log for log in receipt["logs"] if log["address"].lower() == bank.lower()]
    assert len(bank_logs) == 1 + 51  # the stake's Deposited, then one Withdrawn per frame
    frames = await net.call("debug_traceTransaction", record.exploit_tx, {"tracer": "callTracer"})
    assert _depth(frames) >= 10  # nested re-entrant frames: attacker -> bank -> attacker -> ...


def _depth(frame: dict[str, Any]) -> int:
    return 1 + max((_depth(child) for child in frame.get("calls", [])), default=0)


async def test_busy_block_has_a_dependent_tx(built: tuple[Built, Built]) -> None:
    net = built[0]
    history = net.history
    block = await net.call("eth_getBlockByNumber", hex(history.busy_block), False)
    assert len(block["transactions"]) >= 25
    index = block["transactions"].index(history.busy_tx)
    assert index >= 20
    senders = {
        tx["from"]
        for tx in (await net.call("eth_getBlockByNumber", hex(history.busy_block), True))[
            "transactions"
        ]
    }
    assert len(senders) >= 5

    # erin's withdrawAll pays out what two earlier txs of the same block credited her
    bank = load_artifact("EtherBank")
    erin = history.address_of("erin")
    call = {
        "to": history.address_of("EtherBank"),
        "data": "0x" + bank.calldata("balances", erin).hex(),
    }
    before_block = int(await net.call("eth_call", call, hex(history.busy_block - 1)), 16)
    receipt = await net.call("eth_getTransactionReceipt", history.busy_tx)
    withdrawn = int(receipt["logs"][-1]["data"], 16)
    assert (before_block, withdrawn) == (1 * ETHER, 6 * ETHER)


async def test_refuses_a_used_chain(built: tuple[Built, Built]) -> None:
    with pytest.raises(DevnetBuildError, match="fresh anvil"):
        await build_history(built[0].rpc)


def test_unknown_scenario_lists_known_ones() -> None:
    with pytest.raises(NotFoundError, match="reentrancy-bank"):
        get_scenario("no-such-scenario")
