"""The rules as a consumer process: `timemachine consume tx_simulated --group monitor-alert
--handler alert` (and the same on `tx_enriched` for the other stages) evaluates the rules of
ALERT_RULES_FILE and the enabled stored ones on each monitor event, exactly as the monitor's
own `RuleFeed` does (same stages, notifier, store, delivery loops), so the simulator and the
alerting can run as processes of their own: a `pending`-stage rule on a finding fires from
the simulator's outcome while the transaction is still pending.

Exactly once: the alerts an event raises are stored in the transaction that records its id in
`processed_events` (`exactly_once`), so a redelivered event (the member killed before its ack)
stores nothing again; besides, a de-duplicating rule's alert id is one per (rule, chain, tx).
Deliveries run in this process, one loop per channel.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

from sqlalchemy.orm import Session

from timemachine.alerts.model import Alert
from timemachine.chain.rpc import RpcClient
from timemachine.errors import InvalidInputError
from timemachine.hexutil import quantity
from timemachine.logs import get_logger
from timemachine.monitor.alerting import STAGE_OF_CHANGE, RuleFeed, running_rules
from timemachine.monitor.models import MonitoredTx
from timemachine.ports import Delivery, EventBus, Handler
from timemachine.rules.stored import RuleSources
from timemachine.security.outbound import OutboundPolicy
from timemachine.security.vault import Vault
from timemachine.settings import Settings
from timemachine.store.db import Database
from timemachine.store.processed_events import exactly_once

log = get_logger(__name__)


class WithStore(Protocol):
    """What the factory needs of the runtime `timemachine consume` passes it."""

    @property
    def settings(self) -> Settings: ...

    def database(self) -> Database: ...

    def bus(self) -> EventBus: ...

    def upstream(self, urls: str) -> RpcClient: ...


class AlertConsumer:
    """The handler: a monitor event's rule events evaluated by `feed`, the alerts stored once
    per (group, event id), then announced (published on `alerts`, their channels woken)."""

    def __init__(self, feed: RuleFeed, database: Database, group: str) -> None:
        self.feed = feed
        self.sink = exactly_once(database, group, self._store_alerts)
        self._raised: list[Alert] = []

    async def __call__(self, delivery: Delivery) -> None:
        self._raised = []
        await self.sink(delivery)
        self.feed.announce(self._raised)

    def _store_alerts(self, session: Session, delivery: Delivery) -> None:
        change = str(delivery.event.get("type"))
        if change not in STAGE_OF_CHANGE:  # a change no rule stage is evaluated at
            return
        record = MonitoredTx.model_validate(delivery.event)
        self._raised = [
            alert
            for event in self.feed.events_of(record, change)
            for alert in self.feed.notifier.process(event, session)
        ]


class AlertingMember:
    """The member `consume` runs: the rules started on the first event (the chain's id asked
    of its node), stopped with the member."""

    def __init__(
        self,
        sources: RuleSources,
        database: Database,
        bus: EventBus,
        rpc: RpcClient,
        *,
        group: str,
        policy: OutboundPolicy,
    ) -> None:
        self.sources = sources
        self.database = database
        self.bus = bus
        self.rpc = rpc
        self.group = group
        self.policy = policy
        self._stack = contextlib.AsyncExitStack()
        self._handler: AlertConsumer | None = None

    async def __call__(self, delivery: Delivery) -> None:
        if self._handler is None:
            chain_id = quantity(await self.rpc.call("eth_chainId")) or 0
            rules = running_rules(
                self.sources, self.database, self.bus, chain_id, policy=self.policy
            )
            feed = await self._stack.enter_async_context(rules)
            self._handler = AlertConsumer(feed, self.database, self.group)
        await self._handler(delivery)

    async def aclose(self) -> None:
        """Stop the delivery loops and the rule reloads; close the chain's client."""
        await self._stack.aclose()
        await self.rpc.aclose()
        self.database.dispose()


def alert(runtime: WithStore, group: str) -> Handler:
    """The handler factory of `timemachine consume tx_simulated --handler alert`: the rules are
    ALERT_RULES_FILE and the enabled stored ones; the chain (its id) is MONITOR_RPC_URLS."""
    settings = runtime.settings
    urls = settings.monitor_rpc_urls.strip()
    if not urls:
        raise InvalidInputError("the alerting consumer needs MONITOR_RPC_URLS (the chain)")
    database = runtime.database()
    sources = RuleSources(settings.alert_rules_file, database, vault=Vault.from_settings(settings))
    sources.load()  # a bad rule file is refused here, not by each delivery in turn
    log.info("alerting consumer", group=group, rules=str(settings.alert_rules_file))
    return AlertingMember(
        sources,
        database,
        runtime.bus(),
        runtime.upstream(urls),
        group=group,
        policy=OutboundPolicy.from_settings(settings),
    )
