"""Reminders per report (issue 15): the [[reports]] entry a reminder is about. Rows stored
before are the config's one report's: report_code "".

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("report_code", sa.String(100), nullable=False, server_default=""))


def downgrade() -> None:
    # batch: SQLite rebuilds the table (it has no DROP COLUMN before 3.35).
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("report_code")
