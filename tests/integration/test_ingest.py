"""Ingestion end to end against a real Dovecot, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from parsers.message import parse_message
from service.config import load_config
from service.errors import MailboxError
from service.ingest.archive import Archive, content_hash
from service.ingest.pipeline import Ingestor
from service.mail.mailbox import Mailbox
from service.schedule.daemon import Daemon
from storage.db import open_database
from storage.models import Message
from tests.mailbuilders import XLSX, email_bytes, report_workbook, simple_report, write_config

TZ7 = dt.timezone(dt.timedelta(hours=7))
PROCESSED = "Đã xử lý"


def at(hh: int, mm: int, ss: int = 0, day: int = 11) -> dt.datetime:
    return dt.datetime(2021, 8, day, hh, mm, ss, tzinfo=TZ7)


@pytest.fixture
def setup(mailbox, db_url, tmp_path):
    """A config pointing at this test's mailbox and database; returns a small namespace."""
    env = {"TEST_IMAP_PW": mailbox.password}
    cfg_path = write_config(
        tmp_path / "config.toml",
        imap={
            "host": "127.0.0.1",
            "port": mailbox.port,
            "security": "none",
            "username": mailbox.user,
            "password_env": "TEST_IMAP_PW",
            "folder": "INBOX",
            "processed_folder": PROCESSED,
        },
        smtp=None,
        database_url=db_url,
        archive_dir=tmp_path / "archive",
    )
    cfg = load_config(cfg_path, env=env)

    class S:
        pass

    s = S()
    s.cfg, s.mailbox, s.tmp = cfg, mailbox, tmp_path
    s.sessions = open_database(db_url)
    s.archive = Archive(cfg.service.archive_dir)

    def poll(**kw):
        ing = Ingestor(cfg, s.sessions, s.archive, workers=kw.pop("workers", 1))
        try:
            with Mailbox(cfg.imap) as mb:
                return ing.poll(mb)
        finally:
            ing.close()

    s.poll = poll
    yield s
    s.sessions.kw["bind"].dispose()


def folder_uids(mailbox, folder: str) -> list[int]:
    with mailbox.connect() as c:
        if not c.folder_exists(folder):
            return []
        c.select_folder(folder, readonly=True)
        return c.search("ALL")


def test_report_is_archived_stored_and_moved(setup):
    raw = simple_report()
    setup.mailbox.append(raw, at(8, 5, 12))
    report = setup.poll()
    assert [s.unit_code for s in report.stored] == ["BHXH"]
    with setup.sessions() as s:
        msg = s.scalars(select(Message)).one()
        assert msg.kind == "report" and msg.readable
        assert msg.received_at == at(8, 5, 12)
        assert msg.report_day == dt.date(2021, 8, 11)
        assert {(f.indicator, f.measure): int(f.value) for f in msg.figures} == {
            ("dao_tao", "de_nghi"): 46,
            ("dao_tao", "phe_duyet"): 33,
            ("dao_tao", "kinh_phi"): 49_500_000,
        }
        [att] = msg.attachments
        assert (att.filename, att.detected_format, att.outcome) == ("bao-cao.xlsx", "xlsx", "read")
        assert setup.archive.load(msg.archive_path) == raw
    assert folder_uids(setup.mailbox, "INBOX") == []
    assert len(folder_uids(setup.mailbox, PROCESSED)) == 1


def test_unknown_sender_stays_flagged_in_inbox_and_is_not_reread(setup):
    setup.mailbox.append(simple_report(sender="ldtbxh.chodon@backan.gov.vn"), at(13, 45))
    first = setup.poll()
    assert [(s.kind, s.unit_code) for s in first.stored] == [("unassigned", None)]
    with setup.mailbox.connect() as c:
        c.select_folder("INBOX", readonly=True)
        [uid] = c.search("ALL")
        assert b"\\Flagged" in c.get_flags([uid])[uid]
    second = setup.poll()
    assert second.stored == [] and second.duplicates == 0


