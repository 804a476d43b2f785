"""Monitored mempool transactions: one row per (chain, hash) however many providers showed it,
updated in place as it moves through its lifecycle, queryable with keyset (cursor) pagination,
and purged after the retention period once settled.

The row's columns are what the queries filter on; `payload` is the whole record as the monitor
published it. Values are uint256: exact decimal text, with a float copy to filter by a minimum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    UniqueConstraint,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from timemachine.errors import InvalidInputError
from timemachine.store.rows import MAX_PAGE, insert_for
from timemachine.store.tables import Base


class MonitoredTxRow(Base):
    __tablename__ = "monitor_txs"
    __table_args__ = (
        UniqueConstraint("chain", "hash", name="uq_monitor_txs_chain_hash"),
        Index("ix_monitor_txs_chain_status", "chain", "status"),
        Index("ix_monitor_txs_sender", "sender"),
        Index("ix_monitor_txs_to_address", "to_address"),
        Index("ix_monitor_txs_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(40))
    hash: Mapped[str] = mapped_column(String(66))
    sender: Mapped[str] = mapped_column(String(42))
    to_address: Mapped[str | None] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(80))
    value_float: Mapped[float] = mapped_column(Float)
    simulated: Mapped[bool] = mapped_column(Boolean)
    top_finding: Mapped[str | None] = mapped_column(String(40))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    first_seen: Mapped[float] = mapped_column(Float, doc="Unix time of the first sighting.")
    updated_at: Mapped[float] = mapped_column(Float)
    payload: Mapped[Any] = mapped_column(JSON)


class MonitorRow(BaseModel):
    """What the monitor writes for one transaction."""

    chain: str
    hash: str
    sender: str
    to_address: str | None
    nonce: int
    kind: str
    status: str
    value: int
    simulated: bool
    top_finding: str | None
    block_number: int | None
    first_seen: float
    updated_at: float
    payload: dict[str, Any]


class MonitorPage(BaseModel):
    """One page of monitored transactions (payloads); pass `next_cursor` back for the next."""

    items: list[dict[str, Any]]
    next_cursor: int | None


_UPDATED = (
    "status",
    "simulated",
    "top_finding",
    "block_number",
    "updated_at",
    "payload",
)


class MonitoredTxs:
    """Repository of monitored transactions, bound to one database session."""

    def __init__(self, db_session: Session) -> None:
        self.db_session = db_session

    def upsert(self, rows: Sequence[MonitorRow]) -> None:
        """Insert new transactions, update the lifecycle of known ones."""
        if not rows:
            return
        values = [
            {**row.model_dump(), "value": str(row.value), "value_float": float(row.value)}
            for row in rows
        ]
        statement = insert_for(self.db_session, MonitoredTxRow.__table__)  # type: ignore[arg-type]
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["chain", "hash"], set_={name: excluded[name] for name in _UPDATED}
        )
        self.db_session.execute(statement, values)  # executemany: one compiled statement

    def get(self, chain: str, tx_hash: str) -> dict[str, Any] | None:
        row = self.db_session.scalar(
            select(MonitoredTxRow).where(
                MonitoredTxRow.chain == chain, MonitoredTxRow.hash == tx_hash.lower()
            )
        )
        return dict(row.payload) if row is not None else None

    def query(
        self,
        *,
        chain: str | None = None,
        address: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        min_value: int | None = None,
        simulated_only: bool = False,
        cursor: int | None = None,
        limit: int = 100,
    ) -> MonitorPage:
        """Transactions matching every given filter, oldest first (`address`: sender or target)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        statement = select(MonitoredTxRow.id, MonitoredTxRow.value, MonitoredTxRow.payload)
        if chain is not None:
            statement = statement.where(MonitoredTxRow.chain == chain)
        if address is not None:
            lowered = address.lower()
            statement = statement.where(
                or_(MonitoredTxRow.sender == lowered, MonitoredTxRow.to_address == lowered)
            )
        if kind is not None:
            statement = statement.where(MonitoredTxRow.kind == kind)
        if status is not None:
            statement = statement.where(MonitoredTxRow.status == status)
        if min_value is not None:
            statement = statement.where(MonitoredTxRow.value_float >= float(min_value))
        if simulated_only:
            statement = statement.where(MonitoredTxRow.simulated.is_(True))
        if cursor is not None:
            statement = statement.where(MonitoredTxRow.id > cursor)
        rows = list(self.db_session.execute(statement.order_by(MonitoredTxRow.id).limit(limit + 1)))
        page = rows[:limit]
        # exact check on the boundary: the float copy only pre-filters
        items = [
            dict(payload)
            for _, value, payload in page
            if min_value is None or int(value) >= min_value
        ]
        return MonitorPage(items=items, next_cursor=page[-1][0] if len(rows) > limit else None)

    def counts(self, chain: str | None = None) -> dict[str, int]:
        """Stored transactions per status."""
        statement = select(MonitoredTxRow.status, func.count()).group_by(MonitoredTxRow.status)
        if chain is not None:
            statement = statement.where(MonitoredTxRow.chain == chain)
        return {status: count for status, count in self.db_session.execute(statement)}

    def purge(self, before: float) -> int:
        """Delete settled transactions last updated before `before` (unix time); how many."""
        result = self.db_session.execute(
            delete(MonitoredTxRow).where(
                MonitoredTxRow.updated_at < before, MonitoredTxRow.status != "pending"
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)
