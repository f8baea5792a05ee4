#!/usr/bin/env python3
"""Measure baocao on report sets it never sees: another office, four reports, three weeks.

    python3 scripts/unseen_reports.py [--seed 15] [--out /tmp/baocao-unseen-reports] [--generate-only]

Run it from the project root, as root, with a private /tmp (like /work/wt/check.sh):

    unshare -m bash -c 'mount -t tmpfs tmpfs /tmp && .venv/bin/python scripts/unseen_reports.py --seed 15'

Generates, deterministically from the seed, the mailbox of an organisation the product has
never been tuned on: the district health centre of Hương Khê (Hà Tĩnh), whose commune health
stations and two departments send four reports from 15/04 to 05/05/2024 (three weeks with
Giỗ Tổ Hùng Vương, 29/04-01/05 and the make-up Saturday 04/05):

* `ngay`  daily measles-rubella vaccination figures (running totals), the stations, 16:00;
* `tuan`  weekly communicable diseases (the week's own cases), everyone, due Thursday 10:00;
* `thang` monthly programme spending with its own rows and columns (money in triệu / nghìn
  / đồng), everyone, due the 25th or the last day at 17:00 (by the seed);
* `nhanh` a one-off request with the weekly form ("báo cáo nhanh ... đến ngày 24/4"),
  four units, due 24/04 17:00: the same table as the weekly, told apart by the subject.

Each unit writes its spreadsheets in its own layout (column order, header by label or alias,
title lines, a '(1) (2) ...' row, a 'Tổng cộng' row, notes, numbers typed as text, the money
scale in the header, in a 'Đơn vị tính' line or left to the default) and sends them mid-week,
late, twice (a correction), two reports in one message, a weekly form whose subject alone says
it is the weekly, one whose subject does not (undetermined: counts for no report, shown
`unreadable` under the weekly and the one-off alone), and a spreadsheet that is no report at
all (shown `unreadable` under each report of its unit whose period holds its day). The truth
(status per unit per report per period, every figure, the totals) comes from the generator's
own decisions, never from product code.

Then it runs the product's CLI (the project's .venv, or --install for a fresh copy as the
public harness does) against a throwaway Dovecot: IMAP APPEND with the arrival time as
INTERNALDATE, `baocao poll` after each day, then per report and period `baocao status --json
--report X --date D` and `baocao export --format json --report X --date D`, and prints the
score per report (statuses right / total; figures exact / wrong / missing / extra; totals)
and every miss. The generated files stay under --out; nothing is committed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.policy
import email.utils
import io
import json
import os
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Border, Font, Side

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TZ = dt.timezone(dt.timedelta(hours=7))
FIRST, LAST = dt.date(2024, 4, 15), dt.date(2024, 5, 5)
DAYS = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
# The generator's own calendar (Bộ luật Lao động 2019 and the 2024 swap), not the product's.
HOLIDAYS = {dt.date(2024, 4, 18), dt.date(2024, 4, 29), dt.date(2024, 4, 30), dt.date(2024, 5, 1)}
WORKING = {dt.date(2024, 5, 4)}  # Saturday worked for Monday 29/04
ONCE_START, ONCE_DUE = dt.date(2024, 4, 22), dt.date(2024, 4, 24)
MAILBOX = "tonghop@ttyt-huongkhe.example.gov.vn"
CLI_TIMEOUT = 600

# ---------------------------------------------------------------------------------------
# the forms: (code, label, aliases, kind, default scale)

MEASURES = [
    ("doi_tuong", "Số trẻ trong diện tiêm", ["Số đối tượng", "Đối tượng cần tiêm"], "count", None),
    ("da_tiem", "Số trẻ đã được tiêm", ["Đã tiêm", "Số trẻ đã tiêm"], "count", None),
    ("hoan_tiem", "Số trẻ hoãn tiêm", ["Hoãn tiêm", "Tạm hoãn"], "count", None),
    ("ca_mac", "Số ca mắc", ["Ca mắc", "Số mắc"], "count", None),
    ("nhap_vien", "Số ca phải nhập viện", ["Nhập viện", "Số nhập viện"], "count", None),
    ("tu_vong", "Số ca tử vong", ["Tử vong", "Số tử vong"], "count", None),
]
MONTH_MEASURES = [
    ("kinh_phi_giao", "Kinh phí được giao", ["Dự toán giao", "Kinh phí giao"], "money", "triệu đồng"),
    ("da_chi", "Kinh phí đã chi", ["Đã chi", "Số đã thực hiện"], "money", "nghìn đồng"),
    ("so_luot", "Số lượt người được phục vụ", ["Số lượt", "Lượt người"], "count", None),
]
INDICATORS = [
    ("tu_1_5", "Trẻ từ 1 đến 5 tuổi", ["Trẻ 1-5 tuổi", "Từ 1 - 5 tuổi"]),
    ("tu_6_10", "Trẻ từ 6 đến 10 tuổi", ["Trẻ 6-10 tuổi", "Từ 6 - 10 tuổi"]),
    ("tu_11_14", "Trẻ từ 11 đến 14 tuổi", ["Trẻ 11-14 tuổi", "Từ 11 - 14 tuổi"]),
    ("sot_xuat_huyet", "Sốt xuất huyết Dengue", ["Sốt xuất huyết", "SXH Dengue"]),
    ("tay_chan_mieng", "Bệnh tay chân miệng", ["Tay chân miệng", "TCM"]),
    ("soi", "Bệnh sởi", ["Sởi", "Sốt phát ban nghi sởi"]),
    ("cum", "Hội chứng cúm", ["Cúm", "Cúm mùa"]),
    ("tieu_chay", "Tiêu chảy cấp", ["Tiêu chảy", "Bệnh tiêu chảy"]),
    ("thuy_dau", "Bệnh thủy đậu", ["Thủy đậu", "Thuỷ đậu"]),
]
MONTH_INDICATORS = [
    ("tcmr", "Chương trình tiêm chủng mở rộng", ["Tiêm chủng mở rộng", "TCMR"]),
    ("pc_sxh", "Phòng, chống sốt xuất huyết", ["Phòng chống SXH", "Dự án phòng chống sốt xuất huyết"]),
    ("dinh_duong", "Phòng chống suy dinh dưỡng trẻ em", ["Suy dinh dưỡng trẻ em", "Dinh dưỡng"]),
    ("dan_so", "Dân số - Kế hoạch hóa gia đình", ["Dân số - KHHGĐ", "DS-KHHGĐ"]),
    ("truyen_thong", "Truyền thông giáo dục sức khỏe", ["Truyền thông GDSK", "TT-GDSK"]),
]
LABELS = {c: (label, aliases) for c, label, aliases, *_ in [*MEASURES, *MONTH_MEASURES]}
LABELS.update({c: (label, aliases) for c, label, aliases in [*INDICATORS, *MONTH_INDICATORS]})
MONEY = {c: scale for c, _, _, kind, scale in MONTH_MEASURES if kind == "money"}
SCALE = {"triệu đồng": 1_000_000, "nghìn đồng": 1_000, "đồng": 1}
STATIONS = "Trạm Y tế xã, thị trấn"
UNITS = [  # code, name, group, sender
    ("TYT_HUONG_TRA", "Trạm Y tế xã Hương Trà", STATIONS, "tyt.huongtra@huongkhe.example.gov.vn"),
    ("TYT_HUONG_DO", "Trạm Y tế xã Hương Đô", STATIONS, "tramytehuongdo@gmail.example.com"),
    ("TYT_PHUC_TRACH", "Trạm Y tế xã Phúc Trạch", STATIONS, "tyt.phuctrach@huongkhe.example.gov.vn"),
    ("TYT_HUONG_LAM", "Trạm Y tế xã Hương Lâm", STATIONS, "tyt.huonglam@huongkhe.example.gov.vn"),
    ("TYT_GIA_PHO", "Trạm Y tế xã Gia Phố", STATIONS, "tytgiapho@huongkhe.example.gov.vn"),
    ("TYT_THI_TRAN", "Trạm Y tế thị trấn Hương Khê", STATIONS, "tyt.thitran@huongkhe.example.gov.vn"),
    ("KSBT", "Khoa Kiểm soát bệnh tật và HIV/AIDS", "Khoa, phòng", "ksbt@ttyt-huongkhe.example.gov.vn"),
    ("PKDK_PHUC_DONG", "Phòng khám đa khoa khu vực Phúc Đồng", "Khoa, phòng", "pkdk.phucdong@huongkhe.example.gov.vn"),
]
UNIT = {u[0]: u for u in UNITS}
NHANH_UNITS = ["TYT_HUONG_TRA", "TYT_PHUC_TRACH", "TYT_GIA_PHO", "KSBT"]


@dataclass(frozen=True)
class Report:
    code: str
    title: str
    period: str
    indicators: tuple[str, ...]
    measures: tuple[str, ...]
    units: tuple[str, ...]
    cumulative: bool
    keywords: tuple[str, ...] = ()


DISEASES = ("sot_xuat_huyet", "tay_chan_mieng", "soi", "cum", "tieu_chay", "thuy_dau")
REPORTS = {
    "ngay": Report(
        "ngay",
        "Báo cáo tiến độ tiêm vắc xin Sởi - Rubella hằng ngày",
        "day",
        ("tu_1_5", "tu_6_10", "tu_11_14"),
        ("doi_tuong", "da_tiem", "hoan_tiem"),
        tuple(u[0] for u in UNITS if u[2] == STATIONS),
        True,
    ),
    "tuan": Report(
        "tuan",
        "Báo cáo tuần tình hình bệnh truyền nhiễm",
        "week",
        DISEASES,
        ("ca_mac", "nhap_vien", "tu_vong"),
        tuple(u[0] for u in UNITS),
        False,
        ("báo cáo tuần", "bc tuần"),
    ),
    "thang": Report(
        "thang",
        "Báo cáo tháng kinh phí các chương trình y tế",
        "month",
        tuple(c for c, *_ in MONTH_INDICATORS),
        tuple(c for c, *_ in MONTH_MEASURES),
        tuple(u[0] for u in UNITS),
        False,
        ("báo cáo tháng", "bc tháng"),
    ),
    "nhanh": Report(
        "nhanh",
        "Báo cáo nhanh tình hình dịch bệnh đến ngày 24/4/2024",
        "once",
        DISEASES,
        ("ca_mac", "nhap_vien", "tu_vong"),
        tuple(NHANH_UNITS),
        False,
        ("báo cáo nhanh",),
    ),
}


def month_due(month_start: dt.date, due: int | str) -> dt.date:
    nxt = (month_start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    last = nxt - dt.timedelta(days=1)
    return last if due == "last" else month_start.replace(day=min(int(due), last.day))


def period_of(code: str, day: dt.date, month_deadline: int | str) -> tuple[dt.date, dt.date, dt.datetime]:
    """(start, end, deadline) of report `code`'s period containing `day`: the generator's own reading."""
    if code == "ngay":
        return day, day, dt.datetime.combine(day, dt.time(16), TZ)
    if code == "tuan":
        mon = day - dt.timedelta(days=day.weekday())
        return mon, mon + dt.timedelta(days=6), dt.datetime.combine(mon + dt.timedelta(days=3), dt.time(10), TZ)
    if code == "thang":
        first = day.replace(day=1)
        nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return first, nxt - dt.timedelta(days=1), dt.datetime.combine(month_due(first, month_deadline), dt.time(17), TZ)
    return ONCE_START, ONCE_DUE, dt.datetime.combine(ONCE_DUE, dt.time(17), TZ)


def reporting_day(day: dt.date) -> bool:
    return day in WORKING or (day.weekday() < 5 and day not in HOLIDAYS)


def config_toml(month_deadline: int | str) -> str:
    q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731
    out = [
        "# Unseen report set (generated by scripts/unseen_reports.py): Hương Khê district health centre.",
        "[service]",
        'timezone = "Asia/Ho_Chi_Minh"',
        'database_url = "sqlite:///data/baocao.db"',
        'archive_dir = "data/archive"',
        "",
        "[imap]",
        'host = "mail.example.gov.vn"',
        "port = 993",
        'security = "ssl"',
        f"username = {q(MAILBOX)}",
        'password_env = "BAOCAO_IMAP_PASSWORD"',
        "",
        "[smtp]",
        'host = "mail.example.gov.vn"',
        "port = 587",
        'security = "starttls"',
        f"username = {q(MAILBOX)}",
        'password_env = "BAOCAO_SMTP_PASSWORD"',
        f"from_address = {q(MAILBOX)}",
        "",
        "[schedule]",
        'deadline = "16:00"',
        'digest_at = "16:00"',
        'report_days = ["mon", "tue", "wed", "thu", "fri"]',
        'holiday_calendar = "VN"',
        "holidays = []",
        f"working_days = [{', '.join(q(d.isoformat()) for d in sorted(WORKING))}]",
        "",
        "[digest]",
        'to = ["giamdoc@ttyt-huongkhe.example.gov.vn"]',
        'subject = "Tổng hợp tiêm vắc xin Sởi - Rubella ngày {date}"',
        "",
        "[campaign]",
        'title = "Chiến dịch tiêm vắc xin Sởi - Rubella năm 2024"',
        "start_date = 2024-04-15",
        "end_date = 2024-05-31",
        "",
        "[acknowledgements]",
        "enabled = false",
        "",
        "[reminders]",
        "enabled = false",
        "",
    ]
    for code, label, aliases, kind, _ in MEASURES:
        out += ["[[measures]]", f"code = {q(code)}", f"label = {q(label)}", f"aliases = {q(aliases)}"]
        out += [f"kind = {q(kind)}", ""]
    for code, label, aliases in INDICATORS:
        out += ["[[indicators]]", f"code = {q(code)}", f"label = {q(label)}", f"aliases = {q(aliases)}", ""]
    for rule, msg in [
        ("da_tiem <= doi_tuong", "Số trẻ đã tiêm lớn hơn số trẻ trong diện tiêm"),
        ("nhap_vien <= ca_mac", "Số ca nhập viện lớn hơn số ca mắc"),
        ("tu_vong <= ca_mac", "Số ca tử vong lớn hơn số ca mắc"),
    ]:
        out += ["[[checks]]", f"rule = {q(rule)}", f"message = {q(msg)}", ""]
    for code, name, group, sender in UNITS:
        out += ["[[units]]", f"code = {q(code)}", f"name = {q(name)}", f"group = {q(group)}"]
        out += [f"senders = [{q(sender)}]", ""]
    r = REPORTS
    out += [
        "[[reports]]",
        'code = "ngay"',
        f"title = {q(r['ngay'].title)}",
        'period = "day"',
        f"units = [{q(STATIONS)}]",
        f"indicators = {q(list(r['ngay'].indicators))}",
        f"measures = {q(list(r['ngay'].measures))}",
        "",
        "[[reports]]",
        'code = "tuan"',
        f"title = {q(r['tuan'].title)}",
        'period = "week"',
        'deadline_day = "thu"',
        'deadline = "10:00"',
        'digest_at = "14:00"',
        f"indicators = {q(list(DISEASES))}",
        f"measures = {q(list(r['tuan'].measures))}",
        "cumulative = false",
        f"subject_keywords = {q(list(r['tuan'].keywords))}",
        "[reports.digest]",
        'subject = "Tổng hợp bệnh truyền nhiễm {period}"',
        "",
        "[[reports]]",
        'code = "thang"',
        f"title = {q(r['thang'].title)}",
        'period = "month"',
        f"deadline_day = {q(month_deadline)}",
        'deadline = "17:00"',
        "cumulative = false",
        f"subject_keywords = {q(list(r['thang'].keywords))}",
    ]
    for code, label, aliases in MONTH_INDICATORS:
        out += ["[[reports.own_indicators]]", f"code = {q(code)}", f"label = {q(label)}", f"aliases = {q(aliases)}"]
    for code, label, aliases, kind, scale in MONTH_MEASURES:
        out += ["[[reports.own_measures]]", f"code = {q(code)}", f"label = {q(label)}", f"aliases = {q(aliases)}"]
        out += [f"kind = {q(kind)}"] + ([f"default_scale = {q(scale)}"] if scale else [])
    out += [
        "[[reports.checks]]",
        'rule = "da_chi <= kinh_phi_giao"',
        'message = "Kinh phí đã chi lớn hơn kinh phí được giao"',
        "",
        "[[reports]]",
        'code = "nhanh"',
        f"title = {q(r['nhanh'].title)}",
        'period = "once"',
        f"start_date = {ONCE_START.isoformat()}",
        f"deadline_day = {ONCE_DUE.isoformat()}",
        'deadline = "17:00"',
        f"units = {q(NHANH_UNITS)}",
        f"indicators = {q(list(DISEASES))}",
        f"measures = {q(list(r['nhanh'].measures))}",
        "cumulative = false",
        f"subject_keywords = {q(list(r['nhanh'].keywords))}",
        "",
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------
# the units' own layouts


@dataclass
class Layout:
    """How one unit writes its spreadsheets (kept from one message to the next)."""

    by_alias: float  # chance a heading or row label is an alias
    shuffle_columns: bool
    shuffle_rows: bool
    title_lines: int
    numbering_row: bool  # '(1) (2) (3) ...' under the header
    total_row: str | None  # 'Tổng cộng' above or below the rows, or none
    note_column: bool
    text_numbers: bool  # figures typed as text, '1.234' and '12,5'
    money: str  # header | unit_line | group (a 'Kinh phí (scale)' heading over two columns) | default
    money_scale: dict[str, str] = field(default_factory=dict)
    sheet: str = "Sheet1"
    code_column: bool = True  # a 'TT' column
    body_text: float = 0.0  # chance a daily report is typed in the email body instead


def layout_for(rng: random.Random) -> Layout:
    money = rng.choice(["header", "header", "unit_line", "group", "default"])
    if money == "header":
        scales = {m: rng.choice(list(SCALE)) for m in MONEY}
    elif money in ("unit_line", "group"):
        one = rng.choice(list(SCALE))
        scales = dict.fromkeys(MONEY, one)
    else:
        scales = dict(MONEY)
    return Layout(
        by_alias=rng.choice([0.0, 0.3, 0.7]),
        shuffle_columns=rng.random() < 0.6,
        shuffle_rows=rng.random() < 0.4,
        title_lines=rng.randint(1, 5),
        numbering_row=rng.random() < 0.35,
        total_row=rng.choice([None, None, "above", "below"]),
        note_column=rng.random() < 0.3,
        text_numbers=rng.random() < 0.25,
        money=money,
        money_scale=scales,
        sheet=rng.choice(["Sheet1", "Báo cáo", "BC", "Biểu 1", "Mẫu", TEMPLATE]),
        code_column=rng.random() < 0.8,
        body_text=rng.choice([0.0, 0.0, 0.0, 0.3]),
    )


def text_number(value: float) -> str:
    whole = int(value)
    s = f"{whole:,}".replace(",", ".")
    frac = round(value - whole, 6)
    if frac:
        s += "," + f"{frac:.6f}"[2:].rstrip("0")
    return s


def cell_value(meas: str, v: int, lay: Layout) -> Any:
    """A figure as this unit writes it: money in its scale, maybe typed as text."""
    if meas in MONEY:
        f = SCALE[lay.money_scale[meas]]
        x: float = v // f if v % f == 0 else v / f
        return text_number(x) if lay.text_numbers else x
    return text_number(v) if lay.text_numbers and v >= 1000 else v


def heading(meas: str, lay: Layout, rng: random.Random) -> str:
    label, aliases = LABELS[meas]
    text = rng.choice(aliases) if rng.random() < lay.by_alias else label
    if meas in MONEY and lay.money == "header":
        text += f" ({lay.money_scale[meas]})"
    return text


def row_label(ind: str, lay: Layout, rng: random.Random) -> str:
    label, aliases = LABELS[ind]
    return rng.choice(aliases) if rng.random() < lay.by_alias else label


TITLES = {
    "ngay": "BÁO CÁO KẾT QUẢ TIÊM VẮC XIN SỞI - RUBELLA",
    "tuan": "BÁO CÁO TÌNH HÌNH BỆNH TRUYỀN NHIỄM TRONG TUẦN",
    "thang": "BÁO CÁO THỰC HIỆN KINH PHÍ CÁC CHƯƠNG TRÌNH Y TẾ",
    "nhanh": "BÁO CÁO NHANH TÌNH HÌNH DỊCH BỆNH",
}


TEMPLATE = "template"  # the unit keeps the sheet name of the form `baocao template --report CODE` wrote
SHEET_OF = {"ngay": "Tiêm chủng", "tuan": "Dịch bệnh tuần", "thang": "Kinh phí tháng", "nhanh": "Báo cáo nhanh"}


def workbook(
    unit: str,
    report: str,
    values: dict[str, dict[str, int]],
    lay: Layout,
    day: dt.date,
    rng: random.Random,
    book: Any = None,
) -> bytes:
    """One report as the unit's own .xlsx; with `book`, one more sheet of that workbook (b"")."""
    rep = REPORTS[report]
    wb = book if book is not None else openpyxl.Workbook()
    own = f"Báo cáo ({report})" if lay.sheet == TEMPLATE else None  # as `baocao template` names it
    ws = wb.create_sheet(own or SHEET_OF[report]) if book is not None else wb.active
    assert ws is not None
    if book is None:
        ws.title = own or lay.sheet
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    r = 1
    name = UNIT[unit][1]
    lines = ["TRUNG TÂM Y TẾ HUYỆN HƯƠNG KHÊ", name.upper(), TITLES[report]]
    lines += [f"(Số liệu tính đến ngày {day:%d/%m/%Y})", "Kính gửi: Trung tâm Y tế huyện"]
    for text in lines[: lay.title_lines]:
        ws.cell(r, 1, text).font = Font(bold=True)
        r += 1
    r += 1
    if report == "thang" and lay.money == "unit_line":
        ws.cell(r, 1, f"Đơn vị tính: tiền: {next(iter(lay.money_scale.values()))}; lượt: lượt người")
        r += 1
    measures = [m for m in rep.measures]
    if lay.shuffle_columns:
        rng.shuffle(measures)
    group = report == "thang" and lay.money == "group"
    if group:  # the two money columns side by side under one heading
        money = [m for m in measures if m in MONEY]
        measures = [m for m in measures if m not in MONEY]
        measures[rng.randint(0, len(measures)) : 0] = money
    heads = (["TT"] if lay.code_column else []) + [rng.choice(["Nội dung", "Chỉ tiêu", "Nhóm", "Tên chỉ tiêu"])]
    if report in ("tuan", "nhanh"):
        heads[-1] = rng.choice(["Tên bệnh", "Bệnh truyền nhiễm", "Nội dung"])
    if report == "ngay":
        heads[-1] = rng.choice(["Nhóm tuổi", "Đối tượng", "Nội dung"])
    heads += [heading(m, lay, rng) for m in measures] + (["Ghi chú"] if lay.note_column else [])
    if group:
        sub = {"kinh_phi_giao": rng.choice(["Được giao", "Giao"]), "da_chi": rng.choice(["Đã chi", "Thực hiện"])}
        col0 = len(heads) - len(measures) - (1 if lay.note_column else 0)
        left = col0 + 1 + min(measures.index(m) for m in MONEY)
        for c, h in enumerate(heads, 1):
            if c in (left, left + 1):
                continue
            cell = ws.cell(r, c, h)
            ws.merge_cells(start_row=r, start_column=c, end_row=r + 1, end_column=c)
            cell.font, cell.border = Font(bold=True), box
        ws.cell(r, left, f"Kinh phí ({next(iter(lay.money_scale.values()))})").font = Font(bold=True)
        ws.merge_cells(start_row=r, start_column=left, end_row=r, end_column=left + 1)
        for c in (left, left + 1):
            ws.cell(r + 1, c, sub[measures[c - col0 - 1]]).font = Font(bold=True)
        r += 1
    else:
        for c, h in enumerate(heads, 1):
            cell = ws.cell(r, c, h)
            cell.font, cell.border = Font(bold=True), box
            cell.alignment = Alignment(wrap_text=True, horizontal="center")
    r += 1
    if lay.numbering_row:
        for c in range(1, len(heads) + 1):
            ws.cell(r, c, f"({c})").border = box
        r += 1
    inds = [i for i in rep.indicators if i in values]
    if lay.shuffle_rows:
        rng.shuffle(inds)
    first = 2 if lay.code_column else 1

    def total_row() -> None:
        nonlocal r
        ws.cell(r, first, "Tổng cộng").font = Font(bold=True)
        for j, m in enumerate(measures):
            ws.cell(r, first + 1 + j, cell_value(m, sum(values[i].get(m, 0) for i in inds), lay)).border = box
        r += 1

    if lay.total_row == "above":
        total_row()
    for n, ind in enumerate(inds, 1):
        if lay.code_column:
            ws.cell(r, 1, n).border = box
        ws.cell(r, first, row_label(ind, lay, rng)).border = box
        for j, m in enumerate(measures):
            if m in values[ind]:
                ws.cell(r, first + 1 + j, cell_value(m, values[ind][m], lay)).border = box
        if lay.note_column and rng.random() < 0.3:
            ws.cell(r, first + 1 + len(measures), rng.choice(["", "ước tính", "đã rà soát", "số liệu chính thức"]))
        r += 1
    if lay.total_row == "below":
        total_row()
    r += 1
    ws.cell(r, 1, rng.choice(["Ghi chú: số liệu do trạm tổng hợp.", "Người lập biểu", "Nơi nhận: - Như trên;"]))
    ws.cell(r + 1, first + len(measures) - 1, "TRƯỞNG TRẠM" if unit.startswith("TYT") else "TRƯỞNG KHOA")
    ws.column_dimensions["B"].width = 34
    if book is not None:
        return b""
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def not_a_report(rng: random.Random) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Lịch trực"
    ws.append(["LỊCH TRỰC PHÒNG CHỐNG DỊCH THÁNG 5/2024"])
    ws.append([])
    ws.append(["TT", "Họ và tên", "Chức vụ", "Ngày trực", "Số điện thoại"])
    for n in range(1, 7):
        name = rng.choice(["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hồ Văn Em"])
        ws.append([n, name, rng.choice(["Y sĩ", "Điều dưỡng", "Nữ hộ sinh"]), f"0{n}/05/2024", f"0912 345 6{n}{n}"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------
# figures: the generator's own decisions


def figures_daily(rng: random.Random, base: dict[str, dict[str, int]] | None) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for ind in REPORTS["ngay"].indicators:
        if base is None:
            dt_ = rng.randint(150, 1400)
            out[ind] = {"doi_tuong": dt_, "da_tiem": rng.randint(0, dt_ // 10), "hoan_tiem": rng.randint(0, 6)}
        else:
            p = base[ind]
            done = min(p["doi_tuong"], p["da_tiem"] + rng.randint(5, max(6, p["doi_tuong"] // 12)))
            out[ind] = {"doi_tuong": p["doi_tuong"], "da_tiem": done, "hoan_tiem": p["hoan_tiem"] + rng.randint(0, 3)}
    return out


def figures_diseases(rng: random.Random) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for ind in rng.sample(DISEASES, rng.randint(3, 6)):
        cases = rng.choice([0, 1, 2, 3, 5, 8, 12, 17, 25, 40])
        hosp = rng.randint(0, cases)
        out[ind] = {"ca_mac": cases, "nhap_vien": hosp, "tu_vong": 1 if hosp > 10 and rng.random() < 0.3 else 0}
    return out


def figures_month(rng: random.Random) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for ind in rng.sample([c for c, *_ in MONTH_INDICATORS], rng.randint(3, 5)):
        plan = rng.randint(20, 900) * 100_000
        spent = min(plan, rng.randint(0, plan // 1000) * 1000)
        out[ind] = {"kinh_phi_giao": plan, "da_chi": spent, "so_luot": rng.randint(0, 3000)}
    return out


def corrected(values: dict[str, dict[str, int]], rng: random.Random) -> dict[str, dict[str, int]]:
    out = {i: dict(row) for i, row in values.items()}
    ind = rng.choice(sorted(out))
    meas = rng.choice(sorted(out[ind]))
    out[ind][meas] += rng.choice([1, 2, 5, 10]) * (1000 if meas in MONEY else 1)
    if "da_tiem" in out[ind]:
        out[ind]["da_tiem"] = min(out[ind]["da_tiem"], out[ind]["doi_tuong"])
    if "ca_mac" in out[ind]:
        out[ind]["ca_mac"] = max(out[ind]["ca_mac"], out[ind]["nhap_vien"], out[ind]["tu_vong"])
    if "da_chi" in out[ind]:
        out[ind]["da_chi"] = min(out[ind]["da_chi"], out[ind]["kinh_phi_giao"])
    return out


ANY = "*"  # Doc.could_be: any report of the unit


@dataclass
class Doc:
    report: str | None  # None: counts for no report (not a report, or undetermined)
    values: dict[str, dict[str, int]]
    why: str  # what the case is
    # report None: the reports it could be, under which its unit is shown 'unreadable' when it
    # sent nothing else in the period (those it is tied between; ANY: it is none of them)
    could_be: tuple[str, ...] = ()


@dataclass
class Mail:
    unit: str
    at: dt.datetime
    docs: list[Doc]
    subject: str
    case: str


def at(day: dt.date, rng: random.Random, lo: tuple[int, int], hi: tuple[int, int]) -> dt.datetime:
    a, b = lo[0] * 60 + lo[1], hi[0] * 60 + hi[1]
    m = rng.randint(a, b - 1)
    return dt.datetime.combine(day, dt.time(m // 60, m % 60, rng.randint(0, 59)), TZ)


def plan(rng: random.Random, month_deadline: int | str, layouts: dict[str, Layout]) -> list[Mail]:
    mails: list[Mail] = []
    # daily: the stations, every reporting day
    for unit in REPORTS["ngay"].units:
        prev: dict[str, dict[str, int]] | None = None
        for day in DAYS:
            if not reporting_day(day):
                continue
            x = rng.random()
            if x < 0.07:
                continue  # missing
            vals = figures_daily(rng, prev)
            prev = vals
            late = x > 0.9
            when = at(day, rng, (16, 5), (21, 0)) if late else at(day, rng, (7, 30), (15, 59))
            subj = rng.choice(
                ["Báo cáo tiêm vắc xin Sởi - Rubella ngày {d}", "BC tiêm chủng ngày {d}", "Gửi số liệu {d}"]
            )
            mails.append(Mail(unit, when, [Doc("ngay", vals, "late" if late else "on time")], subj, "daily"))
            if rng.random() < 0.08:  # a correction the same day, maybe after the deadline
                fix = corrected(vals, rng)
                prev = fix
                later = when + dt.timedelta(minutes=rng.randint(20, 200))
                if later.date() == day:
                    mails.append(
                        Mail(unit, later, [Doc("ngay", fix, "correction")], "Gửi lại số liệu đã sửa {d}", "daily")
                    )
    # weekly: everyone, mid-week, late, missing, corrected
    for unit, *_ in UNITS:
        for w in range(3):
            mon = FIRST + dt.timedelta(days=7 * w)
            x = rng.random()
            if x < 0.1:
                continue
            vals = figures_diseases(rng)
            if x > 0.85:  # late: Thursday after 10:00, or Friday
                day = mon + dt.timedelta(days=rng.choice([3, 4]))
                when = at(day, rng, (10, 5), (17, 0))
                case = "late"
            else:
                day = mon + dt.timedelta(days=rng.choice([0, 1, 2, 2, 3]))
                when = at(day, rng, (7, 30), (9, 59) if day.weekday() == 3 else (17, 0))
                case = "mid-week" if day.weekday() < 3 else "on time"
            keyword = unit in NHANH_UNITS and day >= ONCE_START
            subj = (
                rng.choice(["Báo cáo tuần bệnh truyền nhiễm - {u}", "BC tuần dịch bệnh {d}"])
                if keyword or rng.random() < 0.5
                else rng.choice(["Số liệu bệnh truyền nhiễm {d}", "Gửi báo cáo dịch bệnh"])
            )
            mails.append(Mail(unit, when, [Doc("tuan", vals, case)], subj, "weekly"))
            if rng.random() < 0.15:
                fix = corrected(vals, rng)
                later = when + dt.timedelta(hours=rng.randint(2, 50))
                if later.date() <= mon + dt.timedelta(days=6):
                    subj2 = "Báo cáo tuần (bản sửa) - {u}" if keyword else "Gửi lại số liệu dịch bệnh (đã sửa)"
                    mails.append(Mail(unit, later, [Doc("tuan", fix, "correction")], subj2, "weekly"))
    # monthly: April (due the 25th or the last day), and May's first days
    for unit, *_ in UNITS:
        x = rng.random()
        due = month_due(dt.date(2024, 4, 1), month_deadline)
        if x < 0.75:
            day = rng.choice([d for d in DAYS if d <= due and d.month == 4 and reporting_day(d)])
            when = at(day, rng, (7, 30), (16, 59))
            case = "on time"
        elif x < 0.9:
            day = rng.choice([d for d in DAYS if due < d and d.month == 4] or [due])
            when = at(day, rng, (17, 5), (22, 0))
            case = "late"
        else:
            when, case = None, "missing"
        if when is not None:
            subj = rng.choice(["Báo cáo tháng 4 kinh phí chương trình - {u}", "BC tháng 4/2024", "Kinh phí tháng 4"])
            mails.append(Mail(unit, when, [Doc("thang", figures_month(rng), case)], subj, "monthly"))
        if rng.random() < 0.35:
            day = rng.choice([d for d in DAYS if d.month == 5 and reporting_day(d)])
            subj = "Báo cáo tháng 5 (số liệu đến ngày {d}) - {u}"
            mails.append(
                Mail(unit, at(day, rng, (8, 0), (16, 0)), [Doc("thang", figures_month(rng), "early")], subj, "monthly")
            )
    # the one-off request: the weekly form, the subject says which
    for unit in NHANH_UNITS:
        x = rng.random()
        if x < 0.12:
            continue
        day = rng.choice([ONCE_START, ONCE_START + dt.timedelta(days=1), ONCE_DUE])
        late = x > 0.85
        when = at(ONCE_DUE, rng, (17, 5), (20, 0)) if late else at(day, rng, (7, 30), (16, 59))
        subj = rng.choice(["Báo cáo nhanh tình hình dịch bệnh đến 24/4 - {u}", "V/v báo cáo nhanh dịch bệnh"])
        mails.append(
            Mail(unit, when, [Doc("nhanh", figures_diseases(rng), "late" if late else "on time")], subj, "once")
        )
    # two reports in one message: a station's daily and its weekly or monthly of the same day
    mails.sort(key=lambda m: (m.at, m.unit))
    merged: list[Mail] = []
    for m in mails:
        other = next(
            (
                o
                for o in merged
                if o.unit == m.unit
                and o.at.date() == m.at.date()
                and o.case == "daily"
                and m.case in ("weekly", "monthly")
                and len(o.docs) == 1
            ),
            None,
        )
        if other is not None and rng.random() < 0.5:
            other.docs += m.docs  # the weekly or monthly goes at the daily's time, with its subject
            other.subject, other.case = m.subject, "two reports"
            continue
        merged.append(m)
    # a weekly form whose subject does not say which of the two alike reports it is
    # (a unit whose sheet names the report, as the generated template does, is never undetermined)
    cand = [
        m
        for m in merged
        if m.case == "weekly"
        and m.unit in NHANH_UNITS
        and m.at.date() >= ONCE_START
        and layouts[m.unit].sheet != TEMPLATE
    ]
    if cand:
        m = rng.choice(cand)
        m.subject, m.case = "Gửi số liệu {d}", "undetermined"
        for d in m.docs:
            d.report, d.why = None, "weekly form, subject names no report: undetermined"
            d.could_be = ("tuan", "nhanh")  # the two reports on this very form
    # a spreadsheet that is no report at all
    unit = rng.choice([u[0] for u in UNITS])
    day = rng.choice([d for d in DAYS if reporting_day(d)])
    merged.append(
        Mail(unit, at(day, rng, (8, 0), (15, 0)), [Doc(None, {}, "no report", (ANY,))], "Lịch trực tháng 5", "none")
    )
    merged.sort(key=lambda m: (m.at, m.unit))
    return merged


# ---------------------------------------------------------------------------------------
# truth


def truth(mails: list[Mail], month_deadline: int | str) -> dict[str, dict[str, dict[str, Any]]]:
    """{report: {period start: {"deadline", "end", "units": {unit: {status, values}}, "totals"}}}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for code, rep in REPORTS.items():
        starts: dict[dt.date, tuple[dt.date, dt.datetime]] = {}
        for day in DAYS:
            if code == "nhanh" and not ONCE_START <= day <= ONCE_DUE:
                continue
            s, e, dl = period_of(code, day, month_deadline)
            starts.setdefault(s, (e, dl))
        periods: dict[str, dict[str, Any]] = {}
        latest: dict[str, dict[str, dict[str, int]]] = {}  # cumulative carry
        for s, (e, dl) in sorted(starts.items()):
            expected = reporting_day(s) if code == "ngay" else True
            units: dict[str, Any] = {}
            for unit in rep.units:
                docs = [
                    (m.at, d)
                    for m in mails
                    if m.unit == unit and s <= m.at.date() <= e
                    for d in m.docs
                    if d.report == code
                ]
                if docs:
                    first = min(t for t, _ in docs)
                    vals = max(docs, key=lambda x: x[0])[1].values
                    latest[unit] = vals
                    status = "on_time" if first.replace(second=0) <= dl else "late"
                    units[unit] = {"status": status if expected else "not_expected", "values": vals}
                elif expected and any(
                    m.unit == unit
                    and s <= m.at.date() <= e
                    and any(d.report is None and (code in d.could_be or ANY in d.could_be) for d in m.docs)
                    for m in mails
                ):
                    # all it sent in the period is a document of no report that could be this one
                    units[unit] = {"status": "unreadable", "values": None, "unfiled": True}
                else:
                    units[unit] = {"status": "missing" if expected else "not_expected", "values": None}
            totals: dict[str, dict[str, int]] = {}
            source = latest if rep.cumulative else {u: x["values"] for u, x in units.items() if x["values"]}
            for vals in source.values():
                for ind, row in vals.items():
                    for m, v in row.items():
                        totals.setdefault(ind, {}).setdefault(m, 0)
                        totals[ind][m] += v
            periods[s.isoformat()] = {
                "end": e.isoformat(),
                "deadline": dl.isoformat(),
                "expected": expected,
                "units": units,
                "totals": totals,
            }
        out[code] = periods
    return out


# ---------------------------------------------------------------------------------------
# messages


def body_text(name: str, d: dt.date, values: dict[str, dict[str, int]], lay: Layout, rng: random.Random) -> str:
    """A daily report typed in the message body, one line a row."""
    lines = ["Kính gửi: Trung tâm Y tế huyện Hương Khê", ""]
    lines += [
        f"{name} báo cáo kết quả tiêm vắc xin Sởi - Rubella đến {rng.choice(['16', '15'])} giờ ngày {d:%d/%m/%Y}:",
        "",
    ]
    for n, (ind, row) in enumerate(values.items(), 1):
        parts = []
        for meas in REPORTS["ngay"].measures:
            label, aliases = LABELS[meas]
            word = (rng.choice(aliases) if rng.random() < lay.by_alias else label).lower()
            parts.append(
                rng.choice(
                    [
                        f"{word} {text_number(row[meas])} {rng.choice(['trẻ', 'cháu'])}",
                        f"{word}: {text_number(row[meas])} trẻ",
                    ]
                )
            )
        bullet = rng.choice([f"{n}. ", "- ", "+ "])
        lines.append(f"{bullet}{row_label(ind, lay, rng)}: " + ", ".join(parts) + ".")
    lines += ["", "Trân trọng!", "--", f"Y sĩ trực - {name}", "ĐT: 0239.3871.215"]
    return "\n".join(lines)


def render(m: Mail, n: int, layouts: dict[str, Layout], rng: random.Random) -> bytes:
    code, name, _, sender = UNIT[m.unit]
    d = m.at.date()
    msg = EmailMessage()
    msg["Date"] = email.utils.format_datetime(m.at - dt.timedelta(seconds=rng.randint(5, 60)))
    msg["From"] = email.utils.formataddr((name, sender))
    msg["To"] = email.utils.formataddr(("Trung tâm Y tế huyện Hương Khê", MAILBOX))
    msg["Subject"] = m.subject.format(d=f"{d.day}/{d.month}", u=name)
    msg["Message-ID"] = f"<{n:04d}.{rng.getrandbits(48):012x}.{code.lower()}@huongkhe.example.gov.vn>"
    lay = layouts[m.unit]
    if len(m.docs) == 1 and m.docs[0].report == "ngay" and rng.random() < lay.body_text:
        msg.set_content(body_text(name, d, m.docs[0].values, lay, rng))
        return msg.as_bytes(policy=email.policy.SMTP)
    msg.set_content(f"Kính gửi Trung tâm Y tế huyện,\n\n{name} gửi báo cáo (tệp đính kèm).\n\nTrân trọng!\n")
    if m.case == "two reports" and rng.random() < 0.4:  # both reports as two sheets of one workbook
        book = openpyxl.Workbook()
        for doc in m.docs:
            workbook(m.unit, doc.report or "tuan", doc.values, lay, d, rng, book=book)
        del book[book.sheetnames[0]]
        buf = io.BytesIO()
        book.save(buf)
        msg.add_attachment(
            buf.getvalue(),
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"Bao cao {code} {d:%d.%m}.xlsx",
        )
        return msg.as_bytes(policy=email.policy.SMTP)
    for k, doc in enumerate(m.docs):
        if m.case == "none":
            data, fname = not_a_report(rng), "Lich truc thang 5.xlsx"
        else:
            report = doc.report or "tuan"
            data = workbook(m.unit, report, doc.values, layouts[m.unit], d, rng)
            fname = (
                f"{rng.choice(['BC', 'Bao cao', 'baocao'])}_{report}_{code}_{d:%d%m}{'_' + str(k) if k else ''}.xlsx"
            )
        msg.add_attachment(
            data,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=fname,
        )
    return msg.as_bytes(policy=email.policy.SMTP)


def generate(out: Path, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "emails").mkdir(parents=True)
    month_deadline: int | str = rng.choice([25, "last"])
    (out / "config.toml").write_text(config_toml(month_deadline), encoding="utf-8")
    layouts = {u[0]: layout_for(rng) for u in UNITS}
    mails = plan(rng, month_deadline, layouts)
    manifest = []
    for n, m in enumerate(mails, 1):
        rel = f"emails/{m.at:%Y-%m-%d}/{n:03d}-{m.unit.lower()}-{m.case.replace(' ', '-')}.eml"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(render(m, n, layouts, rng))
        manifest.append(
            {
                "file": rel,
                "day": m.at.date().isoformat(),
                "arrival": m.at.isoformat(),
                "unit": m.unit,
                "case": m.case,
                "docs": [{"report": d.report, "why": d.why} for d in m.docs],
            }
        )
    exp = truth(mails, month_deadline)
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    (out / "expected.json").write_text(json.dumps(exp, ensure_ascii=False, indent=1))
    (out / "layouts.json").write_text(
        json.dumps({u: vars(x) for u, x in layouts.items()}, ensure_ascii=False, indent=1)
    )
    return {"manifest": manifest, "expected": exp, "month_deadline": month_deadline}


# ---------------------------------------------------------------------------------------
# running the product (the public harness's Dovecot, SMTP capture, config rewrite and CLI)


def harness() -> Any:
    sys.path.insert(0, str(SHARED / "samples"))
    import check  # type: ignore[import-not-found]

    check.CLI_TIMEOUT = CLI_TIMEOUT
    return check


def run(out: Path, gen: dict[str, Any], install: bool) -> dict[str, Any]:
    check = harness()
    import dovecot_server  # type: ignore[import-not-found]

    if install:
        exe, log = check.ensure_product(ROOT, False)
        if exe is None:
            raise SystemExit(f"baocao could not be installed:\n{log}")
    else:
        exe = ROOT / ".venv" / "bin" / "baocao"
    work = Path(tempfile.mkdtemp(prefix="baocao-unseen-reports-"))
    os.chmod(work, 0o755)
    logs = out / "cli"
    logs.mkdir(exist_ok=True)
    imap_port, smtp_port = check.free_port(), check.free_port()
    dproc, ddir = dovecot_server.start(users={check.IMAP_USER: check.IMAP_PASS}, port=imap_port, ssl_port=0)
    smtp_ctl, _ = check.start_smtp(smtp_port)
    got: dict[str, Any] = {"polls": [], "status": {}, "export": {}}
    try:
        cfg = check.write_config(out / "config.toml", work, imap_port, smtp_port)
        env = dict(os.environ)
        env.update({check.IMAP_ENV: check.IMAP_PASS, check.SMTP_ENV: check.SMTP_PASS, "TZ": "UTC"})
        env["BAOCAO_CONFIG"] = str(cfg)
        cli = check.Cli(exe, cfg, work, env, logs)
        manifest = gen["manifest"]
        for day in DAYS:
            todays = [e for e in manifest if e["day"] == day.isoformat()]
            if not todays:
                continue
            check.append_day(imap_port, out, todays)
            r = cli("poll")
            got["polls"].append({"day": day.isoformat(), "ok": r.ok, "why": None if r.ok else r.why()})
            print(f"  {day} {len(todays):2d} message(s) poll {'ok' if r.ok else r.why()}", flush=True)
        for code, periods in gen["expected"].items():
            for start in periods:
                for what in ("status", "export"):
                    args = ["status", "--json"] if what == "status" else ["export", "--format", "json"]
                    r = cli(*args, "--report", code, "--date", start)
                    try:
                        doc = json.loads(r.out) if r.ok else {"error": r.why()}
                    except ValueError:
                        doc = {"error": "no JSON: " + r.out[:200]}
                    got[what].setdefault(code, {})[start] = doc
    finally:
        try:
            smtp_ctl.stop()
        except Exception:  # noqa: BLE001
            pass
        dovecot_server.stop(dproc, ddir)
        shutil.rmtree(work, ignore_errors=True)
    (out / "got.json").write_text(json.dumps(got, ensure_ascii=False, indent=1))
    return got


# ---------------------------------------------------------------------------------------
# scoring


def numbers(values: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(values, dict):
        return {}
    return {i: {m: v for m, v in row.items() if v is not None} for i, row in values.items() if isinstance(row, dict)}


def score(gen: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """The table per report, then every miss."""
    rows, misses = [], []
    blank = dict.fromkeys(("st_ok", "st_n", "shown", "unfiled", "exact", "wrong", "missing", "extra", "t_ok", "t_n"), 0)
    all_ = dict(blank)
    for code, periods in gen["expected"].items():
        s = dict(blank)
        for start, want in periods.items():
            st = got["status"].get(code, {}).get(start, {})
            ex = got["export"].get(code, {}).get(start, {})
            if "error" in st or "error" in ex:
                misses.append(f"{code} {start}: {st.get('error') or ex.get('error')}")
            st_units = {u.get("code"): u for u in st.get("units", [])}
            ex_units = {u.get("code"): u for u in ex.get("units", [])}
            for unit, w in want["units"].items():
                s["st_n"] += 1
                g = st_units.get(unit, {}).get("status")
                s["unfiled"] += bool(w.get("unfiled"))
                if g == w["status"]:
                    s["st_ok"] += 1
                    s["shown"] += bool(w.get("unfiled"))
                else:
                    misses.append(f"{code} {start} {unit}: status {w['status']} -> {g}")
                if w["status"] in ("on_time", "late"):
                    gv = numbers(ex_units.get(unit, {}).get("values"))
                    for ind, row in w["values"].items():
                        for meas, v in row.items():
                            x = gv.get(ind, {}).get(meas)
                            if x is None:
                                s["missing"] += 1
                                misses.append(f"{code} {start} {unit}: {ind}.{meas} {v} -> missing")
                            elif x == v:
                                s["exact"] += 1
                            else:
                                s["wrong"] += 1
                                misses.append(f"{code} {start} {unit}: {ind}.{meas} {v} -> {x}")
                    for ind, row in gv.items():
                        for meas, x in row.items():
                            if meas not in w["values"].get(ind, {}):
                                s["extra"] += 1
                                misses.append(f"{code} {start} {unit}: extra {ind}.{meas} -> {x}")
                    if ex_units.get(unit, {}).get("problems"):
                        probs = "; ".join(str(p.get("message", p))[:140] for p in ex_units[unit]["problems"])
                        if any(m.startswith(f"{code} {start} {unit}:") for m in misses):
                            misses.append(f"    problems: {probs}")
            if want["expected"]:
                tot = numbers(ex.get("totals"))
                for ind, row in want["totals"].items():
                    for meas, v in row.items():
                        s["t_n"] += 1
                        x = tot.get(ind, {}).get(meas)
                        if x == v:
                            s["t_ok"] += 1
                        else:
                            misses.append(f"{code} {start} totals: {ind}.{meas} {v} -> {x}")
        rows.append(_row(code, str(len(periods)), s))
        for k in all_:
            all_[k] += s[k]
    rows.append(_row("all", "", all_))
    head = [
        "| report | periods | statuses right (unreadable by a document of no report) | figures exact | wrong "
        "| missing | extra | totals exact |",
        "|---|---|---|---|---|---|---|---|",
    ]
    tail = ["", "misses:" if misses else "misses: none", *("  " + m for m in misses)]
    return head + rows + tail


def _row(name: str, periods: str, s: dict[str, int]) -> str:
    return (
        f"| {name} | {periods} | {s['st_ok']}/{s['st_n']} ({s['shown']}/{s['unfiled']}) | {s['exact']} | {s['wrong']} "
        f"| {s['missing']} | {s['extra']} | {s['t_ok']}/{s['t_n']} |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "baocao-unseen-reports")
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--install", action="store_true", help="install the project afresh, as the public harness does")
    args = ap.parse_args()
    if not args.generate_only and os.geteuid() != 0:
        print("run as root (the throwaway Dovecot needs it)", file=sys.stderr)
        return 2
    gen = generate(args.out, args.seed)
    cases: dict[str, int] = {}
    for e in gen["manifest"]:
        cases[e["case"]] = cases.get(e["case"], 0) + 1
    print(
        f"generated {args.out} (seed {args.seed}): {len(gen['manifest'])} messages "
        f"({', '.join(f'{k} {v}' for k, v in sorted(cases.items()))}); monthly due {gen['month_deadline']}",
        flush=True,
    )
    if args.generate_only:
        return 0
    got = run(args.out, gen, args.install)
    print("\n".join(score(gen, got)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
