"""Mail to units, the pure parts: who may be answered, subjects, the acknowledgement and
reminder texts (figures, problems, corrections) and the headers that stop loops."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest

from service.config import UnitConfig
from service.outputs.render import render_template
from service.outputs.replies import (
    ack_model,
    compose_mail,
    form_filename,
    notice_model,
    reminder_model,
    reply_subject,
    unresolved_model,
)
from service.schedule.outbox import reminder_addresses, unanswerable_reason
from tests.unit.test_digest import CFG, DAY, UNITS, at, make_cfg, msg

BHXH = UNITS[0]


def ack_text(cfg, message, **kw) -> str:
    unit = cfg.unit(message.unit_code)
    lang = cfg.service.language
    return render_template("ack.txt", ack_model(cfg, message, unit, **kw), lang)


def figures_line(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(label))


# -- who is never answered ------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "MAILER-DAEMON@mail.example.gov.vn",
        "postmaster@example.gov.vn",
        "no-reply@dichvucong.gov.vn",
        "noreply@example.com",
        "do-not-reply@example.com",
        "donotreply@example.com",
        "no_reply+abc@x.vn",
        "bounces+123@lists.example.org",
    ],
)
def test_automatic_senders_are_never_answered(address):
    assert unanswerable_reason(address) is not None


def test_our_own_address_is_never_answered():
    assert unanswerable_reason("BaoCao@example.gov.vn", {"baocao@example.gov.vn"}) is not None


@pytest.mark.parametrize("address", [None, "", "no-at-sign", "a@b@c", "x@y\r\nBcc: z@w", "a b@c.vn"])
def test_unusable_addresses_are_never_answered(address):
    assert unanswerable_reason(address) is not None


@pytest.mark.parametrize(
    "address",
    ["bhxh.tp@example.gov.vn", "vanthu.ducxuan@gmail.com", "replyto@example.gov.vn", "noreplyhere.no@example.vn"],
)
def test_people_are_answered(address):
    assert unanswerable_reason(address, {"baocao@example.gov.vn"}) is None


def test_reminders_go_to_reminder_to_else_exact_senders_never_a_wildcard():
    assert reminder_addresses(UNITS[4]) == ("chutich.nongthuong@example.gov.vn",)
    unit = UnitConfig("THUE", "Chi cục Thuế", senders=("*@thue.example.gov.vn", "vanthu@thue.example.gov.vn"))
    assert reminder_addresses(unit) == ("vanthu@thue.example.gov.vn",)
    assert reminder_addresses(UnitConfig("X", "X", senders=("*@x.vn",))) == ()


# -- subjects and headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "original, expected",
    [
        ("Báo cáo NQ68", "Re: Báo cáo NQ68"),
        ("Re: Báo cáo NQ68", "Re: Báo cáo NQ68"),
        ("RE: re:Re : Báo cáo", "Re: Báo cáo"),
        ("AW: TL: Trả lời: Báo cáo", "Re: Báo cáo"),
        ("Re[2]: Báo cáo", "Re: Báo cáo"),
        ("Fwd: Báo cáo", "Re: Fwd: Báo cáo"),
        ("", "Re: Báo cáo của đơn vị"),
        ("Báo cáo\r\nBcc: x@evil.example", "Re: Báo cáo Bcc: x@evil.example"),
    ],
)
def test_reply_subject_never_stacks_re(original, expected):
    assert reply_subject(original, "vi") == expected


def test_reply_subject_fallback_in_english():
    assert reply_subject(None, "en") == "Re: Your report"


def test_a_reply_is_marked_automatic_and_threaded():
    m = compose_mail(
        CFG,
        to="bhxh@example.gov.vn",
        subject="Re: Báo cáo",
        message_id="<ack.1@example.gov.vn>",
        now=at(DAY, 9, 31),
        text="Đã nhận",
        html="<p>Đã nhận</p>",
        in_reply_to="<orig@x>",
        references=["<older@x>", "<orig@x>", "<orig@x>"],
        files=[("mau.xlsx", "application/vnd.ms-excel", b"PK")],
    )
    parsed = email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["In-Reply-To"] == "<orig@x>"
    assert parsed["References"] == "<older@x> <orig@x>"
    assert parsed["Message-ID"] == "<ack.1@example.gov.vn>"
    assert parsed["From"].addresses[0].addr_spec == "baocao@example.gov.vn"
    assert parsed["From"].addresses[0].display_name == "Hệ thống tổng hợp báo cáo"
    assert [p.get_filename() for p in parsed.iter_attachments()] == ["mau.xlsx"]


# -- the acknowledgement -------------------------------------------------------------------


def report(when=None, figures=None, **kw):
    return msg(
        "BHXH",
        when or at(DAY, 9, 25),
        figures
        if figures is not None
        else {("ngung_viec", "de_nghi"): 1234, ("ngung_viec", "kinh_phi"): 1_234_500_000},
        files=kw.pop("files", ("bao-cao.xlsx",)),
        **kw,
    )


def test_ack_names_the_unit_the_time_and_on_time():
    text = ack_text(CFG, report())
    assert "Kính gửi Bảo hiểm xã hội thành phố," in text
    assert "lúc 09:25 ngày 11/08/2021" in text
    assert "ĐÚNG HẠN (hạn nộp 15:00)" in text
    assert "Tệp bao-cao.xlsx: đã đọc" in text


def test_ack_table_has_the_figures_in_vietnamese_format_money_in_trieu_dong():
    text = ack_text(CFG, report())
    assert "1. Hỗ trợ người lao động ngừng việc" in text
    assert figures_line(text, "Số đối tượng đề nghị hỗ trợ").endswith(" 1.234")
    assert figures_line(text, "Kinh phí được phê duyệt (triệu đồng)").endswith(" 1.234,5")
    assert "Hỗ trợ hộ kinh doanh" not in text  # an indicator without figures is not listed
    assert "1 chỉ tiêu khác không có số liệu" in text


def test_ack_after_the_deadline_says_late():
    text = ack_text(CFG, report(at(DAY, 15, 1)))
    assert "MUỘN (hạn nộp 15:00 ngày 11/08/2021)" in text


def test_ack_within_the_minute_of_the_deadline_is_on_time():
    # Shown to the minute, "received 15:00" must not read as late against "deadline 15:00".
    assert "ĐÚNG HẠN" in ack_text(CFG, report(at(DAY, 15, 0)))
    text = ack_text(CFG, report(at(DAY, 15, 0) + dt.timedelta(seconds=59)))
    assert "ĐÚNG HẠN" in text and "MUỘN" not in text


def test_ack_of_a_correction_after_the_deadline_keeps_the_day_on_time():
    text = ack_text(CFG, report(at(DAY, 16, 0)), earlier=[report(at(DAY, 10, 0))])
    assert "ĐÚNG HẠN" in text and "MUỘN" not in text
    assert "Báo cáo này THAY THẾ báo cáo đơn vị gửi lúc 10:00 cùng ngày." in text


def test_ack_on_a_non_reporting_day_says_so_without_on_time_or_late():
    sunday = dt.date(2021, 8, 15)
    text = ack_text(CFG, report(at(sunday, 9, 0)))
    assert "không phải ngày báo cáo theo lịch" in text
    assert "ĐÚNG HẠN" not in text and "MUỘN" not in text


def test_ack_lists_problems_in_plain_vietnamese_with_the_cell():
    text = ack_text(
        CFG,
        report(problems=(("not_a_number", {"file": "bc.xlsx", "sheet": "Báo cáo", "cell": "D12", "text": "ba trăm"}),)),
    )
    assert "CẦN KIỂM TRA LẠI (1)" in text
    assert "- Tệp bc.xlsx, trang Báo cáo, ô D12: 'ba trăm' không phải là số" in text


def test_ack_flags_a_cumulative_figure_lower_than_the_previous_report():
    previous = report(at(DAY - dt.timedelta(days=1), 9, 0), {("ngung_viec", "de_nghi"): 1300})
    text = ack_text(CFG, report(), previous=previous)
    assert "số lũy kế giảm từ 1.300 (ngày 10/08/2021) xuống 1.234" in text


def test_a_correction_the_same_day_replaces_the_earlier_report():
    first = report(at(DAY, 9, 25))
    text = ack_text(CFG, report(at(DAY, 11, 40)), earlier=[first])
    assert "Báo cáo này THAY THẾ báo cáo đơn vị gửi lúc 09:25 cùng ngày." in text
    assert "THAY THẾ" not in ack_text(CFG, first)


def test_unreadable_report_says_what_to_send_and_attaches_the_form():
    unread = report(
        at(DAY, 10, 0),
        {},
        readable=False,
        files=("scan.pdf",),
        problems=(("unsupported_format", {"file": "scan.pdf", "format": "pdf"}),),
    )
    model = ack_model(CFG, unread, BHXH)
    assert model["form_file"] == "mau-bao-cao-bhxh.xlsx"
    text = render_template("ack.txt", model, "vi")
    assert "KHÔNG ĐỌC ĐƯỢC SỐ LIỆU TỪ THƯ NÀY" in text
    assert "Tệp scan.pdf (PDF) không đọc tự động được" in text
    assert "mẫu báo cáo đính kèm (mau-bao-cao-bhxh.xlsx)" in text
    assert "SỐ LIỆU ĐÃ ĐỌC" not in text


def test_unreadable_correction_says_the_earlier_figures_still_count():
    first = report(at(DAY, 9, 25))
    unread = report(at(DAY, 10, 0), {}, readable=False, problems=(("no_attachment", {}),), files=())
    text = ack_text(CFG, unread, earlier=[first])
    assert "Số liệu của báo cáo đơn vị gửi lúc 09:25 cùng ngày vẫn được dùng" in text
    assert "THAY THẾ" not in text


def test_ack_in_english_with_english_number_format():
    cfg = make_cfg("en")
    text = ack_text(cfg, report())
    assert "Dear Bảo hiểm xã hội thành phố," in text
    assert "ON TIME (due at 15:00)" in text
    assert figures_line(text, "Kinh phí được phê duyệt (million VND)").endswith(" 1,234.5")
    assert "Kính gửi" not in text


def test_ack_html_has_the_table_and_escapes_hostile_text():
    hostile = report(subject='<img src=x onerror="alert(1)">', files=("<b>x</b>.xlsx",))
    html = render_template("ack.html", ack_model(CFG, hostile, BHXH), "vi")
    assert "<img src=x" not in html and "<b>x</b>" not in html
    assert "&lt;img src=x" in html
    assert ">1.234,5</td>" in html


def test_notice_to_an_unknown_sender_and_reply_to_a_shared_sender():
    unknown = msg(
        None, at(DAY, 13, 45), kind="unassigned", reason="unknown_sender:x@khac.gov.vn", sender="x@khac.gov.vn"
    )
    text = render_template("ack.txt", notice_model(CFG, unknown), "vi")
    assert "x@khac.gov.vn" in text and "chưa được đăng ký" in text
    shared = msg(
        None,
        at(DAY, 9, 20),
        kind="unassigned",
        reason="shared_sender_unresolved:SONG_CAU, XUAT_HOA",
        sender="vanphong@example.gov.vn",
    )
    text = render_template("ack.txt", unresolved_model(CFG, shared), "vi")
    assert "UBND phường Sông Cầu; UBND phường Xuất Hóa" in text
    assert "CHƯA ĐƯỢC TÍNH" in text


# -- the reminder --------------------------------------------------------------------------


def test_reminder_says_the_deadline_and_how_to_send():
    model = reminder_model(CFG, UNITS[1], DAY, at(DAY, 10, 0))
    text = render_template("reminder.txt", model, "vi")
    assert "Kính gửi Phòng Y tế," in text
    assert "Đến 10:00 ngày 11/08/2021" in text
    assert "Hạn nộp báo cáo là 15:00 hôm nay" in text
    assert "mau-bao-cao-yte.xlsx" in text and "yte@example.gov.vn" in text


def test_reminder_after_the_deadline_says_it_has_passed():
    text = render_template("reminder.txt", reminder_model(CFG, UNITS[1], DAY, at(DAY, 16, 0)), "vi")
    assert "đã qua" in text


def test_reminder_in_english():
    cfg = make_cfg("en")
    text = render_template("reminder.txt", reminder_model(cfg, UNITS[1], DAY, at(DAY, 10, 0)), "en")
    assert "The report is due at 15:00 today" in text and "report-form-yte.xlsx" in text


def test_form_filename_is_ascii_for_any_unit_code():
    assert form_filename(CFG, UnitConfig("Đ/X 1", "x", senders=("a@b.c",))) == "mau-bao-cao-d-x-1.xlsx"


# -- with [[reports]]: the reports a message carries and their periods --------------------------


@pytest.fixture
def reports_cfg(tmp_path):
    from tests.unit.test_config import SAMPLE_ENV, load
    from tests.unit.test_reports_config import example_with_reports

    return load(tmp_path, example_with_reports(), env=SAMPLE_ENV)


def sent(unit, day, hh, **kw):
    return msg(unit, at(dt.date(2021, 8, day), hh, 0), {}, files=kw.pop("files", ("bc.xlsx",)), **kw)


def test_ack_of_a_weekly_report_names_the_report_and_its_week(reports_cfg):
    wednesday = sent("DUONG_QUANG", 18, 9)
    text = ack_text(reports_cfg, wednesday, carried={"tuan": True})
    assert "Báo cáo tuần, tuần 16/08–22/08/2021: đã nhận ĐÚNG HẠN (hạn nộp 16:00 20/08/2021)" in text
    assert "Ngày báo cáo:" not in text and "Thời hạn:" not in text  # the day's lines are the daily report's
    saturday = sent("DUONG_QUANG", 28, 9)
    text = ack_text(reports_cfg, saturday, carried={"tuan": True})
    assert "Báo cáo tuần, tuần 23/08–29/08/2021: đã nhận MUỘN (hạn nộp 16:00 27/08/2021)" in text
    html = render_template(
        "ack.html",
        ack_model(reports_cfg, saturday, reports_cfg.unit("DUONG_QUANG"), carried={"tuan": True}),
        "vi",
    )
    assert "Báo cáo tuần, tuần 23/08–29/08/2021" in html and "Đã nhận muộn" in html


def test_ack_of_a_message_carrying_two_reports_names_both(reports_cfg):
    two = sent("BHXH", 19, 15, files=("ngay.xlsx", "thang.xlsx"))
    text = ack_text(reports_cfg, two, carried={"thang": True, "ngay": False})
    lines = [line.strip() for line in text.splitlines() if ": đã nhận" in line]
    assert lines == [  # in the config's order, each against its own period's deadline
        "Báo cáo tiến độ hằng ngày, ngày 19/08/2021: đã nhận nhưng KHÔNG ĐỌC ĐƯỢC số liệu (hạn nộp 15:00 19/08/2021)",
        "Báo cáo tháng, tháng 8/2021: đã nhận ĐÚNG HẠN (hạn nộp 17:00 20/08/2021)",
    ]


def test_ack_of_a_message_matching_no_report_says_so(reports_cfg):
    problem = ("report_unmatched", {"file": "bc.xlsx", "reports": "Báo cáo tuần"})
    none = sent("DUONG_QUANG", 18, 9, readable=False, problems=(problem,))
    text = ack_text(reports_cfg, none, carried={})
    assert "Thư này không khớp với báo cáo nào đơn vị phải gửi" in text
    assert "Tệp bc.xlsx: số liệu không khớp với mẫu báo cáo nào đơn vị phải gửi (Báo cáo tuần)" in text
    assert "đã nhận ĐÚNG HẠN" not in text and "ĐÚNG HẠN" not in text


def test_ack_of_a_late_correction_keeps_the_period_on_time(reports_cfg):
    correction = sent("DUONG_QUANG", 21, 9)  # Saturday, after Friday's deadline
    first = at(dt.date(2021, 8, 18), 9, 0)  # its first readable weekly report, on Wednesday
    text = ack_text(reports_cfg, correction, carried={"tuan": True}, first_at={"tuan": first})
    assert "Báo cáo tuần, tuần 16/08–22/08/2021: đã nhận ĐÚNG HẠN (hạn nộp 16:00 20/08/2021)" in text
    assert "MUỘN" not in ack_text(reports_cfg, sent("DUONG_QUANG", 20, 9), carried={"tuan": True})


def test_ack_of_a_daily_report_on_a_day_off_is_neither_on_time_nor_late(reports_cfg):
    holiday = dt.date(2021, 9, 2)  # Quốc khánh, in the example's holidays
    text = ack_text(reports_cfg, msg("BHXH", at(holiday, 16, 0), {}, files=("bc.xlsx",)), carried={"ngay": True})
    line = next(line.strip() for line in text.splitlines() if ": đã nhận" in line)
    assert line.startswith("Báo cáo tiến độ hằng ngày, ngày 02/09/2021: đã nhận (không phải ngày báo cáo theo lịch")
    assert "MUỘN" not in text and "ĐÚNG HẠN" not in text
    # the weekly report sent that day counts for its week as any other day
    commune = msg("DUONG_QUANG", at(holiday, 16, 0), {}, files=("bc.xlsx",))
    assert "tuần 30/08–05/09/2021: đã nhận ĐÚNG HẠN" in ack_text(reports_cfg, commune, carried={"tuan": True})


def test_ack_shows_each_reports_figures_in_its_own_form(reports_cfg):
    figures = {("ho_kinh_doanh", "de_nghi"): 7, ("ho_kinh_doanh", "phe_duyet"): 6, ("ho_kinh_doanh", "da_chi"): 5}
    two = msg("BHXH", at(dt.date(2021, 8, 19), 9, 0), figures, files=("ngay.xlsx", "thang.xlsx"))
    model = ack_model(reports_cfg, two, reports_cfg.unit("BHXH"), carried={"ngay": True, "thang": True})
    tables = {t["report"]["title"]: t for t in model["tables"]}
    assert list(tables) == ["Báo cáo tiến độ hằng ngày", "Báo cáo tháng"]  # config order
    assert [t["report"]["period"] for t in tables.values()] == ["ngày 19/08/2021", "tháng 8/2021"]
    monthly = tables["Báo cáo tháng"]
    assert [m["code"] for m in monthly["measures"]] == [m.code for m in reports_cfg.report("thang").form.measures]
    [row] = monthly["rows"]
    assert [c["text"] for c in row["cells"] if c["text"]] == ["7", "5"]  # phe_duyet is no column of it
    text = render_template("ack.txt", model, "vi")
    assert "SỐ LIỆU ĐÃ ĐỌC ĐƯỢC — Báo cáo tháng, tháng 8/2021 (số lũy kế; kinh phí: triệu đồng)" in text
    once = ack_model(reports_cfg, two, reports_cfg.unit("BHXH"), carried={"nhanh_2008": True})
    assert "(kinh phí: triệu đồng)" in render_template("ack.txt", once, "vi")  # not cumulative: no "lũy kế"


def test_the_signature_stands_apart_with_or_without_reports(reports_cfg):
    figures = {("ho_kinh_doanh", "de_nghi"): 7}
    plain = ack_text(CFG, msg("BHXH", at(DAY, 10), figures, files=("bc.xlsx",)))
    weekly = ack_text(reports_cfg, msg("DUONG_QUANG", at(dt.date(2021, 8, 18), 9, 0), figures), carried={"tuan": True})
    for text in (plain, weekly):
        assert "sẽ thay thế báo cáo này.\n\n--\n" in text


def test_ack_of_an_unreadable_report_says_the_periods_earlier_one_still_counts(reports_cfg):
    from service.outputs.replies import ReportHistory

    problem = ("no_readable_attachment", {})
    friday = msg(
        "DUONG_QUANG", at(dt.date(2021, 8, 20), 9, 0), {}, readable=False, files=("x.pdf",), problems=(problem,)
    )
    wednesday = at(dt.date(2021, 8, 18), 9, 0)
    history = {"tuan": ReportHistory(earlier_at=wednesday)}
    text = ack_text(reports_cfg, friday, carried={"tuan": False}, history=history)
    assert "Báo cáo tuần, tuần 16/08–22/08/2021: đã nhận nhưng KHÔNG ĐỌC ĐƯỢC số liệu" in text
    assert "Báo cáo tuần: số liệu của báo cáo đơn vị gửi lúc 09:00 ngày 18/08/2021 vẫn được dùng để tổng hợp." in text
    assert "chưa được đưa vào tổng hợp" not in text
    model = ack_model(reports_cfg, friday, reports_cfg.unit("DUONG_QUANG"), carried={"tuan": False})
    assert model["form_report"] == "tuan" and model["form_file"]  # the weekly report's blank form goes back
