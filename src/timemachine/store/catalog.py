"""The exploit catalog in the database: a mirror of `timemachine.catalog.incidents` records.

`upsert_catalog` writes the records (from `load_catalog()`, by default) keyed by their stable id;
running it again updates changed rows in place. Listing filters like `timemachine exploits list`
(vulnerability type, severity, chain name or id) and pages in catalog order (bundled scenarios
first, then incidents by date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from timemachine.catalog.incidents import ExploitRecord, load_catalog, parse_class, parse_severity
from timemachine.chain.registry import find_chain
from timemachine.errors import InvalidInputError
from timemachine.models.sessions import Page
from timemachine.store.rows import paged, upsert
from timemachine.store.tables import Exploit, utcnow

_BATCH = 500  # rows per INSERT (17 columns: well under SQLite's bound-parameter limit)
_FIELDS = tuple(ExploitRecord.model_fields)


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did."""

    inserted: int
    updated: int


def upsert_catalog(
    db_session: Session,
    records: Iterable[ExploitRecord] | None = None,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
) -> UpsertCounts:
    """Insert or update `records` (default: the whole loaded catalog) by id."""
    chosen = list(records) if records is not None else list(load_catalog().records)
    now = clock()
    inserted = updated = 0
    for start in range(0, len(chosen), _BATCH):
        batch = chosen[start : start + _BATCH]
        ids = [record.id for record in batch]
        existing = set(db_session.scalars(select(Exploit.id).where(Exploit.id.in_(ids))))
        rows = [_row(record, now) for record in batch]
        db_session.execute(
            upsert(
                db_session,
                Exploit.__table__,  # type: ignore[arg-type]
                rows,
                keys=["id"],
                update=[name for name in rows[0] if name != "id"],
            )
        )
        updated += len(existing)
        inserted += len(set(ids) - existing)
    return UpsertCounts(inserted=inserted, updated=updated)


def list_exploits(
    db_session: Session,
    *,
    vulnerability_type: str | None = None,
    severity: str | None = None,
    chain: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[ExploitRecord]:
    """Stored exploits matching every given filter, a page at a time.

    An unknown vulnerability type or severity raises InvalidInputError; `chain` is a registry
    name, alias or id, or else any chain name as the source wrote it (case-insensitive)."""
    conditions: list[ColumnElement[bool]] = []
    if vulnerability_type is not None:
        conditions.append(Exploit.vulnerability_class == parse_class(vulnerability_type).value)
    if severity is not None:
        conditions.append(Exploit.severity == parse_severity(severity).value)
    if chain is not None:
        conditions.append(_chain_condition(chain))
    query = (
        select(Exploit)
        .where(*conditions)
        .order_by(
            Exploit.replayable_offline.desc(),
            Exploit.date.is_(None).desc(),
            Exploit.date,
            Exploit.id,
        )
    )
    return paged(db_session, query, ExploitRecord, limit=limit, offset=offset, record=to_record)


def get_exploit(db_session: Session, exploit_id: str) -> ExploitRecord | None:
    """The stored exploit, or None."""
    row = db_session.get(Exploit, exploit_id.strip().lower())
    return to_record(row) if row is not None else None


def to_record(row: Exploit) -> ExploitRecord:
    """The ORM row as the catalog's model."""
    return ExploitRecord.model_validate({name: getattr(row, name) for name in _FIELDS})


def _row(record: ExploitRecord, now: dt.datetime) -> dict[str, Any]:
    values = record.model_dump(mode="python")
    values["vulnerability_class"] = record.vulnerability_class.value
    values["severity"] = record.severity.value
    values["updated_at"] = now
    return values


def _chain_condition(chain: str) -> ColumnElement[bool]:
    try:
        return Exploit.chain_id == find_chain(chain).chain_id
    except InvalidInputError:
        return func.lower(Exploit.chain) == chain.strip().lower()
