"""Faults against the real servers, each followed by the invariants: no message lost, none
stored twice, every one archived, the digest sent once, one clear log line, and recovery by
the next cycle. A fake stands in only where a real server cannot fail on demand (NO/BAD)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import os
import signal
import socket
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select

from service.config import Config, load_config
from service.demo.localmail import LocalDovecot, dovecot_unavailable_reason
from service.errors import MailboxError
from service.ingest.archive import Archive, content_hash
from service.ingest.pipeline import Ingestor
from service.mail.mailbox import Mailbox
from service.schedule.daemon import Daemon
from storage.db import open_database
from storage.models import Digest, MailboxState, Message
from tests.conftest import _unavailable
from tests.integration.test_cli import assert_one_sentence, baocao
from tests.mailbuilders import email_bytes, simple_report, write_config

TZ7 = dt.timezone(dt.timedelta(hours=7))
DAY = dt.date(2021, 8, 11)
PROCESSED = "Đã xử lý"
COORDINATOR = "dieuphoi.ldtbxh@example.gov.vn"
KNOWN = ["bhxh.tp@example.gov.vn", "yte.tp@example.gov.vn", "songcau@example.gov.vn"]
UNKNOWN = "nguoi.la@else.where"


def at(hh: int, mm: int, ss: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm, ss), tzinfo=TZ7)


def reports(n: int, *, first: int = 0, unknown_every: int = 5) -> list[bytes]:
    """n distinct report emails; every `unknown_every`-th comes from an unknown sender."""
    return [
        simple_report(sender=UNKNOWN if i % unknown_every == unknown_every - 1 else KNOWN[i % 3], de_nghi=i)
        for i in range(first, first + n)
    ]


def is_unknown(raw: bytes) -> bool:
    return f"From: {UNKNOWN}".encode() in raw


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Rig:
    """One account, one config, one database and archive; the servers are real."""

    cfg: Config
    path: Path
    env: dict[str, str]
    server: LocalDovecot
    user: str
    db_url: str
    folder: str = "INBOX"
    appended: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sessions = open_database(self.db_url)
        self.archive = Archive(self.cfg.service.archive_dir)

    def append(self, raws: list[bytes], when: dt.datetime = at(9, 0)) -> None:  # noqa: B008 (a fixed time)
        self.server.append_many(self.user, self.folder, [(r, when) for r in raws])
        self.appended += raws

    def daemon(self, clock=None) -> Daemon:
        return Daemon(self.cfg, self.sessions, self.archive, clock=clock or Clock(at(10, 0)))

    def ingestor(self) -> Ingestor:
        return Ingestor(self.cfg, self.sessions, self.archive, clock=lambda: at(10, 0), workers=1)

    def mailbox(self) -> Mailbox:
        return Mailbox(self.cfg.imap)

    def stored_shas(self) -> list[str]:
        with self.sessions() as s:
            return list(s.scalars(select(Message.sha256)))

    def folder_message_ids(self, folder: str) -> list[str]:
        """The Message-ID of every message in `folder` on the server (copies counted)."""
        with self.server.connect(self.user) as c:
            if not c.folder_exists(folder):
                return []
            c.select_folder(folder, readonly=True)
            uids = c.search("ALL")
            data = c.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        return [email.message_from_bytes(v[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"])["Message-ID"] for v in data.values()]

    def assert_nothing_stored_twice(self) -> None:
        shas = self.stored_shas()
        assert len(shas) == len(set(shas))
        assert set(shas) <= {content_hash(r) for r in self.appended}

    def assert_all_archived(self) -> None:
        with self.sessions() as s:
            rows = s.execute(select(Message.sha256, Message.archive_path)).all()
        for sha, rel in rows:
            assert content_hash(self.archive.load(rel)) == sha
        assert not list(self.archive.root.rglob("*.tmp")), "a half-written archive file was left"

    def assert_invariants(self, *, left: int | None = None, moved: int | None = None) -> None:
        """Every appended message stored exactly once and archived; only unknown senders left
        in the folder; every other one moved exactly once (`left` and `moved` when the test
        put copies on the server on purpose)."""
        shas = self.stored_shas()
        assert sorted(shas) == sorted({content_hash(r) for r in self.appended})
        self.assert_all_archived()
        unknown = len([r for r in self.appended if is_unknown(r)])
        in_folder = self.folder_message_ids(self.folder)
        assert len(in_folder) == (unknown if left is None else left)
        in_processed = self.folder_message_ids(PROCESSED)
        assert len(in_processed) == (len(self.appended) - unknown if moved is None else moved)
        if left is None and moved is None:
            assert len(set(in_folder + in_processed)) == len(set(self.appended))

    def close(self) -> None:
        self.sessions.kw["bind"].dispose()


def make_rig(
    tmp_path: Path,
    server: LocalDovecot,
    user: str,
    password: str,
    *,
    db_url: str | None = None,
    archive_dir: Path | None = None,
    folder: str = "INBOX",
    smtp_port: int = 2525,
) -> Rig:
    db_url = db_url or f"sqlite:///{tmp_path / 'baocao.sqlite3'}"
    env = {"T_IMAP_PW": password}
    path = write_config(
        tmp_path / "config.toml",
        imap={
            "host": "127.0.0.1",
            "port": server.port,
            "security": "none",
            "username": user,
            "password_env": "T_IMAP_PW",
            "folder": folder,
            "processed_folder": PROCESSED,
            "timeout_seconds": 10,
        },
        smtp={
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "none",
            "from_address": "baocao.ldtbxh@example.gov.vn",
        },
        database_url=db_url,
        archive_dir=archive_dir or tmp_path / "archive",
    )
    return Rig(load_config(path, env=env), path, env, server, user, db_url, folder)


@pytest.fixture
def rig(tmp_path, mailbox):
    r = make_rig(tmp_path, mailbox.server, mailbox.user, mailbox.password)
    yield r
    r.close()


def poll_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("poll failed")]


def assert_one_clear_line(caplog, *needles: str) -> str:
    """Exactly one 'poll failed' line, one sentence without a traceback, naming `needles`."""
    [record] = poll_errors(caplog)
    text = record.getMessage()
    assert record.levelno == logging.ERROR and record.exc_info is None, text
    assert "\n" not in text and "Traceback" not in text, text
    for needle in needles:
        assert needle in text, text
    return text


# -- the IMAP server ---------------------------------------------------------------------


def stop_dovecot(server: LocalDovecot) -> None:
    """Stop the server with the sessions it serves: LocalDovecot.shutdown() ends the master,
    but its imap processes would go on serving the connections already open."""
    assert server._proc is not None
    session = server._proc.pid  # the master leads its own session and process group
    server.shutdown()
    try:
        os.killpg(session, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def private_dovecot():
    """A Dovecot of its own: these tests stop and restart it."""
    reason = dovecot_unavailable_reason()
    if reason:
        _unavailable(reason)
    server = LocalDovecot().start({"baocao": "imap-pass-1"})
    yield server
    server.stop()


def test_imap_server_stopped_in_the_middle_of_a_fetch_then_restarted(tmp_path, private_dovecot, monkeypatch, caplog):
    server = private_dovecot
    rig = make_rig(tmp_path, server, "baocao", "imap-pass-1")
    rig.append(reports(250))  # three fetch batches of 100
    original = Mailbox._fetch_batch
    batches = []

    def stop_server_before_the_second_batch(self, uids):
        batches.append(len(uids))
        if len(batches) == 2:
            stop_dovecot(server)  # the server goes away with the download half done
        return original(self, uids)

    monkeypatch.setattr(Mailbox, "_fetch_batch", stop_server_before_the_second_batch)
    daemon = rig.daemon()
    try:
        with caplog.at_level(logging.INFO):
            daemon.poll()
        assert_one_clear_line(caplog, "127.0.0.1")
        assert rig.stored_shas() == []  # the first batch was archived, not yet committed
        rig.assert_nothing_stored_twice()
        server.restart()
        monkeypatch.setattr(Mailbox, "_fetch_batch", original)
        daemon.poll()  # the next cycle
        rig.assert_invariants()
    finally:
        if not server.running:
            server.restart()
        daemon.close()
        rig.close()


def test_connection_dropped_in_the_middle_of_a_poll(rig, monkeypatch, caplog):
    rig.append(reports(250))
    original = Mailbox._fetch_batch
    batches = []

    def drop_connection_at_the_third_batch(self, uids):
        batches.append(len(uids))
        if len(batches) == 3:
            self.client.socket().shutdown(socket.SHUT_RDWR)  # as a NAT or firewall would
        return original(self, uids)

    monkeypatch.setattr(Mailbox, "_fetch_batch", drop_connection_at_the_third_batch)
    daemon = rig.daemon()
    try:
        with caplog.at_level(logging.INFO):
            daemon.poll()
        assert_one_clear_line(caplog, "the connection to 127.0.0.1 was lost")
        assert len(rig.stored_shas()) == 200  # the first pass of 200 UIDs committed, then the drop
        rig.assert_nothing_stored_twice()
        monkeypatch.setattr(Mailbox, "_fetch_batch", original)
        daemon.poll()
        rig.assert_invariants()
    finally:
        daemon.close()


def test_connection_dropped_between_polls_reconnects_in_the_same_cycle(rig, caplog):
    rig.append(reports(3))
    daemon = rig.daemon()
    try:
        daemon.poll()
        daemon._mailbox.client.socket().shutdown(socket.SHUT_RDWR)  # the kept connection dies idle
        rig.append(reports(4, first=3))
        with caplog.at_level(logging.INFO):
            daemon.poll()
        assert poll_errors(caplog) == []
        assert any("broke; reconnecting" in r.getMessage() for r in caplog.records)
        rig.assert_invariants()
    finally:
        daemon.close()


class AnswersNo:
    """The real logged-in IMAPClient, except that the chosen commands get a NO or BAD."""

    def __init__(self, real, **failures: str) -> None:
        self._real = real
        self.failures = failures

    def __getattr__(self, name):
        return getattr(self._real, name)

    def fetch(self, messages, data, *args, **kwargs):
        if "fetch" in self.failures and "BODY.PEEK[]" in data:  # whole messages, not heads
            raise IMAPClientError(self.failures["fetch"])
        return self._real.fetch(messages, data, *args, **kwargs)

    def move(self, messages, folder):
        if "move" in self.failures:
            raise IMAPClientError(self.failures["move"])
        return self._real.move(messages, folder)


NO_FETCH = "UID FETCH failed: [SERVERBUG] Internal error occurred. Refer to server log for more information."
BAD_FETCH = "UID command error: BAD [b'Error in IMAP command UID FETCH: Invalid messageset']"
NO_MOVE = "UID MOVE failed: [SERVERBUG] Internal error occurred. Refer to server log for more information."


@pytest.mark.parametrize("answer", [NO_FETCH, BAD_FETCH], ids=["NO", "BAD"])
def test_no_or_bad_answer_to_fetch(rig, answer):
    rig.append(reports(12))
    ingestor = rig.ingestor()
    with rig.mailbox() as mb:
        mb._client = AnswersNo(mb._client, fetch=answer)
        with pytest.raises(MailboxError) as failed:
            ingestor.poll(mb)
        text = str(failed.value)
        assert "\n" not in text and "127.0.0.1" in text and ("SERVERBUG" in text or "BAD" in text), text
        assert rig.stored_shas() == []
        mb._client = mb._client._real  # the server answers normally again
        report = ingestor.poll(mb)
    ingestor.close()
    assert len(report.stored) == 12
    rig.assert_invariants()


def test_no_answer_to_move_after_the_commit(rig):
    rig.append(reports(12))
    ingestor = rig.ingestor()
    with rig.mailbox() as mb:
        mb._client = AnswersNo(mb._client, move=NO_MOVE)
        with pytest.raises(MailboxError) as failed:
            ingestor.poll(mb)
        assert "'Đã xử lý'" in str(failed.value) and "SERVERBUG" in str(failed.value)
        assert len(rig.stored_shas()) == 12  # committed before the move was tried
        assert len(rig.folder_message_ids("INBOX")) == 12 and rig.folder_message_ids(PROCESSED) == []
        mb._client = mb._client._real
        report = ingestor.poll(mb)
    ingestor.close()
    assert report.stored == [] and report.actions_retried == 12  # the moves, not the messages, redone
    rig.assert_invariants()


# -- folders -------------------------------------------------------------------------------


def test_processed_folder_deleted_between_polls_is_created_again(rig, caplog):
    rig.append(reports(5))
    daemon = rig.daemon()
    try:
        daemon.poll()
        with rig.server.connect(rig.user) as c:
            c.delete_folder(PROCESSED)  # a person tidies the mailbox up
        rig.append(reports(5, first=5))
        with caplog.at_level(logging.INFO):
            daemon.poll()  # over the kept connection, which believes the folder exists
        assert poll_errors(caplog) == []
        assert any("is gone" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
        assert len(rig.stored_shas()) == 10
        # The first five went with the deleted folder; the new ones are in the new folder.
        assert len(rig.folder_message_ids(PROCESSED)) == 4
        rig.assert_nothing_stored_twice()
        rig.assert_all_archived()
        assert len(rig.folder_message_ids("INBOX")) == 2  # the unknown senders, flagged
    finally:
        daemon.close()


@pytest.mark.parametrize("kept_connection", [False, True], ids=["new-connection", "kept-connection"])
def test_uidvalidity_reset_recognises_what_was_stored(tmp_path, mailbox, caplog, kept_connection):
    folder = "Báo cáo"
    rig = make_rig(tmp_path, mailbox.server, mailbox.user, mailbox.password, folder=folder)
    first = reports(10)
    rig.append(first)
    daemon = rig.daemon()
    try:
        daemon.poll()
        with rig.sessions() as s:
            before = s.scalar(select(MailboxState.uidvalidity))
        if not kept_connection:
            daemon._drop_connection()
        # The mailbox is rebuilt (restored from a backup, moved to a new server): the folder
        # is deleted and made again with the same messages and some new ones.
        with rig.server.connect(rig.user) as c:
            c.delete_folder(folder)
        rig.server.append_many(rig.user, folder, [(r, at(9, 0)) for r in first])
        rig.append(reports(5, first=10))
        with caplog.at_level(logging.INFO):
            daemon.poll()
        with rig.sessions() as s:
            assert s.scalar(select(MailboxState.uidvalidity)) != before
        assert poll_errors(caplog) == []
        assert any("UIDVALIDITY" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
        # The old copies are recognised (not stored again) and moved like any duplicate;
        # PROCESSED holds the 8 reports moved by the first poll, then the 10 copies, then 4 new.
        rig.assert_invariants(left=1, moved=8 + 10 + 4)  # only the new unknown sender stays
    finally:
        daemon.close()
        rig.close()


# -- the archive ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs for the archive (needs the right to mount: skipped where there is none,
    a failure under CI=true, which runs as root)."""
    where = tmp_path / "small-disk"
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        _unavailable(
            f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}): "
            "the disk-full test needs root and the right to mount"
        )
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def big_reports(n: int) -> list[bytes]:
    """Reports with a 50 kB scanned page each (70 kB in base64): fifteen fill a 1 MB disk."""
    from tests.mailbuilders import XLSX, report_workbook

    out = []
    for i in range(n):
        book = report_workbook({"Hỗ trợ đào tạo": {"Số đối tượng đề nghị hỗ trợ": i}})
        out.append(
            email_bytes(
                sender=KNOWN[i % 3],
                attachments=[("bao-cao.xlsx", XLSX, book), ("scan.pdf", "application/pdf", os.urandom(50_000))],
            )
        )
    return out


