"""Reminders per report against real Dovecot, SMTP capture and databases: each of the
example's [[reports]] reminds, on its own day and times, only the units that must send it
and have sent nothing for it in the period; the daemon sends each once across two
instances and a restart; the calendar's holidays remind nobody."""

from __future__ import annotations

import datetime as dt
import email
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.config import Config, load_config
from service.ingest.archive import Archive
from service.schedule.daemon import Daemon
from service.schedule.outbox import due_report_reminders
from storage.db import open_database
from storage.models import OutboxMail
from tests.integration.test_reports_scenario import ALL_COLUMNS, BHXH, DAILY_ROWS, DUONG_QUANG, WEEKLY_ROWS
from tests.mailbuilders import XLSX, email_bytes
from tests.unit.test_report_filing import DAILY_COLUMNS, MONTHLY_COLUMNS, book
from tests.unit.test_reports_config import example_with_reports

TZ7 = dt.timezone(dt.timedelta(hours=7))
XUAT_HOA = "xuathoa@example.gov.vn"
REMINDER = "Nhắc gửi báo cáo: "


def at(month: int, day: int, hh: int, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(2021, month, day, hh, mm, ss, tzinfo=TZ7)


class Env:
    def __init__(self, cfg: Config, db_url: str, mailbox: Any, smtp: Any) -> None:
        self.cfg, self.db_url, self.mailbox, self.smtp = cfg, db_url, mailbox, smtp
        self.sessions = open_database(db_url)
        self.archive = Archive(cfg.service.archive_dir)
        self.others: list[Any] = []

    def daemon(self, now: dt.datetime, *, other_instance: bool = False) -> Daemon:
        """A daemon at `now`; `other_instance`: another process on the same database."""
        sessions = self.sessions
        if other_instance:
            sessions = open_database(self.db_url)
            self.others.append(sessions)
        return Daemon(self.cfg, sessions, self.archive, clock=lambda: now)

    def remind(self, now: dt.datetime, **kw: bool) -> None:
        d = self.daemon(now, **kw)
        try:
            d.report_reminders(now)
        finally:
            d.close()

    def reminders(self) -> list[EmailMessage]:
        out = []
        for captured in self.smtp.messages:
            m = email.message_from_bytes(captured.data, policy=policy.default)
            if str(m["Subject"]).startswith(REMINDER):
                out.append(m)
        return out

    def reminded(self, report: str, day: dt.date) -> dict[str, set[str]]:
        """unit -> the addresses a reminder of `report` on `day` went to."""
        out: dict[str, set[str]] = {}
        with self.sessions() as s:
            for row in s.scalars(
                select(OutboxMail).where(
                    OutboxMail.kind == "reminder", OutboxMail.report_code == report, OutboxMail.report_day == day
                )
            ):
                assert row.state == "sent", (row.dedupe_key, row.state, row.last_error)
                out.setdefault(row.unit_code or "", set()).add(row.recipient)
        return out


@pytest.fixture
def env(tmp_path: Path, db_url: str, mailbox: Any, smtp: Any) -> Any:
    text = example_with_reports()  # [reminders] enabled, reminders_at 10:00 and 14:00
    text = re.sub(
        r"^\[imap\]\n(?:.*\n)*?(?=\n)",
        f'[imap]\nhost = "127.0.0.1"\nport = {mailbox.port}\nsecurity = "none"\nusername = "{mailbox.user}"\n'
        'password_env = "T_IMAP_PW"\nprocessed_folder = "Đã xử lý"\n',
        text,
        count=1,
        flags=re.M,
    )
    text = re.sub(
        r"^\[smtp\]\n(?:.*\n)*?(?=\n)",
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\nfrom_address = "baocao@example.gov.vn"\n',
        text,
        count=1,
        flags=re.M,
    )
    text = re.sub(r"^database_url\s*=.*$", f'database_url = "{db_url}"', text, count=1, flags=re.M)
    text = re.sub(r"^archive_dir\s*=.*$", f'archive_dir = "{tmp_path / "archive"}"', text, count=1, flags=re.M)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path, env={"T_IMAP_PW": mailbox.password})
    assert cfg.reminders.enabled and cfg.reports
    e = Env(cfg, db_url, mailbox, smtp)
    yield e
    for sessions in (e.sessions, *e.others):
        sessions.kw["bind"].dispose()


