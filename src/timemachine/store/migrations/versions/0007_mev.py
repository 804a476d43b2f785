"""MEV inspection results: `mev_blocks` and `mev_findings`.

Revision ID: 0007_mev
Revises: 0004 (re-chain onto the newest revision when merging)
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from timemachine.store.tables import UtcDateTime

revision: str = "0007_mev"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mev_blocks",
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("miner_address", sa.String(length=42), nullable=True),
        sa.Column("swap_count", sa.Integer(), nullable=False),
        sa.Column("mev_count", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("inspected_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "block_number", name=op.f("pk_mev_blocks")),
    )
    op.create_table(
        "mev_findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.Column("searcher", sa.String(length=42), nullable=True),
        sa.Column("pool", sa.String(length=42), nullable=True),
        sa.Column("tokens", sa.String(length=1000), nullable=False),
        sa.Column("profit_token", sa.String(length=42), nullable=True),
        sa.Column("profit_amount", sa.String(length=80), nullable=True),
        sa.Column("profit_value", sa.Float(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "type IN ('swap', 'arbitrage', 'sandwich', 'liquidation', 'jit_liquidity')",
            name=op.f("ck_mev_findings_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mev_findings")),
    )
    op.create_index("ix_mev_findings_chain_block", "mev_findings", ["chain_id", "block_number"])
    op.create_index("ix_mev_findings_type_id", "mev_findings", ["type", "id"])
    op.create_index("ix_mev_findings_searcher", "mev_findings", ["searcher"])
    op.create_index("ix_mev_findings_pool", "mev_findings", ["pool"])


def downgrade() -> None:
    op.drop_table("mev_findings")
    op.drop_table("mev_blocks")
