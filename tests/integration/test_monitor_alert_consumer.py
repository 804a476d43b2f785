"""Ingestion, simulation and alerting as three processes over JetStream (real NATS, real
PostgreSQL, anvil with mining paused): the monitor only ingests (`--simulate none`), the
simulator is `consume tx_enriched --handler simulate`, the rules run in `consume tx_simulated
--handler alert`. The issue's example rule fires for the scenario exploit while it is still
pending; the alerting member, SIGKILLed mid-stream and restarted, stores that alert once and
applies every simulation event once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.integration.monitor_support import (
    live_monitor,
    raw_transaction,
    scenario_of_class,
    wait_for,
)
from tests.integration.test_bus_processes import WAIT, members, process_env, terminated
from tests.integration.test_monitor_jetstream import Store, send
from tests.integration.test_monitor_sim_consumer import bus, streams
from timemachine.bus import StreamSettings
from timemachine.bus.jetstream import JetStreamBus
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet

pytestmark = pytest.mark.integration
__all__ = ["bus", "streams"]  # fixtures

BEFORE_EXPLOIT, AFTER_EXPLOIT = 3, 8
SIMULATE, ALERT = "monitor-simulate", "monitor-alert"
RULES = """
rules:
  - id: exploit-before-inclusion
    when: 'stage == "pending" and finding.severity >= "high"'
    severity: critical
"""
ALERTS = "SELECT rule_id, stage, severity, tx_hash FROM alerts"


async def test_the_alerting_consumer_alerts_before_inclusion_once_across_a_sigkill(
    devnet: Devnet,
    bus: JetStreamBus,
    streams: StreamSettings,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    store = Store(postgres_url)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    before = scenario_of_class(devnet, "reentrancy")
    exploit = await raw_transaction(devnet, before.exploit_tx)
    alerts = f"SELECT count(*) FROM ({ALERTS}) AS stored"
    try:
        async with live_monitor(
            devnet, before, tmp_path, simulate="none", bus=bus, store_locally=False
        ) as live:
            env = process_env(
                streams, tmp_path, DATABASE_URL=postgres_url, MONITOR_STORE="bus",
                MONITOR_RPC_URLS=live.chain.url, MONITOR_SIMULATE="all", MONITOR_FORKS="1",
                MONITOR_DEADLINE="60", ALERT_RULES_FILE=str(rules), LOG_LEVEL="WARNING",
            )  # fmt: skip
            with members(env) as started:
                started.start("tx_enriched", SIMULATE, "simulate")
                first = started.start("tx_simulated", ALERT, "alert")
                sent = await send(live.chain.traffic, BEFORE_EXPLOIT)
                exploit_hash = await live.chain.traffic.send_raw(exploit)
                sent += [exploit_hash, *await send(live.chain.traffic, AFTER_EXPLOIT)]
                await wait_for(lambda: store.scalar(alerts) >= 1, "the alert", WAIT * 5)
                async with RpcClient(live.chain.url) as rpc:  # the block is not mined yet
                    assert await rpc.call("eth_getTransactionReceipt", [exploit_hash]) is None
                first.send_signal(signal.SIGKILL)  # mid-stream: simulations still coming
                assert await asyncio.to_thread(first.wait, WAIT) == -signal.SIGKILL
                assert store.processed(ALERT) < len(sent)
                second = started.start("tx_simulated", ALERT, "alert")
                await wait_for(
                    lambda: store.processed(ALERT) >= len(sent), "every simulation", WAIT * 5
                )
                code, _, err = terminated(second)
                assert code == 0, err
            block = await live.chain.mine()
            async with RpcClient(live.chain.url) as rpc:
                receipt = await rpc.call("eth_getTransactionReceipt", [exploit_hash])
        assert int(receipt["blockNumber"], 16) == block  # included after the alert
        with store.engine.connect() as connection:
            stored = [tuple(row) for row in connection.execute(text(ALERTS))]
        assert stored == [("exploit-before-inclusion", "pending", "critical", exploit_hash)]
        assert store.processed(ALERT) == len(sent)  # each simulation evaluated once
    finally:
        store.engine.dispose()
