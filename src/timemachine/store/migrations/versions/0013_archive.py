"""The archive catalog: one row per chunk file (dataset, chain, blocks, rows, bytes, checksum).

Revision ID: 0013_archive
Revises: 0012_alert_rules
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from timemachine.store.tables import UtcDateTime

revision: str = "0013_archive"
down_revision: str | None = "0012_alert_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archive_chunks",
        sa.Column("location", sa.String(length=1000), nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("end_block", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("file_format", sa.String(length=16), nullable=False),
        sa.Column("compression", sa.String(length=32), nullable=False),
        sa.Column("u256_types", sa.String(length=64), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("deleted_at", UtcDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("location", name=op.f("pk_archive_chunks")),
    )
    op.create_index(
        "ix_archive_chunks_dataset_chain_start",
        "archive_chunks",
        ["dataset", "chain_id", "start_block"],
    )


def downgrade() -> None:
    op.drop_index("ix_archive_chunks_dataset_chain_start", table_name="archive_chunks")
    op.drop_table("archive_chunks")
