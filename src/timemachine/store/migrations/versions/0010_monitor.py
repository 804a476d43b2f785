"""Monitored mempool transactions: `monitor_txs`.

Revision ID: 0010_monitor
Revises: 0009_bus_offsets
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_monitor"
down_revision: str | None = "0009_bus_offsets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitor_txs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("sender", sa.String(length=42), nullable=False),
        sa.Column("to_address", sa.String(length=42), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.Column("value_float", sa.Float(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("top_finding", sa.String(length=40), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_txs")),
        sa.UniqueConstraint("chain", "hash", name="uq_monitor_txs_chain_hash"),
    )
    op.create_index("ix_monitor_txs_chain_status", "monitor_txs", ["chain", "status"])
    op.create_index("ix_monitor_txs_sender", "monitor_txs", ["sender"])
    op.create_index("ix_monitor_txs_to_address", "monitor_txs", ["to_address"])
    op.create_index("ix_monitor_txs_updated_at", "monitor_txs", ["updated_at"])


def downgrade() -> None:
    op.drop_table("monitor_txs")
