"""The monitor's rules: each monitored transaction becomes a `RuleEvent` at each stage, the
notifier turns matches into alerts (published on the `alerts` topic) and one delivery loop per
channel sends them, so a channel that is down only delays its own alerts.

Stages: `pending` when the transaction is first enriched and again, carrying the simulation's
findings, deltas and MEV, when its pre-inclusion simulation finishes while it is still pending
(so `stage == "pending" and finding.severity >= "high"` fires before the block is mined);
`simulated` for the simulation outcome itself; `mined` on inclusion. A reorg is a chain event
(`kind == "reorg"`, `reorg_depth`). De-duplication keeps one alert per rule and transaction.

Given `RuleSources` (a rule file and/or the rules stored over REST), the rules are reloaded
within `RELOAD_INTERVAL` of a change, without dropping an event (`RuleEngine.load` swaps).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

from timemachine.alerts.channels import ChannelSender
from timemachine.alerts.clock import SystemClock
from timemachine.alerts.model import Alert
from timemachine.alerts.notifier import Notifier
from timemachine.bus import topics
from timemachine.chain.tracker import ChainReorged
from timemachine.errors import TimeMachineError
from timemachine.logs import get_logger
from timemachine.monitor.models import MonitoredTx
from timemachine.ports import EventBus
from timemachine.rules.adapt import deltas_of, findings_of
from timemachine.rules.event import (
    DecodedCallArgs,
    MevFields,
    RuleEvent,
    Simulation,
    Stage,
    TxFields,
)
from timemachine.rules.loader import RuleSet
from timemachine.rules.stored import RuleSources
from timemachine.security.outbound import OutboundPolicy
from timemachine.store.db import Database

log = get_logger(__name__)
RETRY_PAUSE = 1.0
"""Seconds before a channel's queue is read again after a failure outside the channel."""
RELOAD_INTERVAL = 2.0
"""Seconds between two looks at the rule sources for a change."""
STAGE_OF_CHANGE: dict[str, tuple[Stage, ...]] = {
    "tx_enriched": ("pending",),
    "tx_simulated": ("simulated", "pending"),
    "tx_included": ("mined",),
}
"""Which rule stages a monitor state change is evaluated at."""


def _mev(record: MonitoredTx) -> tuple[MevFields, ...]:
    mev = record.simulation.mev if record.simulation is not None else None
    if mev is None:
        return ()
    return tuple(
        MevFields(type="arbitrage", profit=int(p["amount"]), profit_token=str(p["token"]).lower())
        for p in mev.profit
    ) + tuple(MevFields(type="liquidation") for _ in range(mev.liquidations))


def event_of(record: MonitoredTx, stage: Stage, chain_id: int) -> RuleEvent:
    """The event a rule sees for `record` at `stage` (with its simulation once it has one)."""
    tx, call, simulation = record.tx, record.enrichment.call, record.simulation
    return RuleEvent(
        stage=stage,
        chain=tx.chain,
        chain_id=chain_id,
        block_number=record.block_number if stage == "mined" else None,
        tx=TxFields.model_validate(
            {
                "hash": tx.hash,
                "from": tx.sender,
                "to": tx.to,
                "value": tx.value,
                "gas": tx.gas,
                "gas_price": tx.fee_cap or None,
                "nonce": tx.nonce,
                "input": tx.input,
            }
        ),
        call=DecodedCallArgs(
            name=call.name, signature=call.signature, args={a.name: a.value for a in call.args}
        )
        if call is not None
        else None,
        deltas=deltas_of(simulation.balance_changes) if simulation else (),
        simulation=Simulation(
            success=simulation.success,
            gas_used=simulation.gas_used,
            error=simulation.revert_reason or simulation.error,
        )
        if simulation is not None
        else None,
        findings=findings_of(simulation.findings) if simulation else (),
        mev=_mev(record),
    )


def reorg_event_of(reorg: ChainReorged, chain_id: int) -> RuleEvent:
    return RuleEvent(
        kind="reorg",
        stage="mined",
        chain=reorg.chain,
        chain_id=chain_id,
        block_number=reorg.common_ancestor.number,
        reorg_depth=reorg.depth,
    )


