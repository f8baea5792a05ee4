"""Storage on SQLite and PostgreSQL: migrations, exact values, aware times, constraints."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from storage.db import open_database
from storage.models import Base, Figure, Message

TZ7 = dt.timezone(dt.timedelta(hours=7))


def new_message(sha="a" * 64, **kw) -> Message:
    now = dt.datetime(2021, 8, 11, 8, 5, 12, tzinfo=TZ7)
    fields = dict(
        sha256=sha,
        message_id=None,
        size=1,
        archive_path="x",
        source="imap",
        received_at=now,
        report_day=now.date(),
        subject="s",
        kind="report",
        readable=True,
        created_at=now,
        analysed_at=now,
    )
    fields.update(kw)
    return Message(**fields)


def test_migrations_match_the_models_and_rerun_cleanly(db_url):
    sessions = open_database(db_url)
    open_database(db_url)  # a second start applies nothing and does not fail
    engine = sessions.kw["bind"]
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert [d for d in diffs if d[0] not in ("remove_index", "add_index")] == []


def test_money_is_exact_and_times_are_aware(db_url):
    sessions = open_database(db_url)
    with sessions() as s:
        m = new_message()
        m.figures = [
            Figure(indicator="a", measure="kinh_phi", value=Decimal("123456789012345678")),
            Figure(indicator="a", measure="x", value=Decimal("3.71")),
        ]
        s.add(m)
        s.commit()
    with sessions() as s:
        got = s.get(Message, m.id)
        assert {f.measure: f.value for f in got.figures} == {
            "kinh_phi": Decimal("123456789012345678"),
            "x": Decimal("3.71"),
        }
        assert got.received_at == dt.datetime(2021, 8, 11, 1, 5, 12, tzinfo=dt.UTC)
        assert got.received_at.tzinfo is not None
    sessions.kw["bind"].dispose()


def test_same_bytes_cannot_be_stored_twice(db_url):
    sessions = open_database(db_url)
    with sessions() as s:
        s.add(new_message())
        s.commit()
        s.add(new_message())
        with pytest.raises(IntegrityError):
            s.commit()
    sessions.kw["bind"].dispose()


def test_naive_datetime_is_refused(db_url):
    sessions = open_database(db_url)
    with sessions() as s:
        s.add(new_message(received_at=dt.datetime(2021, 8, 11, 8, 0)))
        with pytest.raises(Exception, match="naive"):
            s.commit()
    sessions.kw["bind"].dispose()


def test_indexes_match_the_models(db_url):
    from sqlalchemy import inspect

    sessions = open_database(db_url)
    insp = inspect(sessions.kw["bind"])
    for table in Base.metadata.sorted_tables:
        want = {ix.name: bool(ix.unique) for ix in table.indexes}
        have = {ix["name"]: bool(ix["unique"]) for ix in insp.get_indexes(table.name) if ix["name"] in want}
        assert have == want, table.name
    sessions.kw["bind"].dispose()


def test_one_message_id_may_name_several_messages_but_one_identity_one(db_url):
    sessions = open_database(db_url)
    with sessions() as s:
        s.add(new_message(sha="a" * 64, message_id="x@y", identity_sha256="1" * 64))
        s.add(new_message(sha="b" * 64, message_id="x@y", identity_sha256="2" * 64))  # another unit's
        s.add(new_message(sha="c" * 64, message_id="x@y"))  # stored before the identity existed
        s.add(new_message(sha="d" * 64, message_id="x@y"))
        s.commit()
        s.add(new_message(sha="e" * 64, message_id="x@y", identity_sha256="1" * 64))
        with pytest.raises(IntegrityError):
            s.commit()
    sessions.kw["bind"].dispose()


@pytest.mark.parametrize("revision", ["0003", "0004"])
def test_upgrade_keeps_rows_sharing_a_message_id(db_url, revision):
    """A database of an older version: at 0003 it may hold several rows with one Message-ID
    (two instances raced, or an import), at 0004 the Message-ID was unique. Both upgrade;
    every row is kept; from then on one Message-ID may name several messages."""
    from sqlalchemy import insert, inspect, text

    from storage.db import create_db_engine, upgrade

    engine = create_db_engine(db_url)
    upgrade(engine, revision)
    now = dt.datetime(2021, 8, 11, 1, 0, tzinfo=dt.UTC)
    old_row = dict(
        message_id="reused@localhost",
        size=1,
        archive_path="x",
        source="imap",
        received_at=now,
        report_day=now.date(),
        subject="s",
        kind="report",
        readable=True,
        created_at=now,
        analysed_at=now,
    )
    messages = sa_table(engine, "messages")
    with engine.begin() as conn:
        conn.execute(insert(messages), [{**old_row, "sha256": "a" * 64, "from_address": "bhxh.tp@example.gov.vn"}])
        if revision == "0003":
            conn.execute(insert(messages), [{**old_row, "sha256": "b" * 64, "from_address": "yte.tp@example.gov.vn"}])
    engine.dispose()

    sessions = open_database(db_url)
    engine = sessions.kw["bind"]
    [index] = [ix for ix in inspect(engine).get_indexes("messages") if ix["column_names"] == ["message_id"]]
    assert not index["unique"]
    with sessions() as s:
        assert s.scalars(select_hashes()).all() == [None] * (2 if revision == "0003" else 1)
        s.add(new_message(sha="c" * 64, message_id="reused@localhost", identity_sha256="3" * 64))
        s.commit()
        assert s.execute(text("SELECT count(*) FROM messages WHERE message_id = 'reused@localhost'")).scalar() == (
            3 if revision == "0003" else 2
        )
    engine.dispose()


def sa_table(engine, name: str):
    from sqlalchemy import MetaData, Table

    return Table(name, MetaData(), autoload_with=engine)


def select_hashes():
    from sqlalchemy import select

    return select(Message.content_sha256).where(Message.sha256 != "c" * 64).order_by(Message.id)


def test_processes_creating_a_new_sqlite_database_at_once_all_succeed(tmp_path):
    """The container starts `baocao run` and its HEALTHCHECK's `baocao health` together on a
    database that does not exist yet: every process waits for the one creating it."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    # Three processes, each opening the database named on each line it reads (a new
    # file every time) and answering how it went: given the name at once, they reach
    # the empty file at the same moment, as processes started together do.
    code = """
import sys
from storage.db import open_database
for url in sys.stdin:
    try:
        sessions = open_database(url.strip())
        with sessions() as s:
            s.connection().exec_driver_sql("SELECT count(*) FROM messages")
        sessions.kw["bind"].dispose()
        print("ok", flush=True)
    except Exception as exc:
        print(f"{type(exc).__name__}: {str(exc).splitlines()[0]}", flush=True)
"""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    answers = []
    try:
        for trial in range(20):
            url = f"sqlite:///{tmp_path / f'new{trial}' / 'baocao.db'}\n"
            for p in procs:
                p.stdin.write(url)
            for p in procs:
                p.stdin.flush()
            answers += [p.stdout.readline().strip() for p in procs]
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(timeout=60)
    assert [a for a in answers if a != "ok"] == [] and len(answers) == 60


