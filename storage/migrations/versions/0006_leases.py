"""One lease mechanism for digests and the outbox: a random token per claim (finishing is a
compare-and-set on it), the holder's process, and the digest's unknown-outcome mark.
The outbox's `version` counter, which the token replaces, is dropped.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("digests", "outbox"):
        op.add_column(table, sa.Column("lease_token", sa.String(64), nullable=True))
        op.add_column(table, sa.Column("holder_process", sa.String(200), nullable=True))
    op.add_column("digests", sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True))
    # batch: SQLite rebuilds the table (it has no DROP COLUMN before 3.35).
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("version")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))
    op.drop_column("digests", "handed_over_at")
    for table in ("digests", "outbox"):
        op.drop_column(table, "holder_process")
        op.drop_column(table, "lease_token")
