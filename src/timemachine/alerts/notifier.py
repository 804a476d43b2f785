"""The notifier: events in, alerts stored, queued on their channels and announced.

    notifier = Notifier(rules, db, sender=ChannelSender(policy), clock=SystemClock())
    alerts = notifier.process(event)   # match → policy → store (de-dup by id) → queue
    await notifier.deliveries.drain()   # or one worker loop per channel

`on_alert` (e.g. the event bus's publish for `/ws/alerts`) is called with each new alert.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable

from sqlalchemy.orm import Session

from timemachine.alerts.channels import ChannelSender, check_channel
from timemachine.alerts.clock import Clock
from timemachine.alerts.delivery import Deliveries, DeliverySettings
from timemachine.alerts.model import Alert
from timemachine.alerts.policy import AlertPolicy
from timemachine.rules.engine import RuleEngine
from timemachine.rules.event import RuleEvent
from timemachine.rules.loader import RuleSet
from timemachine.store import Database
from timemachine.store.alerts import AlertStore

ALERTS_CHANNEL = "alerts"
"""The event-bus channel new alerts are published on (`/ws/alerts`)."""


class Notifier:
    def __init__(
        self,
        rules: RuleSet,
        db: Database,
        *,
        sender: ChannelSender,
        clock: Clock,
        settings: DeliverySettings | None = None,
        on_alert: Callable[[Alert], None] | None = None,
        owner: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = RuleEngine()
        self.policy = AlertPolicy({}, clock)
        self.db = db
        self.clock = clock
        self.on_alert = on_alert
        self.owner = owner
        self.owners: dict[str, str] = {}
        self.deliveries = Deliveries(
            db, {}, sender, clock, settings or DeliverySettings(), rng or random.Random()
        )
        self.reload(rules)

    def reload(self, rules: RuleSet) -> None:
        """Hot reload: channels checked first, then rules and channels swapped in."""
        for name, channel in rules.channels.items():
            check_channel(name, channel, self.deliveries.sender.policy)
        self.engine.load(rules)
        self.policy.update_rules({r.rule.id: r.rule for r in rules.rules})
        self.deliveries.channels = dict(rules.channels)
        self.owners = dict(rules.owners)

    def process(self, event: RuleEvent, session: Session | None = None) -> list[Alert]:
        """Evaluate `event`; the new alerts (stored and queued on their channels), in `session`'s
        transaction when given (committed with the caller's other writes), else one each."""
        raised: list[Alert] = []
        for match in self.engine.evaluate(event):
            alert = self.policy.admit(match)
            if alert is None:
                continue
            with self.db.session() if session is None else contextlib.nullcontext(session) as s:
                stored = AlertStore(s).add(
                    alert.model_dump(mode="json"), alert.notify, now=self.clock.now(),
                    owner=self.owners.get(alert.rule_id, self.owner),
                )  # fmt: skip
            if not stored:
                self.policy.suppressed[(alert.rule_id, "duplicate")] += 1
                continue
            raised.append(alert)
            if self.on_alert is not None:
                self.on_alert(alert)
        return raised
