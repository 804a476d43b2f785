"""Revocable access tokens (`token_revocations`); credential hints reduced to scheme + domain.

Revision ID: 0005_token_revocations
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from timemachine.urls import credential_hint

revision: str = "0005_token_revocations"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "token_revocations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("jti", sa.String(length=36), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_token_revocations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_revocations")),
    )
    op.create_index("ix_token_revocations_user_id", "token_revocations", ["user_id"])
    op.create_index("ix_token_revocations_jti", "token_revocations", ["jti"])
    op.create_index("ix_token_revocations_expires_at", "token_revocations", ["expires_at"])
    # Hints stored by earlier versions kept hostnames and short path segments in clear. The hint
    # keeps the scheme and host of the URL, which is all the new hint needs (it is idempotent),
    # so the stored hints are rewritten without decrypting anything.
    bind = op.get_bind()
    hints = sa.table(
        "provider_credentials", sa.column("id", sa.String), sa.column("hint", sa.String)
    )
    for row_id, hint in bind.execute(sa.select(hints.c.id, hints.c.hint)).all():
        safer = credential_hint(hint)
        if safer != hint:
            bind.execute(hints.update().where(hints.c.id == row_id).values(hint=safer))


def downgrade() -> None:
    op.drop_index("ix_token_revocations_expires_at", table_name="token_revocations")
    op.drop_index("ix_token_revocations_jti", table_name="token_revocations")
    op.drop_index("ix_token_revocations_user_id", table_name="token_revocations")
    op.drop_table("token_revocations")
