"""`timemachine monitor` as a user runs it: JSON lines per event, the exploit flagged while
pending; a bad filter is one readable line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.monitor_support import raw_transaction, scenario_of_class
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet
from timemachine.forks.manager import ForkManager
from timemachine.monitor.setup import PAUSED_CHAIN_ARGS
from timemachine.ports import ForkSpec

pytestmark = pytest.mark.integration


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "timemachine.cli.main", "monitor", *args]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "REDIS_URL": ""}


def _next_event(process: subprocess.Popen[str], deadline: float) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line or time.monotonic() > deadline:
        raise AssertionError(f"no more events (exit {process.poll()})")
    event: dict[str, Any] = json.loads(line)
    return event


async def test_json_lines_show_the_exploit_simulated_while_pending(
    devnet: Devnet, tmp_path: Path
) -> None:
    before = scenario_of_class(devnet, "reentrancy")
    forks = ForkManager()
    live = await forks.acquire(
        ForkSpec(
            upstream_url=devnet.rpc_url,
            block_number=before.block_number - 1,
            extra_args=PAUSED_CHAIN_ARGS,
        )
    )
    raw = await raw_transaction(devnet, before.exploit_tx)
    process = subprocess.Popen(
        _command("--rpc-url", live.url, "--simulate", "all", "--json", "--duration", "90"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    try:
        deadline = time.monotonic() + 90
        while _next_event(process, deadline)["topic"] != "blocks":
            pass
        async with RpcClient(live.url) as rpc:
            sent = await rpc.call("eth_sendRawTransaction", [raw])
        topics: list[str] = []
        while True:
            event = _next_event(process, deadline)
            if event.get("tx", {}).get("hash") == sent or event.get("hash") == sent:
                topics.append(event["topic"])
            if event["topic"] == "tx_simulated" and event["tx"]["hash"] == sent:
                break
        assert topics[:2] == ["tx_raw", "tx_enriched"]
        assert event["status"] == "pending"
        top = event["simulation"]["findings"][0]
        assert top["vulnerability_class"] == "reentrancy"
    finally:
        process.terminate()
        process.wait(timeout=30)
        await forks.shutdown()


def test_a_bad_filter_is_one_line_and_a_failure(tmp_path: Path) -> None:
    done = subprocess.run(
        _command("--rpc-url", "http://127.0.0.1:9", "--simulate", "everything"),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path),
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: unknown simulation filter term 'everything'; use all, none, watched, unknown, "
        "flash-loan, kind=<kind> or value>=<wei|Neth>, separated by commas"
    ]


def test_demo_monitor_flags_the_exploit_while_pending_then_includes_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "timemachine.cli.main", "demo", "--monitor", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    alerts = [e for e in events if e["topic"] == "alerts" and e["type"] == "alert"]
    assert alerts
    assert alerts[0]["status"] == "pending"
    exploit = alerts[0]["hash"]
    simulated = [e for e in events if e["topic"] == "tx_simulated" and e["tx"]["hash"] == exploit]
    included = [e for e in events if e.get("type") == "tx_included" and e["tx"]["hash"] == exploit]
    assert events.index(simulated[0]) < events.index(included[0])
    [fired] = [e for e in events if e.get("type") == "rule_alert"]
    assert (fired["rule_id"], fired["stage"], fired["tx_hash"]) == (
        "exploit-before-inclusion",
        "pending",
        exploit,
    )
    assert events.index(fired) < events.index(included[0])
    assert [e["bundle"] for e in events if e["topic"] == "mev_bundles"] == ["sandwich"]
