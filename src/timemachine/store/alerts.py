"""Alerts, their delivery queue and history, and the dead letters.

- `alerts`: one row per alert (its id is the de-duplication key: storing an alert id twice is a
  no-op, so a tx seen at several stages or by several providers is alerted once);
- `alert_deliveries`: one row per (alert, channel): queued → delivered, or dead (a dead letter:
  retries exhausted or refused for good). `seq` keeps each channel's alerts in arrival order;
  `next_attempt_at` holds its backoff; `lease_until` the lease of the worker sending it (a
  delivery is claimed before it is sent, so two workers never send it at once, and a worker
  killed mid-send only holds it until the lease ends);
- `alert_attempts`: every attempt, with its status code and error (the delivery history).

Times that drive backoff are plain seconds of the caller's clock (a test's fake clock works).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    Index,
    Integer,
    String,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from timemachine.errors import NotFoundError
from timemachine.store.rows import MAX_PAGE
from timemachine.store.tables import Base, UtcDateTime, utcnow

DeliveryStatus = Literal["queued", "delivered", "dead"]
MAX_ERROR = 500


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_rule_created", "rule_id", "created_at"),
        Index("ix_alerts_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(128))
    owner: Mapped[str | None] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(10))
    stage: Mapped[str] = mapped_column(String(10))
    chain: Mapped[str] = mapped_column(String(64))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    payload: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    acked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(128))


class DeliveryRow(Base):
    __tablename__ = "alert_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'delivered', 'dead')", name="status"),
        Index("ix_alert_deliveries_channel_status_seq", "channel", "status", "seq"),
    )

    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(128), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(String(MAX_ERROR))
    delivered_at: Mapped[float | None] = mapped_column(Float)
    lease_until: Mapped[float | None] = mapped_column(Float)


class AttemptRow(Base):
    __tablename__ = "alert_attempts"
    __table_args__ = (Index("ix_alert_attempts_alert", "alert_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(128))
    at: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(MAX_ERROR))


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class AlertRecord(_Record):
    id: str
    rule_id: str
    owner: str | None
    severity: str
    stage: str
    chain: str
    chain_id: int
    tx_hash: str | None
    payload: dict[str, Any]
    created_at: dt.datetime
    acked_at: dt.datetime | None
    acked_by: str | None


class DeliveryRecord(_Record):
    alert_id: str
    channel: str
    seq: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float
    last_error: str | None
    delivered_at: float | None
    lease_until: float | None = None


class AttemptRecord(_Record):
    alert_id: str
    channel: str
    at: float
    outcome: str
    status_code: int | None
    error: str | None


class AlertStore:
    """The alerts repository (one SQLAlchemy session, i.e. one transaction)."""

    def __init__(self, db_session: Session) -> None:
        self.s = db_session

    def add(
        self,
        payload: dict[str, Any],
        channels: list[str],
        *,
        now: float,
        owner: str | None = None,
    ) -> bool:
        """Store an alert (`payload`: its JSON, with id, rule_id, severity, stage, chain,
        chain_id, tx_hash, created_at) and queue it on `channels`. False when the alert id is
        already stored (a duplicate: nothing is queued again)."""
        alert_id = str(payload["id"])
        if self.s.get(AlertRow, alert_id) is not None:
            return False
        self.s.add(
            AlertRow(
                id=alert_id,
                rule_id=payload["rule_id"],
                owner=owner,
                severity=payload["severity"],
                stage=payload["stage"],
                chain=payload["chain"],
                chain_id=payload["chain_id"],
                tx_hash=payload.get("tx_hash"),
                payload=payload,
                created_at=dt.datetime.fromisoformat(str(payload["created_at"])),
            )
        )
        last = self.s.scalar(select(func.max(DeliveryRow.seq))) or 0
        for offset, channel in enumerate(channels, start=1):
            self.s.add(
                DeliveryRow(
                    alert_id=alert_id,
                    channel=channel,
                    seq=last + offset,
                    status="queued",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        self.s.flush()
        return True

    def next_queued(self, channel: str) -> DeliveryRecord | None:
        """The channel's oldest queued delivery (deliveries of a channel go out in order)."""
        row = self.s.scalars(
            select(DeliveryRow)
            .where(DeliveryRow.channel == channel, DeliveryRow.status == "queued")
            .order_by(DeliveryRow.seq)
            .limit(1)
        ).first()
        return DeliveryRecord.model_validate(row) if row else None

    def claim(self, alert_id: str, channel: str, *, now: float, until: float) -> bool:
        """Lease a queued delivery until `until` (False: another worker holds it, or it is no
        longer queued). Recording the attempt ends the lease."""
        claimed = self.s.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.alert_id == alert_id,
                DeliveryRow.channel == channel,
                DeliveryRow.status == "queued",
                or_(DeliveryRow.lease_until.is_(None), DeliveryRow.lease_until <= now),
            )
            .values(lease_until=until)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]

    def release_leases(self) -> int:
        """End every lease (when no other worker can be sending: the embedded broker's single
        worker, starting); how many were held."""
        released = self.s.execute(
            update(DeliveryRow).where(DeliveryRow.lease_until.is_not(None)).values(lease_until=None)
        )
        return int(released.rowcount)  # type: ignore[attr-defined]

    def channels_due(self, now: float) -> list[str]:
        """Channels with a queued delivery due now that no worker holds."""
        query = select(DeliveryRow.channel).where(
            DeliveryRow.status == "queued",
            DeliveryRow.next_attempt_at <= now,
            or_(DeliveryRow.lease_until.is_(None), DeliveryRow.lease_until <= now),
        )
        return list(self.s.scalars(query.distinct()))

    def channels_with_queued(self) -> list[str]:
        return list(
            self.s.scalars(
                select(DeliveryRow.channel).where(DeliveryRow.status == "queued").distinct()
            )
        )

    def record_attempt(
        self,
        alert_id: str,
        channel: str,
        *,
        at: float,
        outcome: str,
        status: DeliveryStatus,
        next_attempt_at: float | None = None,
        status_code: int | None = None,
        error: str | None = None,
        counts: bool = True,
    ) -> None:
        """Log one attempt and move the delivery to `status` (`counts`: it used a retry)."""
        values: dict[str, Any] = {
            "status": status,
            "last_error": (error or None),
            "lease_until": None,
        }
        if counts:
            values["attempts"] = DeliveryRow.attempts + 1
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if status == "delivered":
            values["delivered_at"] = at
        self.s.execute(
            update(DeliveryRow)
            .where(DeliveryRow.alert_id == alert_id, DeliveryRow.channel == channel)
            .values(**values)
        )
        self.s.add(
            AttemptRow(
                alert_id=alert_id,
                channel=channel,
                at=at,
                outcome=outcome,
                status_code=status_code,
                error=(error or "")[:MAX_ERROR] or None,
            )
        )
        self.s.flush()

    def get(self, alert_id: str) -> AlertRecord:
        row = self.s.get(AlertRow, alert_id)
        if row is None:
            raise NotFoundError(f"no alert {alert_id!r}")
        return AlertRecord.model_validate(row)

    def recent(
        self,
        *,
        rule_id: str | None = None,
        acked: bool | None = None,
        owner: str | None = None,
        limit: int = 50,
    ) -> list[AlertRecord]:
        """Newest first."""
        query = select(AlertRow).order_by(AlertRow.created_at.desc(), AlertRow.id)
        if rule_id is not None:
            query = query.where(AlertRow.rule_id == rule_id)
        if owner is not None:
            query = query.where(AlertRow.owner == owner)
        if acked is not None:
            query = query.where(
                AlertRow.acked_at.is_not(None) if acked else AlertRow.acked_at.is_(None)
            )
        rows = self.s.scalars(query.limit(min(max(limit, 1), MAX_PAGE)))
        return [AlertRecord.model_validate(r) for r in rows]

    def ack(self, alert_id: str, by: str) -> AlertRecord:
        """Acknowledge an alert (acknowledging again keeps the first acknowledgement)."""
        row = self.s.get(AlertRow, alert_id)
        if row is None:
            raise NotFoundError(f"no alert {alert_id!r}; list them with `timemachine alerts list`")
        if row.acked_at is None:
            row.acked_at, row.acked_by = utcnow(), by
            self.s.flush()
        return AlertRecord.model_validate(row)

    def deliveries(self, alert_id: str) -> list[DeliveryRecord]:
        rows = self.s.scalars(
            select(DeliveryRow).where(DeliveryRow.alert_id == alert_id).order_by(DeliveryRow.seq)
        )
        return [DeliveryRecord.model_validate(r) for r in rows]

    def attempts(self, alert_id: str) -> list[AttemptRecord]:
        rows = self.s.scalars(
            select(AttemptRow).where(AttemptRow.alert_id == alert_id).order_by(AttemptRow.id)
        )
        return [AttemptRecord.model_validate(r) for r in rows]

    def dead_letters(self, channel: str | None = None) -> list[DeliveryRecord]:
        query = select(DeliveryRow).where(DeliveryRow.status == "dead").order_by(DeliveryRow.seq)
        if channel is not None:
            query = query.where(DeliveryRow.channel == channel)
        return [DeliveryRecord.model_validate(r) for r in self.s.scalars(query.limit(MAX_PAGE))]

    def oldest_delivered_since(self, channel: str, since: float, limit: int) -> float | None:
        """When the channel has made `limit` deliveries after `since`: the oldest of them
        (its quota frees up an hour after it); None while under the limit."""
        times = list(
            self.s.scalars(
                select(DeliveryRow.delivered_at)
                .where(
                    DeliveryRow.channel == channel,
                    DeliveryRow.status == "delivered",
                    DeliveryRow.delivered_at > since,
                )
                .order_by(DeliveryRow.delivered_at)
            )
        )
        return times[0] if len(times) >= limit and times[0] is not None else None
