"""The simulator as a process of its own over JetStream (real NATS, real PostgreSQL, anvil with
mining paused): the monitor here only ingests (`--simulate none`, storing nothing itself); the
simulation consumer (`consume tx_enriched --handler simulate`), SIGKILLed mid-stream and
restarted, and the two storage consumers are separate processes. Every transaction is stored
once, simulated, the exploit with its finding; every simulation applied to the store once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.integration.bus_support import throwaway_streams
from tests.integration.monitor_support import (
    live_monitor,
    raw_transaction,
    scenario_of_class,
    wait_for,
)
from tests.integration.test_bus_processes import WAIT, members, process_env, terminated
from tests.integration.test_monitor_jetstream import Store, bus, send
from timemachine.bus import StreamSettings
from timemachine.bus.jetstream import JetStreamBus
from timemachine.devnet import Devnet

pytestmark = pytest.mark.integration
__all__ = ["bus"]  # fixture

BEFORE_KILL, AFTER_KILL = 12, 8
STORE, SIM_STORE, SIMULATE = "monitor-store", "monitor-sim", "monitor-simulate"


@pytest.fixture
def streams() -> StreamSettings:
    return throwaway_streams(ack_wait=30.0, max_deliver=10, max_per_topic=10_000)


async def test_a_sigkilled_simulation_consumer_loses_nothing_and_applies_nothing_twice(
    devnet: Devnet,
    bus: JetStreamBus,
    streams: StreamSettings,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    store = Store(postgres_url)
    simulated = "SELECT count(*) FROM monitor_txs WHERE simulated"
    before = scenario_of_class(devnet, "reentrancy")
    exploit = await raw_transaction(devnet, before.exploit_tx)
    try:
        async with live_monitor(
            devnet, before, tmp_path, simulate="none", bus=bus, store_locally=False
        ) as live:
            assert live.chain.monitor.simulator is None  # the monitor only ingests
            env = process_env(
                streams, tmp_path, DATABASE_URL=postgres_url, MONITOR_STORE="bus",
                MONITOR_RPC_URLS=live.chain.url, MONITOR_SIMULATE="all", MONITOR_FORKS="1",
                MONITOR_DEADLINE="60", LOG_LEVEL="WARNING",
            )  # fmt: skip
            with members(env) as started:
                started.start("tx_enriched", STORE, "store")
                sim_store = started.start("tx_simulated", SIM_STORE, "store")
                first = started.start("tx_enriched", SIMULATE, "simulate")
                sent = await send(live.chain.traffic, BEFORE_KILL)
                await wait_for(lambda: store.scalar(simulated) >= 3, "3 simulated", WAIT * 3)
                first.send_signal(signal.SIGKILL)  # mid-stream: simulations still queued
                assert await asyncio.to_thread(first.wait, WAIT) == -signal.SIGKILL
                killed_at = store.scalar(simulated)
                sent += await send(live.chain.traffic, AFTER_KILL)
                sent.append(await live.chain.traffic.send_raw(exploit))
                total = len(sent)
                assert killed_at < total
                second = started.start("tx_enriched", SIMULATE, "simulate")
                await wait_for(
                    lambda: store.processed(SIM_STORE) >= total, "every simulation", WAIT * 5
                )
                for member in (second, sim_store):
                    code, _, err = terminated(member)
                    assert code == 0, err
        rows = store.rows()
        assert set(rows) == set(sent)
        exploit_hash = sent[-1]
        with store.engine.connect() as connection:
            payload = connection.execute(
                text("SELECT payload FROM monitor_txs WHERE hash = :h"), {"h": exploit_hash}
            ).scalar_one()
        simulation = payload["simulation"] if isinstance(payload, dict) else payload
        assert "reentrancy" in str(simulation), simulation
        assert {h: row[2:] for h, row in rows.items()} == {
            h: (True, "reentrancy" if h == exploit_hash else None) for h in sent
        }
        assert store.processed(SIM_STORE) == total  # each simulation applied once
        assert store.processed(SIMULATE) == 0  # the simulator writes nothing to the store
    finally:
        store.engine.dispose()
