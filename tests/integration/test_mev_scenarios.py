"""The devnet's MEV scenarios, replayed and inspected, match their ground truth exactly; the other
scenarios' blocks hold no MEV outside their representative transaction."""

from __future__ import annotations

import json

import pytest

from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.mev import RpcTraceSource, inspect_block
from timemachine.mev.models import BlockInspection
from timemachine.mev.prices import PairPrices, valued
from timemachine.mev.truth import MEV_TYPES, truth_mismatches
from timemachine.orchestration.mev_replay import inspect_replayed_block

pytestmark = pytest.mark.integration

GET_RESERVES = "0x0902f1ac"
TOKEN0 = "0x0dfe1681"
MEV_SCENARIOS = {
    "mev-sandwich": "sandwiches",
    "mev-cyclic-arbitrage": "arbitrages",
    "mev-liquidation": "liquidations",
    "mev-jit-liquidity": "jit_liquidity",
}


def _transactions(inspection: BlockInspection) -> set[str]:
    """Every transaction any MEV finding of `inspection` involves."""
    found = inspection.model_dump(mode="json", include=set(MEV_TYPES))
    hashes: set[str] = set()

    def collect(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key.endswith("transaction_hash") and isinstance(item, str):
                    hashes.add(item)
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(found)
    return hashes


@pytest.mark.parametrize(("scenario_id", "kind"), sorted(MEV_SCENARIOS.items()))
async def test_mev_scenario_matches_its_ground_truth(
    devnet: Devnet, machine: TimeMachine, scenario_id: str, kind: str
) -> None:
    record = devnet.history.scenario(scenario_id)
    assert list(record.expected_mev) == [kind]
    [truth] = record.expected_mev[kind]
    assert truth  # a real object with fields, not an empty placeholder
    inspection = await inspect_replayed_block(machine, record.block_number)
    assert truth_mismatches(inspection, record.expected_mev) == []
    assert inspection.summary.mev_count == 1
    assert record.exploit_tx in _transactions(inspection)


async def test_no_mev_on_the_other_scenarios_unrelated_transactions(
    devnet: Devnet, machine: TimeMachine
) -> None:
    others = [r for r in devnet.history.scenarios if not r.expected_mev]
    assert others
    for record in others:
        inspection = await inspect_replayed_block(machine, record.block_number)
        assert _transactions(inspection) <= {record.exploit_tx}, record.id
    busy = await inspect_replayed_block(machine, devnet.history.busy_block)
    assert busy.summary.mev_count == 0


def test_demo_shows_mev_inspection_beside_the_ground_truth() -> None:
    from tests.integration.test_cli import timemachine

    run = timemachine("demo", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert [m["id"] for m in data["mev"]] == list(MEV_SCENARIOS)
    scenarios = {s["id"]: s for s in data["scenarios"]}
    for mev in data["mev"]:
        assert mev["matches_ground_truth"] is True, mev["mismatches"]
        assert mev["block_number"] == scenarios[mev["id"]]["replay"]["block_number"]
        kind = MEV_SCENARIOS[mev["id"]]
        assert list(mev["expected"]) == [kind]
        assert len(mev["found"][kind]) == 1
        assert mev["found"]["summary"]["mev_count"] == 1


async def test_pair_prices_value_a_token_profit_at_the_deepest_pool_mid_price(
    devnet: Devnet, machine: TimeMachine
) -> None:
    """The flash-loan arbitrage profits in USDX through two WETH/USDX pairs: valued at the mid
    price of the one holding more WETH at the end of the previous block."""
    record = devnet.history.scenario("flash-loan-arbitrage")
    weth = devnet.history.address_of("WrappedEther").lower()
    [block] = await RpcTraceSource(machine.upstream).blocks([record.block_number])
    inspection = inspect_block(block)
    [arbitrage] = inspection.arbitrages
    usdx = arbitrage.profit_token_address
    assert usdx != weth
    reserves = []
    for pool in sorted({swap.contract_address for swap in arbitrage.swaps}):
        raw = await machine.upstream.call(
            "eth_call", [{"to": pool, "data": GET_RESERVES}, hex(record.block_number - 1)]
        )
        token0 = await machine.upstream.call(
            "eth_call", [{"to": pool, "data": TOKEN0}, hex(record.block_number - 1)]
        )
        reserve0, reserve1 = int(raw[2:66], 16), int(raw[66:130], 16)
        weth_first = "0x" + token0[-40:] == weth
        reserves.append((reserve0, reserve1) if weth_first else (reserve1, reserve0))
    assert len(reserves) == 2
    reserve_weth, reserve_usdx = max(reserves)
    result = await valued(inspection, PairPrices(machine.upstream, weth))
    summary = result.summary.by_type["arbitrage"]
    assert summary.profit == {usdx: arbitrage.profit_amount}
    assert summary.profit_eth == arbitrage.profit_amount * reserve_weth // reserve_usdx > 0
    assert list(summary.priced) == [usdx]
    assert summary.unpriced == []
    # the MEV scenarios' WETH profits are the wrapped native token itself: 1:1
    sandwich_record = devnet.history.scenario("mev-sandwich")
    [sandwich_block] = await RpcTraceSource(machine.upstream).blocks([sandwich_record.block_number])
    priced = await valued(inspect_block(sandwich_block), PairPrices(machine.upstream, weth))
    [truth] = sandwich_record.expected_mev["sandwiches"]
    assert priced.summary.by_type["sandwich"].profit_eth == truth["profit_amount"]
