"""Helpers shared by the repositories: their base, portable upserts, JSON payload checks, paged
listings."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from timemachine.errors import InvalidInputError, StorageError
from timemachine.models.sessions import Page
from timemachine.store.tables import utcnow

R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)
MAX_OWNER = 128

MAX_PAGE = 500
MAX_JSON_BYTES = 64 * 1024 * 1024  # one stored payload; a replay of a huge block is ~tens of MB


class Repository:
    """A repository bound to one database session (one transaction); `clock` stamps its rows."""

    def __init__(self, db_session: Session, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db_session = db_session
        self.clock = clock


def columns_of(row: object, names: Iterable[str]) -> dict[str, Any]:
    """`row`'s attributes `names`, by name: the columns a record shows as they are stored."""
    return {name: getattr(row, name) for name in names}


def insert_for(db_session: Session, table: Table) -> Any:
    """An INSERT supporting `on_conflict_do_update/nothing` for the session's backend."""
    dialect = db_session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise StorageError(f"unsupported database backend {dialect!r}; use SQLite or PostgreSQL")


def upsert(
    db_session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str],
) -> Insert:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET the `update` columns to the new values."""
    statement = insert_for(db_session, table).values(list(rows))
    excluded = statement.excluded
    result: Insert = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: excluded[name] for name in update}
    )
    return result


def json_payload(value: Any, *, what: str) -> Any:
    """`value` if it is plain JSON (no NaN/Infinity, string keys), else InvalidInputError.

    Checked before any write, so a bad payload never reaches the database half-way.
    """
    if value is None:
        return None
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{what} is not plain JSON: {error}") from None
    if len(text) > MAX_JSON_BYTES:
        raise InvalidInputError(
            f"{what} is {len(text):,} bytes of JSON; the limit is {MAX_JSON_BYTES:,}"
        )
    return json.loads(text)


MAX_OFFSET = 10**9
"""Deeper pages are refused (databases reject offsets past 64 bits)."""


def equal_where_given(*filters: tuple[Any, Any]) -> list[Any]:
    """`column == value` for each `(column, value)` whose value is given (None: no filter)."""
    return [column == value for column, value in filters if value is not None]


def page_bounds(limit: int, offset: int) -> tuple[int, int]:
    """Validated (limit, offset)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInputError(f"offset must be between 0 and {MAX_OFFSET}, got {offset}")
    return limit, offset


def paged(
    db_session: Session,
    query: Select[Any],
    model: type[M],
    *,
    limit: int,
    offset: int,
    record: Callable[[Any], M] | None = None,
) -> Page[M]:
    """One page of the ordered, filtered `query` as `model` records (rows turned into records by
    `record`, default `model.model_validate`) and the total number of rows it matches."""
    limit, offset = page_bounds(limit, offset)
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    total = db_session.scalar(counted) or 0
    rows = db_session.scalars(query.limit(limit).offset(offset)).all()
    to_record = record or model.model_validate
    page: type[Page[M]] = Page[model]  # type: ignore[valid-type]
    return page(items=[to_record(row) for row in rows], total=total, limit=limit, offset=offset)


def stored(db_session: Session, row: Any, record: Callable[[Any], R]) -> R:
    """`row` added and flushed (so the database's defaults and constraints apply), as a record."""
    db_session.add(row)
    db_session.flush()
    return record(row)


def owner_id(owner: str) -> str:
    """An owner id, stripped: 1 to MAX_OWNER characters, else InvalidInputError."""
    owner = owner.strip()
    if not owner or len(owner) > MAX_OWNER:
        raise InvalidInputError(f"owner must be 1 to {MAX_OWNER} characters")
    return owner


def percent(value: float) -> float:
    """A progress percentage, 0 to 100."""
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise InvalidInputError(f"progress must be a percentage between 0 and 100, got {value}")
    return float(value)