def send(env: Env, sender: str, when: dt.datetime, data: bytes, subject: str = "Báo cáo") -> None:
    raw = email_bytes(sender=sender, subject=subject, date=when, attachments=[("bc.xlsx", XLSX, data)])
    env.mailbox.append(raw, when)


def test_the_example_reports_remind_on_their_own_days_and_times(env: Env) -> None:
    tuan, thang = env.cfg.report("tuan"), env.cfg.report("thang")
    assert (tuan.reminder_day, tuan.reminders_at) == (4, (dt.time(9), dt.time(14)))  # Friday
    assert (thang.reminder_day, thang.reminders_at) == (18, (dt.time(9),))
    assert env.cfg.report("ngay").reminders_at == env.cfg.schedule.reminders_at

    def due(when: dt.datetime) -> set[tuple[str, str]]:
        return {(r.report.code, f"{r.slot_at:%d/%m %H:%M}") for r in due_report_reminders(env.cfg, when)}

    assert due(at(8, 20, 9, 0)) == {("tuan", "20/08 09:00")}
    assert due(at(8, 20, 10, 0)) == {("tuan", "20/08 09:00"), ("ngay", "20/08 10:00"), ("nhanh_2008", "20/08 10:00")}
    assert due(at(8, 20, 8, 59)) == set() and due(at(8, 20, 10, 1)) == {
        ("ngay", "20/08 10:00"),
        ("nhanh_2008", "20/08 10:00"),
    }  # 09:00 is more than an hour ago
    assert due(at(8, 18, 9, 0, 30)) == {("thang", "18/08 09:00")}
    assert due(at(8, 19, 10, 0)) == {("ngay", "19/08 10:00")}  # the one-off's is on its deadline day only
    # Quốc khánh (holidays 2/9 and 3/9): the daily and the weekly report (due Friday 3/9) remind nobody
    assert due(at(9, 3, 9, 30)) == set() and due(at(9, 3, 14, 0)) == set() and due(at(9, 2, 10, 0)) == set()


