"""MEV range inspection jobs: `mev_jobs` and the batches they keep until complete.

Revision ID: 0008_mev_jobs
Revises: 0007_mev
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from timemachine.store.tables import UtcDateTime

revision: str = "0008_mev_jobs"
down_revision: str | None = "0007_mev"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mev_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("end_block", sa.BigInteger(), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("batches_total", sa.Integer(), nullable=False),
        sa.Column("batches_done", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mev_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rpc_url", sa.Text(), nullable=True),
        sa.Column("price_token", sa.String(42), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mev_jobs")),
    )
    op.create_table(
        "mev_job_batches",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("batch_index", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "batch_index", name=op.f("pk_mev_job_batches")),
    )


def downgrade() -> None:
    op.drop_table("mev_job_batches")
    op.drop_table("mev_jobs")
