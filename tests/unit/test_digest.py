"""The coordinator's digest: model, HTML/text, attachments and MIME (the day's view from an in-memory database)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
from dataclasses import replace
from decimal import Decimal
from email.utils import make_msgid
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, make_transient

from parsers.model import FormSpec, IndicatorSpec, MeasureSpec
from parsers.text import clean_text, safe_filename
from service.config import (
    CampaignConfig,
    Config,
    DigestConfig,
    ScheduleConfig,
    ServiceConfig,
    SmtpConfig,
    UnitConfig,
)
from service.day.dayview import DayView, build_day_view
from service.outputs.digest import (
    ATTACHMENT_FALLBACK_NAME,
    DEFAULT_MAX_MESSAGE_BYTES,
    DigestContent,
    DigestFile,
    Numbers,
    UnreadFile,
    compose_email,
    digest_model,
    is_late,
    message_size_bound,
    render_digest,
)
from service.outputs.model import EMAIL_MAX_UNIT_ROWS, MAX_TEXT
from storage.db import create_db_engine
from storage.models import Attachment, Base, Figure, Message, ProblemRow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = dt.date(2021, 8, 11)  # a Wednesday
YESTERDAY = DAY - dt.timedelta(days=1)
MILLION = 1_000_000

FORM = FormSpec(
    measures=(
        MeasureSpec("de_nghi", "Số đối tượng đề nghị hỗ trợ", kind="count"),
        MeasureSpec("kinh_phi", "Kinh phí được phê duyệt", kind="money", default_scale=MILLION),
    ),
    indicators=(
        IndicatorSpec("ngung_viec", "Hỗ trợ người lao động ngừng việc"),
        IndicatorSpec("ho_kinh_doanh", "Hỗ trợ hộ kinh doanh"),
    ),
)

UNITS = (
    UnitConfig("BHXH", "Bảo hiểm xã hội thành phố", "Phòng, ban, ngành", senders=("bhxh@example.gov.vn",)),
    UnitConfig("YTE", "Phòng Y tế", "Phòng, ban, ngành", senders=("yte@example.gov.vn",)),
    UnitConfig("SONG_CAU", "UBND phường Sông Cầu", "Xã, phường", senders=("songcau@example.gov.vn",)),
    UnitConfig("XUAT_HOA", "UBND phường Xuất Hóa", "Xã, phường", senders=("xuathoa@example.gov.vn",)),
    UnitConfig(
        "NONG_THUONG",
        "UBND xã Nông Thượng",
        "Xã, phường",
        senders=("nongthuong@example.gov.vn",),
        reminder_to=("chutich.nongthuong@example.gov.vn",),
    ),
)


def make_cfg(language: str = "vi", units: tuple[UnitConfig, ...] = UNITS, **digest: object) -> Config:
    return Config(
        service=ServiceConfig(
            timezone=TZ, database_url="sqlite://", archive_dir=Path("/nonexistent"), language=language
        ),  # type: ignore[arg-type]
        imap=None,
        smtp=SmtpConfig(
            host="127.0.0.1",
            port=25,
            security="none",
            username=None,
            password=None,
            from_address="baocao@example.gov.vn",
            from_name="Hệ thống tổng hợp báo cáo",
        ),
        schedule=ScheduleConfig(report_days=frozenset(range(6))),  # Sunday is no reporting day
        digest=DigestConfig(
            to=("dieuphoi@example.gov.vn",),
            cc=("lanhdao@example.gov.vn",),
            subject="Tổng hợp tiến độ NQ 68 ngày {date}",
            **digest,
        ),  # type: ignore[arg-type]
        campaign=CampaignConfig(
            title="Hỗ trợ người lao động gặp khó khăn do Covid-19 (NQ 68/NQ-CP)",
            start_date=dt.date(2021, 7, 30),
            end_date=dt.date(2021, 8, 25),
        ),
        form=FORM,
        units=units,
    )


CFG = make_cfg()


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=TZ)


def msg(
    unit: str | None,
    when: dt.datetime,
    figures: dict | None = None,
    *,
    readable: bool = True,
    kind: str = "report",
    subject: str = "Báo cáo tiến độ",
    files: tuple[str, ...] = (),
    problems: tuple[tuple[str, dict], ...] = (),
    sender: str | None = None,
    reason: str | None = None,
    as_of: dt.date | None = None,
) -> Message:
    """A transient stored message: figures {(indicator, measure): value in đồng}."""
    m = Message(
        kind=kind,
        unit_code=unit,
        readable=readable,
        report_day=when.date(),
        received_at=when,
        subject=subject,
        from_address=sender or (f"{unit.lower()}@example.gov.vn" if unit else None),
        from_name=None,
        reason=reason,
        as_of=as_of,
        message_id=f"<{unit}.{when:%d%H%M}@x>",
    )
    m.figures = [Figure(indicator=i, measure=k, value=Decimal(v)) for (i, k), v in (figures or {}).items()]
    m.problems = [ProblemRow(code=c, params=p) for c, p in problems]
    m.attachments = [
        Attachment(
            position=i,
            filename=f,
            content_type="application/octet-stream",
            detected_format=f.rsplit(".", 1)[-1],
            size=1000,
            sha256="0" * 64,
            outcome="read" if readable else "evidence",
        )
        for i, f in enumerate(files)
    ]
    return m


@lru_cache(maxsize=1)
def _database() -> Engine:
    """One in-memory SQLite database with the service's tables; each view_of rolls back what it stored."""
    engine = create_db_engine("sqlite://")
    Base.metadata.create_all(engine)
    return engine


