"""Acknowledgements, notices and reminders against real Dovecot, SMTP capture and databases:
one mail per report, never a reply to automatic mail, the cap, once across restarts and
racing instances, retries after an SMTP failure."""

from __future__ import annotations

import datetime as dt
import email
import io
import threading
from dataclasses import replace
from email import policy
from email.message import EmailMessage

import openpyxl
import pytest
from sqlalchemy import func, select, update

from service.config import load_config
from service.ingest.archive import Archive
from service.ingest.pipeline import Ingestor
from service.mail.mailbox import Mailbox
from service.schedule.outbox import (
    LEASE,
    SENDING,
    drain_outbox,
    plan_acknowledgements,
    reminded_units,
    send_reminders,
)
from storage.db import open_database
from storage.models import OutboxMail
from tests.integration.test_digest_send import DAY, at, make_env
from tests.mailbuilders import XLSX, email_bytes, report_workbook, simple_report, write_config

OWN = "baocao.ldtbxh@example.gov.vn"


@pytest.fixture
def env(tmp_path, db_url, mailbox, smtp):
    e = make_env(tmp_path, db_url, mailbox, smtp)
    yield e
    e.sessions.kw["bind"].dispose()


def poll(env, now: dt.datetime) -> None:
    ingestor = Ingestor(env.cfg, env.sessions, env.archive, clock=lambda: now, workers=1)
    try:
        with Mailbox(env.cfg.imap) as box:
            ingestor.poll(box)
    finally:
        ingestor.close()


def plan(env, now: dt.datetime, cfg=None, sessions=None) -> int:
    with (sessions or env.sessions)() as session:
        planned = plan_acknowledgements(cfg or env.cfg, session, now)
        session.commit()
    return planned


def mails(env, to: str | None = None, subject_start: str = "") -> list[EmailMessage]:
    out = []
    for captured in env.smtp.messages:
        if to is not None and to not in captured.rcpt_tos:
            continue
        m = email.message_from_bytes(captured.data, policy=policy.default)
        if str(m["Subject"]).startswith(subject_start):
            out.append(m)
    return out


def text_of(m: EmailMessage) -> str:
    return m.get_body(("plain",)).get_content()


def rows(env) -> list[OutboxMail]:
    with env.sessions() as s:
        return s.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()


def figure(text: str, label: str) -> str:
    line = next(ln for ln in text.splitlines() if ln.strip().startswith(label))
    return line.rsplit(" ", 1)[1]


# -- acknowledgements ------------------------------------------------------------------------


