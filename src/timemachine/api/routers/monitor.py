"""The mempool monitor over HTTP: monitored transactions (REST, cursor pages), their stats, and
`/ws/transactions`, every change of a monitored transaction as the monitor publishes it
(topics `tx_enriched` and `tx_simulated`), filtered per socket by chain, address, kind, minimum
value and simulated-only. A bad filter: an error message, then close 4400."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket
from pydantic import BaseModel

from timemachine.api.auth import Reader
from timemachine.api.deps import Db
from timemachine.api.routers.replay import ERRORS
from timemachine.api.routers.ws import stream_events
from timemachine.api.ws_limits import live_socket
from timemachine.bus.topics import TX_ENRICHED, TX_SIMULATED
from timemachine.errors import InvalidInputError, NotFoundError
from timemachine.models.auth import Role, Scope
from timemachine.monitor.models import TX_KINDS, TX_STATUSES
from timemachine.store.monitor import MonitoredTxs, MonitorPage

router = APIRouter(tags=["monitor"])
PREFIX = "/api/v1/monitor"
BAD_FILTER_CLOSE = 4400
MAX_INT32 = 2**31 - 1
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
HASH = re.compile(r"0x[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class TxFilter:
    """Which monitored transactions a client asked for (None: any)."""

    chain: str | None = None
    address: str | None = None
    kind: str | None = None
    min_value: int | None = None
    simulated_only: bool = False

    @classmethod
    def of(
        cls,
        chain: str | None,
        address: str | None,
        kind: str | None,
        min_value: str | None,
        simulated_only: bool,
    ) -> TxFilter:
        if address is not None and not ADDRESS.fullmatch(address):
            raise InvalidInputError(f"address {address!r} is not a 0x-prefixed 20-byte address")
        if kind is not None and kind not in TX_KINDS:
            raise InvalidInputError(f"kind must be one of {', '.join(TX_KINDS)}")
        minimum = None
        if min_value is not None:
            if not re.fullmatch(r"[0-9]{1,80}", min_value.strip()):
                raise InvalidInputError(f"min_value {min_value!r} is not a decimal wei amount")
            minimum = int(min_value)
        lowered = address.lower() if address else None
        return cls(chain, lowered, kind, minimum, simulated_only)

    def matches(self, event: dict[str, Any]) -> bool:
        tx = event.get("tx") or {}
        return (
            (self.chain is None or tx.get("chain") == self.chain)
            and (self.address is None or self.address in (tx.get("sender"), tx.get("to")))
            and (self.kind is None or (event.get("enrichment") or {}).get("kind") == self.kind)
            and (self.min_value is None or int(tx.get("value", 0)) >= self.min_value)
            and (not self.simulated_only or event.get("simulation") is not None)
        )


ChainQuery = Annotated[str | None, Query(max_length=40)]
AddressQuery = Annotated[str | None, Query(max_length=42, description="Sender or target.")]
KindQuery = Annotated[str | None, Query(max_length=20, description=", ".join(TX_KINDS))]
MinValueQuery = Annotated[str | None, Query(max_length=80, description="Decimal wei.")]


@router.get(f"{PREFIX}/transactions", response_model=MonitorPage, responses=ERRORS)
def transactions(
    principal: Reader,
    db: Db,
    chain: ChainQuery = None,
    address: AddressQuery = None,
    kind: KindQuery = None,
    status: Annotated[str | None, Query(max_length=10, description=", ".join(TX_STATUSES))] = None,
    min_value: MinValueQuery = None,
    simulated_only: bool = False,
    cursor: Annotated[int | None, Query(ge=0, le=MAX_INT32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MonitorPage:
    """Monitored transactions, oldest first; pass `next_cursor` as `cursor` for the next page."""
    del principal
    wanted = TxFilter.of(chain, address, kind, min_value, simulated_only)
    if status is not None and status not in TX_STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(TX_STATUSES)}")
    with db.session() as s:
        return MonitoredTxs(s).query(
            chain=wanted.chain,
            address=wanted.address,
            kind=wanted.kind,
            status=status,
            min_value=wanted.min_value,
            simulated_only=simulated_only,
            cursor=cursor,
            limit=limit,
        )


@router.get(PREFIX + "/transactions/{chain}/{tx_hash}", responses=ERRORS)
def transaction(chain: str, tx_hash: str, principal: Reader, db: Db) -> dict[str, Any]:
    """One monitored transaction: what was seen, enrichment, lifecycle, simulation (404 if the
    monitor never saw it)."""
    del principal
    if not HASH.fullmatch(tx_hash):
        raise InvalidInputError(f"{tx_hash!r} is not a 0x-prefixed 32-byte transaction hash")
    with db.session() as s:
        found = MonitoredTxs(s).get(chain, tx_hash)
    if found is None:
        raise NotFoundError(f"the monitor has no transaction {tx_hash} on {chain}")
    return found


class MonitorCounts(BaseModel):
    chain: str | None
    statuses: dict[str, int]
    total: int


@router.get(f"{PREFIX}/stats", response_model=MonitorCounts, responses=ERRORS)
def stats(principal: Reader, db: Db, chain: ChainQuery = None) -> MonitorCounts:
    """Stored monitored transactions per lifecycle status (of one chain, or all)."""
    del principal
    with db.session() as s:
        counts = MonitoredTxs(s).counts(chain)
    return MonitorCounts(chain=chain, statuses=counts, total=sum(counts.values()))


@router.websocket("/ws/transactions")
async def transaction_updates(
    websocket: WebSocket,
    chain: str | None = None,
    address: str | None = None,
    kind: str | None = None,
    min_value: str | None = None,
    simulated_only: bool = False,
) -> None:
    """Every change of a monitored transaction matching the filters, as it happens."""
    async with live_socket(websocket, Role.VIEWER, Scope.SESSIONS_READ) as live:
        if live is None:
            return
        try:
            wanted = TxFilter.of(chain, address, kind, min_value, simulated_only)
        except InvalidInputError as error:
            await websocket.send_json(
                {"type": "error", "error": "InvalidInputError", "detail": error.message}
            )
            await websocket.close(code=BAD_FILTER_CLOSE)
            return
        hello = {"type": "hello", "topics": [TX_ENRICHED, TX_SIMULATED]}
        await stream_events(live, [TX_ENRICHED, TX_SIMULATED], hello, wanted.matches)
