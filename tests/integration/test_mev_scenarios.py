"""The devnet's MEV scenarios, replayed and inspected, match their ground truth exactly; the other
scenarios' blocks hold no MEV outside their representative transaction."""

from __future__ import annotations

import json

import pytest

from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.mev.models import BlockInspection
from timemachine.mev.truth import MEV_TYPES, truth_mismatches
from timemachine.orchestration.mev_replay import inspect_replayed_block

pytestmark = pytest.mark.integration

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
