"""Scenario `router-arbitrary-call`: exact amounts on-chain, and the arbitrary-call detector on the
drain, on the honest aggregator swaps before it and on the busy block's ordinary transferFroms."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode

from timemachine.catalog.artifacts import load_artifact
from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models.analysis import Amount, severity_rank
from timemachine.models.taxonomy import VulnerabilityClass

pytestmark = pytest.mark.integration

SCENARIO = "router-arbitrary-call"
TRANSFER_FROM = "0x23b872dd"
_ZERO = "0x" + "00" * 20
_ZERO_SWAP = (_ZERO, 0, _ZERO, b"", _ZERO, 0)


async def _view(machine: TimeMachine, token: str, data: bytes, block: int) -> int:
    request = {"to": token, "data": "0x" + data.hex()}
    return int(await machine.upstream.call("eth_call", [request, hex(block)]), 16)


async def _balance(machine: TimeMachine, token: str, holder: str, block: int) -> int:
    data = bytes.fromhex("70a08231") + encode(["address"], [holder])
    return await _view(machine, token, data, block)


async def _allowance(
    machine: TimeMachine, token: str, holder: str, spender: str, block: int
) -> int:
    data = bytes.fromhex("dd62ed3e") + encode(["address", "address"], [holder, spender])
    return await _view(machine, token, data, block)


async def _block_txs(machine: TimeMachine, number: int) -> list[dict[str, Any]]:
    block = await machine.upstream.call("eth_getBlockByNumber", [hex(number), True])
    return list(block["transactions"])


async def test_the_drain_takes_every_approved_balance_to_the_wei(
    machine: TimeMachine, devnet: Devnet
) -> None:
    record = devnet.history.scenario(SCENARIO)
    aggregator = devnet.history.address_of("SwapAggregator")
    usdx, weth = (devnet.history.address_of(name) for name in ("MarketToken", "WrappedEther"))
    tokens = [usdx.lower(), weth.lower()]
    assert sorted(record.expected_losses) == sorted(tokens)
    before, after = record.block_number - 1, record.block_number
    lost: dict[str, int] = dict.fromkeys(tokens, 0)
    pulls = 0
    for victim in record.victims:
        for token in tokens:
            held = await _balance(machine, token, victim, before)
            kept = await _balance(machine, token, victim, after)
            if await _allowance(machine, token, victim, aggregator, before) == 2**256 - 1:
                assert (held > 0, kept) == (True, 0)
                lost[token] += held
                pulls += 1
            else:
                assert kept == held
    assert pulls == 6
    assert lost == record.expected_losses
    gained = {
        token: await _balance(machine, token, record.attacker, after)
        - await _balance(machine, token, record.attacker, before)
        for token in tokens
    }
    assert gained == lost
    assert {k: v for k, v in record.expected_profit.items() if k != "ETH"} == lost
    assert record.expected_profit["ETH"] < 0  # gas only
    assert await _balance(machine, usdx, aggregator, after) == 0
    assert await _balance(machine, weth, aggregator, after) == 0


async def test_the_drain_is_reported_as_an_arbitrary_call(
    machine: TimeMachine, devnet: Devnet
) -> None:
    record = devnet.history.scenario(SCENARIO)
    aggregator = devnet.history.address_of("SwapAggregator").lower()
    drainer = devnet.history.address_of("AggregatorDrainer").lower()
    report = await machine.analyze(record.exploit_tx)
    top = report.top
    assert top is not None
    assert (top.detector, top.vulnerability_class, top.severity, top.confidence) == (
        "arbitrary_call",
        VulnerabilityClass.ARBITRARY_CALL,
        "critical",
        0.95,
    )
    victims = [victim.lower() for victim in record.victims]
    assert top.evidence.addresses == [aggregator, *victims]
    assert top.evidence.selectors == [TRANSFER_FROM]
    # The drainer's loop: balanceOf, allowance, then swap (whose second call is the pull) for
    # each (victim, token) approved; bob approved only USDX and carol only WETH.
    assert top.evidence.frames == [
        "calls[2].calls[1]",
        "calls[5].calls[1]",
        "calls[8].calls[1]",
        "calls[13].calls[1]",
        "calls[16].calls[1]",
        "calls[21].calls[1]",
    ]
    assert top.evidence.signals[1].endswith(
        f"appears verbatim in the calldata {aggregator} received from {drainer} "
        "(caller-supplied call)"
    )
    losses = [
        Amount(address=row.address, asset=entry.asset, amount=entry.amount)
        for row in report.profit.losses
        for entry in row.assets
    ]
    assert top.evidence.amounts[: len(losses)] == losses
    pulled = top.evidence.amounts[len(losses) :]
    assert {amount.address for amount in pulled} == {record.attacker.lower()}
    assert sum(amount.amount for amount in pulled) == sum(record.expected_losses.values())


async def test_honest_aggregator_swaps_and_spender_transfers_stay_low(
    machine: TimeMachine, devnet: Devnet
) -> None:
    record = devnet.history.scenario(SCENARIO)
    aggregator = devnet.history.address_of("SwapAggregator").lower()
    swap = "0x" + load_artifact("SwapAggregator").calldata("swap", *_ZERO_SWAP)[:4].hex()
    honest: list[str] = []
    number = record.block_number - 1
    while len(honest) < 4 and number > 0:
        for tx in await _block_txs(machine, number):
            if (tx["to"] or "").lower() == aggregator and tx["input"].startswith(swap):
                honest.append(tx["hash"])
        number -= 1
    assert len(honest) == 4
    # The busy block's transferFroms by the approved EOA spender (grace, dave).
    spends = [
        tx["hash"]
        for tx in await _block_txs(machine, devnet.history.busy_block)
        if tx["input"].startswith(TRANSFER_FROM)
    ]
    assert len(spends) == 2
    for tx_hash in [honest[-1], honest[0], *spends]:
        report = await machine.analyze(tx_hash)
        assert [f for f in report.findings if f.detector == "arbitrary_call"] == []
        assert all(severity_rank(f.severity) >= severity_rank("low") for f in report.findings)
