"""The monitor over JetStream (real NATS on 127.0.0.1:4222, real PostgreSQL, anvil with mining
paused): the monitor (ingestion, enrichment, lifecycle) runs here and stores nothing itself;
its storage is a `timemachine consume … --handler timemachine.monitor.sinks:store` process,
SIGKILLed mid-stream and restarted. Every sent transaction ends in the store once, in its final
state, and every event was applied exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.integration.bus_support import open_bus, throwaway_streams
from tests.integration.monitor_support import (
    live_monitor,
    raw_transaction,
    scenario_of_class,
    wait_for,
)
from tests.integration.test_bus_processes import WAIT, members, process_env, terminated
from tests.integration.test_monitor_devnet import ETHER
from timemachine.bus import StreamSettings
from timemachine.bus.jetstream import JetStreamBus
from timemachine.catalog.devnet import actor_account, actor_address
from timemachine.devnet import Devnet
from timemachine.monitor.traffic import Traffic
from timemachine.store import open_database

pytestmark = pytest.mark.integration

SENDERS = ("alice", "bob", "carol", "dave")
BEFORE_KILL, AFTER_KILL = 40, 20
"""Transactions sent while the first storage member runs, then while no member runs."""
GROUP = "monitor-store"
SIM_GROUP = "monitor-sim"
HANDLER = "timemachine.monitor.sinks:store"


@pytest.fixture
def streams() -> StreamSettings:
    return throwaway_streams(ack_wait=2.0, max_deliver=10, max_per_topic=10_000)


@pytest.fixture
async def bus(streams: StreamSettings) -> AsyncIterator[JetStreamBus]:
    async with open_bus("jetstream", streams) as opened:
        assert isinstance(opened, JetStreamBus)
        yield opened


class Store:
    """Read-only views of the consumers' database."""

    def __init__(self, url: str) -> None:
        open_database(url).dispose()  # migrated before any consumer starts
        self.engine = create_engine(url)

    def scalar(self, query: str) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text(query)).scalar_one())

    def processed(self, group: str) -> int:
        """Events `group` applied (the primary key makes each id appear once at most)."""
        return self.scalar(
            f"SELECT count(*) FROM processed_events WHERE consumer_group = '{group}'"
        )

    def rows(self) -> dict[str, tuple[str, int | None, bool, str | None]]:
        """hash → (status, block number, simulated, top finding); fails on a second row."""
        query = "SELECT hash, status, block_number, simulated, top_finding FROM monitor_txs"
        with self.engine.connect() as connection:
            found = [tuple(row) for row in connection.execute(text(query))]
        assert len({row[0] for row in found}) == len(found)
        return {row[0]: row[1:] for row in found}


async def send(traffic: Traffic, count: int) -> list[str]:
    """`count` transfers, round-robin over the senders."""
    return [
        await traffic.transfer(
            actor_account(SENDERS[n % len(SENDERS)]), actor_address("erin"), ETHER // 100
        )
        for n in range(count)
    ]


async def test_sigkilled_storage_consumer_loses_nothing_and_stores_nothing_twice(
    devnet: Devnet,
    bus: JetStreamBus,
    streams: StreamSettings,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    store = Store(postgres_url)
    stored = "SELECT count(*) FROM monitor_txs"
    env = process_env(streams, tmp_path, DATABASE_URL=postgres_url, MONITOR_STORE="bus")
    before = scenario_of_class(devnet, "reentrancy")
    exploit = await raw_transaction(devnet, before.exploit_tx)
    try:
        async with live_monitor(
            devnet, before, tmp_path, simulate="all", bus=bus, store_locally=False
        ) as live:
            monitor, traffic = live.chain.monitor, live.chain.traffic
            with members(env) as started:
                alerts = started.start("alerts", "alerts-tail", "print")
                simulated = started.start("tx_simulated", SIM_GROUP, HANDLER)
                first = started.start("tx_enriched", GROUP, HANDLER)
                sending = asyncio.create_task(send(traffic, BEFORE_KILL))
                await wait_for(lambda: store.scalar(stored) >= 10, "10 stored", WAIT)
                first.send_signal(signal.SIGKILL)  # while the monitor still publishes
                assert await asyncio.to_thread(first.wait, WAIT) == -signal.SIGKILL
                killed_at = store.scalar(stored)
                sent = await sending
                sent += await send(traffic, AFTER_KILL)
                sent.append(await traffic.send_raw(exploit))
                total = BEFORE_KILL + AFTER_KILL + 1
                assert killed_at < total

                def simulated_all() -> bool:
                    records = [monitor.lifecycle.get(h) for h in sent]
                    return all(r is not None and r.simulation is not None for r in records)

                await wait_for(simulated_all, "every simulation, before the block", WAIT * 2)
                block = await live.chain.mine()
                await wait_for(
                    lambda: all(monitor.lifecycle.get(h).status == "included" for h in sent),  # type: ignore[union-attr]
                    "every inclusion seen by the monitor",
                )

                # each provider after the first publishes its sighting (tx_sighted)
                seen = [r.first_seen for h in sent if (r := monitor.lifecycle.get(h))]
                sightings = sum(len(providers) - 1 for providers in seen)
                second = started.start("tx_enriched", GROUP, HANDLER)
                # the rows may be final before every event was applied (the redeliveries of what
                # the killed member held come after the ack wait): wait for every event
                await wait_for(
                    lambda: (
                        store.processed(GROUP) >= 2 * total + sightings
                        and store.processed(SIM_GROUP) >= total
                    ),
                    "every event applied",
                    WAIT,
                )
                for member in (second, simulated):
                    code, _, err = terminated(member)
                    assert code == 0, err
                _, printed, _ = terminated(alerts)

        assert monitor.database is None  # the monitor stored nothing itself
        assert len(set(sent)) == total
        exploit_hash = sent[-1]
        assert store.rows() == {
            h: ("included", block, True, "reentrancy" if h == exploit_hash else None) for h in sent
        }
        # one tx_enriched and one tx_included per transaction and one tx_sighted per later
        # provider, each applied once by the group; one simulation each, once by the other group
        assert store.processed(GROUP) == 2 * total + sightings
        assert store.processed(SIM_GROUP) == total
        flagged = [json.loads(line)["event"] for line in printed.splitlines()]
        assert any(a["hash"] == exploit_hash and a["status"] == "pending" for a in flagged)
    finally:
        store.engine.dispose()
