"""Sending the digest: STARTTLS + AUTH, exactly once, retries, the 14:59:30 report, catch-up."""

from __future__ import annotations

import datetime as dt
import email
import os
from email import policy

import pytest
from sqlalchemy import select

from service.config import load_config
from service.demo.localmail import SmtpCapture, free_port
from service.ingest.archive import Archive
from service.schedule.daemon import Daemon, health
from service.schedule.dispatch import send_digest
from storage.db import open_database
from storage.models import Digest, Message
from tests.mailbuilders import email_bytes, simple_report, write_config

TZ7 = dt.timezone(dt.timedelta(hours=7))
DAY = dt.date(2021, 8, 11)


def at(hh, mm, ss=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hh, mm, ss), tzinfo=TZ7)


class Env:
    def __init__(self, cfg, db_url, mailbox, smtp):
        self.cfg, self.mailbox, self.smtp = cfg, mailbox, smtp
        self.sessions = open_database(db_url)
        self.archive = Archive(cfg.service.archive_dir)

    def daemon(self, now: dt.datetime) -> Daemon:
        return Daemon(self.cfg, self.sessions, self.archive, clock=lambda: now)

    def digests(self):
        return [m for m in self.smtp.messages if "dieuphoi.ldtbxh@example.gov.vn" in m.rcpt_tos]


def make_env(tmp_path, db_url, mailbox, smtp, smtp_extra=None, name="config.toml"):
    smtp_section = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "security": "none",
        "from_address": "baocao.ldtbxh@example.gov.vn",
    }
    smtp_section.update(smtp_extra or {})
    env = {"T_IMAP_PW": mailbox.password, "T_SMTP_PW": "smtp-secret"}
    path = write_config(
        tmp_path / name,
        imap={
            "host": "127.0.0.1",
            "port": mailbox.port,
            "security": "none",
            "username": mailbox.user,
            "password_env": "T_IMAP_PW",
            "processed_folder": "Đã xử lý",
        },
        smtp=smtp_section,
        database_url=db_url,
        archive_dir=tmp_path / "archive",
    )
    return Env(load_config(path, env=env), db_url, mailbox, smtp)


@pytest.fixture
def env(tmp_path, db_url, mailbox, smtp):
    e = make_env(tmp_path, db_url, mailbox, smtp)
    yield e
    e.sessions.kw["bind"].dispose()


def test_report_at_14_59_30_is_in_the_15_00_digest_and_it_goes_once(env):
    env.mailbox.append(simple_report(), at(14, 59, 30))  # not polled yet: the digest job polls first
    d = env.daemon(at(15, 0))
    d.digest(DAY)
    d.digest(DAY)  # a second run (e.g. a restart) sends nothing
    d.close()
    [sent] = env.digests()
    msg = email.message_from_bytes(sent.data, policy=policy.default)
    text = msg.get_body(("plain",)).get_content()
    assert "Bảo hiểm xã hội thành phố" in text
    assert "Tổng hợp tiến độ hỗ trợ theo NQ 68/NQ-CP ngày 11/08/2021" in str(msg["Subject"])
    with env.sessions() as s:
        row = s.scalar(select(Digest))
        assert row.state == "sent" and row.sends == 1
    with env.sessions() as s:
        from service.day.dayview import build_day_view

        view = build_day_view(s, env.cfg, DAY)
        assert {u.unit.code: u.status for u in view.units}["BHXH"] == "on_time"


def test_smtp_down_then_back_retries_and_says_late(env):
    env.smtp.fail = True
    out = send_digest(env.cfg, env.sessions, env.archive, DAY, at(15, 0))
    assert out.status == "failed" and "451" in out.detail
    with env.sessions() as s:
        row = s.scalar(select(Digest))
        assert row.state == "failed" and row.next_attempt_at == at(15, 1)
        ok, why = health(env.cfg, s, at(15, 30))
        assert not ok and "11/08/2021" in why  # the overdue digest, named by its day
    # before the backoff has passed, the daemon's retry does not try again
    assert send_digest(env.cfg, env.sessions, env.archive, DAY, at(15, 0, 30)).status == "retry_later"
    env.smtp.fail = False
    d = env.daemon(at(16, 0))
    d.catch_up()
    d.close()
    [sent] = env.digests()
    html = email.message_from_bytes(sent.data, policy=policy.default).get_body(("html",)).get_content()
    assert "16:00" in html  # the late digest carries its real time
    with env.sessions() as s:
        assert s.scalar(select(Digest)).state == "sent"


