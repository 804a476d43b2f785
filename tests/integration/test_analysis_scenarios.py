"""The analysis layer on the bundled devnet scenarios: right class, exact profit and loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from timemachine.forks.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models.analysis import severity_rank
from timemachine.models.taxonomy import VulnerabilityClass

from .test_cli import timemachine

pytestmark = pytest.mark.integration

EXPLOITS = [
    "reentrancy-bank",
    "reentrancy-vault-shares",
    "unprotected-initializer",
    "signature-replay-cheque",
    "integer-overflow-token",
]
BENIGN = ["vault-deposit-withdraw", "cheque-cashed-once", "amm-swaps"]


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
    assert '<pre class="tree">' in text
    assert "<svg" in text
    assert "http://" not in text
    assert "https://" not in text
    assert "<script" not in text