def test_a_weekly_report_sent_on_wednesday_spares_its_unit_on_friday_once_across_instances(env: Env) -> None:
    send(env, DUONG_QUANG, at(8, 18, 9), book(WEEKLY_ROWS, ALL_COLUMNS, 3))  # the week of 16-22/8
    send(env, XUAT_HOA, at(8, 19, 9), b"PK\x03\x04 not really a workbook")  # unreadable: sent, not reminded
    send(env, BHXH, at(8, 19, 11), book(DAILY_ROWS, DAILY_COLUMNS, 5))  # a department's daily: no weekly
    env.remind(at(8, 20, 9, 0, 20))  # polls first, then reminds
    friday = dt.date(2021, 8, 20)
    weekly = env.reminded("tuan", friday)
    communes = {u.code for u in env.cfg.units if u.group == "Xã, phường"}
    assert set(weekly) == communes - {"DUONG_QUANG", "XUAT_HOA"}
    assert not any(DUONG_QUANG in addresses for addresses in weekly.values())
    assert weekly["NONG_THUONG"] == {"nongthuong@example.gov.vn", "vanphong.hai.xa@example.gov.vn"}
    sent = env.reminders()
    assert len(sent) == sum(len(a) for a in weekly.values())
    # the other instance and a restart, a few seconds later: nothing more
    env.remind(at(8, 20, 9, 0, 30), other_instance=True)
    env.remind(at(8, 20, 9, 5))
    assert len(env.reminders()) == len(sent) and env.reminded("tuan", friday) == weekly

    mail = next(m for m in sent if m["To"] == "ntmk@example.gov.vn")
    assert mail["Subject"] == "Nhắc gửi báo cáo: Báo cáo tuần, tuần 16/08–22/08/2021, hạn nộp 16:00 20/08/2021"
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(("plain",)).get_content()
    assert "Kính gửi UBND phường Nguyễn Thị Minh Khai," in text
    assert (
        "Đến 09:00 ngày 20/08/2021, hệ thống tổng hợp báo cáo chưa nhận được Báo cáo tuần, tuần 16/08–22/08/2021"
        in text
    )
    assert "Hạn nộp báo cáo là 16:00 20/08/2021." in text and "số liệu lũy kế" in text
    [form] = list(mail.iter_attachments())
    import io

    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(form.get_content())).active
    assert ws.title == "Báo cáo (tuan)"  # the weekly report's own blank form

    # 14:00: the units reminded at 09:00 that still sent nothing are reminded again, once
    send(env, "ntmk@example.gov.vn", at(8, 20, 11), book(WEEKLY_ROWS, ALL_COLUMNS, 2))
    env.remind(at(8, 20, 14, 0, 10))
    env.remind(at(8, 20, 14, 0, 20), other_instance=True)
    with env.sessions() as s:
        afternoon = {
            r.unit_code
            for r in s.scalars(select(OutboxMail).where(OutboxMail.report_code == "tuan"))
            if r.slot_at is not None and r.slot_at.astimezone(TZ7).hour == 14
        }
    assert afternoon == communes - {"DUONG_QUANG", "XUAT_HOA", "NTMK"}
    # a department (it sent its daily report on the 19th) is never reminded of the weekly
    # report: it is not one of its units
    assert "BHXH" not in {r.unit_code for r in _rows(env) if r.report_code == "tuan"}

    # the week's digest lists who was reminded of it, and when
    from service.day.reportview import report_config
    from service.schedule.dispatch import build_digest

    with env.sessions() as s:
        digest = build_digest(report_config(env.cfg, env.cfg.report("tuan")), s, env.archive, friday, at(8, 20, 17))
    section = digest.text.split("ĐÃ GỬI THƯ NHẮC", 1)[1]
    assert "UBND xã Nông Thượng — nhắc lúc 09:00, 14:00" in section
    assert "UBND phường Nguyễn Thị Minh Khai — nhắc lúc 09:00" in section and "Dương Quang" not in section


def test_two_instances_racing_at_the_same_slot_send_each_reminder_once(env: Env) -> None:
    import dataclasses
    import threading

    send(env, DUONG_QUANG, at(8, 18, 9), book(WEEKLY_ROWS, ALL_COLUMNS, 3))
    env.remind(at(8, 18, 9, 30))  # stores it (and reminds of the monthly report, due that day)
    before = len(env.reminders())
    offline = dataclasses.replace(env.cfg, imap=None)  # no poll: the race is the planning and the sending
    daemons = [
        Daemon(offline, sessions, env.archive, clock=lambda: at(8, 20, 9, 0, 5))
        for sessions in (env.sessions, open_database(env.db_url))
    ]
    env.others.append(daemons[1].sessions)
    start, errors = threading.Barrier(2), []

    def run(d: Daemon) -> None:
        try:
            start.wait(timeout=30)
            d.report_reminders(at(8, 20, 9, 0, 5))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in daemons]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    weekly = env.reminded("tuan", dt.date(2021, 8, 20))
    sent = env.reminders()[before:]
    assert len(sent) == sum(len(a) for a in weekly.values()) and len({m["Message-ID"] for m in sent}) == len(sent)
    assert "DUONG_QUANG" not in weekly and len(weekly) == 7


