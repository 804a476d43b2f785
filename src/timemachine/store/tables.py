"""The ORM tables (SQLAlchemy 2, typed `Mapped[...]`). Portable across SQLite and PostgreSQL.

- Enumerations are plain strings guarded by CHECK constraints built from the Python enums, so a
  new value is one migration that replaces the constraint (no native ENUM types to alter).
- JSON payloads use SQLAlchemy's generic `JSON` (TEXT on SQLite, `json` on PostgreSQL).
- Timestamps are stored in UTC and always come back timezone-aware (`UtcDateTime`), even from
  SQLite, which has no time zone support.
- Constraint names follow `NAMING_CONVENTION`, so migrations can name what they alter.

When you change a table, add an Alembic revision in `store/migrations/versions/`; the test
`test_store_migrations.py` fails while the ORM and the migrations disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from timemachine.catalog.incidents import Source
from timemachine.catalog.severity import Severity
from timemachine.models.sessions import SessionKind, SessionStatus
from timemachine.models.taxonomy import CATALOG_CLASSES

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Now, in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset; we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def one_of(column: str, values: Iterable[StrEnum]) -> str:
    """A CHECK expression limiting `column` to the given string-enum values."""
    return f"{column} IN ({_quoted(member.value for member in values)})"


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ReplaySession(Base):
    """Requested work (replay an exploit or transactions, or analyze) and its state."""

    __tablename__ = "replay_sessions"
    __table_args__ = (
        CheckConstraint(one_of("kind", SessionKind), name="kind"),
        CheckConstraint(one_of("status", SessionStatus), name="status"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress"),
        Index("ix_replay_sessions_owner_created", "owner", "created_at"),
        Index("ix_replay_sessions_status_updated", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float)
    stage: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    fork_id: Mapped[str | None] = mapped_column(String(128))
    task_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # Who runs it now and until when (renewed by the worker's heartbeat); runs started so far.
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    results: Mapped[list[SessionResult]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )


class SessionResult(Base):
    """The outcome of one transaction of a session: its replay result and/or analysis report."""

    __tablename__ = "session_results"
    __table_args__ = (
        UniqueConstraint("session_id", "tx_index"),
        CheckConstraint("tx_index >= 0", name="tx_index"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("replay_sessions.id", ondelete="CASCADE")
    )
    tx_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    replay: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    session: Mapped[ReplaySession] = relationship(back_populates="results")


class Exploit(Base):
    """A mirror of `timemachine.catalog.incidents.ExploitRecord` (see `store.catalog`)."""

    __tablename__ = "exploits"
    __table_args__ = (
        CheckConstraint(f"source IN ({_quoted(get_args(Source))})", name="source"),
        CheckConstraint(one_of("vulnerability_class", CATALOG_CLASSES), name="vulnerability_class"),
        CheckConstraint(one_of("severity", Severity), name="severity"),
        Index("ix_exploits_class", "vulnerability_class"),
        Index("ix_exploits_severity", "severity"),
        Index("ix_exploits_chain_id", "chain_id"),
    )

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    date: Mapped[dt.date | None] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(16))
    vulnerability_class: Mapped[str] = mapped_column(String(32))
    vulnerability_text: Mapped[str] = mapped_column(Text)
    loss_text: Mapped[str | None] = mapped_column(Text)
    loss_usd: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))
    chain: Mapped[str | None] = mapped_column(String(64))
    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    attack_txs: Mapped[list[str]] = mapped_column(JSON)
    fork_block: Mapped[int | None] = mapped_column(BigInteger)
    poc_path: Mapped[str | None] = mapped_column(Text)
    other_poc_paths: Mapped[list[str]] = mapped_column(JSON)
    replayable_offline: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class TxImport(Base):
    """One import batch of transactions by an owner (a file, a paste, an API call)."""

    __tablename__ = "tx_imports"
    __table_args__ = (Index("ix_tx_imports_owner_created", "owner", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(300))
    accepted: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ImportedTx(Base):
    """A transaction an owner imported; unique per (owner, chain, hash), so re-imports upsert.

    `import_id` is the batch that first brought it in; later imports update it in place.
    """

    __tablename__ = "imported_txs"
    __table_args__ = (
        UniqueConstraint("owner", "chain_id", "hash"),
        Index("ix_imported_txs_import_id", "import_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    import_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("tx_imports.id", ondelete="CASCADE")
    )
    owner: Mapped[str] = mapped_column(String(128))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(66))
    block: Mapped[int | None] = mapped_column(BigInteger)
    label: Mapped[str | None] = mapped_column(String(200))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ProviderCredential(Base):
    """A user's RPC provider URL for one chain, AES-256-GCM encrypted (see `security.vault`).

    Only `hint` (a redacted form of the URL) is ever shown; `ciphertext`/`nonce`/`key_id` are
    decrypted for the workers alone. Unique per (owner, chain, label), so storing again replaces.
    """

    __tablename__ = "provider_credentials"
    __table_args__ = (
        UniqueConstraint("owner", "chain_id", "label"),
        CheckConstraint("chain_id > 0", name="chain_id"),
        Index("ix_provider_credentials_key_id", "key_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    label: Mapped[str] = mapped_column(String(100))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64))
    hint: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
