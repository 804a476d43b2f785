"""The archive catalog: one row per chunk file written (dataset, chain, blocks, size, checksum,
where it lives). A chunk rewritten in place (`--overwrite`) replaces its row; a deleted chunk
keeps its row with `deleted_at` set, so the catalog remembers what was archived and removed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from sqlalchemy import BigInteger, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from timemachine.store.tables import Base, UtcDateTime, utcnow


class ArchiveChunkRow(Base):
    __tablename__ = "archive_chunks"
    __table_args__ = (
        Index("ix_archive_chunks_dataset_chain_start", "dataset", "chain_id", "start_block"),
    )

    location: Mapped[str] = mapped_column(String(1000), primary_key=True, doc="File path or URL.")
    dataset: Mapped[str] = mapped_column(String(64))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    network: Mapped[str] = mapped_column(String(64))
    start_block: Mapped[int] = mapped_column(BigInteger)
    end_block: Mapped[int] = mapped_column(BigInteger, doc="Exclusive.")
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    file_format: Mapped[str] = mapped_column(String(16))
    compression: Mapped[str] = mapped_column(String(32))
    u256_types: Mapped[str] = mapped_column(String(64))
    schema_version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text, doc="Why it was deleted, for instance.")


class ArchiveChunk(BaseModel):
    """A catalogued chunk file."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    location: str
    dataset: str
    chain_id: int
    network: str
    start_block: int
    end_block: int
    rows: int
    bytes: int
    file_format: str
    compression: str
    u256_types: str
    schema_version: int
    sha256: str
    created_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None
    note: str | None = None


class ArchiveCatalog:
    """Repository of `archive_chunks` (see the module doc)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, chunk: ArchiveChunk) -> ArchiveChunk:
        """Add or replace the row of `chunk.location` (live again if it had been deleted)."""
        values = chunk.model_dump(exclude={"created_at", "deleted_at", "note"})
        row = self.session.get(ArchiveChunkRow, chunk.location)
        if row is None:
            row = ArchiveChunkRow(**values, created_at=utcnow(), deleted_at=None, note=None)
            self.session.add(row)
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.created_at, row.deleted_at, row.note = utcnow(), None, None
        self.session.flush()
        return ArchiveChunk.model_validate(row)

    def mark_deleted(self, location: str, note: str) -> bool:
        """Record that the file at `location` was removed; False when it is not catalogued."""
        row = self.session.get(ArchiveChunkRow, location)
        if row is None:
            return False
        row.deleted_at, row.note = utcnow(), note
        return True

    def chunks(
        self,
        *,
        datasets: Sequence[str] = (),
        chain_id: int | None = None,
        under: str | None = None,
        include_deleted: bool = False,
    ) -> list[ArchiveChunk]:
        """Catalogued chunks, by dataset then first block; `under`: locations with that prefix."""
        query = select(ArchiveChunkRow)
        if datasets:
            query = query.where(ArchiveChunkRow.dataset.in_(datasets))
        if chain_id is not None:
            query = query.where(ArchiveChunkRow.chain_id == chain_id)
        if under is not None:
            query = query.where(ArchiveChunkRow.location.startswith(under, autoescape=True))
        if not include_deleted:
            query = query.where(ArchiveChunkRow.deleted_at.is_(None))
        query = query.order_by(
            ArchiveChunkRow.dataset, ArchiveChunkRow.start_block, ArchiveChunkRow.location
        )
        return [ArchiveChunk.model_validate(row) for row in self.session.scalars(query)]
