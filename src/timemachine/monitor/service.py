"""The monitor of one chain: ingestion, enrichment, lifecycle, simulation, storage and events,
running together (`await Monitor(...).run()`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any, Protocol

from timemachine.bus import STATUS_CHANNEL, topics
from timemachine.bus.topics import EVENT_ID_KEY
from timemachine.chain.streams import Source
from timemachine.chain.tracker import BlockRef, ChainReorged, reorg_event_id
from timemachine.errors import MethodUnavailableError, RpcError, StorageError, TimeMachineError
from timemachine.logs import get_logger
from timemachine.mev.inspect import inspect_block
from timemachine.mev.sources import RpcTraceSource
from timemachine.models.analysis import Severity, severity_rank
from timemachine.monitor.enrich import Enricher
from timemachine.monitor.ingest import Ingestor, MonitorChain
from timemachine.monitor.lifecycle import IncludedTx, Lifecycle, Transition
from timemachine.monitor.models import MonitoredTx
from timemachine.monitor.simulate import HeadSource, Simulator
from timemachine.monitor.stats import (
    BacklogStats,
    MonitorStats,
    ProviderStats,
    RateMeter,
    SimulationStats,
)
from timemachine.ports import EventBus
from timemachine.store.db import Database
from timemachine.store.monitor import MonitoredTxs, MonitorRow

log = get_logger(__name__)
ALERT_SEVERITY: Severity = "high"
"""Simulated findings at least this severe raise an alert."""
FLUSH_INTERVAL = 0.5
STATS_INTERVAL = 5.0
"""Seconds between two `monitor_stats` events on the status channel."""
UNSTORED_LIMIT = 100_000
"""Changed records kept while the store is unavailable (the oldest are given up first)."""
NOTABLE = 20


class MonitorHook(Protocol):
    """Told of every state change of a monitored transaction and of every reorg (e.g. the
    rule engine, `monitor.alerting.RuleFeed`); called in the monitor's loop, so it is quick."""

    def tx_changed(self, record: MonitoredTx, change: str) -> None: ...

    def reorged(self, reorg: ChainReorged) -> None: ...


