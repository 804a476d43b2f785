"""Transaction imports: an owner's batches of transaction hashes to replay later.

A transaction is stored once per (owner, chain id, hash). Importing it again is a duplicate: the
stored row keeps the batch that first brought it in and is updated in place with whatever the new
import states (block, label, metadata keys) — a field the new import leaves out is kept, never
erased. Every item is validated before anything is written: one bad item rejects the whole import
and the stored data stays as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select, tuple_, update

from timemachine.errors import InvalidInputError, NotFoundError
from timemachine.models.sessions import ImportedTxRecord, Page, TxImportItem, TxImportRecord
from timemachine.store.rows import (
    Repository,
    columns_of,
    equal_where_given,
    insert_for,
    json_payload,
    paged,
)
from timemachine.store.tables import ImportedTx, TxImport

MAX_ITEMS = 10_000
_LOOKUP_BATCH = 300  # (chain, hash) pairs per existence query


class TxImports(Repository):
    """Repository of transaction imports, bound to one database session (one transaction)."""

    def import_transactions(
        self,
        owner: str,
        source: str,
        items: Iterable[TxImportItem | Mapping[str, Any]],
    ) -> TxImportRecord:
        """Store a batch; the returned record says how many were new and how many duplicates."""
        owner = owner.strip()
        if not owner:
            raise InvalidInputError("owner must not be empty")
        source = source.strip() or "unnamed"
        parsed = _parse_items(items)
        now = self.clock()
        batch = TxImport(
            id=str(uuid.uuid4()),
            owner=owner,
            source=source[:300],
            accepted=0,
            duplicates=0,
            created_at=now,
        )
        self.db_session.add(batch)
        self.db_session.flush()
        existing = self._existing(owner, list(parsed))
        new_rows = [
            {
                "import_id": batch.id,
                "owner": owner,
                "chain_id": item.chain_id,
                "hash": item.hash,
                "block": item.block,
                "label": item.label,
                "metadata": item.metadata,
                "created_at": now,
                "updated_at": now,
            }
            for key, item in parsed.items()
            if key not in existing
        ]
        inserted: set[tuple[int, str]] = set()
        if new_rows:
            # ON CONFLICT DO NOTHING: a concurrent import of the same transaction wins the race
            # and ours becomes a duplicate instead of an integrity error.
            statement = (
                insert_for(self.db_session, ImportedTx.__table__)  # type: ignore[arg-type]
                .values(new_rows)
                .on_conflict_do_nothing(index_elements=["owner", "chain_id", "hash"])
                .returning(ImportedTx.chain_id, ImportedTx.hash)
            )
            inserted = {(int(c), str(h)) for c, h in self.db_session.execute(statement).all()}
            raced = [key for key in parsed if key not in existing and key not in inserted]
            existing.update(self._existing(owner, raced))
        for key, row in existing.items():
            item = parsed[key]
            if item.block is not None:
                row.block = item.block
            if item.label is not None:
                row.label = item.label
            if item.metadata:
                row.meta = {**row.meta, **item.metadata}
            row.updated_at = now
        accepted = len(inserted)
        duplicates = parsed.total - accepted
        batch.accepted, batch.duplicates = accepted, duplicates
        self.db_session.flush()
        return TxImportRecord.model_validate(batch)

    def merge_batch(self, batch: TxImportRecord, *, into: str) -> None:
        """Move a batch's new rows and counts onto the import `into` (its first batch), then
        drop the batch: an import stored in several batches (one `import_transactions` call, so
        one `tx_imports` row, each) stays one import with one id for the user."""
        self.db_session.execute(
            update(ImportedTx).where(ImportedTx.import_id == batch.id).values(import_id=into)
        )
        self.db_session.execute(
            update(TxImport)
            .where(TxImport.id == into)
            .values(
                accepted=TxImport.accepted + batch.accepted,
                duplicates=TxImport.duplicates + batch.duplicates,
            )
        )
        self.db_session.execute(delete(TxImport).where(TxImport.id == batch.id))

    def require(self, import_id: str, *, owner: str | None) -> TxImportRecord:
        """The import `import_id` of `owner` (None: any owner); NotFoundError for a missing one
        and for another owner's alike, so ids do not leak."""
        row = self.db_session.get(TxImport, import_id)
        if row is None or (owner is not None and row.owner != owner):
            raise NotFoundError(f"no import {import_id!r}; list your imports to find its id")
        return TxImportRecord.model_validate(row)

    def list_imports(self, owner: str, *, limit: int = 50, offset: int = 0) -> Page[TxImportRecord]:
        """The owner's import batches, newest first."""
        query = (
            select(TxImport)
            .where(TxImport.owner == owner)
            .order_by(TxImport.created_at.desc(), TxImport.id)
        )
        return paged(self.db_session, query, TxImportRecord, limit=limit, offset=offset)

    def list_transactions(
        self,
        owner: str,
        *,
        chain_id: int | None = None,
        import_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[ImportedTxRecord]:
        """The owner's imported transactions (optionally of one chain or batch), oldest first."""
        conditions = [
            ImportedTx.owner == owner,
            *equal_where_given((ImportedTx.chain_id, chain_id), (ImportedTx.import_id, import_id)),
        ]
        query = (
            select(ImportedTx)
            .where(*conditions)
            .order_by(ImportedTx.id)
            .execution_options(populate_existing=True)
        )
        return paged(
            self.db_session, query, ImportedTxRecord, limit=limit, offset=offset, record=_tx_record
        )

    def _existing(
        self, owner: str, keys: list[tuple[int, str]]
    ) -> dict[tuple[int, str], ImportedTx]:
        found: dict[tuple[int, str], ImportedTx] = {}
        for start in range(0, len(keys), _LOOKUP_BATCH):
            chunk = keys[start : start + _LOOKUP_BATCH]
            rows = self.db_session.scalars(
                select(ImportedTx)
                .where(
                    ImportedTx.owner == owner,
                    tuple_(ImportedTx.chain_id, ImportedTx.hash).in_(chunk),
                )
                .with_for_update()
            ).all()
            found.update({(row.chain_id, row.hash): row for row in rows})
        return found


class _Parsed(dict[tuple[int, str], TxImportItem]):
    """Items by (chain id, hash), merged in order; `total` counts the items given."""

    total: int = 0


def _parse_items(items: Iterable[TxImportItem | Mapping[str, Any]]) -> _Parsed:
    parsed = _Parsed()
    problems: list[str] = []
    for position, raw in enumerate(items):
        parsed.total += 1
        if parsed.total > MAX_ITEMS:
            raise InvalidInputError(f"an import holds at most {MAX_ITEMS:,} transactions")
        try:
            item = raw if isinstance(raw, TxImportItem) else TxImportItem.model_validate(raw)
            json_payload(item.metadata, what="metadata")
        except ValidationError as error:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}"
                for e in error.errors()
            )
            problems.append(f"item {position}: {detail}")
            continue
        except InvalidInputError as error:
            problems.append(f"item {position}: {error}")
            continue
        key = (item.chain_id, item.hash)
        previous = parsed.get(key)
        if previous is not None:
            item = TxImportItem(
                chain_id=item.chain_id,
                hash=item.hash,
                block=item.block if item.block is not None else previous.block,
                label=item.label if item.label is not None else previous.label,
                metadata={**previous.metadata, **item.metadata},
            )
        parsed[key] = item
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InvalidInputError(f"import rejected, nothing stored: {shown}{more}")
    if not parsed:
        raise InvalidInputError("import rejected: it holds no transactions")
    return parsed


_COPIED = tuple(name for name in ImportedTxRecord.model_fields if name != "metadata")
"""The columns a record shows as stored (`metadata` is the `meta` column: SQLAlchemy reserves
the name)."""


def _tx_record(row: ImportedTx) -> ImportedTxRecord:
    return ImportedTxRecord(metadata=row.meta, **columns_of(row, _COPIED))