def test_each_stored_report_gets_one_acknowledgement_with_its_figures(env):
    original = simple_report(subject="Báo cáo NQ68 ngày 11/8", message_id="<bc-bhxh-1108@example.gov.vn>")
    env.mailbox.append(original, at(9, 25))
    env.mailbox.append(simple_report(sender="ntmk@example.gov.vn", de_nghi=7), at(9, 26))
    poll(env, at(9, 30))
    assert plan(env, at(9, 30)) == 2
    assert drain_outbox(env.cfg, env.sessions, env.archive, at(9, 30)).sent == 2
    # planning and draining again (the next poll) sends nothing more
    assert plan(env, at(9, 35)) == 0
    assert drain_outbox(env.cfg, env.sessions, env.archive, at(9, 35)).sent == 0

    [ack] = mails(env, "bhxh.tp@example.gov.vn")
    assert ack["Subject"] == "Re: Báo cáo NQ68 ngày 11/8"
    assert ack["In-Reply-To"] == "<bc-bhxh-1108@example.gov.vn>"
    assert "<bc-bhxh-1108@example.gov.vn>" in ack["References"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["From"].addresses[0].addr_spec == OWN
    text = text_of(ack)
    assert "Tính là báo cáo của: Bảo hiểm xã hội thành phố" in text
    assert "lúc 09:25 ngày 11/08/2021" in text and "ĐÚNG HẠN (hạn nộp 15:00)" in text
    assert figure(text, "Số đối tượng đề nghị hỗ trợ") == "46"
    assert figure(text, "Số đối tượng được phê duyệt") == "33"
    assert figure(text, "Kinh phí được phê duyệt (triệu đồng)") == "49,5"
    assert "Hỗ trợ đào tạo, bồi dưỡng" in text
    assert [p.get_filename() for p in ack.iter_attachments()] == []  # readable: no form attached
    [other] = mails(env, "ntmk@example.gov.vn")
    assert figure(text_of(other), "Số đối tượng đề nghị hỗ trợ") == "7"
    assert "UBND phường Nguyễn Thị Minh Khai" in text_of(other)


def test_a_correction_is_acknowledged_as_replacing_the_earlier_report(env):
    env.mailbox.append(simple_report(de_nghi=40), at(9, 25))
    env.mailbox.append(simple_report(de_nghi=46, subject="Báo cáo NQ68 (sửa lại)"), at(11, 40))
    poll(env, at(11, 45))
    plan(env, at(11, 45))
    drain_outbox(env.cfg, env.sessions, env.archive, at(11, 45))
    first, second = sorted(mails(env, "bhxh.tp@example.gov.vn"), key=lambda m: "sửa" in str(m["Subject"]))
    assert "THAY THẾ" not in text_of(first)
    assert "Báo cáo này THAY THẾ báo cáo đơn vị gửi lúc 09:25 cùng ngày." in text_of(second)
    assert figure(text_of(second), "Số đối tượng đề nghị hỗ trợ") == "46"


def test_nothing_readable_gets_what_to_send_and_the_blank_form(env):
    env.mailbox.append(email_bytes(sender="xuathoa@example.gov.vn", subject="Báo cáo"), at(15, 40))
    poll(env, at(15, 45))
    plan(env, at(15, 45))
    drain_outbox(env.cfg, env.sessions, env.archive, at(15, 45))
    [ack] = mails(env, "xuathoa@example.gov.vn")
    text = text_of(ack)
    assert "MUỘN (hạn nộp 15:00 ngày 11/08/2021)" in text
    assert "KHÔNG ĐỌC ĐƯỢC SỐ LIỆU TỪ THƯ NÀY" in text and "không có tệp đính kèm" in text
    [form] = list(ack.iter_attachments())
    assert form.get_filename() == "mau-bao-cao-xuat_hoa.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(form.get_content())).active
    assert any("UBND phường Xuất Hóa" in str(c.value) for row in sheet.iter_rows() for c in row if c.value)


def bounce() -> bytes:
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@mail.example.gov.vn>\r\n"
        b"To: baocao.ldtbxh@example.gov.vn\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Date: Wed, 11 Aug 2021 09:00:00 +0700\r\nMessage-ID: <bounce-1@mail.example.gov.vn>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example.gov.vn\r\n\r\n"
        b"Final-Recipient: rfc822; ntmk@example.gov.vn\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--B--\r\n"
    )


