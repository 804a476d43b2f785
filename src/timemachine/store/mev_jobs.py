"""Range inspection jobs: a block range split into batches, each inspected by a worker task.

A batch's results wait in `mev_job_batches` until every batch of the job is in; the batch that
completes the job then stores the whole range through `MevResults.replace_blocks` in the same
database transaction, so re-inspecting a range replaces it atomically (readers see the old
results or the new ones, never a mix), and a failed job stores nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, BigInteger, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from timemachine.errors import NotFoundError
from timemachine.mev.models import BlockInspection
from timemachine.store.mev import MevResults
from timemachine.store.rows import Repository
from timemachine.store.tables import Base, UtcDateTime

JobStatus = Literal["queued", "running", "completed", "failed"]


class MevJob(Base):
    __tablename__ = "mev_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    chain_id: Mapped[int] = mapped_column(Integer)
    start_block: Mapped[int] = mapped_column(BigInteger)
    end_block: Mapped[int] = mapped_column(BigInteger, doc="Exclusive.")
    batch_size: Mapped[int] = mapped_column(Integer)
    batches_total: Mapped[int] = mapped_column(Integer)
    batches_done: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    mev_count: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    rpc_url: Mapped[str | None] = mapped_column(
        Text,
        doc="The user-supplied node, if any (else the chain's configured one); cleared when "
        "the job ends, since provider URLs carry credentials.",
    )
    price_token: Mapped[str | None] = mapped_column(
        String(42), doc="Profits valued at V2 pair mid prices against this token (else unvalued)."
    )
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class MevJobBatch(Base):
    """One finished batch's results, kept until the whole job is stored."""

    __tablename__ = "mev_job_batches"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    results: Mapped[Any] = mapped_column(JSON)


class MevJobSpec(BaseModel):
    """What a range inspection job inspects: blocks [start_block, end_block) of `chain_id`, in
    batches of `batch_size`, from `rpc_url` (None: the chain's configured node), valuing token
    profits against `price_token` when given."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    start_block: int
    end_block: int
    batch_size: int
    rpc_url: str | None
    price_token: str | None = None


class MevJobRecord(BaseModel):
    """A range inspection job as the API shows it (never its node URL, which may hold a key)."""

    model_config = ConfigDict(frozen=True)

    id: str
    chain_id: int
    start_block: int
    end_block: int
    batch_size: int
    batches_total: int
    batches_done: int
    status: JobStatus
    mev_count: int
    error: str | None
    price_token: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


def _record(row: MevJob) -> MevJobRecord:
    return MevJobRecord.model_validate(row, from_attributes=True)


def batch_range(record: MevJobRecord, index: int) -> range:
    """The blocks of batch `index`."""
    first = record.start_block + index * record.batch_size
    return range(first, min(first + record.batch_size, record.end_block))


class MevJobs(Repository):
    """Repository of range inspection jobs, bound to one database session (one transaction)."""

    def create(
        self,
        *,
        owner: str,
        chain_id: int,
        start_block: int,
        end_block: int,
        batch_size: int,
        rpc_url: str | None,
        price_token: str | None = None,
    ) -> MevJobRecord:
        now = self.clock()
        row = MevJob(
            id=uuid.uuid4().hex,
            owner=owner,
            chain_id=chain_id,
            start_block=start_block,
            end_block=end_block,
            batch_size=batch_size,
            batches_total=-(-(end_block - start_block) // batch_size),
            batches_done=0,
            status="queued",
            mev_count=0,
            error=None,
            rpc_url=rpc_url,
            price_token=price_token,
            created_at=now,
            updated_at=now,
        )
        self.db_session.add(row)
        self.db_session.flush()
        return _record(row)

    def require(self, job_id: str, *, owner: str | None = None) -> MevJobRecord:
        """The job; NotFoundError also for another owner's job (`owner` None: anybody's)."""
        row = self._row(job_id)
        if owner is not None and row.owner != owner:
            raise NotFoundError(f"no MEV inspection job {job_id!r}")
        return _record(row)

    def rpc_url(self, job_id: str) -> str | None:
        return self._row(job_id).rpc_url

    def store_batch(
        self, job_id: str, index: int, results: Sequence[BlockInspection]
    ) -> tuple[MevJobRecord, list[BlockInspection]]:
        """Keep batch `index`'s results (again: replaced, so a redelivered task is harmless).
        When it is the job's last batch, store the whole range and return its results too."""
        row = self._row(job_id, lock=True)
        if row.status in ("completed", "failed"):
            return _record(row), []
        self.db_session.execute(
            delete(MevJobBatch).where(
                MevJobBatch.job_id == job_id, MevJobBatch.batch_index == index
            )
        )
        payload = [result.model_dump(mode="json") for result in results]
        self.db_session.add(MevJobBatch(job_id=job_id, batch_index=index, results=payload))
        self.db_session.flush()
        staged = list(
            self.db_session.scalars(
                select(MevJobBatch)
                .where(MevJobBatch.job_id == job_id)
                .order_by(MevJobBatch.batch_index)
            )
        )
        row.batches_done, row.status, row.updated_at = len(staged), "running", self.clock()
        stored: list[BlockInspection] = []
        if len(staged) == row.batches_total:
            stored = [
                BlockInspection.model_validate(item) for batch in staged for item in batch.results
            ]
            MevResults(self.db_session).replace_blocks(row.chain_id, stored)
            self._drop_batches(job_id)
            row.status, row.mev_count = "completed", sum(r.summary.mev_count for r in stored)
            row.rpc_url = None  # it may carry an API key: kept only while the job needs it
        self.db_session.flush()
        return _record(row), stored

    def fail(self, job_id: str, error: str) -> MevJobRecord:
        """End the job `failed` with `error`; nothing of it is stored."""
        row = self._row(job_id, lock=True)
        if row.status != "completed":
            row.status, row.error, row.updated_at = "failed", error, self.clock()
            row.rpc_url = None
            self._drop_batches(job_id)
        self.db_session.flush()
        return _record(row)

    def _drop_batches(self, job_id: str) -> None:
        self.db_session.execute(delete(MevJobBatch).where(MevJobBatch.job_id == job_id))

    def _row(self, job_id: str, *, lock: bool = False) -> MevJob:
        statement = select(MevJob).where(MevJob.id == job_id)
        row = self.db_session.scalars(statement.with_for_update() if lock else statement).first()
        if row is None:
            raise NotFoundError(f"no MEV inspection job {job_id!r}")
        return row
