"""Outbox: acknowledgements, notices and reminders to units, each claimed once by a unique key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("dedupe_key", sa.String(500), nullable=False, unique=True),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("unit_code", sa.String(100), nullable=True),
        sa.Column("message_pk", sa.Integer, sa.ForeignKey("messages.id", ondelete="SET NULL"),
                  nullable=True, index=True),
        sa.Column("report_day", sa.Date, nullable=True),
        sa.Column("cap_day", sa.Date, nullable=False),
        sa.Column("slot_at", TS, nullable=True),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_recipient_day", "outbox", ["recipient", "cap_day"])
    op.create_index("ix_outbox_kind_day", "outbox", ["kind", "report_day"])


def downgrade() -> None:
    op.drop_table("outbox")