def test_out_of_office_bounces_and_our_own_mail_are_never_answered(env):
    book = report_workbook({"Hỗ trợ đào tạo": {"Số đối tượng đề nghị hỗ trợ": 5}})
    env.mailbox.append(
        email_bytes(
            sender="bhxh.tp@example.gov.vn",
            subject="Trả lời tự động: Báo cáo",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        at(9, 0),
    )
    env.mailbox.append(email_bytes(sender="yte.tp@example.gov.vn", subject="Out of Office: Báo cáo"), at(9, 1))
    env.mailbox.append(bounce(), at(9, 2))
    # a bounce of a unit's own server, from a registered-looking address but multipart/report
    env.mailbox.append(bounce().replace(b"MAILER-DAEMON@mail.example.gov.vn", b"songcau@example.gov.vn"), at(9, 3))
    env.mailbox.append(email_bytes(sender=OWN, attachments=[("bc.xlsx", XLSX, book)]), at(9, 4))
    env.mailbox.append(
        email_bytes(
            sender="vhtt.tp@example.gov.vn", headers={"Precedence": "bulk"}, attachments=[("bc.xlsx", XLSX, book)]
        ),
        at(9, 5),
    )
    env.mailbox.append(simple_report(sender="ntmk@example.gov.vn"), at(9, 6))  # the one real report
    poll(env, at(9, 30))
    assert plan(env, at(9, 30)) == 1
    drain_outbox(env.cfg, env.sessions, env.archive, at(9, 30))
    assert [m.rcpt_tos for m in env.smtp.messages] == [["ntmk@example.gov.vn"]]
    assert [r.dedupe_key.split(":")[0] for r in rows(env)] == ["ack"]  # automatic mail is not even considered


def test_a_thank_you_reply_to_our_acknowledgement_is_not_answered(env):
    env.mailbox.append(simple_report(), at(9, 0))
    poll(env, at(9, 5))
    plan(env, at(9, 5))
    drain_outbox(env.cfg, env.sessions, env.archive, at(9, 5))
    [ack] = mails(env)
    thanks = email_bytes(
        sender="bhxh.tp@example.gov.vn",
        subject=f"Re: {ack['Subject']}",
        body="Cảm ơn.",
        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]},
    )
    env.mailbox.append(thanks, at(9, 20))
    poll(env, at(9, 25))
    plan(env, at(9, 25))
    report = drain_outbox(env.cfg, env.sessions, env.archive, at(9, 25))
    assert report.skipped == 1 and len(env.smtp.messages) == 1
    assert "reply to one of our own mails" in rows(env)[-1].last_error


def test_unknown_senders_get_nothing_by_default_and_one_notice_a_day_when_enabled(env):
    report = simple_report(sender="vanthu@chodon.example.gov.vn")
    env.mailbox.append(report, at(13, 45))
    env.mailbox.append(simple_report(sender="vanthu@chodon.example.gov.vn", de_nghi=1), at(13, 50))
    env.mailbox.append(simple_report(sender="khac@example.org"), at(13, 55))
    poll(env, at(14, 0))
    assert plan(env, at(14, 0)) == 0
    assert rows(env) == []
    cfg = replace(env.cfg, acknowledgements=replace(env.cfg.acknowledgements, reply_unknown=True))
    assert plan(env, at(14, 0), cfg) == 2
    assert plan(env, at(14, 5), cfg) == 0
    drain_outbox(cfg, env.sessions, env.archive, at(14, 5))
    [notice] = mails(env, "vanthu@chodon.example.gov.vn")
    assert "chưa được đăng ký gửi báo cáo" in text_of(notice)
    assert notice["Auto-Submitted"] == "auto-replied"
    assert len(mails(env, "khac@example.org")) == 1


def test_the_daily_cap_per_address(env):
    cfg = replace(env.cfg, acknowledgements=replace(env.cfg.acknowledgements, daily_cap_per_address=2))
    for minute in range(3):
        env.mailbox.append(simple_report(de_nghi=40 + minute), at(9, minute))
    poll(env, at(9, 30))
    assert plan(env, at(9, 30), cfg) == 2
    assert drain_outbox(cfg, env.sessions, env.archive, at(9, 30)).sent == 2
    assert len(mails(env, "bhxh.tp@example.gov.vn")) == 2
    capped = rows(env)[-1]
    assert capped.state == "skipped" and "daily cap of 2" in capped.last_error


def test_old_messages_are_never_acknowledged(env):
    # e.g. found again by a rescan, or stored before acknowledgements were switched on
    env.mailbox.append(simple_report(), at(9, 0) - dt.timedelta(days=3))
    poll(env, at(9, 0))
    assert plan(env, at(9, 0)) == 0
    assert env.smtp.messages == []


