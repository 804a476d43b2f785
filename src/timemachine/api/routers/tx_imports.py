"""Transaction imports over HTTP: upload a CSV or JSON list, read it back, replay it.

An import belongs to its creator: another user's import answers 404, like a missing one
(admins may read and replay any). Replaying starts a `transactions` session over at most 100 of
the import's transactions (the per-request cap) on one chain; `offset` pages through a bigger
import, and the answer's `next_offset` says where the next session should start.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from timemachine.api.auth import Analyst, Reader, record
from timemachine.api.deps import Db, Limit, Offset
from timemachine.api.routers.replay import ERRORS, Starter
from timemachine.api.schemas import SessionStarted
from timemachine.errors import InvalidInputError, NotFoundError
from timemachine.models.requests import (
    ImportReplayRequest,
    ImportRequest,
    TransactionRef,
    TransactionsReplayRequest,
)
from timemachine.models.sessions import ImportedTxRecord, Page, SessionKind, TxImportRecord
from timemachine.models.tx_imports import RowError
from timemachine.orchestration.tx_imports import parse_import, store_import
from timemachine.security.audit import Action
from timemachine.store import TxImports

router = APIRouter(prefix="/api/time-machine/imports", tags=["imports"])


class ImportCreated(BaseModel):
    """What an import did: `accepted + rejected + duplicates` rows were read."""

    import_id: str | None = Field(description="None when no row was stored.")
    accepted: int
    rejected: int
    duplicates: int
    errors: list[RowError]


class ImportDetail(BaseModel):
    """One import and a page of its transactions (import order)."""

    import_: TxImportRecord = Field(alias="import")
    transactions: Page[ImportedTxRecord]

    model_config = {"populate_by_name": True, "serialize_by_alias": True}


class ImportReplayStarted(SessionStarted):
    """A `transactions` session over one chunk of the import."""

    import_id: str
    chain_id: int
    transactions: int = Field(description="Transactions in this session.")
    total: int = Field(description="The import's transactions (of `chain_id`, when given).")
    next_offset: int | None = Field(description="Where the next chunk starts; None: done.")


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ImportCreated, responses=ERRORS
)
def create_import(
    body: ImportRequest, request: Request, principal: Analyst, db: Db
) -> ImportCreated:
    """Validate a CSV file or JSON list row by row and store the good rows (re-importing a
    transaction updates it, never duplicates it). Bad rows are reported with their line (CSV:
    1-based, the header is line 1; JSON: the array index) and the reason."""
    parsed = parse_import(
        body.content, default_chain=body.chain, file_format=body.format, name=body.source
    )
    report = store_import(db, principal.user_id, body.source, parsed)
    record(
        request,
        Action.IMPORT_CREATE,
        actor=principal,
        resource=f"import:{report.import_id}" if report.import_id else None,
        detail={"accepted": report.accepted, "rejected": report.rejected},
    )
    return ImportCreated.model_validate(report, from_attributes=True)


@router.get("", response_model=Page[TxImportRecord], responses=ERRORS)
def list_imports(
    principal: Reader,
    db: Db,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[TxImportRecord]:
    """Your imports, newest first."""
    with db.session() as s:
        return TxImports(s).list_imports(principal.user_id, limit=limit, offset=offset)


@router.get("/{import_id}", response_model=ImportDetail, responses=ERRORS)
def import_detail(
    import_id: str,
    principal: Reader,
    db: Db,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ImportDetail:
    """One of your imports and a page of the transactions it brought in (admins: any)."""
    with db.session() as s:
        imports = TxImports(s)
        found = imports.require(import_id, owner=principal.owner_scope)
        page = imports.list_transactions(
            found.owner, import_id=import_id, limit=limit, offset=offset
        )
    return ImportDetail(import_=found, transactions=page)


@router.post(
    "/{import_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportReplayStarted,
    responses=ERRORS,
)
def replay_import(
    import_id: str, body: ImportReplayRequest, starter: Starter
) -> ImportReplayStarted:
    """Replay up to `limit` (≤ 100) of the import's transactions from `offset`, in import order,
    as one `transactions` session. One chain per session: give `chain_id` when the chunk mixes
    chains. Bigger imports: start the next session at `next_offset`."""
    with starter.db.session() as s:
        imports = TxImports(s)
        found = imports.require(import_id, owner=starter.principal.owner_scope)
        page = imports.list_transactions(
            found.owner,
            import_id=import_id,
            chain_id=body.chain_id,
            limit=body.limit,
            offset=body.offset,
        )
    if not page.items:
        raise NotFoundError(
            f"import {import_id} has no transactions at offset {body.offset} "
            f"({page.total} in all{' on chain ' + str(body.chain_id) if body.chain_id else ''})"
        )
    chains = sorted({tx.chain_id for tx in page.items})
    if len(chains) > 1:
        raise InvalidInputError(
            f"these transactions are on chains {', '.join(map(str, chains))}; one session "
            "replays one chain: give chain_id"
        )
    chain_id = chains[0]
    starter.require_chain(chain_id)
    replay = TransactionsReplayRequest(
        transactions=[
            TransactionRef(hash=tx.hash, block_number=tx.block, chain_id=tx.chain_id)
            for tx in page.items
        ],
        options=body.options,
    )
    started = starter.start(SessionKind.TRANSACTIONS, replay.model_dump(mode="json"))
    end = body.offset + len(page.items)
    return ImportReplayStarted(
        **started.model_dump(),
        import_id=import_id,
        chain_id=chain_id,
        transactions=len(page.items),
        total=page.total,
        next_offset=end if end < page.total else None,
    )