def test_disk_full_fails_the_poll_in_one_sentence_and_the_next_poll_stores_everything(
    tmp_path, mailbox, small_disk, monkeypatch, caplog
):
    monkeypatch.setattr("service.mail.mailbox.FETCH_BATCH_COUNT", 4)  # several batches before the disk fills
    rig = make_rig(tmp_path, mailbox.server, mailbox.user, mailbox.password, archive_dir=small_disk)
    rig.append(big_reports(20))
    daemon = rig.daemon()
    try:
        with caplog.at_level(logging.INFO):
            daemon.poll()
        assert_one_clear_line(caplog, f"cannot archive a message in {small_disk}: the disk is full")
        stored = rig.stored_shas()
        assert 0 < len(stored) < 20  # batches of 4: some committed before the disk filled
        rig.assert_nothing_stored_twice()
        rig.assert_all_archived()  # nothing stored that is not archived, no half-written file
        assert len(rig.folder_message_ids("INBOX")) == 20 - len(stored)
        subprocess.run(["mount", "-o", "remount,size=10m", str(small_disk)], check=True)  # space freed
        caplog.clear()
        with caplog.at_level(logging.INFO):
            daemon.poll()
        assert poll_errors(caplog) == []
        rig.assert_invariants()
    finally:
        daemon.close()
        rig.close()