def test_missed_digest_is_sent_on_start(env):
    env.mailbox.append(simple_report(), at(9, 0))
    d = env.daemon(at(9, 30))
    d.poll()  # the daemon ran in the morning, then was down at 15:00
    d.close()
    assert env.digests() == []
    later = env.daemon(at(17, 45))
    later.catch_up()
    later.close()
    assert len(env.digests()) == 1


def test_digest_job_run_late_past_midnight_sends_the_day_it_was_for(env):
    # The scheduler runs a digest job up to 12 h late (suspended machine): at 02:00 the
    # next day it must not send that day's digest 13 h early (everyone "missing").
    env.mailbox.append(simple_report(), at(9, 0))
    late = env.daemon(at(2, 0, day=DAY + dt.timedelta(days=1)))
    late.poll()
    late.scheduled_digest()
    late.catch_up()  # the retry job, within a minute
    late.close()
    [sent] = env.digests()
    assert "11/08/2021" in str(email.message_from_bytes(sent.data, policy=policy.default)["Subject"])
    with env.sessions() as s:
        assert [(r.report_day, r.state) for r in s.scalars(select(Digest))] == [(DAY, "sent")]


def test_no_scheduled_digest_before_the_campaign_starts(env):
    # The catch-up check and the [[reports]] digests owe nothing before campaign.start_date;
    # the daily job at digest_at did send one (every unit "missing") on the days before.
    from dataclasses import replace

    env.cfg = replace(env.cfg, campaign=replace(env.cfg.campaign, start_date=DAY + dt.timedelta(days=1)))
    d = env.daemon(at(15, 0))
    d.scheduled_digest()
    d.catch_up()
    d.close()
    assert env.digests() == []
    env.cfg = replace(env.cfg, campaign=replace(env.cfg.campaign, start_date=DAY))
    d = env.daemon(at(15, 0))
    d.scheduled_digest()
    d.close()
    assert len(env.digests()) == 1


def test_not_a_reporting_day_sends_nothing(env):
    from dataclasses import replace

    cfg = replace(env.cfg, schedule=replace(env.cfg.schedule, holidays=frozenset({DAY})))
    assert send_digest(cfg, env.sessions, env.archive, DAY, at(15, 0)).status == "not_reporting_day"
    assert env.digests() == []


def test_resend_sends_again_on_purpose(env):
    assert send_digest(env.cfg, env.sessions, env.archive, DAY, at(15, 0)).status == "sent"
    assert send_digest(env.cfg, env.sessions, env.archive, DAY, at(15, 5)).status == "already_sent"
    assert send_digest(env.cfg, env.sessions, env.archive, DAY, at(15, 6), resend=True).status == "sent"
    first, second = env.digests()
    ids = {email.message_from_bytes(m.data)["Message-ID"] for m in (first, second)}
    assert len(ids) == 2


def test_starttls_and_auth(tmp_path, mailbox):
    with SmtpCapture(tls=True, auth={"baocao": "smtp-secret"}) as server:
        e = make_env(
            tmp_path,
            f"sqlite:///{tmp_path / 'db'}",
            mailbox,
            server,
            {
                "security": "starttls",
                "ca_file": str(server.cert_path),
                "username": "baocao",
                "password_env": "T_SMTP_PW",
            },
        )
        assert send_digest(e.cfg, e.sessions, e.archive, DAY, at(15, 0)).status == "sent"
        assert len(e.digests()) == 1


