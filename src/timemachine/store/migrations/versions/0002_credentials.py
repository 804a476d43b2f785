"""Credential vault: users' RPC provider URLs/keys per chain, encrypted at rest (AES-256-GCM).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("chain_id > 0", name=op.f("ck_provider_credentials_chain_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_credentials")),
        sa.UniqueConstraint(
            "owner",
            "chain_id",
            "label",
            name=op.f("uq_provider_credentials_owner_chain_id_label"),
        ),
    )
    op.create_index("ix_provider_credentials_key_id", "provider_credentials", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_provider_credentials_key_id", table_name="provider_credentials")
    op.drop_table("provider_credentials")