def view_of(cfg: Config, day: dt.date, messages: list[Message]) -> DayView:
    """The day's view as the service builds it (build_day_view) from these messages, stored in an
    in-memory SQLite database: the status and total rules are the product's only."""
    session = Session(_database(), expire_on_commit=False)
    try:
        for n, m in enumerate(messages, 1):
            for row in (m, *m.figures, *m.problems, *m.attachments):
                if inspect(row).detached:
                    make_transient(row)
                row.id = None  # a message stored by an earlier call gets a new row here
            m.sha256 = f"{n:064x}"
            m.size = m.size if m.size is not None else 1000
            m.archive_path = m.archive_path or f"{m.report_day}/{n}.eml"
            m.source = m.source or "import"
            m.created_at = m.analysed_at = m.received_at
            session.add(m)
        session.flush()
        return build_day_view(session, cfg, day)
    finally:
        session.rollback()  # the messages are transient again, their attributes unchanged
        session.close()


def scenario() -> list[Message]:
    """Yesterday everybody but XUAT_HOA reported; today one is late, one unreadable, two missing."""
    return [
        msg("BHXH", at(YESTERDAY, 8), {("ngung_viec", "de_nghi"): 100, ("ngung_viec", "kinh_phi"): 371 * MILLION}),
        msg("YTE", at(YESTERDAY, 9), {("ho_kinh_doanh", "de_nghi"): 40}),
        msg("SONG_CAU", at(YESTERDAY, 10), {("ngung_viec", "de_nghi"): 52}),
        msg("NONG_THUONG", at(YESTERDAY, 11), {("ho_kinh_doanh", "de_nghi"): 7}),
        # today
        msg(
            "BHXH",
            at(DAY, 8, 5),
            {("ngung_viec", "de_nghi"): 1234, ("ngung_viec", "kinh_phi"): 1_234_500_000},
            files=("bhxh.xlsx",),
        ),
        msg("SONG_CAU", at(DAY, 16, 20), {("ngung_viec", "de_nghi"): 50}, files=("songcau.xlsx",)),
        msg("XUAT_HOA", at(DAY, 11, 5), readable=False, problems=(("no_attachment", {}),)),
        msg(
            None,
            at(DAY, 13, 45),
            kind="unassigned",
            sender="ldtbxh.huyenkhac@example.org",
            subject="Báo cáo ngày 11/8 (gửi nhầm)",
            reason="unknown_sender:ldtbxh.huyenkhac@example.org",
        ),
        msg(
            "NONG_THUONG",
            at(DAY, 11, 35),
            kind="automatic",
            subject="Trả lời tự động: vắng mặt",
            reason="automatic:Auto-Submitted: auto-replied",
        ),
    ]


def render(cfg: Config = CFG, messages: list[Message] | None = None, day: dt.date = DAY, **kw) -> DigestContent:
    kw.setdefault("now", at(day, 15, 0))
    return render_digest(view_of(cfg, day, scenario() if messages is None else messages), cfg, **kw)


def model(cfg: Config = CFG, messages: list[Message] | None = None, day: dt.date = DAY, **kw) -> dict:
    kw.setdefault("now", at(day, 15, 0))
    return digest_model(view_of(cfg, day, scenario() if messages is None else messages), cfg, **kw)


def plain(html: str) -> str:
    """The HTML as a reader sees it (tags dropped, entities decoded, spaces collapsed)."""
    import html as h

    return re.sub(r"\s+", " ", h.unescape(re.sub(r"<[^>]+>", " ", html)))


# -- the model -------------------------------------------------------------------------------