class RuleFeed:
    """The monitor's hook: evaluates the rules on every state change and delivers the alerts:
    in this process (one loop per channel), or, given `dispatch`, as queued jobs: `dispatch`
    is called with each channel a new alert is queued on (e.g. to enqueue a worker task)."""

    def __init__(
        self,
        notifier: Notifier,
        bus: EventBus,
        chain_id: int,
        dispatch: Callable[[str], None] | None = None,
    ) -> None:
        self.notifier = notifier
        self.bus = bus
        self.chain_id = chain_id
        self.dispatch = dispatch
        self.alerts: list[Alert] = []
        self._queued: dict[str, asyncio.Event] = {}
        self._loops: dict[str, asyncio.Task[None]] = {}

    def events_of(self, record: MonitoredTx, change: str) -> list[RuleEvent]:
        """The rule events of a monitor state change (one per stage it is evaluated at)."""
        if change == "tx_simulated" and record.status != "pending":
            stages: tuple[Stage, ...] = ("simulated",)
        else:
            stages = STAGE_OF_CHANGE.get(change, ())
        return [event_of(record, stage, self.chain_id) for stage in stages]

    def tx_changed(self, record: MonitoredTx, change: str) -> None:
        for event in self.events_of(record, change):
            self._process(event)

    def reorged(self, reorg: ChainReorged) -> None:
        self._process(reorg_event_of(reorg, self.chain_id))

    def _process(self, event: RuleEvent) -> None:
        try:
            raised = self.notifier.process(event)
        except TimeMachineError as error:  # a store failure costs this event's alerts only
            log.warning("rules not evaluated", tx=event.tx.hash, error=error.message)
            return
        self.announce(raised)

    def announce(self, raised: list[Alert]) -> None:
        """Publish new (stored) alerts on `alerts` and wake their channels' deliveries."""
        for alert in raised:
            self.alerts.append(alert)
            self.bus.publish(topics.ALERTS, {"type": "rule_alert", **alert.model_dump(mode="json")})
            for channel in alert.notify:
                if self.dispatch is not None:
                    self.dispatch(channel)
                else:
                    self._wakeup(channel).set()

    def _wakeup(self, channel: str) -> asyncio.Event:
        return self._queued.setdefault(channel, asyncio.Event())

    def start_delivery(self) -> None:
        """A delivery loop for each channel that has none yet (after a reload: new channels);
        none when deliveries are dispatched as jobs."""
        if self.dispatch is not None:
            return
        for name in self.notifier.deliveries.channels:
            if name not in self._loops:
                self._loops[name] = asyncio.create_task(self._deliver_channel(name))

    async def stop_delivery(self) -> None:
        loops, self._loops = list(self._loops.values()), {}
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)

    def reload(self, rules: RuleSet) -> None:
        """Hot reload: the new rules and channels, a delivery loop for each new channel."""
        self.notifier.reload(rules)
        self.start_delivery()

    async def watch(
        self, sources: RuleSources, seen: tuple[Any, ...], interval: float = RELOAD_INTERVAL
    ) -> None:
        """Reload from `sources` whenever their fingerprint differs from `seen` (the one taken
        before the running rules were loaded), until cancelled; a change that does not load
        (a bad file) keeps the rules running and is logged."""
        while True:
            await asyncio.sleep(interval)
            try:
                current = await asyncio.to_thread(sources.fingerprint)
                if current == seen:
                    continue
                seen = current
                rules = await asyncio.to_thread(sources.load)
                self.reload(rules)
                log.info("rules reloaded", rules=len(rules.rules), channels=len(rules.channels))
            except TimeMachineError as error:
                log.warning("rules not reloaded", error=error.message)

    async def _deliver_channel(self, name: str) -> None:
        wakeup = self._wakeup(name)
        while True:
            wakeup.clear()
            try:
                await self.notifier.deliveries.drain_channel(name)
            except TimeMachineError as error:  # e.g. the store: try the queue again soon
                log.warning("alert delivery failed", channel=name, error=error.message)
                await asyncio.sleep(RETRY_PAUSE)
                continue
            await wakeup.wait()


@contextlib.asynccontextmanager
async def running_rules(
    rules: RuleSet | RuleSources,
    database: Database,
    bus: EventBus,
    chain_id: int,
    *,
    policy: OutboundPolicy,
    ssl_context: ssl.SSLContext | None = None,
    reload_interval: float = RELOAD_INTERVAL,
    dispatch: Callable[[str], None] | None = None,
) -> AsyncIterator[RuleFeed]:
    """A `RuleFeed` for a monitor's `hook`, its channels checked against `policy` and its
    delivery loops running in the background until the block exits (or, given `dispatch`,
    its deliveries queued as jobs). Given `RuleSources`, the rules are reloaded whenever a
    source changes."""
    sender = ChannelSender(policy, ssl_context=ssl_context)
    sources: RuleSources | None = None
    seen: tuple[Any, ...] = ()
    try:
        if isinstance(rules, RuleSources):
            seen = await asyncio.to_thread(rules.fingerprint)
            sources, rules = rules, await asyncio.to_thread(rules.load)
        notifier = Notifier(rules, database, sender=sender, clock=SystemClock())
        feed = RuleFeed(notifier, bus, chain_id, dispatch)
        feed.start_delivery()
        watching = (
            asyncio.create_task(feed.watch(sources, seen, reload_interval))
            if sources is not None
            else None
        )
        try:
            yield feed
        finally:
            if watching is not None:
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
            await feed.stop_delivery()
    finally:
        await sender.aclose()
