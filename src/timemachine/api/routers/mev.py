"""MEV over HTTP: inspect uploaded trace_block documents (stored, replacing earlier results for
those blocks), inspect a block range from a node as a job of Celery batches (`/mev/jobs`), and
query stored results by type, searcher, pool, token, block range and minimum
profit with cursor pagination. Amounts in answers are exact JSON integers (uint256 included)."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, WebSocket
from pydantic import BaseModel, Field

from timemachine.api.auth import Analyst, Reader
from timemachine.api.deps import Db, app_state
from timemachine.api.routers.replay import ERRORS
from timemachine.api.routers.ws import stream_events
from timemachine.api.ws_limits import live_socket
from timemachine.errors import InvalidInputError, NotFoundError, RpcError
from timemachine.mev import block_from_json, inspect_block
from timemachine.mev.events import MEV_CHANNEL, mev_events
from timemachine.mev.models import BlockSummary, InspectionReport
from timemachine.mev.prices import pair_price_token
from timemachine.models.auth import Role, Scope
from timemachine.orchestration import mev_jobs
from timemachine.store import MevJobs, MevResults
from timemachine.store.mev import FindingType, MevPage
from timemachine.store.mev_jobs import MevJobRecord, MevJobSpec

router = APIRouter(tags=["mev"])
PREFIX = "/api/time-machine/mev"
MAX_DOCUMENTS = 20
MAX_INT32 = 2**31 - 1
MAX_BLOCK = 2**63 - 2


class InspectRequest(BaseModel):
    chain_id: int = Field(1, ge=1, le=MAX_INT32)
    blocks: list[dict[str, Any] | list[Any]] = Field(
        min_length=1,
        max_length=MAX_DOCUMENTS,
        description="trace_block documents: {block_number, miner, base_fee_per_gas, traces, "
        "receipts} (snake_case or camelCase) or bare trace lists.",
    )


class StoredBlock(BaseModel):
    chain_id: int
    block_number: int
    summary: BlockSummary = Field(
        description="MEV count and profit per type (valued in ETH where it was priced)."
    )
    findings: MevPage


@router.post(f"{PREFIX}/inspect", response_model=InspectionReport, responses=ERRORS)
def inspect_documents(
    body: InspectRequest, request: Request, principal: Analyst, db: Db
) -> InspectionReport:
    """Inspect up to 20 blocks of traces and store the results (re-inspecting replaces them);
    each MEV found is pushed to `/ws/mev`."""
    del principal
    results = [
        inspect_block(block_from_json(document, source=f"blocks[{index}]"))
        for index, document in enumerate(body.blocks)
    ]
    with db.session() as s:
        MevResults(s).replace_blocks(body.chain_id, results)
    bus = app_state(request).bus
    for result in results:
        for event in mev_events(body.chain_id, result):
            bus.publish(MEV_CHANNEL, event)
    return InspectionReport(blocks=results)


class JobRequest(BaseModel):
    chain_id: int = Field(1, ge=1, le=MAX_INT32)
    start_block: int = Field(ge=0, le=MAX_BLOCK, description="First block (inclusive).")
    end_block: int = Field(ge=0, le=MAX_BLOCK, description="Last block + 1 (exclusive).")
    batch_size: int = Field(100, ge=1, le=1_000, description="Blocks per worker task.")
    rpc_url: str | None = Field(
        None,
        max_length=2_000,
        description="A node with trace_block or debug_traceBlockByNumber (through the outbound "
        "policy); default: the chain's configured RPC.",
    )
    pair_prices: bool = Field(
        False,
        description="Value non-ETH profits in ETH at the mid price of V2-style pairs of each "
        "token with the wrapped native token, read from the same node at the block before "
        "(else they stay token amounts).",
    )
    wrapped_native: str | None = Field(
        None,
        pattern=r"^0x[0-9a-fA-F]{40}$",
        description="With pair_prices: the token pairs price against (default: the chain's "
        "known wrapped native token).",
    )


_SPEC_FIELDS = set(MevJobSpec.model_fields) & set(JobRequest.model_fields)
"""The job's inspection facts the request gives as they are (the price token is derived)."""


