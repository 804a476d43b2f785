"""MEV inspection results: inspected blocks and what was found in them (swaps, arbitrages,
sandwiches, liquidations, JIT liquidity), queryable by type, searcher, pool, token, block range
and profit, with keyset (cursor) pagination.

Amounts are uint256: they are stored exactly as decimal text (`profit_amount`), with a float copy
(`profit_value`) only to filter by a minimum profit. Storing a block again replaces everything
stored for it in the same database transaction, so re-inspecting a range is idempotent and a
reader never sees half of a block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    Index,
    Integer,
    String,
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from timemachine.errors import InvalidInputError
from timemachine.mev.models import BlockInspection, BlockSummary
from timemachine.store.rows import MAX_PAGE, Repository, columns_of
from timemachine.store.tables import Base, UtcDateTime

FindingType = Literal["swap", "arbitrage", "sandwich", "liquidation", "jit_liquidity"]
FINDING_TYPES: tuple[str, ...] = ("swap", "arbitrage", "sandwich", "liquidation", "jit_liquidity")


class MevBlock(Base):
    """One inspected block: its miner, counts and summary."""

    __tablename__ = "mev_blocks"

    chain_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    miner_address: Mapped[str | None] = mapped_column(String(42))
    swap_count: Mapped[int] = mapped_column(Integer)
    mev_count: Mapped[int] = mapped_column(Integer)
    summary: Mapped[Any] = mapped_column(JSON)
    inspected_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class MevFinding(Base):
    """One swap or MEV instance; `payload` is its full result in mev-inspect-py's fields."""

    __tablename__ = "mev_findings"
    __table_args__ = (
        CheckConstraint(
            "type IN (" + ", ".join(f"'{t}'" for t in FINDING_TYPES) + ")", name="type"
        ),
        Index("ix_mev_findings_chain_block", "chain_id", "block_number"),
        Index("ix_mev_findings_type_id", "type", "id"),
        Index("ix_mev_findings_searcher", "searcher"),
        Index("ix_mev_findings_pool", "pool"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(20))
    transaction_hash: Mapped[str] = mapped_column(String(66))
    searcher: Mapped[str | None] = mapped_column(String(42))
    pool: Mapped[str | None] = mapped_column(String(42))
    tokens: Mapped[str] = mapped_column(String(1000), doc="Comma-separated token addresses.")
    profit_token: Mapped[str | None] = mapped_column(String(42))
    profit_amount: Mapped[str | None] = mapped_column(String(80))
    profit_value: Mapped[float | None] = mapped_column(Float)
    payload: Mapped[Any] = mapped_column(JSON)


class MevFindingRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    chain_id: int
    block_number: int
    type: str
    transaction_hash: str
    searcher: str | None
    pool: str | None
    profit_token: str | None
    profit_amount: int | None
    payload: dict[str, Any]


_SHOWN = tuple(name for name in MevFindingRecord.model_fields if name != "profit_amount")
"""The columns a finding record shows as stored (`profit_amount` is stored as text)."""


class MevPage(BaseModel):
    """One page of findings; pass `next_cursor` back to get the next one (None: no more)."""

    items: list[MevFindingRecord]
    next_cursor: int | None


def _rows(chain_id: int, result: BlockInspection) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(
        kind: str,
        tx: str,
        payload: BaseModel,
        *,
        searcher: str | None,
        pool: str | None,
        tokens: Iterable[str],
        profit: tuple[str, int] | None = None,
    ) -> None:
        rows.append(
            {
                "chain_id": chain_id,
                "block_number": result.block_number,
                "type": kind,
                "transaction_hash": tx,
                "searcher": searcher,
                "pool": pool,
                "tokens": ",".join(sorted(set(tokens)))[:1000],
                "profit_token": profit[0] if profit else None,
                "profit_amount": str(profit[1]) if profit else None,
                "profit_value": float(profit[1]) if profit else None,
                # JSON numbers stay exact integers (Python ints) in the payload
                "payload": payload.model_dump(mode="json"),
            }
        )

    for swap in result.swaps:
        tokens = (swap.token_in_address, swap.token_out_address)
        add("swap", swap.transaction_hash, swap, searcher=swap.from_address,
            pool=swap.contract_address, tokens=tokens)  # fmt: skip
    for arb in result.arbitrages:
        add("arbitrage", arb.transaction_hash, arb, searcher=arb.account_address,
            pool=arb.swaps[0].contract_address,
            tokens=[t for s in arb.swaps for t in (s.token_in_address, s.token_out_address)],
            profit=(arb.profit_token_address, arb.profit_amount))  # fmt: skip
    for sandwich in result.sandwiches:
        front = sandwich.frontrun_swap
        add("sandwich", front.transaction_hash, sandwich, searcher=sandwich.sandwicher_address,
            pool=front.contract_address, tokens=(front.token_in_address, front.token_out_address),
            profit=(sandwich.profit_token_address, sandwich.profit_amount))  # fmt: skip
    for liq in result.liquidations:
        received = [liq.received_token_address] if liq.received_token_address else []
        add("liquidation", liq.transaction_hash, liq, searcher=liq.liquidator_user, pool=None,
            tokens=[liq.debt_token_address, *received])  # fmt: skip
    for jit in result.jit_liquidity:
        add("jit_liquidity", jit.mint_transaction_hash, jit, searcher=jit.bot_address,
            pool=jit.pool_address, tokens=(jit.token0_address, jit.token1_address))  # fmt: skip
    return rows


class MevResults(Repository):
    """Repository of MEV results, bound to one database session (one transaction)."""

    def replace_blocks(self, chain_id: int, results: Iterable[BlockInspection]) -> int:
        """Store these blocks' results, replacing whatever was stored for them; returns rows."""
        results = list(results)
        numbers = [result.block_number for result in results]
        if len(set(numbers)) != len(numbers):
            raise InvalidInputError("the same block twice in one store call")
        if not numbers:
            return 0
        self.db_session.execute(
            delete(MevFinding).where(
                MevFinding.chain_id == chain_id, MevFinding.block_number.in_(numbers)
            )
        )
        self.db_session.execute(
            delete(MevBlock).where(
                MevBlock.chain_id == chain_id, MevBlock.block_number.in_(numbers)
            )
        )
        now = self.clock()
        rows: list[dict[str, Any]] = []
        for result in results:
            self.db_session.add(
                MevBlock(
                    chain_id=chain_id,
                    block_number=result.block_number,
                    miner_address=result.miner_address,
                    swap_count=len(result.swaps),
                    mev_count=result.summary.mev_count,
                    summary=result.summary.model_dump(mode="json"),
                    inspected_at=now,
                )
            )
            rows.extend(_rows(chain_id, result))
        if rows:
            self.db_session.execute(insert(MevFinding), rows)
        self.db_session.flush()
        return len(rows)

    def summary(self, chain_id: int, block_number: int) -> BlockSummary | None:
        """The stored summary of an inspected block (None if it was never inspected)."""
        statement = select(MevBlock.summary).where(
            MevBlock.chain_id == chain_id, MevBlock.block_number == block_number
        )
        stored = self.db_session.scalars(statement).first()
        return None if stored is None else BlockSummary.model_validate(stored)

    def inspected_blocks(self, chain_id: int, start: int, end: int) -> list[int]:
        """Block numbers in [start, end) that have results."""
        statement = (
            select(MevBlock.block_number)
            .where(MevBlock.chain_id == chain_id)
            .where(MevBlock.block_number >= start, MevBlock.block_number < end)
            .order_by(MevBlock.block_number)
        )
        return list(self.db_session.scalars(statement))

    def query(
        self,
        chain_id: int,
        *,
        type: FindingType | None = None,
        searcher: str | None = None,
        pool: str | None = None,
        token: str | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
        min_profit: int | None = None,
        cursor: int | None = None,
        limit: int = 100,
    ) -> MevPage:
        """Findings matching every given filter, oldest first; `to_block` is exclusive and
        `min_profit` (in the profit token's base units) applies to types with a profit."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        if type is not None and type not in FINDING_TYPES:
            raise InvalidInputError(f"type must be one of {', '.join(FINDING_TYPES)}")
        statement = select(MevFinding).where(MevFinding.chain_id == chain_id)
        if type is not None:
            statement = statement.where(MevFinding.type == type)
        if searcher is not None:
            statement = statement.where(MevFinding.searcher == searcher.lower())
        if pool is not None:
            statement = statement.where(MevFinding.pool == pool.lower())
        if token is not None:
            statement = statement.where(MevFinding.tokens.contains(token.lower()))
        if from_block is not None:
            statement = statement.where(MevFinding.block_number >= from_block)
        if to_block is not None:
            statement = statement.where(MevFinding.block_number < to_block)
        if min_profit is not None:
            statement = statement.where(MevFinding.profit_value >= float(min_profit))
        if cursor is not None:
            statement = statement.where(MevFinding.id > cursor)
        rows = list(self.db_session.scalars(statement.order_by(MevFinding.id).limit(limit + 1)))
        items = [
            MevFindingRecord(
                profit_amount=int(row.profit_amount) if row.profit_amount is not None else None,
                **columns_of(row, _SHOWN),
            )
            for row in rows[:limit]
        ]
        # exact check on the boundary: the float copy only pre-filters
        if min_profit is not None:
            items = [
                i for i in items if i.profit_amount is not None and i.profit_amount >= min_profit
            ]
        return MevPage(items=items, next_cursor=rows[limit - 1].id if len(rows) > limit else None)
