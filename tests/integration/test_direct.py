"""storage.direct answers a quiet poll's questions through the driver alone: each answer
must be "yes" whenever the full path (storage.mailbox, storage.messages, storage.outbox
through SQLAlchemy) would find work, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from storage import direct
from storage.db import open_database
from storage.direct import open_direct
from storage.kinds import ACK, EXPIRED, FAILED, NOTICE, PENDING, REMINDER, SENDING, SENT, SKIPPED
from storage.mailbox import WAIT, pending_actions, stored_folder_state
from storage.messages import pending_recognitions
from storage.models import MailboxMessage, MailboxState, Message, OutboxMail
from storage.outbox import due_rows, reply_candidates

NOW = dt.datetime(2021, 8, 12, 9, 0, tzinfo=dt.UTC)
ACCOUNT, FOLDER = "u@127.0.0.1:143", "INBOX"


def message(n: int, **kw: object) -> Message:
    at = NOW - dt.timedelta(hours=1)
    fields: dict[str, object] = dict(
        sha256=f"{n:064x}",
        size=1,
        archive_path="x",
        source="imap",
        received_at=at,
        report_day=at.date(),
        from_address=f"unit{n}@example.gov.vn",
        subject="s",
        kind="report",
        unit_code="A",
        readable=True,
        created_at=at,
        analysed_at=at,
    )
    fields.update(kw)
    return Message(**fields)


def outbox(key: str, state: str, **kw: object) -> OutboxMail:
    fields: dict[str, object] = dict(
        kind=REMINDER,
        dedupe_key=key,
        recipient="a@example.gov.vn",
        cap_day=NOW.date(),
        message_id=f"<{key}@x>",
        state=state,
        created_at=NOW,
        updated_at=NOW,
    )
    fields.update(kw)
    return OutboxMail(**fields)


def test_the_constants_are_storages() -> None:
    assert direct.WAIT == WAIT


def test_a_database_not_created_or_behind_the_migrations_is_not_read_directly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    assert open_direct(url) is None  # no file: the full path creates it
    open_database(url).kw["bind"].dispose()
    reader = open_direct(url)
    assert reader is not None
    with reader:
        reader.rows("UPDATE alembic_version SET version_num = '0001'")
    assert open_direct(url) is None
    assert open_direct("mysql://x@y/z") is None
    assert open_direct(f"sqlite:///{tmp_path / 'b.db'}?mode=ro") is None


def test_the_direct_answers_agree_with_the_full_path(db_url: str) -> None:
    sessions = open_database(db_url)

    def check() -> None:
        with sessions() as s, open_direct(db_url) as reader:  # type: ignore[union-attr]
            state = stored_folder_state(s, ACCOUNT, FOLDER)
            assert reader.folder_state(ACCOUNT, FOLDER) == ((state.uidvalidity, state.last_uid) if state else None)
            assert reader.has_pending_recognitions() == bool(pending_recognitions(s))
            assert reader.has_pending_actions(ACCOUNT, FOLDER, 7) == bool(pending_actions(s, ACCOUNT, FOLDER, 7))
            for reply_unknown in (False, True):
                since = NOW - dt.timedelta(days=2)
                wanted = bool(reply_candidates(s, NOW, since, since.date(), reply_unknown))
                # a superset: never "no" when the full path finds a candidate
                assert reader.has_unanswered(since.date(), reply_unknown) or not wanted
            due = any(
                due_rows(s, at, "me", 10) for at in (NOW, NOW + dt.timedelta(days=400), NOW - dt.timedelta(days=400))
            )
            assert reader.has_outbox_work() or not due

    check()
    with sessions() as s:
        s.add(MailboxState(account=ACCOUNT, folder=FOLDER, uidvalidity=7, last_uid=12, updated_at=NOW))
        s.add_all([message(1, recognition_pending=False), message(2, kind="automatic", unit_code=None)])
        s.commit()
    check()
    with sessions() as s:
        assert open_direct(db_url).has_unanswered(NOW.date(), False)  # type: ignore[union-attr]
        report = s.query(Message).filter_by(kind="report").one()
        s.add(outbox(f"ack:{report.id}", SENT, kind=ACK, message_pk=report.id))
        s.add(message(3, kind="unassigned", unit_code=None, reason="unknown_sender"))
        s.commit()
    with open_direct(db_url) as reader:  # type: ignore[union-attr]
        assert not reader.has_unanswered(NOW.date() - dt.timedelta(days=2), False)
        assert reader.has_unanswered(NOW.date() - dt.timedelta(days=2), True)
        assert not reader.has_outbox_work()
    check()
    with sessions() as s:
        s.add(outbox("notice", SKIPPED, kind=NOTICE, recipient="unit3@example.gov.vn", report_day=NOW.date()))
        s.add_all([outbox("e", EXPIRED), outbox("f", FAILED, next_attempt_at=None)])
        s.commit()
    with open_direct(db_url) as reader:  # type: ignore[union-attr]
        assert not reader.has_unanswered(NOW.date() - dt.timedelta(days=2), True)
        assert not reader.has_outbox_work()
    check()
    for state, extra in ((PENDING, {}), (FAILED, {"next_attempt_at": NOW}), (SENDING, {"lease_until": NOW})):
        with sessions() as s:
            s.query(OutboxMail).filter_by(dedupe_key="due").delete()
            s.add(outbox("due", state, **extra))
            s.commit()
        with open_direct(db_url) as reader:  # type: ignore[union-attr]
            assert reader.has_outbox_work()
        check()
    with sessions() as s:
        s.add(message(4, recognition_pending=True))
        s.add(
            MailboxMessage(account=ACCOUNT, folder=FOLDER, uidvalidity=7, uid=3, action=WAIT, done=False, seen_at=NOW)
        )
        s.commit()
    with open_direct(db_url) as reader:  # type: ignore[union-attr]
        assert reader.has_pending_recognitions()
        assert not reader.has_pending_actions(ACCOUNT, FOLDER, 7)
    check()
    with sessions() as s:
        s.add(
            MailboxMessage(account=ACCOUNT, folder=FOLDER, uidvalidity=7, uid=4, action="move", done=False, seen_at=NOW)
        )
        s.commit()
    with open_direct(db_url) as reader:  # type: ignore[union-attr]
        assert reader.has_pending_actions(ACCOUNT, FOLDER, 7)
        assert not reader.has_pending_actions(ACCOUNT, FOLDER, 8)
    check()
    sessions.kw["bind"].dispose()


@pytest.mark.parametrize("timeout", ["", "?timeout=3"])
def test_a_sqlite_url_as_the_configuration_writes_it_is_read(tmp_path: Path, timeout: str) -> None:
    url = f"sqlite:///{tmp_path / 'dir with space' / 'b.db'}{timeout}"
    open_database(url).kw["bind"].dispose()
    reader = open_direct(url)
    assert reader is not None
    reader.conn.close()


def test_the_day_views_reads_agree_in_a_session_and_on_the_driver(db_url: str, tmp_path: Path) -> None:
    """storage.days runs the same SQL in a SQLAlchemy Session and on a DirectReader (`status`):
    the records must be the ORM's own, times aware UTC, JSON decoded, figures exact."""
    from decimal import Decimal

    from service.config import load_config
    from service.day.dayview import build_day_view
    from service.outputs.export import day_json
    from storage.days import digest_of_day, first_report_day, messages_of_day
    from storage.digests import digest_of
    from storage.models import Attachment, Digest, Figure, ProblemRow
    from storage.records import message_record
    from tests.mailbuilders import write_config

    path = write_config(
        tmp_path / "c.toml", imap=None, smtp=None, database_url=db_url, archive_dir=tmp_path / "archive"
    )
    cfg = load_config(path, env={}, require_secrets=False)
    code = cfg.units[0].code
    sessions = open_database(db_url)
    day = NOW.date()
    with sessions() as s:
        for n, (when, unit) in enumerate([(NOW, code), (NOW - dt.timedelta(days=1), code), (NOW, None)]):
            m = message(
                10 + n,
                received_at=when,
                report_day=when.date(),
                unit_code=unit,
                kind="report" if unit else "unassigned",
                reason=None if unit else "unknown_sender",
                date_header=when - dt.timedelta(minutes=1),
                as_of=when.date() if n == 0 else None,
            )
            m.figures = [Figure(indicator="dao_tao", measure="kinh_phi", value=Decimal("49500000.5"), source="scan")]
            m.problems = [ProblemRow(code="late", params={"at": "15:01", "n": 2})]
            m.attachments = [
                Attachment(
                    position=0,
                    filename="bc.xlsx",
                    content_type="application/x",
                    detected_format="xlsx",
                    size=10,
                    sha256="b" * 64,
                    outcome="read",
                )
            ]
            s.add(m)
        s.add(
            Digest(
                report_day=day,
                state="sent",
                message_id="<d@x>",
                claimed_by="h",
                lease_until=NOW,
                attempts=1,
                sends=1,
                sent_at=NOW,
                updated_at=NOW,
            )
        )
        s.commit()
    with sessions() as s, open_direct(db_url) as reader:  # type: ignore[union-attr]
        orm = [
            message_record(m)
            for m in s.query(Message).filter(Message.report_day == day).order_by(Message.received_at, Message.id)
        ]
        for db in (s, reader):
            got = messages_of_day(db, day)
            assert [vars(r) for r in got] == [vars(r) for r in orm]
            assert all(r.received_at.tzinfo is dt.UTC for r in got)
            assert digest_of_day(db, day) == digest_of(s, day)
            assert digest_of_day(db, day - dt.timedelta(days=5)) is None
            assert first_report_day(db) == day - dt.timedelta(days=1)
        assert day_json(build_day_view(s, cfg, day), cfg) == day_json(build_day_view(reader, cfg, day), cfg)
    sessions.kw["bind"].dispose()


