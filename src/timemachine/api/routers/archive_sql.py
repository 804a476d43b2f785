"""`POST /api/v1/archive/query`: one read-only SELECT over the archive's datasets (each a view
named after it, as `timemachine archive query` runs it), answered as JSON, CSV or Parquet.
Analysts and admins only: a query costs server time. The fences (one SELECT, only the chunk files
readable, bounded rows and time) are `timemachine.archive.readonly`'s."""

from __future__ import annotations

import io
from typing import Any, Literal

import pyarrow.parquet as pq
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from timemachine.api.auth import Analyst
from timemachine.api.routers.archive import PREFIX, _csv, _root, table_responses
from timemachine.archive.chunkfile import chunk_files
from timemachine.archive.readonly import ReadOnlyArchive

router = APIRouter(tags=["archive"])
MAX_ROWS = 10_000
QUERY_SECONDS = 20.0
TRUNCATED_HEADER = "X-Truncated"


class ArchiveSql(BaseModel):
    sql: str = Field(min_length=1, max_length=20_000, description="One SELECT statement.")
    max_rows: int = Field(default=1_000, ge=1, le=MAX_ROWS)
    format: Literal["json", "csv", "parquet"] = "json"


class SqlAnswer(BaseModel):
    columns: list[str]
    items: list[dict[str, Any]]
    truncated: bool = Field(description="More rows matched than `max_rows`.")


@router.post(
    PREFIX + "/query",
    response_model=SqlAnswer,
    responses=table_responses(
        f"The rows (JSON; or CSV / Parquet with `format`, truncation then "
        f"in the {TRUNCATED_HEADER} header)."
    ),
)
def query_archive(body: ArchiveSql, request: Request, principal: Analyst) -> Any:
    """Run one SELECT (or WITH … SELECT) over the archived datasets; anything else is 400."""
    del principal
    with ReadOnlyArchive(chunk_files(_root(request))) as archive:
        answer = archive.select(body.sql, max_rows=body.max_rows, timeout=QUERY_SECONDS)
    headers = {TRUNCATED_HEADER: "true"} if answer.truncated else {}
    if body.format == "csv":
        return Response(_csv(answer.result), media_type="text/csv", headers=headers)
    if body.format == "parquet":
        buffer = io.BytesIO()
        pq.write_table(answer.result.arrow, buffer)
        headers["Content-Disposition"] = 'attachment; filename="query.parquet"'
        return Response(
            buffer.getvalue(), media_type="application/vnd.apache.parquet", headers=headers
        )
    return SqlAnswer(
        columns=answer.result.columns, items=answer.result.records(), truncated=answer.truncated
    )
