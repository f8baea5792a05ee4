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
    fields = dict(sha256=sha, message_id=None, size=1, archive_path="x", source="imap", received_at=now,
                  report_day=now.date(), subject="s", kind="report", readable=True, created_at=now,
                  analysed_at=now)
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
        m.figures = [Figure(indicator="a", measure="kinh_phi", value=Decimal("123456789012345678")),
                     Figure(indicator="a", measure="x", value=Decimal("3.71"))]
        s.add(m)
        s.commit()
    with sessions() as s:
        got = s.get(Message, m.id)
        assert {f.measure: f.value for f in got.figures} == {
            "kinh_phi": Decimal("123456789012345678"), "x": Decimal("3.71")}
        assert got.received_at == dt.datetime(2021, 8, 11, 1, 5, 12, tzinfo=dt.timezone.utc)
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


def test_same_message_id_cannot_be_stored_twice(db_url):
    sessions = open_database(db_url)
    with sessions() as s:
        s.add(new_message(sha="a" * 64, message_id="x@y"))
        s.commit()
        s.add(new_message(sha="b" * 64, message_id="x@y"))
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()
        s.add(new_message(sha="c" * 64, message_id=None))
        s.add(new_message(sha="d" * 64, message_id=None))  # no Message-ID: never a duplicate by it
        s.commit()
    sessions.kw["bind"].dispose()