def test_reporting_rate_counts_every_status():
    r = model()["rate"]
    assert (r["expected"], r["reported"], r["on_time"], r["late"], r["unreadable"], r["missing"]) == (5, 3, 1, 1, 1, 2)
    assert r["percent_text"] == "60"


def test_missing_units_by_group_in_config_order():
    m = model()
    assert [(g["name"], [u["code"] for u in g["units"]]) for g in m["missing"]] == [
        ("Phòng, ban, ngành", ["YTE"]),
        ("Xã, phường", ["NONG_THUONG"]),
    ]
    assert m["missing_count"] == 2
    yte = m["missing"][0]["units"][0]
    assert yte["figures_day_text"] == "10/08/2021" and yte["contact"] == "yte@example.gov.vn"
    # a reminder address is the better contact when the config gives one
    assert m["missing"][1]["units"][0]["contact"] == "chutich.nongthuong@example.gov.vn"


def test_units_without_a_group_come_last_under_other():
    units = (
        UnitConfig("A", "Đơn vị A", None, senders=("a@x.vn",)),
        UnitConfig("B", "Đơn vị B", "Nhóm B", senders=("b@x.vn",)),
    )
    m = model(make_cfg(units=units), [])
    assert [g["name"] for g in m["missing"]] == ["Nhóm B", "Khác"]


def test_stale_figures_are_marked_with_their_day():
    units = {u["code"]: u for u in model()["units"]}
    assert units["YTE"]["stale"] and units["YTE"]["figures_day_text"] == "10/08/2021"
    assert units["YTE"]["sums"][0]["text"] == "40"
    assert not units["BHXH"]["stale"]
    assert model()["totals"]["stale_units"] == 2  # YTE and NONG_THUONG still count, with old figures


def test_a_scan_still_being_read_is_a_report_on_time_with_its_problem_not_unreadable():
    photo = msg(
        "YTE",
        at(DAY, 10, 15),
        readable=False,
        files=("IMG_0412.jpg",),
        problems=(("recognition_pending", {"file": "IMG_0412.jpg"}),),
    )
    view = view_of(CFG, DAY, [*scenario(), photo])
    yte = next(u for u in view.units if u.unit.code == "YTE")
    assert yte.status == "on_time" and yte.message is not None and yte.message.subject == photo.subject
    assert yte.values == {} and yte.stale  # yesterday's figures still count, marked old
    text = render(messages=[*scenario(), photo]).text
    assert "Phòng Y tế: Đúng hạn lúc 10:15; số liệu cũ ngày 10/08/2021; 1 vấn đề" in text
    assert "Tệp IMG_0412.jpg: đang đọc bản quét/ảnh" in text
    unreadable = text.split("KHÔNG ĐỌC ĐƯỢC BÁO CÁO")[1].split("TỔNG HỢP SỐ LIỆU")[0]
    assert "Phòng Y tế" not in unreadable
    assert "Đã báo cáo: 4/5 đơn vị" in text.replace("ĐÃ BÁO CÁO", "Đã báo cáo")


def test_totals_and_change_since_the_previous_day():
    rows = {r["code"]: r for r in model()["totals"]["rows"]}
    count, money = rows["ngung_viec"]["cells"]
    # BHXH 100 -> 1234, SONG_CAU 52 -> 50 (late, but its figures count)
    assert count["value"] == Decimal(1284) and count["text"] == "1.284"
    assert count["change"] == Decimal(1284 - 152) and count["change_text"] == "+1.132"
    assert money["text"] == "1.234,5" and money["number"] == 1234.5 and money["change_text"] == "+863,5"
    hkd = rows["ho_kinh_doanh"]["cells"][0]
    assert hkd["text"] == "47" and hkd["trend"] == "same"


def test_a_cumulative_decrease_is_a_problem_sentence_with_labels():
    units = {u["code"]: u for u in model()["units"]}
    [p] = units["SONG_CAU"]["problems"]
    assert p["code"] == "cumulative_decrease"
    assert p["text"] == (
        "Chỉ tiêu 'Hỗ trợ người lao động ngừng việc', cột 'Số đối tượng đề nghị hỗ trợ': "
        "số lũy kế giảm từ 52 (ngày 10/08/2021) xuống 50"
    )


def test_money_in_a_decrease_is_shown_in_trieu_dong():
    messages = [
        msg("BHXH", at(YESTERDAY, 8), {("ngung_viec", "kinh_phi"): 5_000_000_000}),
        msg("BHXH", at(DAY, 8), {("ngung_viec", "kinh_phi"): 4_999_500_000}),
    ]
    [p] = {u["code"]: u for u in model(messages=messages)["units"]}["BHXH"]["problems"]
    assert "Kinh phí được phê duyệt (triệu đồng)" in p["text"] and "từ 5.000 (" in p["text"] and "4.999,5" in p["text"]