def test_read_only_archive_fails_the_poll_command_in_one_sentence(tmp_path, mailbox, small_disk):
    rig = make_rig(tmp_path, mailbox.server, mailbox.user, mailbox.password, archive_dir=small_disk)
    rig.append(reports(3))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    r = baocao("--config", str(rig.path), "poll", env=rig.env)
    assert_one_sentence(r, 1, rf"archive folder {small_disk} cannot be written: Read-only file system")
    assert rig.stored_shas() == []
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    r = baocao("--config", str(rig.path), "poll", env=rig.env)
    assert r.returncode == 0, r.stderr
    rig.assert_invariants()
    rig.close()


# -- the database --------------------------------------------------------------------------


def test_database_locked_by_another_writer(tmp_path, mailbox, caplog):
    db_file = tmp_path / "baocao.sqlite3"
    rig = make_rig(tmp_path, mailbox.server, mailbox.user, mailbox.password, db_url=f"sqlite:///{db_file}?timeout=0.2")
    rig.append(reports(6))
    daemon = rig.daemon()
    daemon.poll()  # a first poll records the mailbox state
    rig.append(reports(6, first=6))
    other = sqlite3.connect(db_file, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")  # e.g. a person's sqlite3 shell left in a transaction
        with caplog.at_level(logging.INFO):
            daemon.poll()
        assert_one_clear_line(caplog, "the database is locked by another program")
        other.execute("ROLLBACK")
        assert len(rig.stored_shas()) == 6
        assert len(rig.folder_message_ids("INBOX")) == 6 + 1  # the new six wait, with the first unknown
        caplog.clear()
        with caplog.at_level(logging.INFO):
            daemon.poll()
        assert poll_errors(caplog) == []
        rig.assert_invariants()
    finally:
        other.close()
        daemon.close()
        rig.close()


# -- SMTP ----------------------------------------------------------------------------------


def test_smtp_down_at_digest_time_and_back_an_hour_later(tmp_path, mailbox, smtp, caplog):
    rig = make_rig(tmp_path, mailbox.server, mailbox.user, mailbox.password, smtp_port=smtp.port)
    rig.append(reports(4), at(9, 0))
    clock = Clock(at(15, 0))
    daemon = rig.daemon(clock)
    smtp.fail = True
    try:
        with caplog.at_level(logging.INFO):
            daemon.scheduled_digest()
            for minute in range(1, 60):  # the retry job runs every minute while SMTP is down
                clock.now = at(15, minute)
                daemon.catch_up()
        failures = [r.getMessage() for r in caplog.records if "not sent (attempt" in r.getMessage()]
        # backoff 1, 2, 4, 8, 16, 30 minutes: attempts at 15:00, :01, :03, :07, :15, :31
        assert len(failures) == 6 and all("451" in f and "\n" not in f for f in failures), failures
        assert [m for m in smtp.messages if COORDINATOR in m.rcpt_tos] == []
        smtp.fail = False
        caplog.clear()
        with caplog.at_level(logging.INFO):
            for minute in range(0, 10):
                clock.now = at(16, minute)
                daemon.catch_up()
            daemon.digest(DAY)  # a restart, a manual run: still once
        [digest] = [m for m in smtp.messages if COORDINATOR in m.rcpt_tos]
        [sent] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("digest for 2021-08-11 sent")]
        assert sent.endswith("(late)")
        msg = email.message_from_bytes(digest.data, policy=email.policy.default)
        assert "16:01" in msg.get_body(("html",)).get_content()  # its real time, not 15:00
        with rig.sessions() as s:
            row = s.scalar(select(Digest))
            assert (row.state, row.sends, row.attempts) == ("sent", 1, 7)
    finally:
        daemon.close()
        rig.close()


