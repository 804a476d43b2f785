"""Session kinds for what-if replays and fix verification: `whatif`, `verify_fix`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "kind IN ('exploit', 'transactions', 'analysis')"
NEW_KINDS = "kind IN ('exploit', 'transactions', 'analysis', 'whatif', 'verify_fix')"


def _replace_check(expression: str) -> None:
    # SQLite: batch mode copies the table with the new constraint (render_as_batch in env.py).
    with op.batch_alter_table("replay_sessions") as batch:
        batch.drop_constraint(op.f("ck_replay_sessions_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_replay_sessions_kind"), expression)


def upgrade() -> None:
    _replace_check(NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM replay_sessions WHERE kind IN ('whatif', 'verify_fix')")
    _replace_check(OLD_KINDS)