def test_first_report_ever_has_no_change():
    m = model(messages=[msg("BHXH", at(DAY, 8), {("ngung_viec", "de_nghi"): 10})])
    cell = m["totals"]["rows"][0]["cells"][0]
    assert cell["text"] == "10" and cell["change"] is None and cell["trend"] == "none"


@pytest.mark.parametrize(
    "day, state, sentence",
    [
        (DAY, "before", "còn 14 ngày đến hạn 25/08/2021"),
        (dt.date(2021, 8, 25), "today", "hôm nay là hạn cuối 25/08/2021"),
        (dt.date(2021, 8, 27), "after", "đã quá hạn 25/08/2021 2 ngày"),
    ],
)
def test_campaign_countdown(day, state, sentence):
    m = model(messages=[], day=day)
    assert m["campaign"]["countdown"]["state"] == state
    html = render(messages=[], day=day).html
    assert sentence in plain(html)


def test_late_digest_says_when_it_was_sent():
    content = render(now=at(DAY, 16, 5), sent_late=True)
    assert "Bản tổng hợp này được gửi muộn lúc 16:05" in plain(content.html)
    assert "Bản tổng hợp này được gửi muộn lúc 16:05" in content.text
    assert "gửi muộn" not in render(now=at(DAY, 15, 0)).text


def test_lateness_is_decided_from_the_clock_when_not_given():
    assert not is_late(CFG, DAY, at(DAY, 15, 10))
    assert is_late(CFG, DAY, at(DAY, 15, 20))
    content = render(now=dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(8, 30), tzinfo=TZ))
    assert "gửi muộn lúc 08:30 ngày 12/08/2021" in content.text


def test_non_reporting_day_says_so_and_lists_nobody_missing():
    sunday = dt.date(2021, 8, 15)
    m = model(messages=scenario(), day=sunday)
    assert not m["reporting_day"] and m["missing"] == []
    content = render(messages=scenario(), day=sunday)
    assert "Ngày 15/08/2021 không phải ngày báo cáo" in plain(content.html)
    assert "không phải ngày báo cáo" in content.text
    assert "CHƯA BÁO CÁO" not in content.text


def test_previous_view_adds_yesterdays_rate_and_reminders_are_listed():
    previous = view_of(CFG, YESTERDAY, scenario())
    m = model(previous=previous, reminded={"NONG_THUONG": [at(DAY, 14), at(DAY, 10)], "GONE": [at(DAY, 10)]})
    assert m["previous_rate"]["reported"] == 4
    assert m["reminded"] == [
        {
            "code": "NONG_THUONG",
            "name": "UBND xã Nông Thượng",
            "times": ["10:00", "14:00"],
            "status": "missing",
            "status_text": "Chưa báo cáo",
        }
    ]


@pytest.mark.parametrize(
    "language, value, money, count",
    [
        ("vi", Decimal(1_234_500_000), "1.234,5", "1.234.500.000"),
        ("en", Decimal(1_234_500_000), "1,234.5", "1,234,500,000"),
        ("vi", Decimal(3_710_000), "3,71", "3.710.000"),
        ("vi", Decimal(100_000_000), "100", "100.000.000"),
        ("vi", Decimal(-2_000_000), "-2", "-2.000.000"),
        ("en", Decimal(100_000_000), "100.0", "100,000,000"),
    ],
)
def test_vietnamese_number_formatting(language, value, money, count):
    num = Numbers.for_language(language)
    assert num.money(value) == money
    assert num.count(value) == count


def test_clean_removes_control_and_bidi_characters():
    assert clean_text("a\r\nb\tc\u202ed\x00e", MAX_TEXT, ellipsis=True) == "a b c d e"
    cut = clean_text("x" * 500, MAX_TEXT, ellipsis=True)
    assert cut.endswith("…") and len(cut) == MAX_TEXT == 300


# -- rendering -------------------------------------------------------------------------------


def test_missing_units_come_first_and_in_red():
    html = render().html
    text = plain(html)
    first_missing = text.index("CHƯA BÁO CÁO: 2 đơn vị")
    assert first_missing < text.index("Tổng hợp số liệu lũy kế") < text.index("Tình hình báo cáo theo đơn vị")
    assert first_missing < text.index("KHÔNG ĐỌC ĐƯỢC BÁO CÁO")
    box = html[html.index("CHƯA BÁO CÁO") : html.index("KHÔNG ĐỌC ĐƯỢC")]
    assert "Phòng Y tế" in box and "UBND xã Nông Thượng" in box and "#b3261e" in box