def test_a_monthly_report_reminds_its_units_and_not_those_that_sent_it(env: Env) -> None:
    send(env, BHXH, at(8, 17, 8), book(DAILY_ROWS, MONTHLY_COLUMNS, 20))  # the monthly report, early
    send(env, "yte.tp@example.gov.vn", at(8, 18, 8, 30), book(DAILY_ROWS, DAILY_COLUMNS, 4))  # a daily one
    d = env.daemon(at(8, 18, 9, 0, 40))
    try:
        d.catch_up()  # the daemon's every-minute job: the reminders due, then the digests
    finally:
        d.close()
    monthly = env.reminded("thang", dt.date(2021, 8, 18))
    assert "BHXH" not in monthly  # sent it on the 17th
    assert monthly["YTE"] == {"yte.tp@example.gov.vn"}  # its daily report is not the monthly one
    # the monthly report's units: all, but THUE has only a wildcard sender and no reminder_to
    assert set(monthly) == {u.code for u in env.cfg.units} - {"BHXH", "THUE"}
    mail = next(m for m in env.reminders() if m["To"] == "yte.tp@example.gov.vn")
    assert mail["Subject"] == "Nhắc gửi báo cáo: Báo cáo tháng, tháng 8/2021, hạn nộp 17:00 20/08/2021"
    text = mail.get_body(("plain",)).get_content()
    assert "chưa nhận được Báo cáo tháng, tháng 8/2021 của đơn vị" in text
    # nothing of the weekly, daily or one-off reports on the 18th at 09:00
    assert {r.report_code for r in _rows(env)} == {"thang"}
    # the daily report at 10:00: YTE sent its daily, BHXH (only a monthly) is reminded
    env.remind(at(8, 18, 10, 0, 5))
    daily = env.reminded("ngay", dt.date(2021, 8, 18))
    assert "BHXH" in daily and "YTE" not in daily
    mail = next(m for m in env.reminders() if m["To"] == BHXH)
    assert mail["Subject"] == ("Nhắc gửi báo cáo: Báo cáo tiến độ hằng ngày, ngày 18/08/2021, hạn nộp 15:00 18/08/2021")


def test_a_form_tied_between_two_reports_spares_its_unit_of_those_two_alone(env: Env) -> None:
    import dataclasses

    # the one-off request on the communes' weekly form: a weekly form whose subject names
    # neither is either of them (both open on the 19th), never the daily report
    tuan = env.cfg.report("tuan")
    reports = tuple(
        dataclasses.replace(r, units=tuan.units, form=tuan.form) if r.code == "nhanh_2008" else r
        for r in env.cfg.reports
    )
    env.cfg = dataclasses.replace(env.cfg, reports=reports)
    send(env, "songcau@example.gov.vn", at(8, 19, 9), book(WEEKLY_ROWS, ALL_COLUMNS, 3), subject="Số liệu")
    env.remind(at(8, 20, 9, 0, 20))  # polls first, then the weekly report's reminders
    env.remind(at(8, 20, 10, 0, 20))  # the daily report's and the one-off's
    friday = dt.date(2021, 8, 20)
    assert "SONG_CAU" not in env.reminded("tuan", friday) and "DUONG_QUANG" in env.reminded("tuan", friday)
    assert "SONG_CAU" not in env.reminded("nhanh_2008", friday) and "DUONG_QUANG" in env.reminded("nhanh_2008", friday)
    assert "SONG_CAU" in env.reminded("ngay", friday)
    with env.sessions() as s:
        from storage.models import ProblemRow

        [tied] = s.scalars(select(ProblemRow).where(ProblemRow.code == "report_undetermined"))
        assert tied.params["report_codes"] == "tuan nhanh_2008"


def test_no_reminder_on_a_holiday_nor_long_after_its_time(env: Env) -> None:
    env.remind(at(9, 3, 9, 0, 30))  # Friday 3/9, Quốc khánh: the weekly report's day
    env.remind(at(9, 3, 14, 0, 30))
    env.remind(at(9, 2, 10, 0, 30))
    assert _rows(env) == [] and env.reminders() == []
    env.remind(at(8, 20, 15, 5))  # the service was down from before 14:00 until 15:05
    assert _rows(env) == [] and env.reminders() == []


def test_without_reminders_enabled_no_report_reminds(env: Env) -> None:
    import dataclasses

    from service.config.objects import RemindersConfig

    cfg = dataclasses.replace(env.cfg, reminders=RemindersConfig(enabled=False))
    assert due_report_reminders(cfg, at(8, 20, 9, 0, 30)) == []
    d = Daemon(cfg, env.sessions, env.archive, clock=lambda: at(8, 20, 9))
    d.add_jobs()
    assert not [j for j in d.scheduler.get_jobs() if j.id.startswith("reminders-")]
    d = Daemon(env.cfg, env.sessions, env.archive, clock=lambda: at(8, 20, 9))
    d.add_jobs()  # with [[reports]] the reminders go from the every-minute job, not from these
    assert not [j for j in d.scheduler.get_jobs() if j.id.startswith("reminders-")]