def test_a_restart_between_poll_and_acknowledgement_sends_it_once(env):
    env.mailbox.append(simple_report(), at(9, 0))
    poll(env, at(9, 5))
    assert plan(env, at(9, 5)) == 1
    env.sessions.kw["bind"].dispose()  # the process dies before the drain
    sessions = open_database(env.cfg.service.database_url)
    archive = Archive(env.cfg.service.archive_dir)
    try:
        assert plan(env, at(9, 6), sessions=sessions) == 0
        drain_outbox(env.cfg, sessions, archive, at(9, 6))
        drain_outbox(env.cfg, sessions, archive, at(9, 7))
    finally:
        sessions.kw["bind"].dispose()
    assert len(env.smtp.messages) == 1


def test_a_mail_left_sending_by_a_dead_instance_goes_once_after_its_lease(env):
    env.mailbox.append(simple_report(), at(9, 0))
    poll(env, at(9, 5))
    plan(env, at(9, 5))
    with env.sessions() as s:  # another instance claimed it, then died before sending
        s.execute(
            update(OutboxMail).values(
                state=SENDING,
                lease_until=at(9, 5) + LEASE,
                lease_token="t" * 32,
                claimed_by="elsewhere:0badc0de",
                holder_process="x:1:1",
            )
        )
        s.commit()
    assert drain_outbox(env.cfg, env.sessions, env.archive, at(9, 5) + LEASE / 2).sent == 0
    assert drain_outbox(env.cfg, env.sessions, env.archive, at(9, 5) + LEASE).sent == 1
    assert drain_outbox(env.cfg, env.sessions, env.archive, at(9, 30)).sent == 0
    assert len(env.smtp.messages) == 1


def test_failing_smtp_leaves_rows_failed_and_a_later_drain_sends_them(env):
    env.mailbox.append(simple_report(), at(9, 0))
    env.mailbox.append(simple_report(sender="ntmk@example.gov.vn"), at(9, 1))
    poll(env, at(9, 5))
    plan(env, at(9, 5))
    env.smtp.fail = True
    assert drain_outbox(env.cfg, env.sessions, env.archive, at(9, 5)).failed == 2
    failed = rows(env)
    assert len(failed) == 2
    for row in failed:
        assert row.state == "failed" and row.attempts == 1 and "451" in row.last_error
        assert row.next_attempt_at == at(9, 6)
    env.smtp.fail = False
    assert drain_outbox(env.cfg, env.sessions, env.archive, at(9, 5, 30)).sent == 0  # backing off
    assert drain_outbox(env.cfg, env.sessions, env.archive, at(9, 6)).sent == 2
    assert sorted(r for m in env.smtp.messages for r in m.rcpt_tos) == ["bhxh.tp@example.gov.vn", "ntmk@example.gov.vn"]
    assert {r.state for r in rows(env)} == {"sent"}


def test_an_acknowledgement_that_cannot_go_for_days_expires(env):
    env.mailbox.append(simple_report(), at(9, 0))
    poll(env, at(9, 5))
    plan(env, at(9, 5))
    report = drain_outbox(env.cfg, env.sessions, env.archive, at(9, 5) + dt.timedelta(days=3))
    assert report.expired == 1 and report.sent == 0 and env.smtp.messages == []


# -- reminders -------------------------------------------------------------------------------


