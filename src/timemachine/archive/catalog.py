"""The archive's catalog: every chunk file an extraction writes is recorded in the database
(`store.archive`), so `archive list` and `verify` know what exists, where, and its checksum."""

from __future__ import annotations

from collections.abc import Sequence

from timemachine.archive.extract import ChunkFile, ExtractReport, ExtractRequest
from timemachine.archive.schemas import SCHEMA_VERSION
from timemachine.store.archive import ArchiveCatalog, ArchiveChunk
from timemachine.store.db import Database


def chunk_entry(file: ChunkFile, report: ExtractReport, request: ExtractRequest) -> ArchiveChunk:
    """The catalog row of a chunk file just written."""
    return ArchiveChunk(
        location=file.location,
        dataset=file.name.dataset,
        chain_id=report.chain_id,
        network=file.name.network,
        start_block=file.name.blocks.start,
        end_block=file.name.blocks.end,
        rows=file.rows,
        bytes=file.bytes,
        file_format=file.name.fmt,
        compression=str(request.compression) if file.name.fmt == "parquet" else "none",
        u256_types=",".join(request.u256_types),
        schema_version=SCHEMA_VERSION,
        sha256=file.sha256,
    )


class CatalogRecorder:
    """`extract(on_file=…)` callback recording each written file in the catalog at once (a run
    killed later keeps the rows of the files it finished)."""

    def __init__(self, database: Database, request: ExtractRequest) -> None:
        self.database = database
        self.request = request

    def __call__(self, file: ChunkFile, report: ExtractReport) -> None:
        with self.database.session() as session:
            ArchiveCatalog(session).record(chunk_entry(file, report, self.request))


def list_chunks(
    database: Database, *, datasets: Sequence[str] = (), under: str | None = None
) -> list[ArchiveChunk]:
    with database.session() as session:
        return ArchiveCatalog(session).chunks(datasets=datasets, under=under)
