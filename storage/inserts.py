"""INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL.

For rows that two instances may write at the same moment (the same message, the same
IMAP UID, a folder's first state row, a mail to send once): the second insert does
nothing instead of failing, and on PostgreSQL it waits for the first to commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Table, insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def insert_or_ignore(
    session: Session, table: Table, conflict_columns: Sequence[str] = (), returning: ColumnElement[Any] | None = None
) -> Insert:
    """An INSERT into `table` that skips a row conflicting with a unique index (any one, or
    the one on `conflict_columns`). With `returning` (a column), the statement returns it
    for each row that went in: rowcount is not reliable (psycopg reports -1 for an INSERT
    that returns rows). One statement object per kind, so it is compiled once."""
    return _statement(session.get_bind().dialect.name, table, tuple(conflict_columns), returning)


@cache
def _statement(
    dialect: str, table: Table, conflict_columns: tuple[str, ...], returning: ColumnElement[Any] | None
) -> Insert:
    stmt: Insert
    index_elements = list(conflict_columns) or None
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=index_elements)
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=index_elements)
    else:  # not a database baocao accepts (config refuses it): a plain INSERT, conflicts raise
        stmt = insert(table)
    return stmt.returning(returning) if returning is not None else stmt
