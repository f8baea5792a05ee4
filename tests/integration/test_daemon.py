"""`baocao run` as a real process: a poll, the digest on schedule, a clean SIGTERM; and two
daemons on one PostgreSQL database sending one digest."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from storage.db import open_database
from storage.models import Message
from tests.mailbuilders import simple_report, write_config, zone_away_from_midnight

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# The digest falls due this long after the daemons are started: a loaded machine can take
# well over 8 s to start two (imports, migrations), and the test waits ~30 s for the first
# acknowledgements (the outbox job's interval) anyway, so this costs no time.
DUE_IN = 20


class Proc:
    """A daemon subprocess whose log lines can be awaited (no sleeps)."""

    def __init__(self, cfg_path, env):
        self.p = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "--config", str(cfg_path), "run"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def wait_for(self, text: str, timeout: float = 60) -> str:
        with self.cond:
            ok = self.cond.wait_for(lambda: any(text in ln for ln in self.lines), timeout)
        if not ok and self.p.poll() is None:  # show where it is stuck
            self.p.send_signal(signal.SIGUSR1)
            with self.cond:
                self.cond.wait_for(lambda: any("most recent call first" in ln for ln in self.lines), 5)
        assert ok, (
            f"'{text}' not logged in {timeout} s:\n" + "".join(ln for ln in self.lines if "alembic" not in ln)[-6000:]
        )
        return next(ln for ln in self.lines if text in ln)

    def stop(self) -> int:
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout=60)


def daemon_config(tmp_path, mailbox, smtp, db_url, seconds_ahead: int):
    zone = zone_away_from_midnight()  # the digest falls due today, whatever the hour
    due = (dt.datetime.now(zone) + dt.timedelta(seconds=seconds_ahead)).time().replace(microsecond=0)
    path = write_config(
        tmp_path / "config.toml",
        imap={
            "host": "127.0.0.1",
            "port": mailbox.port,
            "security": "none",
            "username": mailbox.user,
            "password_env": "T_IMAP_PW",
            "processed_folder": "Đã xử lý",
        },
        smtp={
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "from_address": "baocao.ldtbxh@example.gov.vn",
        },
        database_url=db_url,
        archive_dir=tmp_path / "archive",
        timezone=zone.key,
    )
    text = path.read_text(encoding="utf-8")
    text = text.replace('digest_at = "15:00"', f"digest_at = {due.isoformat()}")
    text = text.replace('deadline = "15:00"', f"deadline = {due.isoformat()}")
    text = text.replace('reminders_at = ["10:00", "14:00"]', "reminders_at = []")  # no reminder mid-test
    path.write_text(text, encoding="utf-8")
    return path, {"T_IMAP_PW": mailbox.password}


def test_daemon_polls_sends_the_digest_and_stops_on_sigterm(tmp_path, mailbox, smtp):
    mailbox.append(simple_report(), dt.datetime.now(TZ))
    path, env = daemon_config(tmp_path, mailbox, smtp, f"sqlite:///{tmp_path / 'db'}", seconds_ahead=DUE_IN)
    proc = Proc(path, env)
    try:
        proc.wait_for("stored UID 1 from bhxh.tp@example.gov.vn")
        proc.wait_for("scheduled digest for")  # the schedule, not the catch-up
        proc.wait_for("digest for")
        sent = smtp.wait_for(2, timeout=60)  # the report's acknowledgement, then the digest
        assert sorted(r for m in sent for r in m.rcpt_tos) == [
            "bhxh.tp@example.gov.vn",
            "dieuphoi.ldtbxh@example.gov.vn",
        ]
    finally:
        rc = proc.stop()
    assert rc == 0
    assert any("baocao stopped" in ln for ln in proc.lines)
    assert not any("Traceback" in ln for ln in proc.lines)
    r = subprocess.run(
        [sys.executable, "-m", "service.cli", "--config", str(path), "health"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr


def test_two_daemons_on_one_postgres_send_one_digest(tmp_path, mailbox, smtp, pg_url):
    raws = [
        simple_report(sender=s) for s in ("bhxh.tp@example.gov.vn", "yte.tp@example.gov.vn", "songcau@example.gov.vn")
    ]
    for raw in raws:
        mailbox.append(raw, dt.datetime.now(TZ))
    path, env = daemon_config(tmp_path, mailbox, smtp, pg_url, seconds_ahead=DUE_IN)
    procs = [Proc(path, env), Proc(path, env)]
    try:
        for p in procs:
            p.wait_for("digest for")
        smtp.wait_for(len(raws) + 1, timeout=60)  # one acknowledgement per report, one digest
    finally:
        codes = [p.stop() for p in procs]
    assert codes == [0, 0]
    digests = [m for m in smtp.messages if "dieuphoi.ldtbxh@example.gov.vn" in m.rcpt_tos]
    assert len(digests) == 1
    acknowledged = sorted(r for m in smtp.messages for r in m.rcpt_tos if r != "dieuphoi.ldtbxh@example.gov.vn")
    assert acknowledged == sorted(["bhxh.tp@example.gov.vn", "yte.tp@example.gov.vn", "songcau@example.gov.vn"])
    sessions = open_database(pg_url)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == len(raws)
    sessions.kw["bind"].dispose()


def test_idle_stores_a_report_seconds_after_it_arrives(tmp_path, mailbox, smtp):
    path, env = daemon_config(tmp_path, mailbox, smtp, f"sqlite:///{tmp_path / 'db'}", seconds_ahead=3600)
    text = path.read_text(encoding="utf-8").replace("poll_interval_minutes = 5", "poll_interval_minutes = 60")
    text = text.replace('processed_folder = "Đã xử lý"', 'processed_folder = "Đã xử lý"\nidle = true')
    path.write_text(text, encoding="utf-8")
    proc = Proc(path, env)
    try:
        proc.wait_for("IMAP IDLE on")
        proc.wait_for("(first poll since start)")
        mailbox.append(simple_report(), dt.datetime.now(TZ))  # long before the next hourly poll
        proc.wait_for("stored UID 1 from bhxh.tp@example.gov.vn", timeout=30)
    finally:
        assert proc.stop() == 0


def test_the_other_instance_carries_on_when_one_is_killed(tmp_path, mailbox, smtp, pg_url):
    path, env = daemon_config(tmp_path, mailbox, smtp, pg_url, seconds_ahead=15)
    text = path.read_text(encoding="utf-8").replace(
        'processed_folder = "Đã xử lý"', 'processed_folder = "Đã xử lý"\nidle = true'
    )
    path.write_text(text, encoding="utf-8")
    first, second = Proc(path, env), Proc(path, env)
    try:
        for p in (first, second):
            p.wait_for("(first poll since start)")
            p.wait_for("IMAP IDLE on")
        first.p.kill()  # SIGKILL: no clean-up at all
        first.p.wait(timeout=30)
        mailbox.append(simple_report(), dt.datetime.now(TZ))
        second.wait_for("stored UID 1 from bhxh.tp@example.gov.vn", timeout=30)
        second.wait_for("scheduled digest for", timeout=60)
        second.wait_for("digest for", timeout=60)
        smtp.wait_for(2, timeout=60)  # the acknowledgement and the digest
    finally:
        assert second.stop() == 0
    digests = [m for m in smtp.messages if "dieuphoi.ldtbxh@example.gov.vn" in m.rcpt_tos]
    assert len(digests) == 1