def test_folder_recreated_with_fewer_messages_under_the_kept_connection(tmp_path, mailbox, caplog):
    """The quiet case: the new folder's UIDs are all below the last UID seen, so a search on
    the stale selection finds nothing new; the poll must still notice the new UIDVALIDITY."""
    folder = "Báo cáo"
    rig = make_rig(tmp_path, mailbox.server, mailbox.user, mailbox.password, folder=folder)
    rig.append(reports(10))
    daemon = rig.daemon()
    try:
        daemon.poll()
        with rig.server.connect(rig.user) as c:
            c.delete_folder(folder)
        rig.append(reports(3, first=10))  # UIDs 1..3 of the new folder
        with caplog.at_level(logging.INFO):
            daemon.poll()
        assert poll_errors(caplog) == []
        assert any("UIDVALIDITY" in r.getMessage() for r in caplog.records)
        rig.assert_invariants(left=0, moved=8 + 3)
    finally:
        daemon.close()
        rig.close()


# -- the first start -----------------------------------------------------------------------


def test_a_crash_during_the_first_migration_leaves_no_half_made_schema(tmp_path, monkeypatch):
    """Found by the crash trials: on SQLite each CREATE TABLE used to commit on its own, so a
    daemon killed during its first start left tables that every later start tried to create
    again ("table ... already exists") and it never started again."""
    from sqlalchemy import event, inspect

    import storage.db

    url = f"sqlite:///{tmp_path / 'baocao.sqlite3'}"
    make_engine = storage.db.create_db_engine

    def engine_that_dies_at_the_third_table(u):
        engine = make_engine(u)
        created = []

        @event.listens_for(engine, "before_cursor_execute")
        def die(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("CREATE TABLE"):
                created.append(statement)
                if len(created) == 3:
                    raise KeyboardInterrupt("killed")  # a crash: nothing after this runs

        return engine

    monkeypatch.setattr(storage.db, "create_db_engine", engine_that_dies_at_the_third_table)
    with pytest.raises(KeyboardInterrupt):
        storage.db.open_database(url)
    monkeypatch.undo()
    bare = storage.db.create_db_engine(url)
    assert inspect(bare).get_table_names() == []  # all or nothing
    bare.dispose()
    sessions = storage.db.open_database(url)  # the next start migrates from scratch
    assert "messages" in inspect(sessions.kw["bind"]).get_table_names()
    sessions.kw["bind"].dispose()


def test_killed_after_a_copy_was_recorded_before_the_message_ahead_of_it(tmp_path, mailbox):
    """Found by the crash trials: a copy of a stored message (UID 3) was recorded, and the
    last UID moved past it, in a commit before the new message ahead of it (UID 2) was
    stored; killed in between, every later poll started after UID 3 and never saw UID 2."""
    rig = make_rig(tmp_path, mailbox.server, mailbox.user, mailbox.password)
    first, second = reports(2)
    rig.append([first])
    assert baocao("--config", str(rig.path), "poll", env=rig.env).returncode == 0
    rig.append([second, first])  # UID 2 new, UID 3 the same report sent again
    r = baocao("--config", str(rig.path), "poll", env={**rig.env, "BAOCAO_FAILPOINT": "archived:1"})
    assert r.returncode == -signal.SIGKILL, r.stderr
    r = baocao("--config", str(rig.path), "poll", env=rig.env)
    assert r.returncode == 0, r.stderr
    assert "Stored 1 new message(s)" in r.stdout  # the copy was moved at the start, as recorded
    rig.assert_invariants()
    r = baocao("--config", str(rig.path), "poll", env=rig.env)
    assert "Stored 0 new message(s), 0 already known" in r.stdout  # the copy is not counted again
    rig.close()