def test_html_and_text_in_vietnamese_by_default_and_english_on_request():
    vi = render()
    assert "đơn vị đã báo cáo (60%)" in plain(vi.html) and "ĐÃ BÁO CÁO: 3/5 đơn vị (60%)" in vi.text
    en = render(make_cfg("en"))
    assert "units reported (60%)" in plain(en.html) and "REPORTED: 3/5 units (60%)" in en.text
    assert "NOT REPORTED: 2 units" in en.text and "14 days left until the 25/08/2021 deadline" in en.text
    for part in (en.html, en.text):
        assert "Chưa báo cáo:" not in part and "Tổng hợp số liệu" not in part
    assert en.files[0].filename == "report-digest-2021-08-11.xlsx"


def test_subject_from_config_with_the_date():
    assert render().subject == "Tổng hợp tiến độ NQ 68 ngày 11/08/2021"


def test_text_part_names_missing_unreadable_units_and_unknown_senders():
    text = render().text
    for expected in (
        "Phòng Y tế",
        "UBND xã Nông Thượng",
        "UBND phường Xuất Hóa",
        "Thư báo cáo không có tệp đính kèm",
        "ldtbxh.huyenkhac@example.org",
        "Báo cáo ngày 11/8 (gửi nhầm)",
        "Trả lời tự động: vắng mặt",
        "1.234,5",
    ):
        assert expected in text, expected
    # the unknown sender is in the HTML too, with its reason
    assert "Địa chỉ gửi ldtbxh.huyenkhac@example.org không thuộc đơn vị nào" in plain(render().html)


HOSTILE_SUBJECT = '<script>alert("x")</script> Báo cáo'
HOSTILE_FILE = '"><img src=x onerror=alert(1)>.xlsx'
HOSTILE_CELL = "<b onmouseover=alert(2)>ba trăm</b>"


def hostile_messages() -> list[Message]:
    return [
        msg(
            "BHXH",
            at(DAY, 8),
            {("ngung_viec", "de_nghi"): 1},
            subject=HOSTILE_SUBJECT,
            files=(HOSTILE_FILE,),
            problems=(
                ("not_a_number", {"file": HOSTILE_FILE, "sheet": "<i>S</i>", "cell": "D12", "text": HOSTILE_CELL}),
            ),
        ),
        msg(
            "XUAT_HOA",
            at(DAY, 9),
            readable=False,
            files=(HOSTILE_FILE,),
            problems=(("unsupported_format", {"file": HOSTILE_FILE, "format": "pdf"}),),
        ),
        msg(
            None,
            at(DAY, 10),
            kind="unassigned",
            sender='"><script>@evil.example',
            subject=HOSTILE_SUBJECT,
            reason="unknown_sender:<script>x</script>",
            files=(HOSTILE_FILE,),
        ),
    ]


def test_hostile_subjects_file_names_and_cell_text_are_escaped():
    content = render(messages=hostile_messages(), unread_files=[(HOSTILE_FILE, "application/pdf", b"%PDF-1.4")])
    html = content.html
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<b onmouseover" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b onmouseover=alert(2)&gt;ba trăm&lt;/b&gt;" in html
    text = plain(html)
    assert HOSTILE_SUBJECT in text and HOSTILE_FILE in text
    # the text part keeps what was typed: it is plain text
    assert HOSTILE_CELL in content.text and '"><script>@evil.example' in content.text


def test_html_has_no_scripts_styles_or_remote_resources():
    for html in (render().html, render(messages=hostile_messages()).html):
        markup = " ".join(re.findall(r"<[^>]*>", html)).lower()  # escaped text is not markup
        for forbidden in (
            "<script",
            "<style",
            "<link",
            "<img",
            "<iframe",
            "http:",
            "https:",
            "url(",
            "@import",
            "javascript:",
            " src=",
            " href=",
            " on",
        ):
            assert forbidden not in markup, forbidden
        assert "max-width:900px" in html


def test_a_subject_with_newlines_stays_on_one_line_in_the_text_part():
    messages = [
        msg(
            None,
            at(DAY, 10),
            kind="unassigned",
            sender="a@b.c",
            reason="unknown_sender:a@b.c",
            subject="Hello\r\nCHƯA BÁO CÁO: 0 đơn vị\r\n",
        )
    ]
    text = render(messages=messages).text
    assert "Tiêu đề: Hello CHƯA BÁO CÁO: 0 đơn vị" in text


# -- attachments -----------------------------------------------------------------------------


