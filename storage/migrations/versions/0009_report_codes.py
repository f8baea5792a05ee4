"""Several reports in one mailbox (issue 15): the reports each message carries, which
report each figure is for, and one digest per report and period. Rows stored before
belong to the config's one report: no message_reports row, report_code "" on their
figures and digests.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_pk", sa.Integer(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("report_code", sa.String(100), nullable=False),
        sa.Column("readable", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("message_pk", "report_code", name="uq_message_report"),
    )
    op.create_index("ix_message_reports_report_code", "message_reports", ["report_code"])
    # batch: SQLite rebuilds the table to change its unique constraint.
    with op.batch_alter_table("figures") as batch:
        batch.add_column(sa.Column("report_code", sa.String(100), nullable=False, server_default=""))
        batch.drop_constraint("uq_figure_cell", type_="unique")
        batch.create_unique_constraint("uq_figure_cell", ["message_pk", "report_code", "indicator", "measure"])
    # One digest per day became one per report and period (its first day). The old rule
    # is an unnamed UNIQUE (report_day): PostgreSQL named it, SQLite did not (batch names it).
    sqlite = op.get_bind().dialect.name == "sqlite"
    old = "uq_digests_report_day" if sqlite else "digests_report_day_key"
    with op.batch_alter_table("digests", naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}) as batch:
        batch.add_column(sa.Column("report_code", sa.String(100), nullable=False, server_default=""))
        batch.drop_constraint(old, type_="unique")
        batch.create_unique_constraint("uq_digest_report_period", ["report_day", "report_code"])


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.drop_constraint("uq_digest_report_period", type_="unique")
        batch.drop_column("report_code")
        batch.create_unique_constraint("digests_report_day_key", ["report_day"])
    with op.batch_alter_table("figures") as batch:
        batch.drop_constraint("uq_figure_cell", type_="unique")
        batch.drop_column("report_code")
        batch.create_unique_constraint("uq_figure_cell", ["message_pk", "indicator", "measure"])
    op.drop_index("ix_message_reports_report_code", "message_reports")
    op.drop_table("message_reports")
