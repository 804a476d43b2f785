"""The analysis layer on the bundled devnet scenarios: right class, exact profit and loss."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest

from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models.analysis import severity_rank
from timemachine.models.replay import ReplayMode
from timemachine.models.taxonomy import VulnerabilityClass

from .test_cli import timemachine

pytestmark = pytest.mark.integration

EXPLOITS = [
    "reentrancy-bank",
    "reentrancy-vault-shares",
    "unprotected-initializer",
    "signature-replay-cheque",
    "integer-overflow-token",
    "oracle-manipulation-lending",
    "vault-donation-inflation",
    "router-arbitrary-call",
    "governance-flash-takeover",
    "self-transfer-accounting",
]
BENIGN = [
    "vault-deposit-withdraw",
    "cheque-cashed-once",
    "amm-swaps",
    "lending-liquidation",
    "governance-vote",
    "flash-loan-arbitrage",
    "mev-sandwich",
    "mev-cyclic-arbitrage",
    "mev-liquidation",
    "mev-jit-liquidity",
]


def test_every_bundled_scenario_is_covered(devnet: Devnet) -> None:
    assert sorted(record.id for record in devnet.history.scenarios) == sorted(EXPLOITS + BENIGN)


@pytest.mark.parametrize("scenario_id", EXPLOITS)
async def test_exploit_top_finding_and_exact_profit(
    machine: TimeMachine, devnet: Devnet, scenario_id: str
) -> None:
    record = devnet.history.scenario(scenario_id)
    report = await machine.analyze(record.exploit_tx)

    top = report.top
    assert top is not None
    assert top.vulnerability_class is VulnerabilityClass(record.vulnerability_class)
    assert severity_rank(top.severity) <= severity_rank("high")
    assert top.evidence.frames

    receipt = await machine.upstream.call("eth_getTransactionReceipt", [record.exploit_tx])
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    profit = report.profit
    attackers = {record.attacker.lower(), *(c.lower() for c in record.attacker_contracts)}
    assert set(profit.attackers) == attackers
    assert profit.gas_fee_wei == fee
    assert {entry.asset: entry.amount for entry in profit.total_loss} == record.expected_losses
    assert {entry.asset: entry.amount for entry in profit.net_gain} == record.expected_profit
    assert [row.address for row in profit.losses] == [v.lower() for v in record.victims]


async def test_batch_transfer_overflow_is_the_top_finding_with_exact_profit(
    machine: TimeMachine, devnet: Devnet
) -> None:
    record = devnet.history.scenario("integer-overflow-token")
    report = await machine.analyze(record.exploit_tx)
    top = report.top
    assert top is not None
    [token] = (victim.lower() for victim in record.victims)
    assert (top.detector, top.vulnerability_class, top.severity, top.confidence) == (
        "overflow",
        VulnerabilityClass.INTEGER_OVERFLOW,
        "critical",
        0.95,
    )
    assert top.evidence.addresses == [token]
    assert top.evidence.frames == ["calls[0].calls[0]", "calls[2].calls[0]"]
    assert top.evidence.signals[0] == (
        f"calls[0].calls[0]: 2 array items x {2**255} = {2**256} >= 2**256, wraps to 0"
    )
    assert len(top.evidence.storage) == 2
    assert report.profit.gas_fee_wei == 137_259_092_806_110
    assert report.profit.net("ETH") == 10 * 10**18 - 137_259_092_806_110
    assert report.profit.loss("ETH") == record.expected_losses["ETH"] == 10 * 10**18
    assert report.profit.attackers == [
        address.lower() for address in (record.attacker, *record.attacker_contracts)
    ]
    # True balances: 2**255 BATCH each to the drainer and mallory, less the 10,000 sold back.
    minted = 2 * 2**255 - 10_000 * 10**18
    assert record.expected_profit == {"ETH": 10 * 10**18 - 137_259_092_806_110, token: minted}
    assert report.profit.net(token) == minted
    [drainer, minter] = (contract.lower() for contract in record.attacker_contracts)
    rows = {
        change.address.lower(): change
        for change in report.balance_changes
        if change.asset.lower() == token
    }
    assert sorted(rows) == sorted([record.attacker.lower(), drainer, minter])
    assert (rows[drainer].before, rows[drainer].after) == (0, 2**255 - 10_000 * 10**18)
    assert rows[drainer].logged_delta is None
    # The minter logs Transfer(minter, receiver, 2**255) twice without ever holding BATCH.
    assert (rows[minter].before, rows[minter].after, rows[minter].delta) == (0, 0, 0)
    assert rows[minter].logged_delta == -(2**256)
    # BATCH is unpriced (no pair with WETH): listed as such, ETH totals from ETH alone.
    assert report.profit.unpriced == [token]
    assert report.profit.net_gain_eth == 10 * 10**18 - 137_259_092_806_110
    assert report.profit.total_loss_eth == 10 * 10**18


@pytest.mark.parametrize("scenario_id", BENIGN)
async def test_benign_control_has_nothing_above_low(
    machine: TimeMachine, devnet: Devnet, scenario_id: str
) -> None:
    record = devnet.history.scenario(scenario_id)
    report = await machine.analyze(record.exploit_tx)
    assert [f for f in report.findings if severity_rank(f.severity) < severity_rank("low")] == []


def test_analyze_cli_writes_json_and_markdown(devnet: Devnet, tmp_path: Path) -> None:
    record = devnet.history.scenario("reentrancy-bank")
    run = timemachine("analyze", record.exploit_tx, "--rpc-url", devnet.rpc_url, "--format", "json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["findings"][0]["vulnerability_class"] == "reentrancy"
    assert report["profit"]["total_loss"] == [
        {"asset": "ETH", "amount": record.expected_losses["ETH"]}
    ]

    target = tmp_path / "report.md"
    run = timemachine("analyze", record.exploit_tx, "-r", devnet.rpc_url, "-o", str(target))
    assert run.returncode == 0, run.stderr
    text = target.read_text()
    assert text.startswith(f"# Analysis of {record.exploit_tx}")
    assert "| 1 | reentrancy | critical |" in text
    assert "## Fund flow" in text


def test_analyze_cli_writes_a_self_contained_html_report(devnet: Devnet, tmp_path: Path) -> None:
    record = devnet.history.scenario("reentrancy-bank")
    target = tmp_path / "report.html"
    run = timemachine(
        "analyze", record.exploit_tx, "-r", devnet.rpc_url, "--format", "html", "-o", str(target)
    )
    assert run.returncode == 0, run.stderr
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert record.exploit_tx in text
    assert '<span class="badge">reentrancy</span>' in text
    assert "severity: critical" in text
    assert '<ul class="tree">' in text
    assert '<svg class="steps"' in text
    assert "http://" not in text
    assert "https://" not in text
    assert text.count("<script") == 1  # the view's own search and expand/collapse


async def _reserves(machine: TimeMachine, pair: str, block: int) -> tuple[str, int, int]:
    """token0 and (reserve0, reserve1) of a V2-style pair at `block`, read over plain RPC."""
    token0, reserves = await machine.upstream.batch(
        [
            ("eth_call", [{"to": pair, "data": "0x0dfe1681"}, hex(block)]),  # token0()
            ("eth_call", [{"to": pair, "data": "0x0902f1ac"}, hex(block)]),  # getReserves()
        ]
    )
    return "0x" + token0[-40:], int(reserves[2:66], 16), int(reserves[66:130], 16)


async def _pre_tx_reserves(
    machine: TimeMachine, pair: str, block: int, tx_hash: str
) -> tuple[int, int]:
    """(reserve0, reserve1) right before `tx_hash`: the parent block's reserves, updated by the
    last Sync(uint112,uint112) the pair logged in the block's earlier transactions."""
    _, reserve0, reserve1 = await _reserves(machine, pair, block - 1)
    header = await machine.upstream.call("eth_getBlockByNumber", [hex(block), False])
    sync = "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"
    for earlier in header["transactions"][: header["transactions"].index(tx_hash)]:
        receipt = await machine.upstream.call("eth_getTransactionReceipt", [earlier])
        for log in receipt["logs"]:
            if log["address"].lower() == pair.lower() and log["topics"][0] == sync:
                reserve0, reserve1 = int(log["data"][2:66], 16), int(log["data"][66:130], 16)
    return reserve0, reserve1