SHARED = "vanphong.hai.xa@example.gov.vn"  # a sender of two communes, DUONG_QUANG and NONG_THUONG


def _friday_of_reminders(env: Env, cap: int) -> list[OutboxMail]:
    """Friday 20/8 with acknowledgements on and a daily cap of `cap`: the weekly report
    reminds at 09:00 and 14:00, the daily one at 10:00 and 14:00; the shared address's rows."""
    import dataclasses

    acks = dataclasses.replace(env.cfg.acknowledgements, enabled=True, daily_cap_per_address=cap)
    env.cfg = dataclasses.replace(env.cfg, acknowledgements=acks)
    for when in (at(8, 20, 9, 0, 20), at(8, 20, 10, 0, 20), at(8, 20, 14, 0, 20)):
        env.remind(when)
    return [r for r in _rows(env) if r.recipient == SHARED]


def test_the_daily_cap_counts_each_reports_reminders_apart_and_leaves_the_acknowledgements(env: Env) -> None:
    # 2 units x (2 weekly + 2 daily reminders) = 8 mails to one address by 14:00, over a cap
    # of 4 counted together; each report's reminders count among themselves
    shared = _friday_of_reminders(env, cap=4)
    assert [(r.report_code, r.state) for r in shared].count(("tuan", "sent")) == 4
    assert [(r.report_code, r.state) for r in shared].count(("ngay", "sent")) == 4 and len(shared) == 8
    assert len([m for m in env.reminders() if m["To"] == SHARED]) == 8
    # its reports, after all that, are still acknowledged: the reminders take nothing of the
    # replies' cap
    send(env, SHARED, at(8, 20, 14, 30), book(WEEKLY_ROWS, ALL_COLUMNS, 2), subject="Báo cáo tuần Dương Quang")
    d = env.daemon(at(8, 20, 14, 31))
    try:
        d.poll()
        d.outbox()
    finally:
        d.close()
    with env.sessions() as s:
        [ack] = s.scalars(select(OutboxMail).where(OutboxMail.kind == "ack", OutboxMail.recipient == SHARED))
    assert ack.state == "sent", ack.last_error


def test_the_daily_cap_still_stops_one_reports_reminders_to_one_address(env: Env) -> None:
    shared = _friday_of_reminders(env, cap=3)  # each report's 4th reminder to it is one too many
    for report in ("tuan", "ngay"):
        mine = [r for r in shared if r.report_code == report]
        assert sorted(r.state for r in mine) == ["sent", "sent", "sent", "skipped"]
        [capped] = [r for r in mine if r.state == "skipped"]
        assert capped.last_error == f"daily cap of 3 mails to this address reached for {report}"
        assert capped.slot_at is not None and capped.slot_at.astimezone(TZ7).hour == 14


def _rows(env: Env) -> list[OutboxMail]:
    with env.sessions() as s:
        return list(s.scalars(select(OutboxMail).where(OutboxMail.kind == "reminder").order_by(OutboxMail.id)))


def test_a_reports_digest_falling_due_while_the_daemon_runs_goes_with_nothing_received_yet(env: Env) -> None:
    # A new installation, started in the morning, before any unit has written: the daily
    # report's 15:00 digest is owed (everyone missing), as the digest of a config without
    # [[reports]] goes at its time; the days before the start are not owed.
    from storage.models import Digest

    now = [at(8, 18, 8)]
    d = Daemon(env.cfg, env.sessions, env.archive, clock=lambda: now[0])
    try:
        d.catch_up()
        now[0] = at(8, 18, 15, 0, 30)
        d.catch_up()
    finally:
        d.close()
    with env.sessions() as s:
        sent = {(r.report_code, r.report_day, r.state) for r in s.scalars(select(Digest))}
    assert sent == {("ngay", dt.date(2021, 8, 18), "sent")}
