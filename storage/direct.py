"""Reads through the database driver (sqlite3, psycopg) without SQLAlchemy: what a poll
with nothing new asks before anything else.

`baocao poll` from cron mostly finds nothing to do, and SQLAlchemy with the ORM models
is most of what such a run would import (issue 14: commands start instantly). This
module answers "is there anything to do?" with a few queries over a plain DB-API
connection; when the answer is yes, or the database is not one it can read this way
(behind the migrations, a URL it does not know), the caller goes the full way through
storage.db and the ORM. Every question errs on the side of "yes": a false yes costs a
full poll, a false no would leave work undone.
"""

from __future__ import annotations

import ast
import datetime as dt
import json as _json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote

from storage.kinds import ACK, FAILED, NOTICE, PENDING, REPORT, SENDING, UNASSIGNED

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000
WAIT = "wait"  # storage.mailbox.WAIT: a UID whose action waits for its message's recognition


def head_revisions() -> frozenset[str] | None:
    """The revisions no migration script builds on (Alembic's heads), read from the scripts'
    `revision = ...` and `down_revision = ...` lines without importing Alembic or the
    scripts; None when a script does not spell them so (then Alembic decides)."""
    assignment = re.compile(r"^(revision|down_revision)\s*(?::[^=]+)?=\s*(.+?)\s*$", re.MULTILINE)
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        if script.name.startswith("_"):
            continue
        found = {m.group(1): m.group(2) for m in assignment.finditer(script.read_text(encoding="utf-8"))}
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found["down_revision"])
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else (down or ()))
    heads = frozenset(revisions - parents)
    return heads or None


class DirectReader:
    """A read-only view of the database over the driver's own connection. Use as a
    context manager; `open_direct` makes one."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect  # sqlite | postgresql

    def __enter__(self) -> DirectReader:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.conn.close()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of `sql`, written with `?` placeholders for either driver."""
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        cur = self.conn.cursor()
        try:
            cur.execute(sql, tuple(self._param(p) for p in params))
            return list(cur.fetchall())
        finally:
            cur.close()

    def _param(self, value: Any) -> Any:
        if self.dialect == "sqlite" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()  # as SQLAlchemy stores a Date on SQLite
        return value

    def any(self, sql: str, params: Sequence[Any] = ()) -> bool:
        return bool(self.rows(f"SELECT 1 WHERE EXISTS ({sql})", params))

    def at_head(self) -> bool:
        """Whether the schema is the migrations' latest (else the full path migrates it)."""
        heads = head_revisions()
        if heads is None:
            return False
        try:
            stored = frozenset(str(r[0]) for r in self.rows("SELECT version_num FROM alembic_version"))
        except Exception:  # noqa: BLE001 - no such table: a new database
            return False
        return stored == heads

    # -- what a poll with nothing new asks ------------------------------------------------

    def folder_state(self, account: str, folder: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, last UID) of the folder as stored (storage.mailbox.stored_folder_state)."""
        found = self.rows(
            "SELECT uidvalidity, last_uid FROM mailbox_state WHERE account = ? AND folder = ?", (account, folder)
        )
        return (int(found[0][0]), int(found[0][1])) if found else None

    def has_pending_recognitions(self) -> bool:
        """Messages stored awaiting recognition (storage.messages.pending_recognitions)."""
        return self.any("SELECT 1 FROM messages WHERE recognition_pending = ?", (True,))

    def has_pending_actions(self, account: str, folder: str, uidvalidity: int) -> bool:
        """Server-side actions not carried out (storage.mailbox.pending_actions)."""
        return self.any(
            "SELECT 1 FROM mailbox_messages WHERE account = ? AND folder = ? AND uidvalidity = ? "
            "AND done = ? AND action <> ?",
            (account, folder, uidvalidity, False, WAIT),
        )

    def has_unanswered(self, since_day: dt.date, reply_unknown: bool) -> bool:
        """Messages since `since_day` that may still want an acknowledgement or a notice: a
        superset of storage.outbox.reply_candidates (no bound on the arrival time, LIKE
        patterns whose _ matches any character)."""
        wanted = (
            "(m.kind = ? OR m.kind = ? AND m.reason LIKE ?) "
            "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_pk = m.id AND o.kind = ?)"
        )
        params: list[Any] = ["imap", since_day, False, REPORT, UNASSIGNED, "shared_sender_unresolved%", ACK]
        if reply_unknown:
            wanted = (
                f"({wanted}) OR (m.kind = ? AND m.reason LIKE ? AND NOT EXISTS "
                "(SELECT 1 FROM outbox o WHERE o.kind = ? AND o.recipient = m.from_address "
                "AND o.report_day = m.report_day))"
            )
            params += [UNASSIGNED, "unknown_sender%", NOTICE]
        return self.any(
            "SELECT 1 FROM messages m WHERE m.source = ? AND m.report_day >= ? AND m.from_address IS NOT NULL "
            f"AND m.recognition_pending = ? AND ({wanted})",
            params,
        )

    def has_outbox_work(self) -> bool:
        """Outbox rows a drain could send or expire (storage.outbox.due_rows, expire_due),
        whatever the time."""
        return self.any(
            "SELECT 1 FROM outbox WHERE state = ? OR state = ? OR state = ? AND next_attempt_at IS NOT NULL",
            (PENDING, SENDING, FAILED),
        )


# -- one query, on a DirectReader or a SQLAlchemy Session ---------------------------------


def query(db: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The driver's rows of `sql` (`?` placeholders) on `db`: a `DirectReader`, or a
    SQLAlchemy Session (its connection, in its transaction). The values are the driver's
    own: read them with `utc`, `day`, `flag` and `json_value`, which take either
    driver's form."""
    if isinstance(db, DirectReader):
        return db.rows(sql, params)
    conn = db.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        sql = sql.replace("?", "%s")
    else:
        params = [p.isoformat() if type(p) is dt.date else p for p in params]
    result = conn.exec_driver_sql(sql, tuple(params))
    try:
        return list(result.cursor.fetchall()) if result.cursor is not None else []
    finally:
        result.close()


