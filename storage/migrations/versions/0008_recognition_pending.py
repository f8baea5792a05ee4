"""Messages stored before their scans or photos were recognised: the poll stores what
needs no recognition at once and marks the message; the recognition job reads it again,
replaces what it produced and clears the mark. Rows stored before were read in full.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("recognition_pending", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_messages_recognition_pending", "messages", ["recognition_pending"])


def downgrade() -> None:
    op.drop_index("ix_messages_recognition_pending", "messages")
    # batch: SQLite rebuilds the table (it has no DROP COLUMN before 3.35).
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("recognition_pending")
