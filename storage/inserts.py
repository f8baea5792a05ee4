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

Returning = ColumnElement[Any] | tuple[ColumnElement[Any], ...] | None


def insert_or_ignore(
    session: Session, table: Table, conflict_columns: Sequence[str] = (), returning: Returning = None
) -> Insert:
    """An INSERT into `table` that skips a row conflicting with a unique index (any one, or
    the one on `conflict_columns`). With `returning` (a column or several), the statement
    returns them for each row that went in: rowcount is not reliable (psycopg reports -1
    for an INSERT that returns rows).

    SQLAlchemy compiles this statement again at every execution (the dialects' ON
    CONFLICT clause has no cache key: `CacheStats.NO_CACHE_KEY`, about 2 ms for a message
    row): where rows come many at a time, execute it once with all of them (executemany;
    with `returning` SQLAlchemy sends them as multi-row INSERTs, "insertmanyvalues")."""
    return _statement(session.get_bind().dialect.name, table, tuple(conflict_columns), returning)


@cache
def _statement(dialect: str, table: Table, conflict_columns: tuple[str, ...], returning: Returning) -> Insert:
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
    if returning is None:
        return stmt
    return stmt.returning(*returning) if isinstance(returning, tuple) else stmt.returning(returning)
