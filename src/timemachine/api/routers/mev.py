"""MEV over HTTP: inspect uploaded trace_block documents (stored, replacing earlier results for
those blocks), and query stored results by type, searcher, pool, token, block range and minimum
profit with cursor pagination. Amounts in answers are exact JSON integers (uint256 included)."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from timemachine.api.auth import Analyst, Reader, websocket_principal
from timemachine.api.deps import Db, app_state
from timemachine.api.routers.replay import ERRORS
from timemachine.api.routers.ws import _DISCONNECTED, _pump, _stop, _watch_disconnect
from timemachine.errors import InvalidInputError, NotFoundError
from timemachine.mev import block_from_json, inspect_block
from timemachine.mev.models import BlockInspection, InspectionReport
from timemachine.models.auth import Role, Scope
from timemachine.store import MevResults
from timemachine.store.mev import FindingType, MevPage

router = APIRouter(tags=["mev"])
PREFIX = "/api/time-machine/mev"
MEV_CHANNEL = "mev"
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


def mev_events(chain_id: int, result: BlockInspection) -> list[dict[str, Any]]:
    """One bus event per MEV instance of a block (swaps alone are not MEV)."""
    base = {"type": "mev", "chain_id": chain_id, "block_number": result.block_number}
    events: list[dict[str, Any]] = []
    for arb in result.arbitrages:
        events.append(base | {"kind": "arbitrage", "transaction_hash": arb.transaction_hash,
                              "searcher": arb.account_address, "error": arb.error,
                              "profit_token_address": arb.profit_token_address,
                              "profit_amount": arb.profit_amount})  # fmt: skip
    for sandwich in result.sandwiches:
        events.append(base | {"kind": "sandwich",
                              "transaction_hash": sandwich.frontrun_swap.transaction_hash,
                              "searcher": sandwich.sandwicher_address,
                              "profit_token_address": sandwich.profit_token_address,
                              "profit_amount": sandwich.profit_amount})  # fmt: skip
    for liq in result.liquidations:
        events.append(base | {"kind": "liquidation", "transaction_hash": liq.transaction_hash,
                              "searcher": liq.liquidator_user,
                              "protocol": liq.protocol})  # fmt: skip
    for jit in result.jit_liquidity:
        events.append(base | {"kind": "jit_liquidity",
                              "transaction_hash": jit.mint_transaction_hash,
                              "searcher": jit.bot_address,
                              "pool_address": jit.pool_address})  # fmt: skip
    return events


@router.websocket("/ws/mev")
async def mev_updates(websocket: WebSocket) -> None:
    """Newly found MEV, as inspections store it (with the in-process bus: this API process's)."""
    state = app_state(websocket)
    principal = await websocket_principal(websocket, Role.VIEWER, Scope.SESSIONS_READ)
    if principal is None:
        return
    queue: asyncio.Queue[Any] = asyncio.Queue()
    helpers = [
        asyncio.create_task(_pump(state.bus, MEV_CHANNEL, queue)),
        asyncio.create_task(_watch_disconnect(websocket, queue)),
    ]
    try:
        await websocket.send_json({"type": "hello", "channel": MEV_CHANNEL})
        while True:
            item = await queue.get()
            if item is _DISCONNECTED:
                return
            await websocket.send_json(item)
    except WebSocketDisconnect:
        return
    finally:
        await _stop(helpers)


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
        if not store.inspected_blocks(chain_id, block_number, block_number + 1):
            raise NotFoundError(f"block {block_number} of chain {chain_id} was not inspected")
        page = store.query(chain_id, from_block=block_number, to_block=block_number + 1, limit=500)
    return StoredBlock(chain_id=chain_id, block_number=block_number, findings=page)