def test_reminders_go_only_to_units_still_missing_once_per_slot(env):
    env.mailbox.append(simple_report(), at(9, 0))  # BHXH
    env.mailbox.append(email_bytes(sender="xuathoa@example.gov.vn"), at(9, 30))  # unreadable counts
    env.mailbox.append(simple_report(sender="ketoan@thue.example.gov.vn"), at(9, 40))  # THUE by wildcard
    poll(env, at(9, 45))
    ten = dt.time(10, 0)
    planned = send_reminders(env.cfg, env.sessions, env.archive, ten, at(10, 0, 5))
    assert send_reminders(env.cfg, env.sessions, env.archive, ten, at(10, 0, 6)) == 0  # a second run
    # every unit of config.example.toml but BHXH, XUAT_HOA and THUE, at its exact senders
    # (the address two units share once for each; none gives reminder_to)
    expected = [
        "ducxuan@example.gov.vn",
        "duongquang@example.gov.vn",
        "huyentung@example.gov.vn",
        "ketoan.tckh@gmail.com",
        "nongthuong@example.gov.vn",
        "ntmk@example.gov.vn",
        "pgd.nhcsxh@example.vn",
        "phungchikien@example.gov.vn",
        "songcau@example.gov.vn",
        "tckh.tp@example.gov.vn",
        "vanphong.hai.xa@example.gov.vn",
        "vanphong.hai.xa@example.gov.vn",
        "vanthu.ducxuan@gmail.com",
        "vhtt.tp@example.gov.vn",
        "yte.tp@example.gov.vn",
    ]
    got = sorted(r for m in env.smtp.messages for r in m.rcpt_tos)
    assert got == expected and planned == len(expected)
    assert "bhxh.tp@example.gov.vn" not in got and "xuathoa@example.gov.vn" not in got
    [to_yte] = mails(env, "yte.tp@example.gov.vn")
    assert to_yte["Subject"] == "Nhắc gửi báo cáo ngày 11/08/2021 (hạn nộp 15:00)"
    assert to_yte["Auto-Submitted"] == "auto-generated"
    assert "Hạn nộp báo cáo là 15:00 hôm nay" in text_of(to_yte)
    assert [p.get_filename() for p in to_yte.iter_attachments()] == ["mau-bao-cao-yte.xlsx"]

    # NTMK reports before the 14:00 slot: it is not reminded again
    env.mailbox.append(simple_report(sender="ntmk@example.gov.vn"), at(11, 0))
    poll(env, at(11, 5))
    before = len(env.smtp.messages)
    send_reminders(env.cfg, env.sessions, env.archive, dt.time(14, 0), at(14, 0, 3))
    later = {r for m in env.smtp.messages[before:] for r in m.rcpt_tos}
    assert "ntmk@example.gov.vn" not in later and "yte.tp@example.gov.vn" in later
    with env.sessions() as s:
        reminded = reminded_units(s, DAY)
    assert len(reminded["NTMK"]) == 1 and len(reminded["YTE"]) == 2
    assert len(reminded["TCKH"]) == 2  # two addresses, one time per slot
    assert reminded["YTE"][0] == at(10, 0, 5)
    assert not {"BHXH", "XUAT_HOA", "THUE"} & set(reminded)


def test_no_reminder_on_a_holiday_nor_long_after_the_slot(env):
    holiday = replace(env.cfg, schedule=replace(env.cfg.schedule, holidays=frozenset({DAY})))
    assert send_reminders(holiday, env.sessions, env.archive, dt.time(10, 0), at(10, 0, 5)) == 0
    # the daemon was down at 10:00 and starts at 12:00: the 10:00 reminder is not sent late
    assert send_reminders(env.cfg, env.sessions, env.archive, dt.time(10, 0), at(12, 0)) == 0
    assert env.smtp.messages == []


def test_a_unit_that_reports_between_planning_and_sending_is_not_reminded(env):
    with env.sessions() as s:
        from service.schedule.outbox import plan_reminders

        plan_reminders(env.cfg, s, dt.time(10, 0), at(10, 0, 5))
        s.commit()
    env.mailbox.append(simple_report(), at(10, 0, 30))
    poll(env, at(10, 1))
    drain_outbox(env.cfg, env.sessions, env.archive, at(10, 1))
    assert mails(env, "bhxh.tp@example.gov.vn") == [] and mails(env, "yte.tp@example.gov.vn")