def dialect(db: Any) -> str:
    """The database behind `db` (a `DirectReader` or a SQLAlchemy Session): sqlite | postgresql."""
    if isinstance(db, DirectReader):
        return db.dialect
    return str(db.get_bind().dialect.name)


def placeholders(n: int) -> str:
    return ", ".join("?" * n)


def utc(value: Any) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (SQLite: SQLAlchemy's naive text; PostgreSQL:
    timestamptz), as storage.models.UtcDateTime reads it."""
    if value is None:
        return None
    if value.__class__ is str and len(value) == 26 and value[19] == ".":
        # SQLAlchemy's SQLite text, "YYYY-MM-DD HH:MM:SS.ffffff", read as UTC in one call
        # (replace() afterwards costs five times the parsing; 28,000 times a province's day)
        return dt.datetime.fromisoformat(value + "+00:00")
    at: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        return at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC)


def day(value: Any) -> dt.date | None:
    if value is None or type(value) is dt.date:
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value.date() if isinstance(value, dt.datetime) else value


def flag(value: Any) -> bool:
    return bool(value)


def json_value(value: Any) -> Any:
    """A JSON column's value (SQLite: its text; psycopg: decoded already)."""
    return _json.loads(value) if isinstance(value, (str, bytes)) else value


def open_direct(url: str) -> DirectReader | None:
    """A reader of the database at `url` (as the configuration normalised it), or None:
    a URL this module does not read, a database file not created yet, a schema behind the
    migrations, or a database that cannot be opened (the full path then says why)."""
    try:
        reader = _connect(url)
    except Exception as exc:  # noqa: BLE001 - the full path reports it in one sentence
        log.debug("no direct read of the database: %s", exc)
        return None
    if reader is None:
        return None
    if not reader.at_head():
        reader.conn.close()
        return None
    return reader


def _connect(url: str) -> DirectReader | None:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    if scheme in ("sqlite", "sqlite+pysqlite"):
        import sqlite3

        path, _, query = rest.partition("?")
        options = dict(parse_qsl(query))
        if not path.startswith("/") or set(options) - {"timeout"}:
            return None
        file = Path(unquote(path[1:]))
        if not file.is_absolute() or str(file).startswith("file:") or not file.is_file():
            return None
        timeout = float(options.get("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000))
        conn = sqlite3.connect(str(file), timeout=timeout, isolation_level=None)
        return DirectReader(conn, "sqlite")
    if scheme == "postgresql+psycopg":
        import psycopg

        return DirectReader(psycopg.connect(f"postgresql://{rest}", autocommit=True), "postgresql")
    return None
