"""The IMAP server restarts under a running `baocao run` (idle = true): the daemon does not spin
while it is away, says so in `health`, and is back on IDLE (and its kept poll connection) after."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from service.config import load_config
from service.demo.localmail import LocalDovecot, dovecot_unavailable_reason
from service.schedule.daemon import health
from storage.db import open_database
from tests.conftest import _unavailable
from tests.integration.test_daemon import Proc, daemon_config
from tests.mailbuilders import simple_report, write_config

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
POLL_MINUTES = 60  # so that a report stored within the test came through IDLE, not the interval poll


@pytest.fixture
def restartable_dovecot():
    """A Dovecot of its own: the test stops and restarts it."""
    reason = dovecot_unavailable_reason()
    if reason:
        _unavailable(reason)
    server = LocalDovecot().start({"baocao": secrets.token_urlsafe(12)})
    yield server
    server.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_count(proc: Proc, text: str, count: int, timeout: float) -> bool:
    with proc.cond:
        return proc.cond.wait_for(lambda: sum(text in ln for ln in proc.lines) >= count, timeout)


def test_imap_restart_under_a_running_daemon(tmp_path, restartable_dovecot, smtp):
    server = restartable_dovecot
    account = SimpleNamespace(port=server.port, user="baocao", password=server.password("baocao"))
    path, env = daemon_config(tmp_path, account, smtp, f"sqlite:///{tmp_path / 'db'}", seconds_ahead=3600)
    text = path.read_text(encoding="utf-8").replace(
        "poll_interval_minutes = 5", f"poll_interval_minutes = {POLL_MINUTES}"
    )
    path.write_text(
        text.replace('processed_folder = "Đã xử lý"', 'processed_folder = "Đã xử lý"\nidle = true'), encoding="utf-8"
    )
    cfg = load_config(path, env=env)
    sessions = open_database(cfg.service.database_url)
    idle_on = "IMAP IDLE on 127.0.0.1/INBOX"
    proc = Proc(path, env)
    try:
        proc.wait_for("(first poll since start)")
        proc.wait_for(idle_on)
        before = cpu_seconds(proc.p.pid)

        server.shutdown(end_sessions=True)  # the server goes away: its connections close
        # The outage lasts while the daemon fails five times (the lost connection, then four
        # refused reconnections, each after a longer pause): about 8 to 15 s.
        tried = wait_count(proc, "reconnecting in", 5, timeout=60)
        spent = cpu_seconds(proc.p.pid) - before
        assert spent < 2.0, f"the daemon used {spent:.1f} CPU s during the outage"
        assert tried, "".join(proc.lines[-20:])

        # More than two poll intervals without a successful IMAP exchange: unhealthy, saying why.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2 * POLL_MINUTES + 1)
        with sessions() as session:
            ok, why = health(cfg, session, later)
        assert not ok
        assert "không kết nối được máy chủ thư 127.0.0.1" in why and "127.0.0.1:" in why, why
        with sessions() as session:  # within two intervals an outage is not (yet) a failure
            assert health(cfg, session, dt.datetime.now(dt.UTC))[0]

        server.restart()
        assert wait_count(proc, idle_on, 2, timeout=90), "".join(proc.lines[-20:])
        server.append("baocao", "INBOX", simple_report(), dt.datetime.now(TZ))
        proc.wait_for("stored UID 1 from bhxh.tp@example.gov.vn", timeout=60)  # IDLE, not the hourly poll
        assert any("broke; reconnecting" in ln for ln in proc.lines)  # the kept poll connection recovered
        assert not any("poll failed" in ln for ln in proc.lines)

        r = subprocess.run(
            [sys.executable, "-m", "service.cli", "--config", str(path), "health"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
    finally:
        assert proc.stop() == 0
        sessions.kw["bind"].dispose()
    assert not any("Traceback" in ln for ln in proc.lines)


@pytest.mark.parametrize(
    "language, down, failed",
    [
        ("vi", "không kết nối được máy chủ thư mail.example.gov.vn từ", "lần kiểm tra hộp thư gần nhất bị lỗi"),
        ("en", "cannot reach the mail server mail.example.gov.vn since", "the last poll failed"),
    ],
    ids=["vi", "en"],
)
def test_health_says_the_mail_server_is_away_after_two_poll_intervals(tmp_path, language, down, failed):
    from service.schedule.daemon import record_imap_exchange
    from service.schedule.dispatch import record_state

    path = write_config(
        tmp_path / "config.toml",
        imap={"host": "mail.example.gov.vn", "username": "u", "password_env": "PW"},
        smtp=None,
        database_url=f"sqlite:///{tmp_path / 'db'}",
        archive_dir=tmp_path / "archive",
    )
    path.write_text(
        path.read_text(encoding="utf-8").replace('language = "vi"', f'language = "{language}"'), encoding="utf-8"
    )
    cfg = load_config(path, env={"PW": "x"})
    assert cfg.service.language == language and cfg.service.poll_interval_minutes == 5
    sessions = open_database(cfg.service.database_url)
    start = dt.datetime(2021, 8, 11, 1, 0, tzinfo=dt.UTC)  # 08:00 in Hanoi, before digest_at
    minutes = lambda m: start + dt.timedelta(minutes=m)  # noqa: E731

    def check(now):
        with sessions() as session:
            return health(cfg, session, now)

    record_state(sessions, "last_poll", {"ok": True}, start)
    record_imap_exchange(sessions, start, True)
    record_imap_exchange(sessions, minutes(1), False, "cannot reach the IMAP server mail.example.gov.vn:993: refused")
    record_state(sessions, "last_poll", {"ok": False, "imap": True, "error": "cannot reach"}, minutes(5))
    assert check(minutes(10))[0]  # a restart of the server: not a failure yet
    ok, why = check(minutes(10) + dt.timedelta(seconds=1))
    assert not ok and why.startswith(down) and why.endswith("mail.example.gov.vn:993: refused"), why
    assert "08:00 11/08/2021" in why  # since the last exchange that worked, in the service's zone

    record_imap_exchange(sessions, minutes(11), True)  # back
    assert check(minutes(11))[0]
    record_state(sessions, "last_poll", {"ok": False, "imap": False, "error": "the disk is full"}, minutes(12))
    ok, why = check(minutes(12))  # not the mail server: unhealthy at once
    assert not ok and why.startswith(failed) and "the disk is full" in why
    sessions.kw["bind"].dispose()


@pytest.mark.parametrize("security", ["ssl", "starttls", "none"])
def test_idle_wait_tells_a_closed_connection_from_a_quiet_one(security):
    from service.config import ImapConfig, Secret
    from service.errors import MailboxError
    from service.mail.mailbox import Mailbox

    reason = dovecot_unavailable_reason()
    if reason:
        _unavailable(reason)
    server = LocalDovecot().start({"baocao": "idle-pw-1"}, tls=True)
    try:
        cfg = ImapConfig(
            host="127.0.0.1",
            port=server.ssl_port if security == "ssl" else server.port,
            security=security,
            username="baocao",
            password=Secret("idle-pw-1", "x"),
            ca_file=server.cert_path,
            timeout_seconds=10,
        )
        with Mailbox(cfg) as mailbox:
            mailbox.select("INBOX")
            mailbox.idle_start()
            assert mailbox.idle_wait(0.2) == []  # quiet: nothing, no error
            server.append("baocao", "INBOX", simple_report(), dt.datetime.now(TZ))
            assert (1, b"EXISTS") in mailbox.idle_wait(10)
            server.shutdown(end_sessions=True)
            # imapclient's idle_check answers [] here, as for a quiet connection. News still
            # in flight (the RECENT after the EXISTS) or a server slow to close may come
            # first: those waits return it, and the close is told within a few waits.
            with pytest.raises(MailboxError, match="was lost: closed by the server"):
                for _ in range(6):
                    news = mailbox.idle_wait(10)
                    assert all(r[1] != b"EXISTS" or r[0] == 1 for r in news)  # nothing new appended
    finally:
        server.stop()