def test_figures_read_grouped_are_the_figures_read_row_by_row(db_url: str) -> None:
    """`load_figures` (one grouped row per message on SQLite) gives the same values, in
    the same order, and the same marked sources as reading the figures row by row: an
    indicator whose figures are not next to each other, the same cell under two report
    codes (the later row wins), a code holding the separators (read row by row)."""
    from decimal import Decimal

    from storage.days import _values_by_rows, load_figures, load_sources, load_values
    from storage.models import Figure

    sessions = open_database(db_url)
    cells = [
        ("b", "m2", "1", "file", ""),
        ("a", "m1", "2.50", "scan", ""),
        ("b", "m1", "3", "file", ""),
        ("a", "m2", "-4", "body_text", ""),
        ("a", "m1", "5", "file", "weekly"),
    ]
    odd = [("x\x1fy", "m\x1e1", "6", "file", ""), ("a", "m1", "7", "photo", "")]
    with sessions() as s:
        for n, figures in enumerate([cells, cells[:3], odd, []]):
            m = message(30 + n)
            m.figures = [
                Figure(indicator=i, measure=ms, value=Decimal(v), source=src, report_code=rc)
                for i, ms, v, src, rc in figures
            ]
            s.add(m)
        s.commit()
        ids = [m.id for m in s.query(Message).order_by(Message.id)]
    marks = {"scan", "photo", "body_text"}
    with open_direct(db_url) as reader:  # type: ignore[union-attr]
        by_rows: dict[int, dict[str, dict[str, Decimal]]] = {}
        _values_by_rows(reader, ids, by_rows, {})
        values, sources = load_figures(reader, ids, marks)
        assert values == by_rows
        assert [(pk, [(i, list(row.items())) for i, row in v.items()]) for pk, v in values.items()] == [
            (pk, [(i, list(row.items())) for i, row in v.items()]) for pk, v in by_rows.items()
        ]
        assert values[ids[0]] == {"b": {"m2": 1, "m1": 3}, "a": {"m1": 5, "m2": -4}}
        assert values[ids[2]] == {"x\x1fy": {"m\x1e1": 6}, "a": {"m1": 7}}
        assert ids[3] not in values
        assert sources == load_sources(reader, ids, marks)
        assert sources[ids[2]] == {"a": {"m1": "photo"}} and ids[3] not in sources
        assert load_values(reader, ids) == by_rows
    sessions.kw["bind"].dispose()


