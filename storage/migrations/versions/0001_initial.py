"""Initial schema: messages, attachments, figures, problems, mailbox progress.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mailbox_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account", sa.String(400), nullable=False),
        sa.Column("folder", sa.String(400), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("last_uid", sa.BigInteger, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("account", "folder", name="uq_mailbox_state_folder"),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("message_id", sa.String(500), nullable=True, index=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("archive_path", sa.String(300), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("report_day", sa.Date, nullable=False, index=True),
        sa.Column("from_address", sa.String(320), nullable=True),
        sa.Column("from_name", sa.String(300), nullable=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("date_header", TS, nullable=True),
        sa.Column("kind", sa.String(20), nullable=False, index=True),
        sa.Column("unit_code", sa.String(100), nullable=True, index=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("readable", sa.Boolean, nullable=False),
        sa.Column("as_of", sa.Date, nullable=True),
        sa.Column("unit_text", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("analysed_at", TS, nullable=False),
    )
    op.create_index("ix_messages_unit_day", "messages", ["unit_code", "report_day"])
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_pk", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("filename", sa.String(400), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("detected_format", sa.String(20), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("sheet", sa.String(300), nullable=True),
        sa.Column("sheet_reason", sa.String(40), nullable=True),
    )
    op.create_table(
        "figures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_pk", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("indicator", sa.String(100), nullable=False),
        sa.Column("measure", sa.String(100), nullable=False),
        sa.Column("value", sa.String(48), nullable=False),
        sa.UniqueConstraint("message_pk", "indicator", "measure", name="uq_figure_cell"),
    )
    op.create_table(
        "problems",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_pk", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
    )
    op.create_table(
        "mailbox_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account", sa.String(400), nullable=False),
        sa.Column("folder", sa.String(400), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("uid", sa.BigInteger, nullable=False),
        sa.Column("message_pk", sa.Integer, sa.ForeignKey("messages.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("duplicate", sa.Boolean, nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.UniqueConstraint("account", "folder", "uidvalidity", "uid", name="uq_mailbox_uid"),
    )
    op.create_index("ix_mailbox_pending", "mailbox_messages", ["account", "folder", "done"])


def downgrade() -> None:
    for table in ("mailbox_messages", "problems", "figures", "attachments", "messages",
                  "mailbox_state"):
        op.drop_table(table)