def wire_bytes(content: DigestContent, cfg: Config = CFG) -> int:
    """The composed digest's size as an SMTP server counts it (CRLF line ends)."""
    message = compose_email(content, cfg, now=at(DAY, 15), message_id=make_msgid("digest", "example.gov.vn"))
    return len(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))


def test_workbook_and_unread_files_attached_within_the_cap():
    unread = [
        ("scan.pdf", "application/pdf", b"a" * 3000),
        ("../../etc/big.pdf", "application/pdf", b"b" * 9000),
        ("scan.pdf", "application/pdf", b"c" * 100),
        ("x.bin", "bogus type\r\nX-Evil: 1", b"d"),
    ]
    small = render(unread_files=[unread[0], unread[2], unread[3]], max_message_bytes=10**9)
    cap = wire_bytes(small) + 6000  # room for the three small files, not for 9000 bytes (12 KB in base64)
    content = render(unread_files=unread, max_message_bytes=cap)
    names = [f.filename for f in content.files]
    book = content.files[0]
    assert names[0] == "tong-hop-bao-cao-2021-08-11.xlsx" and book.data.startswith(b"PK")
    assert "scan.pdf" in names and "scan (2).pdf" in names and "big.pdf" not in names
    assert content.files[-1].content_type == "application/octet-stream"
    assert "big.pdf (9 KB)" in content.text and "vượt quá dung lượng" in content.text
    assert "big.pdf (9 KB)" in plain(content.html)
    assert wire_bytes(content) <= cap


def test_the_size_cap_counts_the_encoded_message_not_the_raw_files():
    # 9 MB of files is under 10 MB, but base64 makes the message over 12 MB: servers refuse it.
    unread = [(f"scan-{i}.pdf", "application/pdf", os.urandom(3 * 1024 * 1024)) for i in range(3)]
    content = render(unread_files=unread)
    assert wire_bytes(content) <= DEFAULT_MAX_MESSAGE_BYTES
    attached = [f.filename for f in content.files]
    assert attached[:3] == ["tong-hop-bao-cao-2021-08-11.xlsx", "scan-0.pdf", "scan-1.pdf"]
    assert "scan-2.pdf" not in attached  # what fits goes; the rest is named
    assert "scan-2.pdf (3 MB)" in content.text and "scan-2.pdf (3 MB)" in plain(content.html)


def test_a_digest_far_under_the_cap_attaches_everything_without_measuring():
    # The size bound that spares measuring a small digest stays above the measured size,
    # even for text that quoted-printable triples and names encoded in headers.
    unread = [(f"Bản scan {i} đơn vị xã Phúc Lộc.pdf", "application/pdf", os.urandom(5000 + 997 * i)) for i in range(6)]
    content = render(unread_files=unread)
    assert len(content.files) == 7 and "vượt quá dung lượng" not in content.text
    odd = replace(content, text="Đ" * 20_000 + "\n" + "ư=" * 5000, html="<p>" + "ạ " * 30_000 + "</p>\n" * 300)
    assert wire_bytes(odd) < message_size_bound(odd, CFG)
    assert wire_bytes(content) < message_size_bound(content, CFG)


def test_a_file_left_out_says_where_to_find_it():
    unread = [
        UnreadFile("SONG_CAU_scan.pdf", "application/pdf", b"x" * 50_000, "/var/lib/baocao/archive/ab/cd/abcd.eml")
    ]
    content = render(unread_files=unread, max_message_bytes=wire_bytes(render()) + 1000)
    assert [f.filename for f in content.files] == ["tong-hop-bao-cao-2021-08-11.xlsx"]
    for text in (content.text, plain(content.html)):
        assert "SONG_CAU_scan.pdf (49 KB)" in text
        assert "/var/lib/baocao/archive/ab/cd/abcd.eml" in text
        assert "baocao export --date 2021-08-11 --format json" in text


def test_no_workbook_when_the_config_says_so():
    content = render(make_cfg(attach_workbook=False))
    assert content.files == ()
    assert "tệp Excel đính kèm" not in content.text


@pytest.mark.parametrize(
    "name, safe",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\a\\bc.xls", "bc.xls"),
        ("", "tep-dinh-kem"),
        ("a\r\nb.pdf", "a b.pdf"),
        ("..", "tep-dinh-kem"),
        ("Báo  cáo  scan.pdf", "Báo  cáo  scan.pdf"),
    ],
)
def test_safe_filename(name, safe):
    assert safe_filename(name, ATTACHMENT_FALLBACK_NAME, 150) == safe


# -- MIME --------------------------------------------------------------------------------------