async def test_amm_swap_tokens_are_valued_in_eth_at_the_pairs_pre_tx_mid_price(
    machine: TimeMachine, devnet: Devnet
) -> None:
    record = devnet.history.scenario("amm-swaps")
    history = devnet.history
    weth = history.address_of("WrappedEther").lower()
    demo_weth = history.address_of("SwapPair DEMO/WETH")
    weth_usdx = history.address_of("SwapPair WETH/USDX")
    block = record.block_number

    # token -> (pair, (reserve_token, reserve_native) right before the tx, same at the parent)
    expected: dict[str, tuple[str, tuple[int, int], tuple[int, int]]] = {}
    for pair in (demo_weth, weth_usdx):
        token0, reserve0, reserve1 = await _reserves(machine, pair, block - 1)
        other = await machine.upstream.call(
            "eth_call",
            [{"to": pair, "data": "0xd21220a7"}, hex(block - 1)],  # token1()
        )
        token1 = "0x" + other[-40:]
        assert weth in (token0.lower(), token1.lower())
        priced = token1 if token0.lower() == weth else token0
        pre0, pre1 = await _pre_tx_reserves(machine, pair, block, record.exploit_tx)
        native_first = token0.lower() == weth
        expected[priced.lower()] = (
            pair.lower(),
            (pre1, pre0) if native_first else (pre0, pre1),
            (reserve1, reserve0) if native_first else (reserve0, reserve1),
        )
    # alice and bob swapped through WETH/USDX earlier in the block: its pre-tx reserves are not
    # the parent block's; DEMO/WETH was untouched, so there they are the same.
    demo = history.address_of("DemoToken").lower()
    [usdx] = [token for token in expected if token != demo]
    assert expected[demo][1] == expected[demo][2]
    assert expected[usdx][1] != expected[usdx][2]

    modes: tuple[tuple[ReplayMode, Literal[1, 2]], ...] = (("exact", 1), ("quick", 2))
    for mode, column in modes:
        result, report = await machine.analyze_replay(record.exploit_tx, mode=mode)
        prices = {price.token.lower(): price for price in result.token_prices}
        assert sorted(prices) == sorted([demo, usdx])
        for token, facts in expected.items():
            reserve_token, reserve_native = facts[column]
            price = prices[token]
            assert (price.pair.lower(), price.found, price.wrapped_native.lower()) == (
                facts[0],
                "trace",
                weth,
            )
            assert (price.reserve_token, price.reserve_native) == (reserve_token, reserve_native)
        values = {value.asset: value for value in report.profit.values}
        for token in (demo, usdx):
            value, facts = values[token], expected[token]
            reserve_token, reserve_native = facts[column]
            assert value.basis == "pair"
            assert (value.pair, value.reserve_token, value.reserve_native) == (
                facts[0],
                reserve_token,
                reserve_native,
            )
            magnitude = abs(value.net_gain) * reserve_native // reserve_token
            assert value.net_gain_eth == (magnitude if value.net_gain >= 0 else -magnitude)
        # carol sold exactly 4,000 DEMO: worth 4,000 DEMO x reserveWETH / reserveDEMO.
        demo_reserve, demo_native = expected[demo][column]
        assert values[demo].net_gain == -4_000 * 10**18
        assert values[demo].net_gain_eth == -(4_000 * 10**18 * demo_native // demo_reserve)
        assert values[weth].basis == "wrapped native"
        assert report.profit.unpriced == []
        assert report.profit.net_gain_eth == sum(v.net_gain_eth or 0 for v in values.values())