def test_automatic_mail_is_recorded_but_never_a_report(setup):
    setup.mailbox.append(
        email_bytes(
            sender="nongthuong@example.gov.vn",
            subject="Trả lời tự động: Báo cáo",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        at(11, 35),
    )
    dsn = (
        b"From: Mail Delivery System <MAILER-DAEMON@mail.example.gov.vn>\r\nSubject: Undelivered\r\n"
        b"Message-ID: <dsn1@mail.example.gov.vn>\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nMailbox full\r\n--b--\r\n"
    )
    setup.mailbox.append(dsn, at(11, 36))
    setup.mailbox.append(
        email_bytes(sender="bhxh.tp@example.gov.vn", subject="Tin", headers={"Precedence": "bulk"}), at(11, 37)
    )
    report = setup.poll()
    assert [s.kind for s in report.stored] == ["automatic"] * 3


def test_same_message_twice_is_stored_once(setup):
    raw = simple_report()
    setup.mailbox.append(raw, at(8, 10, 5))
    setup.mailbox.append(raw, at(8, 10, 41))
    # Same Message-ID, different bytes (e.g. a second delivery with another header).
    resent = raw.replace(b"Subject:", b"X-Resent: yes\r\nSubject:", 1)
    setup.mailbox.append(resent, at(8, 11))
    report = setup.poll()
    assert len(report.stored) == 1 and report.duplicates == 2
    with setup.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1
    assert len(folder_uids(setup.mailbox, PROCESSED)) == 3


# -- the same message, and different messages sharing a Message-ID -------------------------

SHARED_MID = "<report@localhost>"  # a mail tool that gives every message this Message-ID


def sharing_one_message_id() -> list[bytes]:
    """Four different messages under one Message-ID: each is a report to keep."""
    return [
        simple_report(message_id=SHARED_MID),
        simple_report(sender="yte.tp@example.gov.vn", message_id=SHARED_MID),  # another unit
        simple_report(de_nghi=47, message_id=SHARED_MID),  # the same unit, other figures
        email_bytes(message_id=SHARED_MID, body="Xin gửi lại báo cáo."),
    ]  # the same unit, no file


def delivered_again(raw: bytes) -> bytes:
    """The same mail as a second delivery writes it: other transport fields on top."""
    return (
        b"Delivered-To: baocao@example.gov.vn\r\nReceived: from mx2.example.gov.vn by "
        b"mail.example.gov.vn; Wed, 11 Aug 2021 08:01:02 +0700\r\nX-Spam-Score: 0.1\r\n"
    ) + raw


def shared_id_warnings(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.levelname == "WARNING" and SHARED_MID.strip("<>") in r.getMessage()
    ]


def stored_units(sessions) -> list[tuple[str | None, str | None]]:
    with sessions() as s:
        return sorted((m.unit_code, m.message_id) for m in s.scalars(select(Message)))


def test_messages_sharing_a_message_id_are_all_stored(setup, caplog):
    caplog.set_level("INFO")
    different = sharing_one_message_id()
    for i, raw in enumerate(different):
        setup.mailbox.append(raw, at(8, i))
    setup.mailbox.append(different[0], at(9, 0))  # re-appended: the same bytes
    setup.mailbox.append(delivered_again(different[1]), at(9, 1))  # delivered twice
    report = setup.poll()
    assert [s.unit_code for s in report.stored] == ["BHXH", "YTE", "BHXH", "BHXH"]
    assert report.duplicates == 2
    assert stored_units(setup.sessions) == sorted(
        [("BHXH", SHARED_MID.strip("<>"))] * 3 + [("YTE", SHARED_MID.strip("<>"))]
    )
    assert len(shared_id_warnings(caplog)) == 1
    assert len(folder_uids(setup.mailbox, PROCESSED)) == 6
    assert setup.poll().stored == []


def test_import_keeps_messages_sharing_a_message_id(setup, caplog):
    caplog.set_level("INFO")
    ing = Ingestor(setup.cfg, setup.sessions, setup.archive, workers=1)
    different = sharing_one_message_id()
    results = [ing.import_raw(raw, at(8, i)) for i, raw in enumerate(different)]
    again = [ing.import_raw(different[0], at(9, 0)), ing.import_raw(delivered_again(different[1]), at(9, 1))]
    ing.close()
    assert [r.duplicate for r in results] == [False] * 4
    assert [(r.duplicate, r.message_pk) for r in again] == [
        (True, results[0].message_pk),
        (True, results[1].message_pk),
    ]
    assert len(stored_units(setup.sessions)) == 4
    assert len(shared_id_warnings(caplog)) == 1


def test_reprocess_fills_the_content_hash_of_rows_stored_before_it(setup):
    from sqlalchemy import update

    from service.ingest.reprocess import reprocess

    ing = Ingestor(setup.cfg, setup.sessions, setup.archive, workers=1)
    different = sharing_one_message_id()[:2]
    for i, raw in enumerate(different):
        ing.import_raw(raw, at(8, i))
    with setup.sessions() as s:  # as the migration leaves rows stored by an older version
        s.execute(update(Message).values(content_sha256=None, identity_sha256=None))
        s.commit()
    reprocess(ing)
    assert ing.import_raw(delivered_again(different[0]), at(9, 0)).duplicate
    assert not ing.import_raw(
        simple_report(sender="yte.tp@example.gov.vn", de_nghi=1, message_id=SHARED_MID), at(9, 1)
    ).duplicate
    ing.close()
    assert [u for u, _ in stored_units(setup.sessions)] == ["BHXH", "YTE", "YTE"]


def test_nothing_new_downloads_nothing(setup, monkeypatch):
    setup.mailbox.append(simple_report(), at(9, 0))
    setup.poll()
    fetched = []
    original = Mailbox._fetch_batch
    monkeypatch.setattr(Mailbox, "_fetch_batch", lambda self, uids: fetched.append(uids) or original(self, uids))
    assert setup.poll().stored == []
    assert fetched == []
    # the spy is on the path downloads take: a new message goes through it
    setup.mailbox.append(simple_report(sender="yte.tp@example.gov.vn"), at(9, 1))
    assert len(setup.poll().stored) == 1 and len(fetched) == 1


def test_uidvalidity_change_rescans_without_doubling(setup, tmp_path):
    cfg_path = write_config(
        tmp_path / "c2.toml",
        imap={
            "host": "127.0.0.1",
            "port": setup.mailbox.port,
            "security": "none",
            "username": setup.mailbox.user,
            "password_env": "TEST_IMAP_PW",
            "folder": "Báo cáo",
        },
        smtp=None,
        database_url=str(setup.sessions.kw["bind"].url.render_as_string(hide_password=False)),
        archive_dir=tmp_path / "archive",
    )
    cfg = load_config(cfg_path, env={"TEST_IMAP_PW": setup.mailbox.password})
    a, b = simple_report(), simple_report(sender="yte.tp@example.gov.vn")
    setup.mailbox.append(a, at(8, 0), folder="Báo cáo")

    def poll():
        ing = Ingestor(cfg, setup.sessions, Archive(cfg.service.archive_dir), workers=1)
        with Mailbox(cfg.imap) as mb:
            return ing.poll(mb)

    assert len(poll().stored) == 1
    with setup.mailbox.connect() as c:  # the folder is recreated: new UIDVALIDITY
        c.delete_folder("Báo cáo")
    setup.mailbox.append(a, at(8, 0), folder="Báo cáo")
    setup.mailbox.append(delivered_again(a), at(8, 1), folder="Báo cáo")
    setup.mailbox.append(b, at(9, 0), folder="Báo cáo")
    # Another unit's message that happens to carry the same Message-ID is a new one.
    c = simple_report(sender="yte.tp@example.gov.vn", de_nghi=7, message_id=parse_message(a).message_id)
    setup.mailbox.append(c, at(9, 1), folder="Báo cáo")
    again = poll()
    assert [s.unit_code for s in again.stored] == ["YTE", "YTE"] and again.duplicates == 2
    with setup.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 3


def test_move_falls_back_to_copy_delete_expunge(setup, monkeypatch):
    setup.mailbox.append(simple_report(), at(9, 0))
    setup.mailbox.append(simple_report(sender="yte.tp@example.gov.vn"), at(9, 1))
    original_connect = Mailbox.connect

    def connect_without_move(self):
        original_connect(self)
        self._capabilities.discard(b"MOVE")

    monkeypatch.setattr(Mailbox, "connect", connect_without_move)
    setup.poll()
    assert folder_uids(setup.mailbox, "INBOX") == []
    assert len(folder_uids(setup.mailbox, PROCESSED)) == 2


def test_moving_and_flagging_messages_another_session_moved_meanwhile(setup):
    """Two instances polling one folder may both move a message: the second session's MOVE
    (and STORE) then meets `[EXPUNGEISSUED]`; it moves what is left instead of failing."""
    for i in range(3):
        setup.mailbox.append(simple_report(de_nghi=i), at(9, i))
    with Mailbox(setup.cfg.imap) as first, Mailbox(setup.cfg.imap) as second:
        for mb in (first, second):
            mb.select("INBOX")
            mb.ensure_folder(PROCESSED)
        uids = second.uids_after(0)
        first.move(uids[:2], PROCESSED)
        second.move(uids, PROCESSED)  # two of them are gone under this session
        second.flag(uids)
    assert folder_uids(setup.mailbox, "INBOX") == []
    assert len(folder_uids(setup.mailbox, PROCESSED)) == 3


def test_parallel_batch_gives_the_same_result(setup):
    for i in range(10):
        setup.mailbox.append(simple_report(de_nghi=100 + i), at(8, i))
    report = setup.poll(workers=2)
    assert len(report.stored) == 10
    with setup.sessions() as s:
        got = sorted(int(f.value) for m in s.scalars(select(Message)) for f in m.figures if f.measure == "de_nghi")
    assert got == list(range(100, 110))


def test_shared_sender_resolved_from_unit_line(setup):
    book = report_workbook(
        {"Hỗ trợ hộ kinh doanh": {"Số đối tượng đề nghị hỗ trợ": 5}}, unit_line="UBND xã Nông Thượng"
    )
    setup.mailbox.append(
        email_bytes(
            sender="vanphong.hai.xa@example.gov.vn", subject="Gửi báo cáo", attachments=[("baocao.xlsx", XLSX, book)]
        ),
        at(10, 0),
    )
    setup.mailbox.append(
        email_bytes(
            sender="vanphong.hai.xa@example.gov.vn",
            subject="Gửi báo cáo",
            attachments=[
                ("baocao.xlsx", XLSX, report_workbook({"Hỗ trợ hộ kinh doanh": {"Số đối tượng đề nghị hỗ trợ": 7}}))
            ],
        ),
        at(10, 5),
    )
    report = setup.poll()
    assert [(s.kind, s.unit_code) for s in report.stored] == [("report", "NONG_THUONG"), ("unassigned", None)]


# -- connection security and errors ------------------------------------------------------


def imap_cfg(setup, **over):
    from dataclasses import replace

    return replace(setup.cfg.imap, **over)


def test_tls_with_trusted_certificate(setup):
    mb = setup.mailbox
    for security, port in (("ssl", mb.ssl_port), ("starttls", mb.port)):
        with Mailbox(imap_cfg(setup, security=security, port=port, ca_file=mb.cert_path)) as box:
            assert box.select("INBOX") > 0


def test_untrusted_certificate_is_refused(setup):
    with pytest.raises(MailboxError, match="certificate .* could not be verified"):
        Mailbox(imap_cfg(setup, security="ssl", port=setup.mailbox.ssl_port, ca_file=None)).connect()


def test_wrong_password_is_one_sentence(setup):
    from service.config import Secret

    with pytest.raises(MailboxError, match=r"refused the login for .*wrong user name or password"):
        Mailbox(imap_cfg(setup, password=Secret("nope", "test"))).connect()


def test_missing_folder_is_named(setup):
    with Mailbox(setup.cfg.imap) as box, pytest.raises(MailboxError, match="'Không có' does not exist"):
        box.select("Không có")


def test_unreachable_host_is_named(setup):
    from service.demo.localmail import free_port

    with pytest.raises(MailboxError, match=r"cannot reach the IMAP server 127\.0\.0\.1:\d+"):
        Mailbox(imap_cfg(setup, port=free_port())).connect()


def test_archive_holds_every_message_byte_for_byte(setup):
    raws = [simple_report(de_nghi=i) for i in range(3)]
    for i, raw in enumerate(raws):
        setup.mailbox.append(raw, at(8, i))
    setup.poll()
    names = {p.name for p in Path(setup.cfg.service.archive_dir).rglob("*.eml")}
    assert names == {f"{content_hash(r)}.eml" for r in raws}


# -- two instances polling one mailbox into one PostgreSQL database ------------------------


def test_two_pollers_racing_on_postgresql_store_each_message_once(dovecot, pg_url, tmp_path, caplog):
    """Both start their first poll on a new account at the same moment, so both create the
    folder's state and store the same new messages at once: an expected race, never an error."""
    import secrets
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from storage.models import MailboxMessage

    caplog.set_level("INFO")
    sessions = open_database(pg_url)
    archive = Archive(tmp_path / "archive")
    sent: list[bytes] = []
    for trial in range(6):
        user, password = f"race{trial}{secrets.token_hex(4)}", secrets.token_urlsafe(12)
        dovecot.add_user(user, password)
        raws = [
            simple_report(sender=("bhxh.tp@example.gov.vn", "yte.tp@example.gov.vn")[i % 2], de_nghi=i)
            for i in range(12)
        ]
        dovecot.append_many(user, "INBOX", [(r, at(8, i)) for i, r in enumerate(raws)])
        sent += raws
        cfg = load_config(
            write_config(
                tmp_path / f"config{trial}.toml",
                imap={
                    "host": "127.0.0.1",
                    "port": dovecot.port,
                    "security": "none",
                    "username": user,
                    "password_env": "TEST_IMAP_PW",
                    "folder": "INBOX",
                    "processed_folder": PROCESSED,
                },
                smtp=None,
                database_url=pg_url,
                archive_dir=tmp_path / "archive",
            ),
            env={"TEST_IMAP_PW": password},
        )
        start = threading.Barrier(2)

        def poll():
            ing = Ingestor(cfg, sessions, archive, workers=1)  # noqa: B023
            try:
                with Mailbox(cfg.imap) as mb:  # noqa: B023 (run within this iteration)
                    start.wait(timeout=30)  # noqa: B023
                    return ing.poll(mb)
            finally:
                ing.close()

        with ThreadPoolExecutor(2) as pool:
            reports = [f.result() for f in [pool.submit(poll) for _ in range(2)]]
        assert sum(len(r.stored) for r in reports) == len(raws)
        with sessions() as s:
            account = reports[0].account
            uids = s.scalars(select(MailboxMessage.uid).where(MailboxMessage.account == account)).all()
            assert sorted(uids) == sorted(set(uids)) and len(uids) == len(raws)
    with sessions() as s:
        assert sorted(s.scalars(select(Message.sha256))) == sorted(content_hash(r) for r in sent)
    assert [r for r in caplog.records if r.levelno >= 40 or r.exc_info] == []
    sessions.kw["bind"].dispose()


# -- recognition after the poll -----------------------------------------------------------


class SlowRecognition(ThreadPoolExecutor):
    """Stands in for the recognition pool (the real reading, in a thread): each reading is
    held until the test lets it go, as a 60-second scan would hold it."""

    def __init__(self) -> None:
        super().__init__(1)
        self.started, self.release = threading.Event(), threading.Event()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        def held():
            self.started.set()
            assert self.release.wait(60)
            return fn(*args, **kwargs)

        return super().submit(held)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(buf, "PNG")
    return buf.getvalue()


def book_and_photo() -> bytes:
    """A unit's report: its workbook and a photo of the signed paper (still to be recognised)."""
    book = report_workbook({"Hỗ trợ đào tạo": {"Số đối tượng đề nghị hỗ trợ": 12}})
    return email_bytes(
        sender="yte.tp@example.gov.vn",
        attachments=[("bao-cao.xlsx", XLSX, book), ("anh-ban-ky.png", "image/png", _png())],
    )


def reading_of(setup, subject_sender: str):
    with setup.sessions() as s:
        msg = s.scalars(select(Message).where(Message.from_address == subject_sender)).one()
        return (
            msg.recognition_pending,
            [(a.filename, a.outcome) for a in msg.attachments],
            {(f.indicator, f.measure): int(f.value) for f in msg.figures},
            [(p.code, p.params.get("file")) for p in msg.problems],
        )


def slow_daemon(setup) -> tuple[Daemon, SlowRecognition]:
    daemon = Daemon(setup.cfg, setup.sessions, setup.archive)
    slow = SlowRecognition()
    daemon.ingestor.analyser._scan_pool = slow  # type: ignore[assignment]
    return daemon, slow


def test_a_slow_scan_holds_neither_the_poll_nor_the_other_messages(setup):
    setup.mailbox.append(simple_report(), at(8, 0))
    setup.mailbox.append(book_and_photo(), at(8, 1))
    daemon, slow = slow_daemon(setup)
    try:
        daemon.poll()  # the daemon's poll: stores, does not recognise
        # the photo's message is stored with what its workbook gave, and says the photo is being read
        pending, files, figures, problems = reading_of(setup, "yte.tp@example.gov.vn")
        assert pending and files == [("bao-cao.xlsx", "read"), ("anh-ban-ky.png", "pending")]
        assert figures == {("dao_tao", "de_nghi"): 12}
        assert ("recognition_pending", "anh-ban-ky.png") in problems
        # the other report is moved; the photo's message stays until it is read
        assert len(folder_uids(setup.mailbox, PROCESSED)) == 1 and len(folder_uids(setup.mailbox, "INBOX")) == 1

        recognising = threading.Thread(target=daemon.recognise)
        recognising.start()
        assert slow.started.wait(60)
        # while the scan is being read, a poll stores what came meanwhile
        setup.mailbox.append(simple_report(de_nghi=7), at(8, 2))
        daemon.poll()
        assert len(folder_uids(setup.mailbox, PROCESSED)) == 2
        assert reading_of(setup, "yte.tp@example.gov.vn")[0]

        slow.release.set()
        recognising.join()
        pending, files, figures, problems = reading_of(setup, "yte.tp@example.gov.vn")
        assert not pending and files[0] == ("bao-cao.xlsx", "read") and files[1][1] != "pending"
        assert figures == {("dao_tao", "de_nghi"): 12}
        assert "recognition_pending" not in [code for code, _ in problems]
        daemon.poll()  # the next poll moves it
        assert folder_uids(setup.mailbox, "INBOX") == [] and len(folder_uids(setup.mailbox, PROCESSED)) == 3
    finally:
        slow.release.set()
        daemon.close()


def test_a_restart_finishes_a_recognition_left_unfinished_once(setup):
    setup.mailbox.append(book_and_photo(), at(8, 1))
    first, slow = slow_daemon(setup)
    finished_by_first: list[int] = []
    recognising = threading.Thread(target=lambda: finished_by_first.append(first.recognise()))
    try:
        first.poll()
        recognising.start()
        assert slow.started.wait(60)
        # the first instance stops answering mid-recognition (killed); the next start reads it
        second = Daemon(setup.cfg, setup.sessions, setup.archive)
        try:
            assert second.recognise() == 1
            done = reading_of(setup, "yte.tp@example.gov.vn")
            assert not done[0] and done[2] == {("dao_tao", "de_nghi"): 12}
            second.poll()
            assert folder_uids(setup.mailbox, "INBOX") == []
        finally:
            second.close()
        # the first one's reading, arriving late, replaces nothing: no double
        slow.release.set()
        recognising.join()
        assert finished_by_first == [0] and reading_of(setup, "yte.tp@example.gov.vn") == done
    finally:
        slow.release.set()
        first.close()
