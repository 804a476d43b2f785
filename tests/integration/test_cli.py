"""The `timemachine` command as a user runs it: output contracts, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from timemachine.catalog.scenarios import SCENARIOS
from timemachine.devnet import Devnet
from timemachine.forks.process import free_port

from .no_debug_node import node_without_debug_api

pytestmark = pytest.mark.integration

DEMO_SCENARIO_KEYS = {"id", "benign", "expected_class", "exploit_tx", "findings", "profit"}
REQUIRED_KEYS = {
    "tx_hash",
    "block_number",
    "tx_index",
    "hardfork",
    "mode",
    "original",
    "replayed",
    "fidelity",
    "trace",
    "balance_changes",
    "timings",
    "rpc_requests",
}


def timemachine(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "timemachine.cli.main", *args],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(run: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert run.returncode == code, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in run.stderr
    for word in words:
        assert word in lines[0]


def test_replay_json_has_the_documented_shape(devnet: Devnet) -> None:
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    run = timemachine("replay", tx, "--rpc-url", devnet.rpc_url, "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert set(result) >= REQUIRED_KEYS
    assert result["fidelity"]["verdict"] == "exact"
    assert result["fidelity"]["differences"] == []
    assert result["original"]["gas_used"] == result["replayed"]["gas_used"] == 626_377
    assert result["original"]["status"] == result["replayed"]["status"] == 1
    assert result["trace"]["from"] == devnet.history.address_of("mallory")
    assert result["trace"]["decoded"]["name"] == "attack"


def test_replay_reads_the_rpc_url_from_the_environment(devnet: Devnet) -> None:
    tx = devnet.history.busy_tx
    run = timemachine("replay", tx, "--depth", "1", env={"WEB3_RPC_URL": devnet.rpc_url})
    assert run.returncode == 0, run.stderr
    assert "Traces:" in run.stdout
    assert "withdrawAll()" in run.stdout
    assert "Fidelity: exact" in run.stdout


@pytest.mark.parametrize(
    ("tx", "code", "words"),
    [
        ("0x1234", 2, ("not a transaction hash",)),
        ("0x" + "zz" * 32, 2, ("not a transaction hash",)),
        ("0x" + "ab" * 32, 3, ("unknown",)),
    ],
)
def test_bad_hashes_fail_with_one_line(
    devnet: Devnet, tx: str, code: int, words: tuple[str]
) -> None:
    assert_one_line_error(timemachine("replay", tx, "-r", devnet.rpc_url), code, *words)


def test_unreachable_rpc_fails_with_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = timemachine("replay", "0x" + "ab" * 32, "-r", url, env={"RPC_RETRIES": "0"})
    assert_one_line_error(run, 4, "cannot reach RPC", url)


def test_invalid_rpc_url_fails_with_one_line() -> None:
    run = timemachine("replay", "0x" + "ab" * 32, "-r", "ftp://example")
    assert_one_line_error(run, 2, "not a valid http(s) URL")


def test_missing_rpc_url_fails_with_one_line() -> None:
    run = timemachine("replay", "0x" + "ab" * 32, env={"WEB3_RPC_URL": ""})
    assert_one_line_error(run, 2, "WEB3_RPC_URL")


def test_rpc_without_debug_api_fails_trace_comparison_with_one_line(devnet: Devnet) -> None:
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    with node_without_debug_api(devnet.rpc_url) as url:
        plain = timemachine("replay", tx, "-r", url, "--json")
        compared = timemachine("replay", tx, "-r", url, "--compare-trace")
    assert plain.returncode == 0, plain.stderr  # replays never need the upstream's debug API
    assert json.loads(plain.stdout)["fidelity"]["verdict"] == "exact"
    assert_one_line_error(compared, 4, "debug_traceTransaction")


def test_block_before_genesis_fails_with_one_line(devnet: Devnet) -> None:
    raw = "0x02" + "ab" * 40
    assert_one_line_error(
        timemachine("replay", raw, "-r", devnet.rpc_url, "--block=-1"), 2, "genesis"
    )


def test_block_after_head_fails_with_one_line(devnet: Devnet) -> None:
    raw = "0x02" + "ab" * 40
    run = timemachine("replay", raw, "-r", devnet.rpc_url, "--block=1000000")
    assert_one_line_error(run, 3, "does not exist", "head is")


def test_invalid_setting_fails_with_one_line() -> None:
    run = timemachine("replay", "0x" + "ab" * 32, env={"MAX_LIVE_FORKS": "many"})
    assert_one_line_error(run, 2, "max_live_forks")


def test_devnet_writes_its_manifest_and_stops_cleanly(tmp_path: Path) -> None:
    manifest = tmp_path / "devnet.json"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "timemachine.cli.main", "devnet", "--port", str(port),
         "--manifest", str(manifest)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not manifest.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "devnet did not write its manifest"
            time.sleep(0.05)
        data = json.loads(manifest.read_text())
        assert data["rpc_url"] == f"http://127.0.0.1:{port}"
        assert data["chain_id"] == 31337
        assert len(data["scenarios"]) == len(SCENARIOS)
        assert [(s["id"], s["block_number"], s["benign"]) for s in data["scenarios"][:7]] == [
            ("reentrancy-bank", 9, False),
            ("reentrancy-vault-shares", 14, False),
            ("unprotected-initializer", 18, False),
            ("signature-replay-cheque", 22, False),
            ("vault-deposit-withdraw", 25, True),
            ("cheque-cashed-once", 28, True),
            ("integer-overflow-token", 31, False),
        ]
        scenario = data["scenarios"][0]
        assert set(scenario) >= {"id", "title", "exploit_tx", "block_number"}
        assert scenario["exploit_tx"] == (
            "0x32ce52539f3e98ce4e8ab8db7d477d1d9803276f9ce5ee3f2f6696e36f5ebe8f"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0
    assert not manifest.exists()
    with pytest.raises(ConnectionRefusedError):  # nothing listens on the devnet port any more
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_demo_json_reports_every_scenario_exact_and_analysed() -> None:
    run = timemachine("demo", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert [s["id"] for s in data["scenarios"]] == [s.id for s in SCENARIOS]
    for scenario in data["scenarios"]:
        assert scenario["replay"]["verdict"] == "exact", scenario["id"]
        assert scenario["capsule"]["verdict"] == "exact", scenario["id"]
        assert scenario["capsule"]["rpc_requests"] == 0, scenario["id"]
        assert set(scenario) >= {
            "id",
            "benign",
            "expected_class",
            "exploit_tx",
            "findings",
            "profit",
        }
    top = {
        s["id"]: (s["findings"][0]["class"], s["findings"][0]["severity"])
        if s["findings"]
        else None
        for s in data["scenarios"]
    }
    assert top == {
        "reentrancy-bank": ("reentrancy", "critical"),
        "reentrancy-vault-shares": ("reentrancy", "critical"),
        "unprotected-initializer": ("access_control", "critical"),
        "signature-replay-cheque": ("signature_replay", "high"),
        "vault-deposit-withdraw": None,
        "cheque-cashed-once": None,
        "integer-overflow-token": ("integer_overflow", "critical"),
        "amm-swaps": None,
        "oracle-manipulation-lending": ("price_manipulation", "critical"),
        "lending-liquidation": None,
        "vault-donation-inflation": ("share_inflation", "critical"),
        "router-arbitrary-call": ("arbitrary_call", "critical"),
        "governance-flash-takeover": ("governance_takeover", "critical"),
        "governance-vote": None,
        "self-transfer-accounting": ("logic_flaw", "critical"),
        "flash-loan-arbitrage": ("flash_loan", "info"),  # a tool, not a bug
        "mev-sandwich": None,
        "mev-cyclic-arbitrage": None,
        "mev-liquidation": None,
        "mev-jit-liquidity": None,
    }
    assert [(s["benign"], s["expected_class"]) for s in data["scenarios"]] == [
        (scenario.benign, scenario.vulnerability_class) for scenario in SCENARIOS
    ]
    assert data["busy_block"]["exact"]["verdict"] == "exact"
    assert data["busy_block"]["quick"]["verdict"] == "diverged"


def test_labels_and_extra_abis_reach_the_call_tree(devnet: Devnet, tmp_path: Path) -> None:
    abi = tmp_path / "abi.json"
    abi.write_text(json.dumps([{"type": "function", "name": "attack", "inputs": []}]))
    attacker = devnet.history.address_of("BankAttacker")
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    run = timemachine(
        "replay", tx, "-r", devnet.rpc_url, "--abi", str(abi), "--label", f"{attacker}=Villain",
        "--depth", "0",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Villain::attack{value: 1 ETH}()" in run.stdout


def test_a_bad_label_fails_with_one_line(devnet: Devnet) -> None:
    tx = devnet.history.busy_tx
    assert_one_line_error(timemachine("replay", tx, "-r", devnet.rpc_url, "-l", "x"), 2, "ADDRESS")