def test_compose_email_structure_and_headers():
    content = render(unread_files=[("Báo cáo scan.pdf", "application/pdf", b"%PDF-1.4 x")])
    now = at(DAY, 15, 0)
    raw = compose_email(content, CFG, now=now, message_id="digest-2021-08-11@baocao").as_bytes()
    assert all(b < 128 for b in raw), "headers and bodies must be 7-bit on the wire"
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    first, *attachments = parsed.iter_parts()
    assert first.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]
    assert [a.get_filename() for a in attachments] == ["tong-hop-bao-cao-2021-08-11.xlsx", "Báo cáo scan.pdf"]
    assert attachments[1].get_content() == b"%PDF-1.4 x"
    assert str(parsed["Subject"]) == "Tổng hợp tiến độ NQ 68 ngày 11/08/2021"
    assert b"=?utf-8?" in raw.split(b"\n\n", 1)[0].lower()
    assert parsed["From"].addresses[0].addr_spec == "baocao@example.gov.vn"
    assert parsed["From"].addresses[0].display_name == "Hệ thống tổng hợp báo cáo"
    assert str(parsed["To"]) == "dieuphoi@example.gov.vn" and str(parsed["Cc"]) == "lanhdao@example.gov.vn"
    assert parsed["Message-ID"] == "<digest-2021-08-11@baocao>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Date"].datetime == now
    text = first.get_payload()[0].get_content()
    assert "UBND xã Nông Thượng" in text


def test_compose_email_without_attachments_is_just_the_alternative():
    content = DigestContent("Chủ đề", "<p>x</p>", "x", ())
    parsed = email.message_from_bytes(
        compose_email(content, CFG, now=at(DAY, 15), message_id="<a@b>").as_bytes(), policy=email.policy.default
    )
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Message-ID"] == "<a@b>"


def test_compose_email_needs_smtp_settings():
    with pytest.raises(ValueError, match="smtp"):
        compose_email(
            DigestContent("s", "h", "t", (DigestFile("a", "text/plain", b"a"),)),
            replace(CFG, smtp=None),
            now=at(DAY, 15),
            message_id="<a@b>",
        )


# -- scale --------------------------------------------------------------------------------------


def test_many_units_keep_the_email_short_but_list_every_missing_unit():
    units = tuple(
        UnitConfig(f"U{i:03d}", f"UBND xã số {i}", f"Cụm {i % 4}", senders=(f"u{i}@x.vn",)) for i in range(300)
    )
    cfg = make_cfg(units=units)
    messages = [msg(u.code, at(DAY, 8), {("ngung_viec", "de_nghi"): 5}) for u in units[:280]]
    messages.append(
        msg(
            "U000",
            at(DAY, 9),
            {("ngung_viec", "de_nghi"): 6},
            problems=(("negative_value", {"file": "a.xlsx", "sheet": "S", "cell": "C3", "text": "-1"}),),
        )
    )
    content = render(cfg, messages)
    m = model(cfg, messages)
    assert m["missing_count"] == 20
    assert sum(len(g["units"]) for g in m["table"]) <= EMAIL_MAX_UNIT_ROWS and m["table_hidden"] >= 250
    text = plain(content.html)
    for u in units[280:]:
        assert u.name + " " in text
    assert "UBND xã số 0 " in text  # the unit with a problem stays in the table
    assert len(content.html.encode()) < 100_000


def test_problem_parameters_are_translated_like_the_readers_do():
    messages = [
        msg(
            "XUAT_HOA",
            at(DAY, 9),
            readable=False,
            files=("scan.pdf",),
            problems=(("unsupported_format", {"file": "scan.pdf", "format": "pdf"}),),
        )
    ]
    [p] = {u["code"]: u for u in model(messages=messages)["units"]}["XUAT_HOA"]["problems"]
    assert p["text"] == "Tệp scan.pdf (PDF) không đọc tự động được; điều phối viên cần xem trực tiếp"


# -- progress against the campaign's targets -------------------------------------------------------

TARGETS_CSV = (
    "unit,indicator,measure,target\n"
    "BHXH,ngung_viec,de_nghi,2000\n"
    'BHXH,ngung_viec,kinh_phi,"1.500"\n'  # triệu đồng (the measure's default_scale)
    "SONG_CAU,ngung_viec,de_nghi,40\n"
    "YTE,ho_kinh_doanh,de_nghi,80\n"
    "*,ho_kinh_doanh,de_nghi,100\n"
)


def with_targets(cfg: Config = CFG, text: str = TARGETS_CSV) -> Config:
    from service.config.targets import parse_targets

    found, problems = parse_targets(text.encode(), cfg.form, cfg.units)
    assert problems == []
    return replace(cfg, campaign=replace(cfg.campaign, targets=found))


