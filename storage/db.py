"""Opening the database: engine set-up per dialect and Alembic migrations on start.

Every command opens the database, so a start with the schema already current must be
cheap: the stored revision is read with one query and compared with the head of the
migration scripts (read as text); only a database behind them imports Alembic.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.direct import MIGRATIONS, SQLITE_BUSY_TIMEOUT_MS, head_revisions  # noqa: F401 - for callers

log = logging.getLogger(__name__)


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        busy_ms = int(sqlite_busy_timeout(parsed) * 1000)
        # pysqlite takes `timeout` from the URL; kept there, the creation lock reads it too.
        engine = create_engine(parsed.update_query_dict({"timeout": str(busy_ms / 1000)}))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut (messages get moved after it)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def sqlite_busy_timeout(url: str | URL) -> float:
    """Seconds a SQLite writer waits for a lock; `?timeout=SECONDS` in the URL overrides it."""
    return float(str(make_url(url).query.get("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)))


def stored_revisions(engine: Engine) -> frozenset[str]:
    """The revisions recorded in the database's alembic_version table (empty when there is none)."""
    try:
        with engine.connect() as conn:
            return frozenset(str(row[0]) for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError:  # no such table yet: a new database
        return frozenset()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration (idempotent; safe with several processes starting at once).

    A database already at the head is left alone without importing Alembic: one query
    instead of building Alembic's view of every script on each command's start. On a
    SQLite file that query is made under the creation lock too: a process that found the
    file just made by another (the daemon and the HEALTHCHECK started together) waits
    until that one has created and set it up, instead of reading a half-made file
    ("database is locked" when both set its journal mode at once).
    """
    with _sqlite_creation_lock(engine):
        if revision == "head" and not _sqlite_file_missing(engine):
            heads = head_revisions()
            if heads is not None and stored_revisions(engine) == heads:
                return
        _migrate(engine, revision)


def _migrate(engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two instances starting together must not both create the tables.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242068)")
        elif conn.dialect.name == "sqlite":
            # pysqlite begins no transaction before DDL, so each CREATE would commit on its
            # own and a crash half-way through would leave a schema no later start can
            # migrate ("table ... already exists"). One explicit transaction: all or nothing.
            conn.exec_driver_sql("BEGIN")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _sqlite_file_missing(engine: Engine) -> bool:
    """A SQLite database file not created yet: made under the creation lock, never by a probe."""
    path = engine.url.database
    return (
        engine.dialect.name == "sqlite"
        and bool(path)
        and path != ":memory:"
        and not str(path).startswith("file:")
        and not Path(str(path)).exists()
    )


@contextmanager
def _sqlite_creation_lock(engine: Engine) -> Iterator[None]:
    """On a SQLite file, hold an exclusive lock on `<file>.lock` while opening and migrating.

    Two processes opening a database that does not exist yet (the daemon and the
    container's HEALTHCHECK, started together) would both create it: the first to write
    makes the other's transaction fail with "database is locked" at once, since SQLite
    does not wait when a reader must become a writer. With the lock the second waits, up
    to the busy timeout; after that it goes on and SQLite's own waiting decides.
    """
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    try:
        fd = os.open(f"{path}.lock", os.O_RDONLY | os.O_CREAT, 0o644)  # flock needs no write access
    except OSError as exc:  # a read-only folder: nothing will be created there anyway
        log.debug("no creation lock for %s: %s", path, exc)
        yield
        return
    try:
        deadline = time.monotonic() + sqlite_busy_timeout(engine.url)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    log.warning("the database %s is still being opened by another process; going on", path)
                    break
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the lock


def open_database(url: str) -> sessionmaker[Session]:
    """Create the engine, migrate to the latest schema, return a session factory."""
    engine = create_db_engine(url)
    upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def describe_db_error(exc: Exception) -> str:
    """A database failure in one sentence (a locked or corrupt SQLite file, anything else)."""
    text = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, OperationalError) and "locked" in text:
        return "the database is locked by another program; try again when it has finished"
    if "file is not a database" in text or "malformed" in text:
        return f"the database file is corrupt ({text})"
    return f"database error: {text[:300]}"