def test_two_drains_racing_send_each_mail_once(tmp_path, db_url, smtp):
    path = write_config(
        tmp_path / "config.toml",
        imap=None,
        database_url=db_url,
        archive_dir=tmp_path / "a",
        smtp={"host": "127.0.0.1", "port": smtp.port, "security": "none", "from_address": OWN},
    )
    cfg = load_config(path, env={})
    first, second = open_database(db_url), open_database(db_url)  # two instances, one database
    archive = Archive(cfg.service.archive_dir)
    try:
        with first() as s:
            from service.schedule.outbox import plan_reminders

            planned = plan_reminders(cfg, s, dt.time(10, 0), at(10, 0, 1))
            s.commit()
        with second() as s:  # the other instance's scheduler fired too
            assert plan_reminders(cfg, s, dt.time(10, 0), at(10, 0, 2)) == 0
            s.commit()
        assert planned > 10
        start = threading.Barrier(2)
        errors = []

        def drain(sessions, name):
            try:
                start.wait(timeout=30)
                drain_outbox(cfg, sessions, archive, at(10, 0, 3), owner=name)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [
            threading.Thread(target=drain, args=(first, "a")),
            threading.Thread(target=drain, args=(second, "b")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        ids = [email.message_from_bytes(m.data)["Message-ID"] for m in smtp.messages]
        assert len(ids) == planned and len(set(ids)) == planned
        with first() as s:
            assert s.scalar(select(func.count()).where(OutboxMail.state != "sent")) == 0
    finally:
        first.kw["bind"].dispose()
        second.kw["bind"].dispose()


# -- the daemon's jobs -----------------------------------------------------------------------


def test_daemon_polls_acknowledges_reminds_and_the_digest_lists_who_was_reminded(env):
    env.mailbox.append(simple_report(), at(9, 0))
    d = env.daemon(at(9, 5))
    d.poll()  # stores the report and plans its acknowledgement; sending is the outbox job's
    assert env.smtp.messages == []
    d.outbox()
    d.close()
    [ack] = mails(env, "bhxh.tp@example.gov.vn")
    assert ack["Subject"] == "Re: Báo cáo NQ68"
    env.mailbox.append(simple_report(sender="yte.tp@example.gov.vn"), at(9, 59))  # not polled yet
    d = env.daemon(at(10, 0, 2))
    d.remind(dt.time(10, 0))  # polls first: Y tế's report of a minute ago counts
    d.close()
    reminded = {str(m["To"]) for m in mails(env, subject_start="Nhắc")}
    assert "ntmk@example.gov.vn" in reminded
    assert not reminded & {"yte.tp@example.gov.vn", "bhxh.tp@example.gov.vn"}
    d = env.daemon(at(15, 0))
    d.digest(DAY)
    d.close()
    [digest] = env.digests()
    text = text_of(email.message_from_bytes(digest.data, policy=policy.default))
    section = text.split("ĐÃ GỬI THƯ NHẮC", 1)[1]
    assert "UBND phường Nguyễn Thị Minh Khai — nhắc lúc 10:00" in section
    assert "Phòng Y tế" not in section


def test_a_report_with_a_photo_is_acknowledged_once_the_photo_is_read(env):
    from tests.integration.test_ingest import book_and_photo

    env.mailbox.append(book_and_photo(), at(9, 0))
    ingestor = Ingestor(env.cfg, env.sessions, env.archive, clock=lambda: at(9, 5), workers=1)
    try:
        with Mailbox(env.cfg.imap) as box:
            assert ingestor.poll(box, defer_recognition=True).pending == 1  # as the daemon polls
        assert plan(env, at(9, 5)) == 0  # no reply claims figures before the photo is read
        assert len(ingestor.recognise_pending()) == 1
    finally:
        ingestor.close()
    assert plan(env, at(9, 6)) == 1
    drain_outbox(env.cfg, env.sessions, env.archive, at(9, 6))
    [ack] = mails(env, "yte.tp@example.gov.vn")
    assert figure(text_of(ack), "Số đối tượng đề nghị hỗ trợ") == "12"
    assert "đang đọc" not in text_of(ack)