def test_upgrade_to_0007_keeps_figures_with_an_unknown_source(db_url):
    """Figures stored before revision 0007 say "file" (source not known), so the digest marks
    none of them; new figures keep the source they were read from; 0007 goes back down."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import insert

    from storage.db import MIGRATIONS, create_db_engine, upgrade

    engine = create_db_engine(db_url)
    upgrade(engine, "0006")
    now = dt.datetime(2021, 8, 11, 1, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        [pk] = conn.execute(
            insert(sa_table(engine, "messages")).returning(sa_table(engine, "messages").c.id),
            [
                dict(
                    sha256="a" * 64,
                    size=1,
                    archive_path="x",
                    source="imap",
                    received_at=now,
                    report_day=now.date(),
                    subject="s",
                    kind="report",
                    readable=True,
                    created_at=now,
                    analysed_at=now,
                )
            ],
        ).scalars()
        conn.execute(insert(sa_table(engine, "figures")), [dict(message_pk=pk, indicator="a", measure="b", value="12")])
    engine.dispose()

    sessions = open_database(db_url)
    with sessions() as s:
        old = s.get(Message, pk)
        assert [(f.value, f.source) for f in old.figures] == [(Decimal(12), "file")]
        s.add(new_message(sha="b" * 64, figures=[Figure(indicator="a", measure="b", value=Decimal(3), source="scan")]))
        s.commit()
        assert sorted(s.scalars(select_sources()).all()) == ["file", "scan"]
    engine = sessions.kw["bind"]
    with engine.begin() as conn:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    assert "source" not in {c.name for c in sa_table(engine, "figures").columns}
    engine.dispose()


def select_sources():
    from sqlalchemy import select

    return select(Figure.source)
