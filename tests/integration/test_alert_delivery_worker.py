"""Alert delivery as a queued job on real Celery workers (embedded broker): a worker SIGKILLed
while the receiver holds its request → the next worker sends the alert again, with the same
idempotency key, and the receiver (which de-duplicates by that key) acts on it once; the store
records one delivery."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.integration.service_support import start_worker, wait_for
from tests.unit.alert_support import Received, Receiver, http_receiver
from tests.unit.rule_events import finding, tx_event
from timemachine.alerts import Alert, ChannelSender, Notifier, SystemClock
from timemachine.alerts.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)
from timemachine.rules import load_file
from timemachine.security.outbound import OutboundPolicy
from timemachine.settings import Settings
from timemachine.store import Database, open_database
from timemachine.store.alerts import AlertStore, AttemptRecord, DeliveryRecord
from timemachine.tasks.alerts_tasks import DELIVER
from timemachine.tasks.app import create_celery

pytestmark = pytest.mark.integration
SECRET = "hook-secret-for-the-test"


def queue_an_alert(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, Database, Alert]:
    """A rule file whose webhook is `receiver`, an alert raised and queued on it, and a turn of
    the delivery workers enqueued (as the monitor's dispatch does) on the embedded broker."""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "channels:\n"
        f"  ops-hook: {{type: webhook, url: '{receiver.url}/hook', secret: {SECRET}}}\n"
        "rules:\n"
        "  - id: exploit-before-inclusion\n"
        '    when: \'stage == "pending" and finding.severity >= "high"\'\n'
        "    severity: critical\n"
        "    notify: [ops-hook]\n"
    )
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALERT_RULES_FILE", str(rules_file))
    monkeypatch.setenv("OUTBOUND_ALLOW_HOSTS", "127.0.0.1")
    settings = Settings(data_dir=tmp_path, outbound_allow_hosts="127.0.0.1")
    db = open_database(settings.database_url)
    sender = ChannelSender(OutboundPolicy.from_spec("127.0.0.1"))
    notifier = Notifier(load_file(rules_file), db, sender=sender, clock=SystemClock())
    [alert] = notifier.process(tx_event(findings=[finding("critical")]))
    create_celery(settings).send_task(DELIVER, args=["ops-hook"])
    return settings, db, alert


def signed(request: Received) -> str:
    """The request's idempotency key, once its signature is verified."""
    headers = request.headers
    assert verify(
        SECRET, request.body, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER], now=time.time()
    )
    return headers[IDEMPOTENCY_HEADER]


def test_a_worker_killed_mid_delivery_is_redelivered_not_duplicated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as receiver:
        first_arrived, release = threading.Event(), threading.Event()
        processed: list[str] = []  # the receiver's effects, de-duplicated by idempotency key

        def answer(request: Received) -> tuple[int, dict[str, str]]:
            key = signed(request)
            if key not in processed:
                processed.append(key)
            if not first_arrived.is_set():  # the first worker dies waiting for this answer
                first_arrived.set()
                release.wait(120)
            return 200, {}

        receiver.answer = answer
        settings, db, alert = queue_an_alert(receiver, tmp_path, monkeypatch)

        def delivery() -> DeliveryRecord:
            with db.session() as s:
                [record] = AlertStore(s).deliveries(alert.id)
            return record

        def delivered() -> DeliveryRecord | None:
            record = delivery()
            return record if record.status == "delivered" else None

        worker = start_worker(settings, tmp_path, queues="alerts")
        try:
            wait_for(first_arrived.is_set, 180, "the first delivery attempt")
            held = delivery()
            assert (held.status, held.attempts) == ("queued", 0)
            assert held.lease_until is not None
            worker.kill()
            worker = start_worker(settings, tmp_path, queues="alerts")
            done = wait_for(delivered, 180, "the redelivery")
        finally:
            release.set()
            worker.stop()
            db.dispose()

    keys = [r.headers[IDEMPOTENCY_HEADER] for r in receiver.requests]
    assert keys == [alert.id, alert.id]  # sent again after the kill, same key
    assert processed == [alert.id]  # acted on once
    assert (done.attempts, done.lease_until) == (1, None)
    with open_database(settings.database_url).session() as s:
        assert [a.outcome for a in AlertStore(s).attempts(alert.id)] == ["delivered"]


def test_a_429_is_retried_after_its_retry_after_by_a_later_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver() as receiver:
        receiver.answer = lambda request: (
            (429, {"Retry-After": "3"}) if len(receiver.requests) == 1 else (200, {})
        )
        settings, db, alert = queue_an_alert(receiver, tmp_path, monkeypatch)

        def attempts() -> list[AttemptRecord] | None:
            with db.session() as s:
                found = AlertStore(s).attempts(alert.id)
            return found if len(found) == 2 else None

        worker = start_worker(settings, tmp_path, queues="alerts")
        try:
            refused, delivered = wait_for(attempts, 180, "the retry after the 429")
        finally:
            worker.stop()
            db.dispose()
    assert [signed(r) for r in receiver.requests] == [alert.id, alert.id]
    assert (refused.outcome, refused.status_code, delivered.outcome) == ("retry", 429, "delivered")
    assert delivered.at - refused.at >= 3.0  # the receiver's Retry-After, not the backoff