def test_progress_model_totals_units_and_the_lowest():
    p = model(with_targets())["progress"]
    assert p["countdown"] == "còn 14 ngày đến hạn 25/08/2021"
    count, money, hkd = p["totals"]
    # sum of the values of the units with a target / sum of their targets
    assert (count["value"], count["target"], count["percent_text"]) == (Decimal(1284), Decimal(2040), "62,9")
    assert (money["value_text"], money["target_text"], money["percent_text"]) == ("1.234,5", "1.500", "82,3")
    assert money["target"] == Decimal(1_500_000_000) and money["target_number"] == 1500 and money["ratio"] == 0.823
    assert money["measure_label"] == "Kinh phí được phê duyệt (triệu đồng)"
    # a * target: every unit's total (YTE 40 + NONG_THUONG 7, both stale) over it
    assert (hkd["value_text"], hkd["target_text"], hkd["percent_text"], hkd["bar"]) == ("47", "100", "47,0", 47)
    assert [u["code"] for u in p["units"]] == ["BHXH", "YTE", "SONG_CAU"]
    assert [(u["code"], u["lowest"]["percent_text"]) for u in p["lowest"]] == [("YTE", "50,0"), ("BHXH", "61,7")]
    song_cau = p["units"][2]
    assert song_cau["done"] and song_cau["lowest"]["percent_text"] == "125,0" and song_cau["lowest"]["bar"] == 100
    assert (p["unit_count"], p["done_count"]) == (3, 1)
    assert model()["progress"] is None


def test_progress_section_in_the_digest_beside_the_countdown():
    content = render(with_targets())
    text = plain(content.html)
    section = text[text.index("Tiến độ so với kế hoạch") : text.index("Tình hình báo cáo theo đơn vị")]
    assert section.startswith("Tiến độ so với kế hoạch · còn 14 ngày đến hạn 25/08/2021")
    assert "Hỗ trợ người lao động ngừng việc Kinh phí được phê duyệt (triệu đồng) 1.234,5 1.500 82,3%" in section
    assert "Đơn vị có tiến độ thấp nhất • Phòng Y tế : 50,0% — Hỗ trợ hộ kinh doanh" in section
    assert "(số liệu cũ ngày 10/08/2021)" in section  # YTE's figures are yesterday's
    assert "1/3 đơn vị đã đạt 100% kế hoạch." in section and 'trang "Tiến độ" trong tệp Excel' in section
    assert text.index("Tổng hợp số liệu lũy kế") < text.index("Tiến độ so với kế hoạch")
    t = content.text
    assert (
        "TIẾN ĐỘ SO VỚI KẾ HOẠCH (còn 14 ngày đến hạn 25/08/2021)\n"
        "- Hỗ trợ người lao động ngừng việc — Số đối tượng đề nghị hỗ trợ: 1.284/2.040 (62,9%)\n"
    ) in t
    assert (
        "  * Phòng Y tế: 50,0% (Hỗ trợ hộ kinh doanh — Số đối tượng đề nghị hỗ trợ: 40/80); "
        "số liệu cũ ngày 10/08/2021\n"
    ) in t
    assert "\n1/3 đơn vị đã đạt 100% kế hoạch.\n\nTÌNH HÌNH BÁO CÁO THEO ĐƠN VỊ" in t


def test_no_progress_section_without_targets():
    content = render()
    assert "Tiến độ so với kế hoạch" not in plain(content.html) and "TIẾN ĐỘ" not in content.text


def test_progress_section_in_english_and_overdue():
    after = dt.date(2021, 8, 27)
    content = render(with_targets(make_cfg("en")), day=after)
    assert "Progress against targets · 2 days past the 25/08/2021 deadline" in plain(content.html)
    assert "PROGRESS AGAINST TARGETS (2 days past the 25/08/2021 deadline)" in content.text
    assert "Units furthest behind:" in content.text and "(47.0%)" in content.text
    for part in (content.html, content.text):
        assert "Tiến độ" not in part and "kế hoạch" not in part


def test_only_a_campaign_target_shows_no_unit_lines():
    p = model(with_targets(text="unit,indicator,measure,target\n*,ngung_viec,de_nghi,2568\n"))["progress"]
    assert [c["percent_text"] for c in p["totals"]] == ["50,0"] and p["units"] == [] and p["lowest"] == []
    t = render(with_targets(text="unit,indicator,measure,target\n*,ngung_viec,de_nghi,2568\n")).text
    assert "đã đạt 100% kế hoạch" not in t and "(50,0%)" in t
