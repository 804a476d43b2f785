"""MEV over HTTP: inspect uploaded trace_block documents (stored, replacing earlier results for
those blocks), and query stored results by type, searcher, pool, token, block range and minimum
profit with cursor pagination. Amounts in answers are exact JSON integers (uint256 included)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from timemachine.api.auth import Analyst, Reader
from timemachine.api.deps import Db
from timemachine.api.routers.replay import ERRORS
from timemachine.errors import InvalidInputError, NotFoundError
from timemachine.mev import block_from_json, inspect_block
from timemachine.mev.models import InspectionReport
from timemachine.store import MevResults
from timemachine.store.mev import FindingType, MevPage

router = APIRouter(prefix="/api/time-machine/mev", tags=["mev"])
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
    findings: MevPage


@router.post("/inspect", response_model=InspectionReport, responses=ERRORS)
def inspect_documents(body: InspectRequest, principal: Analyst, db: Db) -> InspectionReport:
    """Inspect up to 20 blocks of traces and store the results (re-inspecting replaces them)."""
    del principal
    results = [
        inspect_block(block_from_json(document, source=f"blocks[{index}]"))
        for index, document in enumerate(body.blocks)
    ]
    with db.session() as s:
        MevResults(s).replace_blocks(body.chain_id, results)
    return InspectionReport(blocks=results)


@router.get("/findings", response_model=MevPage, responses=ERRORS)
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


@router.get("/blocks/{block_number}", response_model=StoredBlock, responses=ERRORS)
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
        if not store.inspected_blocks(chain_id, block_number, block_number + 1):
            raise NotFoundError(f"block {block_number} of chain {chain_id} was not inspected")
        page = store.query(chain_id, from_block=block_number, to_block=block_number + 1, limit=500)
    return StoredBlock(chain_id=chain_id, block_number=block_number, findings=page)
