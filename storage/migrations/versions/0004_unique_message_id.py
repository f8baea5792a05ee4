"""Formerly: one row per Message-ID (a unique index). Message-IDs are not unique in real
mail, so this revision now changes nothing; 0005 replaces the rule. Databases that
applied the old 0004 have the unique index, which 0005 drops; databases still at 0003
may hold rows sharing a Message-ID, on which the old 0004 failed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
