"""The monitor's rule feed without a chain: which stages each state change is evaluated at (the
simulation's findings reach `stage == "pending"` while the tx is pending), reorgs as chain
events with their depth, one alert per rule and tx; a channel that is down delays only its own
deliveries."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.alert_support import Answer, Received, http_receiver
from tests.unit.monitor_records import raw_tx, record
from timemachine.alerts import ChannelSender, Notifier, SystemClock
from timemachine.bus import LocalBus
from timemachine.chain.rpc import RpcClient
from timemachine.chain.tracker import BlockRef, ChainReorged
from timemachine.cli.monitor import _dispatch
from timemachine.errors import InvalidInputError
from timemachine.models.analysis import Finding
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.monitor.alerting import RuleFeed, event_of, running_rules
from timemachine.monitor.enrich import Enricher
from timemachine.monitor.ingest import MonitorChain
from timemachine.monitor.models import Simulation
from timemachine.monitor.service import Monitor
from timemachine.rules import load_text
from timemachine.security.outbound import OutboundPolicy
from timemachine.store import Database, open_database
from timemachine.store.alerts import AlertStore
from timemachine.trace.decoder import Decoder

RULES = """
rules:
  - {id: exploit-pending, when: 'stage == "pending" and finding.severity >= "high"'}
  - {id: simulated, when: 'stage == "simulated" and sim.success'}
  - {id: mined, when: 'stage == "mined" and block.number == 7'}
  - {id: deep-reorg, when: 'kind == "reorg" and reorg.depth >= 2'}
"""


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield database
    database.dispose()


def high_finding() -> Finding:
    return Finding(
        detector="reentrancy",
        vulnerability_class=VulnerabilityClass("reentrancy"),
        severity="high",
        confidence=0.9,
        title="re-entered",
        explanation="x",
        recommendation="y",
    )


def _block(number: int) -> BlockRef:
    return BlockRef(number, f"0x{number:064x}", f"0x{number - 1:064x}")


async def test_each_stage_and_reorg_reaches_the_rules(db: Database) -> None:
    bus = LocalBus()
    sender = ChannelSender(OutboundPolicy.from_spec(""))
    feed = RuleFeed(Notifier(load_text(RULES), db, sender=sender, clock=SystemClock()), bus, 31337)
    chain = MonitorChain(RpcClient("http://127.0.0.1:9"), name="test")
    monitor = Monitor(chain, Enricher(Decoder()), bus, hook=feed)

    record = monitor.take("a", raw_tx(1), 100.0)
    assert record is not None
    pending = event_of(record, "pending", 31337)
    assert (pending.tx.hash, pending.tx.from_, pending.tx.value) == (
        record.tx.hash,
        record.tx.sender,
        10**18,
    )
    assert feed.alerts == []  # pending, but nothing found yet

    record.simulation = Simulation(head=6, success=True, findings=[high_finding()], latency_ms=5.0)
    await monitor.on_simulated(record)
    assert [(a.rule_id, a.stage) for a in feed.alerts] == [
        ("simulated", "simulated"),
        ("exploit-pending", "pending"),
    ]
    record.status, record.block_number = "included", 7
    monitor._apply([(record, "tx_included")])
    monitor._apply([(record, "tx_included")])  # a second provider's copy: no second alert
    monitor._on_reorg(ChainReorged("test", _block(4), (_block(5), _block(6)), (_block(5),)))
    assert [(a.rule_id, a.stage, a.tx_hash) for a in feed.alerts[2:]] == [
        ("mined", "mined", record.tx.hash),
        ("deep-reorg", "mined", None),
    ]
    await sender.aclose()


async def test_a_down_channel_delays_only_its_own_alerts(db: Database) -> None:
    with http_receiver() as receiver:
        both_arrived = threading.Event()

        def answer(_request: Received) -> Answer:
            if len(receiver.requests) == 2:
                both_arrived.set()
            return 200, {}

        receiver.answer = answer
        text = (
            "channels:\n"
            "  down: {type: slack, url: 'http://127.0.0.1:9/hook'}\n"
            f"  up: {{type: slack, url: '{receiver.url}/hook'}}\n"
            "rules: [{id: any-pending, when: 'stage == \"pending\"', notify: [down, up]}]"
        )
        async with running_rules(
            load_text(text), db, LocalBus(), 31337, policy=OutboundPolicy.from_spec("127.0.0.1")
        ) as feed:
            feed.tx_changed(record(1), "tx_enriched")
            feed.tx_changed(record(2), "tx_enriched")
            # the delivery loops run in the background; "down" is retrying meanwhile
            assert await asyncio.to_thread(both_arrived.wait, 30)
            with db.session() as s:  # the first went out before "up" sent the second
                first = AlertStore(s).deliveries(feed.alerts[0].id)
        assert {(d.channel, d.status) for d in first} == {("up", "delivered"), ("down", "queued")}
        assert len(feed.alerts) == len(receiver.requests) == 2


async def test_deliveries_dispatched_as_jobs_run_no_loop_here(db: Database) -> None:
    text = (
        "channels: {a: {type: slack, url: 'http://127.0.0.1:9/a'}, "
        "b: {type: slack, url: 'http://127.0.0.1:9/b'}}\n"
        "rules: [{id: any-pending, when: 'stage == \"pending\"', notify: [a, b]}]"
    )
    dispatched: list[str] = []
    async with running_rules(
        load_text(text),
        db,
        LocalBus(),
        31337,
        policy=OutboundPolicy.from_spec("127.0.0.1"),
        dispatch=dispatched.append,
    ) as feed:
        feed.tx_changed(record(1), "tx_enriched")
        feed.tx_changed(record(1), "tx_enriched")  # the same tx again: no second alert
        assert feed._loops == {}
    assert dispatched == ["a", "b"]
    with db.session() as s:
        queued = AlertStore(s).deliveries(feed.alerts[0].id)
    assert [(d.channel, d.status, d.attempts) for d in queued] == [
        ("a", "queued", 0),
        ("b", "queued", 0),
    ]


def test_a_bad_delivery_mode_is_one_line() -> None:
    with pytest.raises(InvalidInputError, match="--deliver 'later': use inline or queue"):
        _dispatch("later")
    assert _dispatch("inline") is None