class Monitor:
    """Watches one chain's mempool through `chain` and publishes on `bus`."""

    def __init__(
        self,
        chain: MonitorChain,
        enricher: Enricher,
        bus: EventBus,
        *,
        simulator: Simulator | None = None,
        database: Database | None = None,
        drop_after: int = 3,
        inspect_blocks: bool = True,
        retention_hours: float = 24.0,
        hook: MonitorHook | None = None,
    ) -> None:
        self.chain = chain
        self.hook = hook
        self.name = chain.name or "chain"
        self.enricher = enricher
        self.bus = bus
        self.simulator = simulator
        if simulator is not None:
            simulator.on_simulated = self.on_simulated
        self.database = database
        self.inspect_blocks = inspect_blocks
        self.retention_hours = retention_hours
        self.ingestor = Ingestor(self.name)
        self.lifecycle = Lifecycle(drop_after=drop_after)
        self.rate = RateMeter()
        self.head: BlockRef | None = None
        self.notable: deque[dict[str, Any]] = deque(maxlen=NOTABLE)
        self.mev_bundles = 0
        self._dirty: dict[str, MonitoredTx] = {}
        self._heads = (
            HeadSource(chain.rpc, simulator.forks, enricher.decoder) if simulator else None
        )
        chain.tracker.on_reorg(self._on_reorg)

    # --- ingestion ---------------------------------------------------------------------------

    def take(self, provider: str, raw: Any, now: float) -> MonitoredTx | None:
        """One notification of `provider`: the new record when it shows a new transaction."""
        tx, repeat = self.ingestor.accept(provider, raw, now)
        if tx is None:
            known = self.lifecycle.get(repeat) if repeat is not None else None
            if known is not None and provider not in known.first_seen:
                known.first_seen[provider] = now
                self._changed(known, "tx_sighted")  # so a bus-fed store records it too
            return None
        self.rate.tick(now)
        record = MonitoredTx(
            tx=tx, first_seen=self.ingestor.sightings(tx.hash), enrichment=self.enricher.enrich(tx)
        )
        pending_id = f"{tx.chain}:{tx.hash}:tx_pending"
        self.bus.publish(
            topics.TX_RAW,
            {"type": "tx_pending", **tx.model_dump(mode="json"), EVENT_ID_KEY: pending_id},
        )
        self._changed(record, "tx_enriched")
        self._apply(self.lifecycle.admit(record))
        if record.enrichment.watched:
            self._alert(record, f"watched address {', '.join(record.enrichment.watched)}")
        if self.simulator is not None:
            self.simulator.offer(record)
        return record

    async def _ingest(self) -> None:
        async for provider, raw, now in self.chain.pending_by_provider():
            self.take(provider, raw, now)

    # --- heads, reorgs, the pool -------------------------------------------------------------

    async def _follow_heads(self) -> None:
        async for head in self.chain.heads():
            try:
                await self.on_head(head)
            except TimeMachineError as error:  # an RPC or fork failure costs this head only
                log.warning("head not processed", chain=self.name, error=error.message)

    async def on_head(self, head: BlockRef) -> None:
        """A new canonical block: inclusions and replacements, the simulation head, drops."""
        seen_at = time.time()
        block = await self.chain.rpc.call("eth_getBlockByNumber", [hex(head.number), True])
        if not isinstance(block, dict):
            return
        txs = [
            included
            for position, tx in enumerate(block.get("transactions") or [])
            if isinstance(tx, dict) and (included := IncludedTx.of(tx, position)) is not None
        ]
        transitions = self.lifecycle.on_block(head, txs, seen_at=seen_at)
        self._apply(transitions)
        self.bus.publish(
            topics.BLOCKS,
            {
                "type": "block",
                "chain": self.name,
                **head.as_dict(),
                "transactions": len(txs),
                "monitored": sum(event == "tx_included" for _, event in transitions),
            },
        )
        if self.simulator is not None and self._heads is not None:
            await self.simulator.forks.start(head.number)
            self.simulator.set_head(await self._heads.head_of(block))
        self.head = head
        present = await self._pool_hashes()
        if present is not None:
            self._apply(self.lifecycle.on_pool(present))
        if self.inspect_blocks and txs:
            await self._inspect(head)

    def _on_reorg(self, event: ChainReorged) -> None:
        transitions = self.lifecycle.on_reorg(event)
        self._apply(transitions)
        reorged = [record.tx.hash for record, _ in transitions]
        self.bus.publish(
            topics.REORGS,
            {**event.as_event(), "reorged_txs": reorged, EVENT_ID_KEY: reorg_event_id(event)},
        )
        if self.hook is not None:
            self.hook.reorged(event)

    async def _pool_hashes(self) -> set[str] | None:
        """Hashes any provider still has pending (None when a provider could not tell)."""
        pending = list(self.lifecycle.pending)
        present: set[str] = set()
        for source in self.chain.sources():
            try:
                present |= await _pool_of(source, pending)
            except RpcError as error:
                log.info("pool not readable", provider=source.label, error=error.message)
                return None
        return present

    async def _inspect(self, head: BlockRef) -> None:
        """MEV inspection of the included block: sandwiches and arbitrages become bundles."""
        try:
            found = inspect_block(await RpcTraceSource(self.chain.rpc).block(head.number))
        except TimeMachineError as error:
            log.info("block not inspected", block=head.number, error=error.message)
            return
        for kind, items in (("sandwich", found.sandwiches), ("arbitrage", found.arbitrages)):
            for item in items:
                self.mev_bundles += 1
                found_in = {"type": "mev_bundle", "bundle": kind, "chain": self.name}
                self.bus.publish(topics.MEV_BUNDLES, {**item.model_dump(mode="json"), **found_in})

    # --- simulation, alerts, storage ---------------------------------------------------------

    async def on_simulated(self, record: MonitoredTx) -> None:
        self._changed(record, "tx_simulated", topics.TX_SIMULATED)
        simulation = record.simulation
        top = simulation.top_finding if simulation is not None else None
        if top is not None and severity_rank(top.severity) <= severity_rank(ALERT_SEVERITY):
            self._alert(record, f"{top.severity} {top.vulnerability_class.value}: {top.title}")

    def _alert(self, record: MonitoredTx, reason: str) -> None:
        alert = {
            "type": "alert",
            "chain": self.name,
            "hash": record.tx.hash,
            "status": record.status,
            "reason": reason,
            "at": time.time(),
        }
        self.notable.append(alert)
        self.bus.publish(topics.ALERTS, alert)

    def _apply(self, transitions: Iterable[Transition]) -> None:
        for record, event in transitions:
            self._changed(record, event)

    def _changed(self, record: MonitoredTx, event: str, topic: str = topics.TX_ENRICHED) -> None:
        self._dirty[record.tx.hash] = record
        self.bus.publish(
            topic, {**record.event(event), EVENT_ID_KEY: record_event_id(record, event)}
        )
        if self.hook is not None:
            self.hook.tx_changed(record, event)

    def flush(self) -> int:
        """Write the changed records (one row per transaction); how many."""
        batch, self._dirty = self._dirty, {}
        if self.database is None or not batch:
            return 0
        with self.database.session() as session:
            MonitoredTxs(session).upsert([row_of(record) for record in batch.values()])
        return len(batch)

    def report_stats(self) -> None:
        """Publish the monitor's stats as a system event (`/ws/status` relays them)."""
        self.bus.publish(STATUS_CHANNEL, {"type": "monitor_stats", **self.stats().model_dump()})

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(STATS_INTERVAL)
            self.report_stats()

    async def _flush_loop(self) -> None:
        last_purge = time.time()
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            pending = self._dirty
            try:
                await asyncio.to_thread(self.flush)
            except StorageError as error:  # kept for the next flush (newer states win), bounded
                log.warning("monitor store unavailable", error=error.message)
                self._dirty = {**pending, **self._dirty}
                while len(self._dirty) > UNSTORED_LIMIT:
                    self._dirty.pop(next(iter(self._dirty)))
            if self.database is not None and time.time() - last_purge > 3600:
                last_purge = time.time()
                cutoff = last_purge - self.retention_hours * 3600
                await asyncio.to_thread(self._purge, cutoff)

    def _purge(self, cutoff: float) -> None:
        if self.database is not None:
            with self.database.session() as session:
                MonitoredTxs(session).purge(cutoff)

    def stats(self) -> MonitorStats:
        now = time.time()
        lifecycle = self.lifecycle
        statuses = Counter(record.status for record in lifecycle.settled.values())
        statuses["pending"] = len(lifecycle.pending)
        simulation = None
        if self.simulator is not None:
            simulator = self.simulator
            backlog = simulator.backlog
            percentiles = simulator.percentiles()
            simulation = SimulationStats(
                filter=simulator.filter.text,
                simulated=simulator.stats.simulated,
                failed=simulator.stats.failed,
                timed_out=simulator.stats.timed_out,
                skipped=simulator.stats.skipped,
                latency_ms_p50=percentiles["p50"],
                latency_ms_p99=percentiles["p99"],
                fork_resets=simulator.forks.resets,
                backlog=BacklogStats(
                    size=len(backlog),
                    capacity=backlog.capacity,
                    shed=backlog.shed,
                    tightened_to=backlog.floor,
                ),
            )
        return MonitorStats(
            chain=self.name,
            head=self.head.number if self.head else None,
            ingested_per_second=self.rate.per_second(now),
            pending=len(lifecycle.pending),
            statuses=dict(statuses),
            malformed=self.ingestor.malformed,
            providers={
                label: ProviderStats(
                    delivered=counts.delivered,
                    first=counts.first,
                    malformed=counts.malformed,
                    unresolved=counts.unresolved,
                    silent_for=now - counts.last_seen if counts.last_seen else None,
                    reconnects=self.chain.reconnects.get(label, 0),
                )
                for label, counts in self.ingestor.providers.items()
            },
            simulation=simulation,
            mev_bundles=self.mev_bundles,
            notable=list(self.notable),
        )

    async def run(self) -> None:
        """Ingest, follow heads, simulate and store until cancelled."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._ingest())
                group.create_task(self._follow_heads())
                group.create_task(self._flush_loop())
                group.create_task(self._report_loop())
                if self.simulator is not None:
                    group.create_task(self.simulator.run())
        finally:
            with contextlib.suppress(TimeMachineError):
                await asyncio.to_thread(self.flush)


def record_event_id(record: MonitoredTx, event: str) -> str:
    """The id of a record's event, the same from every monitor that sees the same change (the
    bus drops the copies): the transaction, the event, its reorg count and what it depends on."""
    tx = record.tx
    if event == "tx_simulated" and record.simulation is not None:
        detail = str(record.simulation.head)
    elif event == "tx_sighted":
        detail = ",".join(sorted(record.first_seen))
    else:
        detail = record.block_hash or record.replaced_by or ""
    return f"{tx.chain}:{tx.hash}:{event}:{record.reorged}:{detail}"


def row_of(record: MonitoredTx) -> MonitorRow:
    """The stored row of a record."""
    tx, simulation = record.tx, record.simulation
    top = simulation.top_finding if simulation is not None else None
    return MonitorRow(
        chain=tx.chain,
        hash=tx.hash,
        sender=tx.sender,
        to_address=tx.to,
        nonce=tx.nonce,
        kind=record.enrichment.kind,
        status=record.status,
        value=tx.value,
        simulated=simulation is not None,
        top_finding=top.vulnerability_class.value if top is not None else None,
        block_number=record.block_number,
        first_seen=record.seen_at,
        updated_at=record.updated_at,
        payload=record.model_dump(mode="json"),
    )


async def _pool_of(source: Source, pending: list[str]) -> set[str]:
    """The hashes of `pending` that `source` still holds in its pool."""
    try:
        content = await source.client.call("txpool_content")
    except MethodUnavailableError:
        content = None
    if isinstance(content, dict):
        return {
            tx_hash.lower()
            for section in ("pending", "queued")
            for by_nonce in (content.get(section) or {}).values()
            if isinstance(by_nonce, dict)
            for tx in by_nonce.values()
            if isinstance(tx, dict) and isinstance(tx_hash := tx.get("hash"), str)
        }
    if not pending:
        return set()
    answers = await source.client.batch_settled(
        [("eth_getTransactionByHash", [tx_hash]) for tx_hash in pending]
    )
    return {
        tx_hash
        for tx_hash, answer in zip(pending, answers, strict=True)
        if isinstance(answer, dict) and answer.get("blockNumber") is None
    }
