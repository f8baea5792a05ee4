"""The same message is the same bytes, or the same Message-ID from the same sender with the
same content: a plain index on Message-ID (several messages may share one), the content
hash and the identity hash (unique) of each message.

Rows stored before this revision keep a null `content_sha256` and `identity_sha256`: the
hash needs the archived file, which a migration does not read. They are compared by
`sha256` alone until `baocao reprocess` fills both in.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Unique when the old 0004 made it so, plain otherwise: made plain either way.
    op.drop_index("ix_messages_message_id", table_name="messages")
    op.create_index("ix_messages_message_id", "messages", ["message_id"])
    op.add_column("messages", sa.Column("content_sha256", sa.String(64), nullable=True))
    op.add_column("messages", sa.Column("identity_sha256", sa.String(64), nullable=True))
    op.create_index("ix_messages_content_sha256", "messages", ["content_sha256"])
    op.create_index("ix_messages_identity_sha256", "messages", ["identity_sha256"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_messages_identity_sha256", table_name="messages")
    op.drop_index("ix_messages_content_sha256", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("identity_sha256")
        batch.drop_column("content_sha256")
