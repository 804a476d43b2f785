"""Initial schema: replay sessions and their results, the exploit catalog, transaction imports.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Enumerated values are spelled out (not imported from the enums): a revision is a frozen record
# of the schema at that point. A new enum value needs a new revision replacing the CHECK.

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exploits",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("vulnerability_class", sa.String(length=32), nullable=False),
        sa.Column("vulnerability_text", sa.Text(), nullable=False),
        sa.Column("loss_text", sa.Text(), nullable=True),
        sa.Column("loss_usd", sa.Float(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=True),
        sa.Column("attack_txs", sa.JSON(), nullable=False),
        sa.Column("fork_block", sa.BigInteger(), nullable=True),
        sa.Column("poc_path", sa.Text(), nullable=True),
        sa.Column("other_poc_paths", sa.JSON(), nullable=False),
        sa.Column("replayable_offline", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "severity IN ('critical', 'high', 'medium', 'low', 'unknown')",
            name=op.f("ck_exploits_severity"),
        ),
        sa.CheckConstraint(
            "source IN ('defihacklabs', 'bundled')", name=op.f("ck_exploits_source")
        ),
        sa.CheckConstraint(
            "vulnerability_class IN ('reentrancy', 'flash_loan', 'price_manipulation', "
            "'access_control', 'integer_overflow', 'signature_replay', 'share_inflation', "
            "'arbitrary_call', 'governance_takeover', 'logic_flaw', 'precision_loss', "
            "'input_validation', 'front_running', 'weak_randomness', 'private_key_compromise', "
            "'rug_pull', 'other')",
            name=op.f("ck_exploits_vulnerability_class"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exploits")),
    )
    op.create_index("ix_exploits_chain_id", "exploits", ["chain_id"])
    op.create_index("ix_exploits_class", "exploits", ["vulnerability_class"])
    op.create_index("ix_exploits_severity", "exploits", ["severity"])

    op.create_table(
        "replay_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("fork_id", sa.String(length=128), nullable=True),
        sa.Column("task_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('exploit', 'transactions', 'analysis')", name=op.f("ck_replay_sessions_kind")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'completed', 'failed', 'cancelled')",
            name=op.f("ck_replay_sessions_status"),
        ),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 100", name=op.f("ck_replay_sessions_progress")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_sessions")),
    )
    op.create_index("ix_replay_sessions_owner_created", "replay_sessions", ["owner", "created_at"])
    op.create_index(
        "ix_replay_sessions_status_updated", "replay_sessions", ["status", "updated_at"]
    )

    op.create_table(
        "tx_imports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tx_imports")),
    )
    op.create_index("ix_tx_imports_owner_created", "tx_imports", ["owner", "created_at"])

    op.create_table(
        "imported_txs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("import_id", sa.String(length=36), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["tx_imports.id"],
            name=op.f("fk_imported_txs_import_id_tx_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_txs")),
        sa.UniqueConstraint(
            "owner", "chain_id", "hash", name=op.f("uq_imported_txs_owner_chain_id_hash")
        ),
    )
    op.create_index("ix_imported_txs_import_id", "imported_txs", ["import_id"])

    op.create_table(
        "session_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("tx_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("replay", sa.JSON(), nullable=True),
        sa.Column("analysis", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("tx_index >= 0", name=op.f("ck_session_results_tx_index")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["replay_sessions.id"],
            name=op.f("fk_session_results_session_id_replay_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_results")),
        sa.UniqueConstraint(
            "session_id", "tx_index", name=op.f("uq_session_results_session_id_tx_index")
        ),
    )


def downgrade() -> None:
    op.drop_table("session_results")
    op.drop_index("ix_imported_txs_import_id", table_name="imported_txs")

    op.drop_table("imported_txs")
    op.drop_index("ix_tx_imports_owner_created", table_name="tx_imports")

    op.drop_table("tx_imports")
    op.drop_index("ix_replay_sessions_status_updated", table_name="replay_sessions")
    op.drop_index("ix_replay_sessions_owner_created", table_name="replay_sessions")

    op.drop_table("replay_sessions")
    op.drop_index("ix_exploits_severity", table_name="exploits")
    op.drop_index("ix_exploits_class", table_name="exploits")
    op.drop_index("ix_exploits_chain_id", table_name="exploits")

    op.drop_table("exploits")
