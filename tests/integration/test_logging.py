"""Log lines an administrator can read: time stamps with the service zone's offset, and one line
saying what the scheduler did when a job came late (instead of APScheduler's own warnings)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading

import pytest

from service.config import load_config
from service.ingest.archive import Archive
from service.schedule.daemon import Daemon
from storage.db import open_database
from tests.integration.test_cli import baocao
from tests.mailbuilders import simple_report, write_config

STAMP = r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\.\d{3}\+07:00"


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_time_stamps_carry_the_service_zone_offset_on_a_utc_machine(tmp_path, log_format):
    path = write_config(
        tmp_path / "config.toml",
        imap=None,
        smtp=None,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
    )
    assert 'timezone = "Asia/Ho_Chi_Minh"' in path.read_text(encoding="utf-8")
    eml = tmp_path / "a.eml"
    eml.write_bytes(simple_report())
    r = baocao("--config", str(path), "--log-format", log_format, "import", str(eml), env={"TZ": "UTC"})
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    stamps = [json.loads(ln)["time"] for ln in lines] if log_format == "json" else lines
    assert any("imported message" in ln for ln in lines)
    for stamp in stamps:
        assert re.match(STAMP, stamp), stamp


def zone_at_four_pm(now: dt.datetime | None = None) -> str:
    """A whole-hour zone where it is now 16:xx: a job of 10:00 set two hours back then has
    no run of its own in between, whatever the hour the tests run at."""
    hour = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).hour
    offset = (16 - hour + 12) % 24 - 12  # -12..+11
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"  # POSIX sign: Etc/GMT-7 is UTC+7


@pytest.fixture
def daemon(tmp_path):
    path = write_config(
        tmp_path / "config.toml",
        timezone=zone_at_four_pm(),
        imap={"host": "127.0.0.1", "port": 9, "security": "none", "username": "u", "password_env": "PW"},
        smtp=None,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
    )
    cfg = load_config(path, env={"PW": "x"})
    sessions = open_database(cfg.service.database_url)
    d = Daemon(cfg, sessions, Archive(cfg.service.archive_dir))
    d.add_jobs()
    yield d
    if d.scheduler.running:
        d.scheduler.shutdown(wait=True)
    sessions.kw["bind"].dispose()


def start(d: Daemon) -> None:
    threading.Thread(target=d.scheduler.start, name="scheduler", daemon=True).start()


class Awaited(logging.Handler):
    """The log records of the run, and a condition woken by each (and by `note()`): what the
    scheduler thread does is awaited, not polled."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.cond = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.cond:
            self.records.append(record)
            self.cond.notify_all()

    def note(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def logged(self, text: str) -> bool:
        return any(text in r.getMessage() for r in self.records)

    def wait_for(self, condition, timeout: float = 30) -> bool:
        with self.cond:
            return self.cond.wait_for(condition, timeout)


@pytest.fixture
def awaited():
    handler = Awaited()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def scheduler_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("apscheduler") and r.levelno >= logging.WARNING]


def test_reminders_missed_while_the_service_was_away_are_one_line(daemon, caplog, monkeypatch, awaited):
    sent = []
    monkeypatch.setattr(daemon, "remind", lambda slot: sent.append(slot))
    monkeypatch.setattr(daemon, "_poll_locked", lambda: None)  # no mail server here
    job = daemon.scheduler.get_job("reminders-100000")
    tz = daemon.cfg.service.timezone
    # The 10:00 slot fell due two hours ago (the machine was suspended): past its grace.
    daemon.scheduler.modify_job(job.id, next_run_time=dt.datetime.now(tz) - dt.timedelta(hours=2))
    with caplog.at_level(logging.INFO):
        start(daemon)
        assert awaited.wait_for(lambda: awaited.logged("reminders of 10:00"))
    [line] = [r for r in caplog.records if "reminders of 10:00" in r.getMessage()]
    assert line.levelno == logging.WARNING and line.name == "service.schedule.daemon"
    text = line.getMessage()
    assert "ran 2 h 0 min late" in text and "are not sent" in text and "next at 10:00:00" in text, text
    assert sent == []  # skipped, as the rule says
    assert scheduler_lines(caplog) == []


def test_a_poll_longer_than_the_interval_polls_again_when_it_ends(daemon, caplog, monkeypatch, awaited):
    release, calls = threading.Event(), []

    def slow_poll() -> None:
        calls.append(1)
        awaited.note()
        release.wait(30)

    monkeypatch.setattr(daemon, "_poll_locked", slow_poll)
    with caplog.at_level(logging.INFO):
        start(daemon)
        assert awaited.wait_for(lambda: calls == [1])  # the first poll runs (and hangs)
        daemon.scheduler.modify_job("poll", next_run_time=dt.datetime.now(daemon.cfg.service.timezone))
        assert awaited.wait_for(lambda: awaited.logged("still running"))
        release.set()
        assert awaited.wait_for(lambda: len(calls) == 2)
    [line] = [r for r in caplog.records if "still running" in r.getMessage()]
    assert line.getMessage().startswith("the mailbox poll due at ")
    assert "polls once more when it ends" in line.getMessage()
    assert scheduler_lines(caplog) == []
