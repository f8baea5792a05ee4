"""Where each figure was read from (parsers.model.AttachmentResult.source: spreadsheet,
text_pdf, scan, photo, body_text, body_html), so the digest can mark figures read from
an image or the email's text. Rows stored before say "file" (not known).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("figures", sa.Column("source", sa.String(20), nullable=False, server_default="file"))


def downgrade() -> None:
    # batch: SQLite rebuilds the table (it has no DROP COLUMN before 3.35).
    with op.batch_alter_table("figures") as batch:
        batch.drop_column("source")