def test_wrong_smtp_password_is_a_named_failure(tmp_path, mailbox):
    with SmtpCapture(tls=True, auth={"baocao": "other"}) as server:
        e = make_env(
            tmp_path,
            f"sqlite:///{tmp_path / 'db'}",
            mailbox,
            server,
            {
                "security": "starttls",
                "ca_file": str(server.cert_path),
                "username": "baocao",
                "password_env": "T_SMTP_PW",
            },
        )
        out = send_digest(e.cfg, e.sessions, e.archive, DAY, at(15, 0))
        assert out.status == "failed" and "refused the login" in out.detail
        assert "smtp-secret" not in out.detail


def test_untrusted_smtp_certificate_is_refused(tmp_path, mailbox):
    with SmtpCapture(tls=True) as server:
        e = make_env(tmp_path, f"sqlite:///{tmp_path / 'db'}", mailbox, server, {"security": "starttls"})
        out = send_digest(e.cfg, e.sessions, e.archive, DAY, at(15, 0))
        assert out.status == "failed" and "could not be verified" in out.detail


def test_hostile_subject_and_cell_text_are_escaped(env):
    from tests.mailbuilders import XLSX, report_workbook

    book = report_workbook({"Hỗ trợ đào tạo": {"Số đối tượng đề nghị hỗ trợ": "<script>alert(1)</script>"}})
    env.mailbox.append(
        email_bytes(
            sender="hacker@evil.example",
            subject='<img src=x onerror="alert(1)">',
            attachments=[("<b>x</b>.xlsx", XLSX, book)],
        ),
        at(9, 0),
    )
    env.mailbox.append(
        email_bytes(sender="bhxh.tp@example.gov.vn", subject="BC", attachments=[("bc.xlsx", XLSX, book)]), at(9, 5)
    )
    d = env.daemon(at(15, 0))
    d.digest(DAY)
    d.close()
    [sent] = env.digests()
    html = email.message_from_bytes(sent.data, policy=policy.default).get_body(("html",)).get_content()
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=" in html


# Postfix's default message_size_limit: a digest over it is refused with 552.
POSTFIX_SIZE_LIMIT = 10_240_000


class _SizeLimitedSmtp:
    """An aiosmtpd server that, like Postfix, refuses a message over POSTFIX_SIZE_LIMIT bytes."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.port = free_port()
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname="localhost", data_size_limit=POSTFIX_SIZE_LIMIT
        )

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 2.0.0 Message accepted"

    def __enter__(self):
        self._controller.start()
        return self

    def __exit__(self, *exc):
        self._controller.stop()


def test_unread_files_that_would_make_the_digest_too_big_are_named_not_attached(tmp_path, db_url, mailbox):
    # 9 MB of files a unit sent (under the old 10 MB cap on raw bytes) is 12 MB in base64.
    scans = [(f"scan-{i}.dat", "application/octet-stream", os.urandom(3 * 1024 * 1024)) for i in range(3)]
    with _SizeLimitedSmtp() as smtp:
        env = make_env(tmp_path, db_url, mailbox, smtp)
        try:
            env.mailbox.append(email_bytes(subject="Báo cáo BHXH", attachments=scans), at(9, 0))
            d = env.daemon(at(15, 0))
            d.digest(DAY)
            d.close()
            [sent] = [m for m in smtp.messages if "dieuphoi.ldtbxh@example.gov.vn" in m.rcpt_tos]
            with env.sessions() as s:
                assert s.scalar(select(Digest)).state == "sent"
                [archived] = s.scalars(select(Message.archive_path).where(Message.unit_code == "BHXH")).all()
        finally:
            env.sessions.kw["bind"].dispose()
    assert len(sent.original_content) <= POSTFIX_SIZE_LIMIT
    msg = email.message_from_bytes(sent.original_content, policy=policy.default)
    attached = [p.get_filename() for p in msg.iter_attachments()]
    assert "BHXH_scan-0.dat" in attached and "BHXH_scan-2.dat" not in attached
    text = msg.get_body(("plain",)).get_content()
    assert "BHXH_scan-2.dat (3 MB)" in text
    assert str(env.archive.root / archived) in text and "baocao export --date 2021-08-11 --format json" in text
