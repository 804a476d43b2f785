"""The alerting consumer without a bus server: a redelivered event stores and announces its
alerts once (even a rule's without de-duplication), a later event about the same tx (a new
simulation) raises only the non-de-duplicating rule's alert again, events
no stage is evaluated at are recorded and raise nothing, and the member needs its chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.unit.monitor_records import record
from tests.unit.test_monitor_alerting import high_finding
from timemachine.alerts import ChannelSender, Notifier, SystemClock
from timemachine.bus import LocalBus
from timemachine.cli.consume import load_factory
from timemachine.errors import InvalidInputError, TimeMachineError
from timemachine.monitor.alert_consumer import AlertConsumer, alert
from timemachine.monitor.alerting import RuleFeed
from timemachine.monitor.models import Simulation
from timemachine.ports import Delivery
from timemachine.rules import load_text
from timemachine.runtime import Runtime
from timemachine.security.outbound import OutboundPolicy
from timemachine.settings import Settings
from timemachine.store import Database, open_database
from timemachine.store.alerts import AlertRow
from timemachine.store.processed_events import ProcessedEvent

RULES = """
rules:
  - {id: exploit-pending, when: 'stage == "pending" and finding.severity >= "high"'}
  - {id: simulated, when: 'stage == "simulated" and sim.success'}
  - {id: each-simulation, when: 'stage == "simulated"', dedup: false}
"""
GROUP = "monitor-alert"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield database
    database.dispose()


def _count(db: Database, table: type[AlertRow | ProcessedEvent]) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def _simulated_event() -> dict[str, object]:
    pending = record(4)
    pending.simulation = Simulation(head=6, success=True, findings=[high_finding()], latency_ms=5.0)
    return pending.event("tx_simulated")


async def test_a_redelivered_event_raises_its_alerts_once(db: Database) -> None:
    sender = ChannelSender(OutboundPolicy.from_spec(""))
    feed = RuleFeed(
        Notifier(load_text(RULES), db, sender=sender, clock=SystemClock()), LocalBus(), 1
    )
    handler = AlertConsumer(feed, db, GROUP)
    simulated = _simulated_event()

    await handler(Delivery("tx_simulated", "e1", simulated))
    await handler(Delivery("tx_simulated", "e1", simulated, attempt=2))  # redelivered
    await handler(Delivery("tx_simulated", "e2", simulated))  # simulated again: same tx
    await handler(Delivery("tx_enriched", "e3", {**simulated, "type": "tx_sighted"}))

    assert [(a.rule_id, a.stage) for a in feed.alerts] == [
        ("simulated", "simulated"),
        ("each-simulation", "simulated"),
        ("exploit-pending", "pending"),
        ("each-simulation", "simulated"),  # e2: a rule without de-duplication fires again
    ]
    assert _count(db, AlertRow) == 4
    assert _count(db, ProcessedEvent) == 3  # e1 once, e2, e3
    await sender.aclose()


def test_the_member_is_built_in_and_needs_its_chain(tmp_path: Path) -> None:
    assert load_factory("alert") is alert
    runtime = Runtime(settings=Settings(data_dir=tmp_path, monitor_rpc_urls=""))
    with pytest.raises(InvalidInputError, match="alerting consumer needs MONITOR_RPC_URLS"):
        alert(runtime, GROUP)


def test_a_bad_rule_file_is_refused_at_start(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {id: broken, when: 'stage =='}\n")
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'alerts.db'}",
        monitor_rpc_urls="http://127.0.0.1:9",
        alert_rules_file=rules,
    )
    with pytest.raises(TimeMachineError, match="broken"):
        alert(Runtime(settings=settings), GROUP)
