"""Schemas of stored work: replay sessions, their per-transaction results, transaction imports.

These are what the store's repositories return and accept (`timemachine.store`), so the API and the
workers never handle ORM objects: a returned model stays valid after its database session closed.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from timemachine.models.bounds import BlockNumber, ChainId

T = TypeVar("T")

_TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")


class SessionKind(StrEnum):
    """What a replay session does."""

    EXPLOIT = "exploit"
    TRANSACTIONS = "transactions"
    ANALYSIS = "analysis"
    WHATIF = "whatif"
    VERIFY_FIX = "verify_fix"


class SessionStatus(StrEnum):
    """Life cycle: pending → running → completed | failed | cancelled (`ALLOWED_TRANSITIONS`)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.CANCELLED}
)

#: Every legal status change; anything else raises ConflictError. A pending session may fail
#: (it could not be queued) or be cancelled before a worker picks it up; terminal states are final.
ALLOWED_TRANSITIONS: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.PENDING: frozenset(
        {SessionStatus.RUNNING, SessionStatus.FAILED, SessionStatus.CANCELLED}
    ),
    SessionStatus.RUNNING: frozenset(
        {SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.CANCELLED}
    ),
    SessionStatus.COMPLETED: frozenset(),
    SessionStatus.FAILED: frozenset(),
    SessionStatus.CANCELLED: frozenset(),
}


class ReplaySessionRecord(BaseModel):
    """One stored replay session, as the repositories return it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: str
    owner: str
    kind: SessionKind
    request: dict[str, Any]
    status: SessionStatus
    progress: float = Field(ge=0, le=100, description="Percent done, 0 to 100.")
    stage: str | None = Field(description="What the worker is doing now, in a few words.")
    error: str | None
    fork_id: str | None
    task_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempts: int = Field(
        default=0, ge=0, description="Runs started so far (above 1: re-run after a lost worker)."
    )


class SessionResultRecord(BaseModel):
    """The stored outcome of one transaction of a session (replay result and/or analysis report)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    session_id: str
    tx_index: int = Field(ge=0, description="Position of the transaction in the session.")
    tx_hash: str | None
    replay: dict[str, Any] | None
    analysis: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime


class Page(BaseModel, Generic[T]):
    """One page of a listing: the items and the total count matching the filters."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    total: int
    limit: int
    offset: int


class TxImportItem(BaseModel):
    """One transaction to import (hash normalized to lower case)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: ChainId
    hash: str
    block: BlockNumber | None = None
    label: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("hash")
    @classmethod
    def _hash(cls, value: str) -> str:
        normalized = value.strip().lower()
        if not _TX_HASH.match(normalized):
            raise ValueError(f"not a transaction hash (0x + 64 hex digits): {value!r}")
        return normalized


class TxImportRecord(BaseModel):
    """A stored import batch: who imported what from where, and how it went."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: str
    owner: str
    source: str
    created_at: dt.datetime
    accepted: int = Field(description="Transactions new to this owner.")
    duplicates: int = Field(description="Transactions the owner had already (updated in place).")


class ImportedTxRecord(BaseModel):
    """One stored imported transaction."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    import_id: str
    owner: str
    chain_id: int
    hash: str
    block: int | None
    label: str | None
    metadata: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
