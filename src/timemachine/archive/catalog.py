"""The archive's catalog: every chunk file written (by `archive extract`, continuous archival or a
retention compaction) is recorded in the database (`store.archive`), so `archive list` and
`verify` know what exists, where, and its checksum; files retention removes are marked deleted."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from timemachine.archive.continuous import ArchiveRun
from timemachine.archive.layout import ChunkName
from timemachine.archive.retention import Action
from timemachine.archive.schemas import DATASETS, DEFAULT_U256_TYPES, SCHEMA_VERSION
from timemachine.archive.writer import Compression
from timemachine.store.archive import ArchiveCatalog, ArchiveChunk
from timemachine.store.db import Database

if TYPE_CHECKING:  # not at run time: extraction's storage needs the `archive` extra (fsspec)
    from timemachine.archive.extract import ChunkFile, ExtractReport, ExtractRequest


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


def record_run(
    database: Database, run: ArchiveRun, root: Path, chain_id: int, compression: Compression
) -> None:
    """Record the chunks a continuous-archival run wrote under `root` (local) in the catalog."""
    with database.session() as session:
        catalog = ArchiveCatalog(session)
        for file in run.written:
            chain_dataset = file.dataset in DATASETS
            catalog.record(
                ArchiveChunk(
                    location=str(root.resolve() / file.file),
                    dataset=file.dataset,
                    chain_id=chain_id,
                    network=run.network,
                    start_block=file.blocks.start,
                    end_block=file.blocks.end,
                    rows=file.rows,
                    bytes=file.bytes,
                    file_format="parquet",
                    compression=str(compression),
                    u256_types=",".join(DEFAULT_U256_TYPES) if chain_dataset else "",
                    schema_version=SCHEMA_VERSION,
                    sha256=file.sha256,
                )
            )


def record_retention(
    database: Database, actions: Sequence[Action], compression: Compression
) -> None:
    """Retention's changes in the catalog: each file removed is marked deleted (the policy as
    the note); a compaction's merged chunk takes its first source's row (when catalogued)."""
    with database.session() as session:
        catalog = ArchiveCatalog(session)
        for action in actions:
            note = f"retention {action.kind} ({action.policy})"
            if action.result is not None:
                note += f" into {action.result}"
                _record_merged(catalog, action, compression)
            for path in action.paths:
                catalog.mark_deleted(str(path.resolve()), note)


def _record_merged(catalog: ArchiveCatalog, action: Action, compression: Compression) -> None:
    assert action.result is not None
    first = str(action.paths[0].resolve())
    source = next((c for c in catalog.chunks(under=first) if c.location == first), None)
    name = ChunkName.parse(action.result)
    if source is None or name is None:
        return
    merged = action.paths[0].parent / action.result
    data = merged.read_bytes()
    catalog.record(
        source.model_copy(
            update={
                "location": str(merged.resolve()),
                "start_block": name.blocks.start,
                "end_block": name.blocks.end,
                "rows": pq.ParquetFile(merged).metadata.num_rows,
                "bytes": len(data),
                "compression": str(compression),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    )