def test_the_latest_report_days_are_each_units_two_latest_readable_reports(db_url: str) -> None:
    """`latest_report_days` (the day view's latest and previous report) walks back from a
    day: only readable reports count, a day later than asked is not seen, a unit with one
    report day has one, a unit with none is absent; in a Session and on the driver."""
    from storage.days import latest_report_days

    sessions = open_database(db_url)
    day0 = NOW.date()
    rows = [
        ("A", 0, "report", True),
        ("A", 0, "report", True),  # two reports on one day: one day
        ("A", 2, "report", True),
        ("A", 3, "report", False),  # unreadable: not a report day
        ("A", 5, "report", True),
        ("A", 6, "unassigned", True),
        ("B", 1, "report", True),
        ("C", 4, "report", False),
    ]
    with sessions() as s:
        for n, (unit, offset, kind, readable) in enumerate(rows):
            d = day0 + dt.timedelta(days=offset)
            s.add(message(100 + n, unit_code=unit, kind=kind, readable=readable, report_day=d))
        s.commit()

    def days(*offsets: int) -> list[dt.date]:
        return [day0 + dt.timedelta(days=o) for o in offsets]

    with sessions() as s, open_direct(db_url) as reader:  # type: ignore[union-attr]
        for db in (s, reader):
            assert latest_report_days(db, ["A", "B", "C", "D"], day0 + dt.timedelta(days=6)) == {
                "A": days(5, 2),
                "B": days(1),
            }
            assert latest_report_days(db, ["A", "B"], day0 + dt.timedelta(days=4)) == {"A": days(2, 0), "B": days(1)}
            assert latest_report_days(db, ["A"], day0) == {"A": days(0)}
            assert latest_report_days(db, ["A", "B"], day0 - dt.timedelta(days=1)) == {}
            assert latest_report_days(db, [], day0) == {}
    sessions.kw["bind"].dispose()
