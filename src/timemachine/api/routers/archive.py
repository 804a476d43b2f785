"""The archive over HTTP: `GET /api/v1/archive` lists the archived datasets;
`GET /api/v1/archive/{dataset}` reads one with filters (block range, time range, address,
topic0, selector, minimum value) in cursor pages, as JSON, CSV or a Parquet download. Any
signed-in user (viewer and up) may read. Filters become bound DuckDB parameters
(`archive.query.ArchiveQuery.page`); no SQL is taken from the client."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel

from timemachine.api.auth import Reader
from timemachine.api.deps import app_state
from timemachine.api.routers.replay import ERRORS
from timemachine.archive.chunkfile import chunk_files
from timemachine.archive.query import MAX_PAGE, ArchiveQuery, Filters, Result, jsonable

router = APIRouter(tags=["archive"])
PREFIX = "/api/v1/archive"
MAX_BLOCK = 2**63 - 2
NEXT_CURSOR_HEADER = "X-Next-Cursor"

Address = Annotated[
    str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$", description="Matches any address column.")
]
Topic = Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{64}$")]
Selector = Annotated[
    str | None,
    Query(pattern=r"^0x[0-9a-fA-F]{8}$", description="Calldata starting with these 4 bytes."),
]
MinValue = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{1,78}$", description="Decimal; the dataset's uint256 value column."),
]
Block = Annotated[int | None, Query(ge=0, le=MAX_BLOCK)]
Time = Annotated[
    dt.datetime | None, Query(description="ISO 8601 or unix seconds (to_time is exclusive).")
]


class DatasetSummary(BaseModel):
    dataset: str
    networks: list[str]
    chunks: int


class ArchivePage(BaseModel):
    dataset: str
    columns: list[str]
    items: list[dict[str, Any]]
    next_cursor: str | None


def _root(request: Request) -> Path:
    root = app_state(request).settings.archive_dir
    assert root is not None  # resolved by Settings
    return root


def table_responses(description: str) -> dict[int | str, dict[str, object]]:
    """The OpenAPI answers of an endpoint that returns rows as JSON, CSV or Parquet."""
    formats: dict[str, object] = {"text/csv": {}, "application/vnd.apache.parquet": {}}
    return {**ERRORS, 200: {"content": formats, "description": description}}


@router.get(PREFIX, response_model=list[DatasetSummary], responses=ERRORS)
def datasets(request: Request, principal: Reader) -> list[DatasetSummary]:
    """The archived datasets, their networks and how many chunk files each has."""
    del principal
    files = chunk_files(_root(request))
    counts = Counter(f.name.dataset for f in files)
    return [
        DatasetSummary(
            dataset=name,
            networks=sorted({f.name.network for f in files if f.name.dataset == name}),
            chunks=count,
        )
        for name, count in sorted(counts.items())
    ]


@router.get(
    PREFIX + "/{dataset}",
    response_model=ArchivePage,
    responses=table_responses(
        "A page of rows (JSON; or CSV / Parquet with `format`); the next "
        f"page's cursor is also in the {NEXT_CURSOR_HEADER} header."
    ),
)
def read_dataset(
    request: Request,
    response: Response,
    principal: Reader,
    dataset: Annotated[str, PathParam(pattern=r"^[a-z0-9_]{1,64}$")],
    from_block: Block = None,
    to_block: Annotated[int | None, Query(ge=0, le=MAX_BLOCK, description="Exclusive.")] = None,
    from_time: Time = None,
    to_time: Time = None,
    address: Address = None,
    topic0: Topic = None,
    selector: Selector = None,
    min_value: MinValue = None,
    columns: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z0-9_]+(,[a-z0-9_]+)*$",
            max_length=2_000,
            description="Comma-separated columns to return (default: all); fewer is faster.",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    format: Literal["json", "csv", "parquet"] = "json",
) -> Any:
    """Rows of one dataset, by block, matching every filter given; pass `next_cursor` back as
    `cursor` for the next page. Binary columns are 0x-hex in JSON and CSV."""
    del principal
    filters = Filters(
        from_block=from_block,
        to_block=to_block,
        from_time=from_time.timestamp() if from_time else None,
        to_time=to_time.timestamp() if to_time else None,
        address=bytes.fromhex(address[2:]) if address else None,
        topic0=bytes.fromhex(topic0[2:]) if topic0 else None,
        selector=bytes.fromhex(selector[2:]) if selector else None,
        min_value=int(min_value) if min_value else None,
    )
    with ArchiveQuery.under(_root(request)) as archive:
        page = archive.page(
            dataset,
            filters,
            cursor=cursor,
            limit=limit,
            columns=columns.split(",") if columns else None,
        )
    headers = {NEXT_CURSOR_HEADER: page.next_cursor} if page.next_cursor else {}
    if format == "csv":
        return Response(_csv(page), media_type="text/csv", headers=headers)
    if format == "parquet":
        buffer = io.BytesIO()
        pq.write_table(page.arrow, buffer)
        headers["Content-Disposition"] = f'attachment; filename="{dataset}.parquet"'
        return Response(
            buffer.getvalue(), media_type="application/vnd.apache.parquet", headers=headers
        )
    response.headers.update(headers)
    return ArchivePage(
        dataset=dataset, columns=page.columns, items=page.records(), next_cursor=page.next_cursor
    )


def _csv(page: Result) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(page.columns)
    for row in page.rows:
        writer.writerow([_cell(jsonable(value)) for value in row])
    return out.getvalue()


def _cell(value: Any) -> Any:
    """A CSV cell: lists (providers, findings, trace addresses) as JSON, null as empty."""
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, list) else value