@router.post(f"{PREFIX}/jobs", response_model=MevJobRecord, status_code=202, responses=ERRORS)
async def inspect_range(body: JobRequest, request: Request, principal: Analyst) -> MevJobRecord:
    """Inspect blocks [start_block, end_block) from a node in Celery batches; the results replace
    earlier ones for the range atomically once every batch is in. The range and the node are
    checked first (4xx, nothing stored): reversed or too large ranges, unknown blocks, nodes
    without a tracing method. Progress: GET the job, or `/ws/mev` (`type: mev_job`)."""
    mev_jobs.check_range(body.start_block, body.end_block)
    price_token = pair_price_token(body.chain_id, body.wrapped_native) if body.pair_prices else None
    state = app_state(request)
    try:
        async with mev_jobs.node_client(body.rpc_url, body.chain_id, state.settings) as rpc:
            await mev_jobs.check_node(rpc, body.start_block, body.end_block)
    except RpcError as error:
        if body.rpc_url is None:
            raise  # the server's own node: a gateway problem
        raise InvalidInputError(f"rpc_url cannot be used: {error}") from None
    spec = MevJobSpec(**body.model_dump(include=_SPEC_FIELDS), price_token=price_token)
    return await asyncio.to_thread(
        mev_jobs.submit, state.db, state.queue, owner=principal.user_id, spec=spec
    )


@router.get(PREFIX + "/jobs/{job_id}", response_model=MevJobRecord, responses=ERRORS)
def range_job(
    job_id: Annotated[str, Path(max_length=32)], principal: Reader, db: Db
) -> MevJobRecord:
    """A range inspection job: status (queued, running, completed, failed), batches done of
    the total, MEV found once completed, and the error if it failed."""
    with db.session() as s:
        return MevJobs(s).require(job_id, owner=principal.owner_scope)


@router.websocket("/ws/mev")
async def mev_updates(websocket: WebSocket) -> None:
    """Newly found MEV, as inspections store it (with the in-process bus: this API process's)."""
    async with live_socket(websocket, Role.VIEWER, Scope.SESSIONS_READ) as live:
        if live is not None:
            await stream_events(live, [MEV_CHANNEL], {"type": "hello", "channel": MEV_CHANNEL})


@router.get(f"{PREFIX}/findings", response_model=MevPage, responses=ERRORS)
def findings(
    principal: Reader,
    db: Db,
    chain_id: Annotated[int, Query(ge=1, le=MAX_INT32)] = 1,
    type: FindingType | None = None,
    searcher: str | None = None,
    pool: str | None = None,
    token: str | None = None,
    from_block: Annotated[int | None, Query(ge=0, le=MAX_BLOCK)] = None,
    to_block: Annotated[int | None, Query(ge=0, le=MAX_BLOCK, description="Exclusive.")] = None,
    min_profit: Annotated[
        str | None,
        Query(max_length=80, description="Decimal integer in the profit token's base units."),
    ] = None,
    cursor: Annotated[int | None, Query(ge=0, le=MAX_INT32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MevPage:
    """Stored findings, oldest first; pass `next_cursor` as `cursor` for the next page."""
    del principal
    minimum: int | None = None
    if min_profit is not None:
        if not re.fullmatch(r"-?[0-9]+", min_profit.strip()):
            raise InvalidInputError(f"min_profit {min_profit!r} is not a decimal integer")
        minimum = int(min_profit)
    with db.session() as s:
        return MevResults(s).query(
            chain_id,
            type=type,
            searcher=searcher,
            pool=pool,
            token=token,
            from_block=from_block,
            to_block=to_block,
            min_profit=minimum,
            cursor=cursor,
            limit=limit,
        )


@router.get(PREFIX + "/blocks/{block_number}", response_model=StoredBlock, responses=ERRORS)
def stored_block(
    block_number: Annotated[int, Path(ge=0, le=MAX_BLOCK)],
    principal: Reader,
    db: Db,
    chain_id: Annotated[int, Query(ge=1, le=MAX_INT32)] = 1,
) -> StoredBlock:
    """Everything stored for one inspected block (404 if it was never inspected)."""
    del principal
    with db.session() as s:
        store = MevResults(s)
        summary = store.summary(chain_id, block_number)
        if summary is None:
            raise NotFoundError(f"block {block_number} of chain {chain_id} was not inspected")
        page = store.query(chain_id, from_block=block_number, to_block=block_number + 1, limit=500)
    return StoredBlock(chain_id=chain_id, block_number=block_number, summary=summary, findings=page)
