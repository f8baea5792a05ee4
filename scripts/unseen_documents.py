#!/usr/bin/env python3
"""Measure baocao on documents it never sees: another form, other scanners and phones.

    python3 scripts/unseen_documents.py [--seed 13] [--out /tmp/baocao-unseen] [--generate-only] [--skip-scans]

Run it from the project root, as root, with a private /tmp (like /work/wt/check.sh):

    unshare -m bash -c 'mount -t tmpfs tmpfs /tmp && python3 scripts/unseen_documents.py'

Generates, deterministically from the seed, a two-day scenario in the layout of
../shared/samples-documents (config.toml, manifest.json, documents.json, emails/DAY/*.eml,
expected/DAY.json) for a form the product has never been tuned on: a flood-relief
campaign of another district, with other indicators, measures, aliases, column orders,
money scales (triệu đồng / nghìn đồng / đồng), letterheads and number locales. Every unit
sends one document a day, as one of the kinds k1-k10 of the public set: text PDFs drawn
with pypdfium2 (Excel-like form, Word-like report with or without ruling lines, two
pages with the header repeated, an incremental update after %%EOF), scans rendered from
them (300 dpi colour with a red stamp over digits and a blue signature, 200 dpi grey,
skewed, dark), phone photos (perspective, curl, uneven light, EXIF orientation), figures
typed in the plain-text body, Excel ranges pasted into Outlook / Gmail, and a scanned
letter that is not the report. A third day brings what units also send (k12-k20): a
table running on to page 2 without its header, thousands in no-break or thin spaces, the
'Tổng cộng' row first with wrapped labels, figures over a forwarded older report, an
Outlook Word-HTML table in windows-1258 with '1.234 text cells, a Gmail reply over a
quoted table, an .htm saved from Excel, an .ods, a plain body in windows-1258.
`--skip-scans` sends the scans and photos of days 1-2 as text PDFs (a faster run).

Then it copies the public harness (../shared/samples/check.py and dovecot_server.py,
../shared/samples-documents/score.py) next to the generated set and runs it exactly as
score.py runs the public set (IMAP APPEND, `baocao poll`, `baocao export`, the digest),
prints score.py's per-kind table (truth / exact / wrong+flag / wrong silent / missing /
extra) and, for every figure that is not exact, the unit, file, cell, truth and reading.
The generated files stay under --out; nothing is committed.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import email.policy
import email.utils
import io
import json
import math
import random
import shutil
import subprocess
import sys
import tempfile
from email.message import EmailMessage
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
FONT_SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
TZ = dt.timezone(dt.timedelta(hours=7))
DAYS = ["2021-09-20", "2021-09-21", "2021-09-22"]
KINDS = {
    "k1": "text PDF printed from the .xlsx form",
    "k2": "text PDF printed from a Word report",
    "k3": "two-page text PDF, header row repeated",
    "k4": "scan 300 dpi, red stamp",
    "k5": "scan 200 dpi gray, skewed, dark background",
    "k6": "phone photo (.jpg)",
    "k7": "figures in the plain-text body",
    "k8": "HTML body, table pasted from Excel",
    "k9": "digitally signed text PDF",
    "k10": "control: scan of a document that is not the report",
    # day 3: what units also send, each a stand-in for the real thing
    "k12": "text PDF, table split over pages, header not repeated",
    "k13": "landscape PDF, thousands in (no-break/thin) spaces",
    "k14": "PDF, 'Tổng cộng' row first, two-line labels",
    "k15": "plain body over a forwarded older report",
    "k16": "Outlook Word HTML, windows-1258, '1.234 text",
    "k17": "Gmail reply over a quoted older table",
    "k18": ".htm saved from Excel (windows-1258, x:num)",
    "k19": ".ods from LibreOffice Calc",
    "k20": "plain body in windows-1258 (decomposed)",
}
TEXT_KINDS = ("k1", "k2", "k3", "k7", "k8", "k9", "k12", "k13", "k14", "k15", "k16", "k17", "k18", "k19", "k20")
SCAN_KINDS = ("k4", "k5", "k6", "k10")
# the text kinds whose document states its as-of date in a line ("tính đến ngày ...", a title
# "... đến ngày dd/mm/yyyy", "đến hết ngày ..."); k8 and k16 state it only in a header cell
AS_OF_KINDS = tuple(k for k in TEXT_KINDS if k not in ("k8", "k16"))

# ---------------------------------------------------------------------------------------
# the form: a flood-relief campaign of Yên Thành district (nothing shared with the public set)

MEASURES = [
    ("dang_ky", "Số hộ đăng ký hỗ trợ", ["Số hộ đăng ký", "Hộ đăng ký"], "count"),
    (
        "du_dieu_kien",
        "Số hộ đủ điều kiện hỗ trợ",
        ["Số hộ đủ điều kiện", "Được xét duyệt", "Số hộ được xét duyệt"],
        "count",
    ),
    ("kinh_phi", "Kinh phí được phân bổ", ["Kinh phí phân bổ", "Dự toán được giao"], "money"),
    ("da_nhan", "Số hộ đã nhận hỗ trợ", ["Số hộ đã nhận", "Đã nhận (hộ)"], "count"),
    ("da_giai_ngan", "Kinh phí đã giải ngân", ["Đã giải ngân", "Số tiền đã cấp phát"], "money"),
]
MEASURE_SCALE = {"kinh_phi": "triệu đồng", "da_giai_ngan": "nghìn đồng"}
INDICATORS = [
    (
        "nha_sap",
        "Hỗ trợ hộ có nhà bị sập đổ, cuốn trôi hoàn toàn",
        ["Nhà sập đổ, trôi hoàn toàn", "Nhà bị sập, trôi"],
        40_000_000,
    ),
    ("nha_hu_hong", "Hỗ trợ sửa chữa nhà ở bị hư hỏng nặng", ["Nhà hư hỏng nặng", "Sửa chữa nhà hư hỏng"], 15_000_000),
    ("nguoi_chet", "Hỗ trợ gia đình có người chết, mất tích", ["Người chết, mất tích"], 10_000_000),
    ("bi_thuong", "Hỗ trợ người bị thương nặng", ["Người bị thương nặng", "Bị thương"], 3_000_000),
    (
        "cay_trong",
        "Hỗ trợ khôi phục sản xuất cây trồng bị thiệt hại",
        ["Cây trồng bị thiệt hại", "Khôi phục sản xuất cây trồng"],
        2_500_000,
    ),
    ("gia_suc", "Hỗ trợ gia súc, gia cầm bị chết do lũ", ["Gia súc, gia cầm bị chết", "Gia súc gia cầm"], 1_800_000),
    (
        "thuy_san",
        "Hỗ trợ nuôi trồng thủy sản bị thiệt hại",
        ["Nuôi trồng thủy sản", "Thủy sản bị thiệt hại"],
        4_200_000,
    ),
    ("cuu_doi", "Hỗ trợ gạo cứu đói cho hộ bị thiệt hại", ["Gạo cứu đói", "Cứu đói"], 450_000),
    (
        "hoc_sinh",
        "Hỗ trợ học sinh bị mất sách vở, đồ dùng học tập",
        ["Học sinh mất sách vở", "Sách vở, đồ dùng học tập"],
        300_000,
    ),
]
IND = {c: (label, aliases, rate) for c, label, aliases, rate in INDICATORS}
MEAS = {c: (label, aliases, kind) for c, label, aliases, kind in MEASURES}
# (code, name, letterhead parent, sender, indicators it reports)
UNITS = [
    (
        "TAY_THANH",
        "UBND xã Tây Thành",
        "UBND HUYỆN YÊN THÀNH",
        "taythanh@yenthanh.example.gov.vn",
        ["nha_sap", "nha_hu_hong", "cay_trong", "gia_suc", "cuu_doi"],
    ),
    (
        "DONG_THANH",
        "UBND xã Đồng Thành",
        "UBND HUYỆN YÊN THÀNH",
        "dongthanh@yenthanh.example.gov.vn",
        ["nha_hu_hong", "cay_trong", "thuy_san", "cuu_doi"],
    ),
    (
        "HOA_THANH",
        "UBND xã Hoa Thành",
        "UBND HUYỆN YÊN THÀNH",
        "hoathanh@yenthanh.example.gov.vn",
        ["nha_sap", "nguoi_chet", "bi_thuong", "gia_suc", "thuy_san", "cuu_doi"],
    ),
    (
        "THI_TRAN",
        "UBND thị trấn Yên Thành",
        "UBND HUYỆN YÊN THÀNH",
        "thitran@yenthanh.example.gov.vn",
        ["nha_hu_hong", "bi_thuong", "hoc_sinh"],
    ),
    (
        "LANG_THANH",
        "UBND xã Lăng Thành",
        "UBND HUYỆN YÊN THÀNH",
        "langthanh@yenthanh.example.gov.vn",
        ["nha_sap", "nha_hu_hong", "cay_trong", "gia_suc", "thuy_san", "cuu_doi", "hoc_sinh"],
    ),
    (
        "PHUC_THANH",
        "UBND xã Phúc Thành",
        "UBND HUYỆN YÊN THÀNH",
        "phucthanh@yenthanh.example.gov.vn",
        ["nha_hu_hong", "cay_trong", "cuu_doi"],
    ),
    (
        "NN_PTNT",
        "Phòng Nông nghiệp và Phát triển nông thôn",
        "UBND HUYỆN YÊN THÀNH",
        "nnptnt@yenthanh.example.gov.vn",
        ["cay_trong", "gia_suc", "thuy_san"],
    ),
    ("GD_DT", "Phòng Giáo dục và Đào tạo", "UBND HUYỆN YÊN THÀNH", "pgd@yenthanh.example.gov.vn", ["hoc_sinh"]),
    (
        "LDTBXH",
        "Phòng Lao động - Thương binh và Xã hội",
        "UBND HUYỆN YÊN THÀNH",
        "ldtbxh@yenthanh.example.gov.vn",
        ["nguoi_chet", "bi_thuong", "cuu_doi"],
    ),
    (
        "MTTQ",
        "Ủy ban MTTQ Việt Nam huyện",
        "MẶT TRẬN TỔ QUỐC VIỆT NAM",
        "mttq@yenthanh.example.gov.vn",
        ["nha_sap", "nguoi_chet"],
    ),
]
# kinds per unit per day (fixed: the seed varies the looks, not the plan)
PLAN = {
    DAYS[0]: ["k1", "k2", "k4", "k7", "k3", "k8", "k5", "k6", "k9", "k10"],
    DAYS[1]: ["k5", "k6", "k1", "k3", "k4", "k7", "k8", "k2", "k6", "k4"],
    DAYS[2]: ["k12", "k13", "k14", "k15", "k16", "k17", "k18", "k19", "k20", "k12"],
}
# --skip-scans: the scans and photos of days 1-2 sent as text PDFs instead (the letter stays)
NO_SCANS = {"k4": "k1", "k5": "k2", "k6": "k9"}
CLI_TIMEOUT = 600
SCALE_FACTOR = {"triệu đồng": 1_000_000, "nghìn đồng": 1_000, "đồng": 1}


def config_toml() -> str:
    q = json.dumps
    out = [
        "# Unseen form (generated by scripts/unseen_documents.py): flood relief, Yên Thành district.",
        "[service]",
        'timezone = "Asia/Ho_Chi_Minh"',
        'database_url = "sqlite:///data/baocao.db"',
        'archive_dir = "data/archive"',
        "poll_interval_minutes = 5",
        'language = "vi"',
        "",
        "[imap]",
        'host = "mail.example.gov.vn"',
        "port = 993",
        'security = "ssl"',
        'username = "tonghop@yenthanh.example.gov.vn"',
        'password_env = "BAOCAO_IMAP_PASSWORD"',
        'folder = "INBOX"',
        "",
        "[smtp]",
        'host = "mail.example.gov.vn"',
        "port = 587",
        'security = "starttls"',
        'username = "tonghop@yenthanh.example.gov.vn"',
        'password_env = "BAOCAO_SMTP_PASSWORD"',
        'from_address = "tonghop@yenthanh.example.gov.vn"',
        "",
        "[schedule]",
        'deadline = "16:00"',
        'digest_at = "16:00"',
        'report_days = ["mon", "tue", "wed", "thu", "fri"]',
        "holidays = []",
        'reminders_at = ["11:00"]',
        "",
        "[digest]",
        'to = ["bchptt@yenthanh.example.gov.vn"]',
        "cc = []",
        'subject = "Tổng hợp kết quả hỗ trợ khắc phục hậu quả mưa lũ ngày {date}"',
        "attach_workbook = true",
        "",
        "[campaign]",
        'title = "Hỗ trợ khắc phục hậu quả mưa lũ tháng 9/2021"',
        "start_date = 2021-09-15",
        "end_date = 2021-10-31",
        "",
        "[acknowledgements]",
        "enabled = false",
        "",
        "[reminders]",
        "enabled = false",
        "",
    ]
    for code, label, aliases, kind in MEASURES:
        out += [
            "[[measures]]",
            f"code = {q(code)}",
            f"label = {q(label, ensure_ascii=False)}",
            f"aliases = {json.dumps(aliases, ensure_ascii=False)}",
            f"kind = {q(kind)}",
        ]
        if kind == "money":
            out.append(f"default_scale = {q(MEASURE_SCALE[code], ensure_ascii=False)}")
        out.append("")
    for code, label, aliases, _ in INDICATORS:
        out += [
            "[[indicators]]",
            f"code = {q(code)}",
            f"label = {q(label, ensure_ascii=False)}",
            f"aliases = {json.dumps(aliases, ensure_ascii=False)}",
            "",
        ]
    for rule, msg in [
        ("du_dieu_kien <= dang_ky", "Số hộ đủ điều kiện lớn hơn số hộ đăng ký"),
        ("da_nhan <= du_dieu_kien", "Số hộ đã nhận lớn hơn số hộ đủ điều kiện"),
        ("da_giai_ngan <= kinh_phi", "Kinh phí đã giải ngân lớn hơn kinh phí được phân bổ"),
    ]:
        out += ["[[checks]]", f"rule = {q(rule)}", f"message = {q(msg, ensure_ascii=False)}", ""]
    for code, name, _, sender, _ in UNITS:
        out += [
            "[[units]]",
            f"code = {q(code)}",
            f"name = {q(name, ensure_ascii=False)}",
            f"group = {q('Xã, thị trấn' if name.startswith('UBND') else 'Phòng, ban, ngành', ensure_ascii=False)}",
            f"senders = [{q(sender)}]",
            "",
        ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------
# figures


def figures(rng: random.Random) -> dict[str, dict[str, dict[str, dict[str, int]]]]:
    """{day: {unit: {indicator: {measure: đồng or count}}}}, cumulative over the days."""
    out: dict[str, dict] = {d: {} for d in DAYS}
    third = random.Random(rng.random())
    for code, _, _, _, inds in UNITS:
        measures = [m for m, *_ in MEASURES]
        if rng.random() < 0.3:
            measures = ["dang_ky", "du_dieu_kien", "kinh_phi"]
        prev: dict[str, dict[str, int]] = {}
        for day in DAYS[:2]:
            vals: dict[str, dict[str, int]] = {}
            for ind in inds:
                rate = IND[ind][2]
                p = prev.get(ind, {})
                reg = p.get("dang_ky", rng.randint(3, 60 if rate > 5_000_000 else 1400)) + rng.randint(0, 25)
                ok = max(p.get("du_dieu_kien", 0), reg - rng.randint(0, max(1, reg // 6)))
                got = max(p.get("da_nhan", 0), ok - rng.randint(0, max(1, ok // 3)))
                money = ok * rate + rng.randint(0, 40) * 10_000
                paid = min(money, got * rate + rng.randint(0, 20) * 10_000)
                paid = max(paid, p.get("da_giai_ngan", 0))
                money = max(money, p.get("kinh_phi", 0), paid)
                row = {"dang_ky": reg, "du_dieu_kien": ok, "kinh_phi": money, "da_nhan": got, "da_giai_ngan": paid}
                vals[ind] = {m: row[m] for m in measures}
            out[day][code] = vals
            prev = vals
        # day 3: a little more of everything (cumulative figures never go down)
        more = {}
        for ind, row in prev.items():
            r = dict(row)
            r["dang_ky"] += third.randint(0, 9)
            if "du_dieu_kien" in r:
                r["du_dieu_kien"] += third.randint(0, r["dang_ky"] - r["du_dieu_kien"])
            if "da_nhan" in r:
                r["da_nhan"] += third.randint(0, r["du_dieu_kien"] - r["da_nhan"])
            r["kinh_phi"] = max(r["kinh_phi"], r["du_dieu_kien"] * IND[ind][2] + third.randint(0, 40) * 10_000)
            if "da_giai_ngan" in r:
                r["da_giai_ngan"] = min(r["kinh_phi"], r["da_giai_ngan"] + third.randint(0, 30) * 100_000)
            more[ind] = r
        out[DAYS[2]][code] = more
    return out


def fmt_int(n: int, loc: str) -> str:
    """loc: "vi" 1.234, "en" 1,234, or "sp" + a space character: 1 234 (no-break, thin...)."""
    s = f"{n:,}"
    if loc.startswith("sp"):
        return s.replace(",", loc[2:])
    return s.replace(",", ".") if loc == "vi" else s


def fmt_money(dong: int, scale: str, loc: str) -> str:
    f = SCALE_FACTOR[scale]
    whole, frac = divmod(dong, f)
    s = fmt_int(whole, loc)
    if frac:
        digits = str(frac).rjust(len(str(f)) - 1, "0").rstrip("0")
        s += ("." if loc == "en" else ",") + digits
    return s


def fmt(meas: str, v: int, scale: str, loc: str) -> str:
    return fmt_money(v, scale, loc) if MEAS[meas][2] == "money" else fmt_int(v, loc)


def locale_shown(texts: list[str]) -> bool:
    """Whether a reader can tell from a document's figures how it writes numbers: some
    figure has two separators, or one separator not followed by exactly three digits
    ("1.234.567", "57,06", "220.5"), or three zeros after it ("47.000": a decimal is not
    printed ".000"). A document whose every figure is "236.190" or "1,212" (or has no
    separator) reads two ways: the product must flag such figures, so it is not clean."""
    for t in texts:
        seps = [ch for ch in t if ch in ".,"]
        if not seps:
            continue
        if len(seps) > 1:
            return True
        whole, frac = t.replace(",", ".").split(".")
        if len(frac) != 3 or not 1 <= len(whole) <= 3 or frac == "000":
            return True
    return False


# ---------------------------------------------------------------------------------------
# text PDFs drawn with pdfium (fonts embedded as CID TrueType, so the text layer is Unicode)


class Canvas:
    def __init__(self, width: float, height: float):
        self.pdf = pdfium.PdfDocument.new()
        self.w, self.h = width, height
        self.fonts: dict[str, object] = {}
        self._keep: list[object] = []
        self.page = None
        self.pages: list = []
        self.new_page()

    def font(self, path: str):
        if path not in self.fonts:
            data = Path(path).read_bytes()
            buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            self._keep.append(buf)
            self.fonts[path] = pdfium_c.FPDFText_LoadFont(self.pdf.raw, buf, len(data), pdfium_c.FPDF_FONT_TRUETYPE, 1)
        return self.fonts[path]

    def new_page(self) -> None:
        if self.page is not None:
            pdfium_c.FPDFPage_GenerateContent(self.page.raw)
        self.page = self.pdf.new_page(self.w, self.h)
        self.pages.append(self.page)

    def text(self, x: float, y: float, s: str, size: float = 10, font: str = FONT, color=(0, 0, 0)) -> None:
        """Text with its baseline at y measured from the top of the page."""
        if not s:
            return
        o = pdfium_c.FPDFPageObj_CreateTextObj(self.pdf.raw, self.font(font), ctypes.c_float(size))
        ws = ctypes.create_string_buffer((s + "\0").encode("utf-16-le"))
        pdfium_c.FPDFText_SetText(o, ctypes.cast(ws, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
        pdfium_c.FPDFPageObj_SetFillColor(o, *color, 255)
        pdfium_c.FPDFPageObj_Transform(o, 1, 0, 0, 1, x, self.h - y)
        pdfium_c.FPDFPage_InsertObject(self.page.raw, o)

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float = 0.6, color=(0, 0, 0)) -> None:
        p = pdfium_c.FPDFPageObj_CreateNewPath(ctypes.c_float(x0), ctypes.c_float(self.h - y0))
        pdfium_c.FPDFPath_LineTo(p, ctypes.c_float(x1), ctypes.c_float(self.h - y1))
        pdfium_c.FPDFPageObj_SetStrokeWidth(p, ctypes.c_float(width))
        pdfium_c.FPDFPageObj_SetStrokeColor(p, *color, 255)
        pdfium_c.FPDFPath_SetDrawMode(p, 0, 1)
        pdfium_c.FPDFPage_InsertObject(self.page.raw, p)

    def save(self) -> bytes:
        pdfium_c.FPDFPage_GenerateContent(self.page.raw)
        b = io.BytesIO()
        self.pdf.save(b)
        return b.getvalue()


_PIL_FONTS: dict[tuple[str, float], ImageFont.FreeTypeFont] = {}


def width(s: str, size: float, font: str = FONT) -> float:
    key = (font, size)
    if key not in _PIL_FONTS:
        _PIL_FONTS[key] = ImageFont.truetype(font, 100)
    return _PIL_FONTS[key].getlength(s) * size / 100


def wrap(s: str, w: float, size: float, font: str = FONT) -> list[str]:
    lines, cur = [], ""
    for word in s.split():
        t = f"{cur} {word}".strip()
        if cur and width(t, size, font) > w:
            lines.append(cur)
            cur = word
        else:
            cur = t
    return lines + ([cur] if cur else [])


class Spec:
    """One report document: what it states and how it looks."""

    def __init__(self, rng: random.Random, unit: tuple, day: str, values: dict, kind: str):
        self.code, self.name, self.parent, self.sender, _ = unit
        self.day, self.values, self.kind = day, values, kind
        self.date = dt.date.fromisoformat(day)
        self.measures = [m for m, *_ in MEASURES if any(m in r for r in values.values())]
        if rng.random() < 0.5:
            rng.shuffle(self.measures)
        self.loc = "en" if (kind == "k1" and rng.random() < 0.35) else "vi"
        self.scale = {m: rng.choice(["triệu đồng", "nghìn đồng", "đồng"]) for m in self.measures}
        if self.loc == "en":
            self.scale = {m: "triệu đồng" for m in self.measures}
        self.headers = {m: rng.choice([MEAS[m][0], *MEAS[m][1]]) for m in self.measures}
        self.labels = {i: rng.choice([IND[i][0], *IND[i][1]]) for i in IND}
        self.all_rows = kind == "k3" or (kind in ("k1", "k4", "k5") and rng.random() < 0.7)
        self.empty = rng.choice(["-", ""]) if self.all_rows else "-"  # a printed 0 would be a stated figure
        self.two_rows = rng.random() < 0.5
        self.numbering = rng.random() < 0.4
        self.total_row = rng.random() < 0.4
        self.scale_line = (
            rng.random() < 0.25 and len({self.scale[m] for m in self.measures if MEAS[m][2] == "money"}) == 1
        )
        self.landscape = rng.random() < 0.35
        self.ruled = not (kind == "k2" and rng.random() < 0.5)
        self.number = rng.randint(12, 480)
        self.repeat_header = True
        self.total_first = False
        self.narrow_labels = False
        self.page_numbers = False
        if kind == "k12":  # LibreOffice / Word: the table runs on, its header not repeated
            self.all_rows, self.repeat_header, self.page_numbers, self.landscape = True, False, True, False
            self.ruled = rng.random() < 0.6
        elif kind == "k13":  # landscape, "1 234" with a no-break, narrow no-break, thin or plain space
            self.landscape = True
            self.loc = "sp" + rng.choice(["\u00a0", "\u202f", "\u2009", " "])
            self.empty = rng.choice(["-", ""])
            self.all_rows = rng.random() < 0.5
        elif kind == "k14":  # "Tổng cộng" first, long labels wrapped over two lines
            self.total_row = self.total_first = self.narrow_labels = True
            self.labels = {i: IND[i][0] for i in IND}

    def money_header(self, m: str) -> str:
        h = self.headers[m]
        if MEAS[m][2] == "money" and not self.scale_line:
            h += f" ({self.scale[m]})"
        return h

    def rows(self) -> list[tuple[str, str, dict[str, str]]]:
        """(number, label, {measure: text}) of the table body."""
        codes = [c for c, *_ in INDICATORS] if self.all_rows else [c for c in IND if c in self.values]
        out = []
        for n, c in enumerate(codes, 1):
            row = self.values.get(c, {})
            cells = {m: fmt(m, row[m], self.scale[m], self.loc) if m in row else self.empty for m in self.measures}
            out.append((f"{n}", self.labels[c], cells))
        if self.total_row:
            tot = {}
            for m in self.measures:
                xs = [r[m] for r in self.values.values() if m in r]
                tot[m] = fmt(m, sum(xs), self.scale[m], self.loc) if xs else ""
            total = ("", "Tổng cộng", tot)
            out = [total, *out] if self.total_first else [*out, total]
        return out


def figure_texts(s: Spec) -> list[str]:
    """The figures a document's table prints, as printed."""
    return [t for _, _, cells in s.rows() for t in cells.values() if t and t != "-"]


def letterhead(c: Canvas, s: Spec, y: float, title: str) -> float:
    lw = c.w * 0.42
    for i, t in enumerate([s.parent, s.name.upper()]):
        c.text(40 + (lw - width(t, 9.5, FONT_BOLD if i else FONT)) / 2, y + 12 * i, t, 9.5, FONT_BOLD if i else FONT)
    c.line(40 + lw * 0.3, y + 16, 40 + lw * 0.7, y + 16, 0.5)
    c.text(40 + (lw - width(f"Số: {s.number}/BC-UBND", 9.5)) / 2, y + 32, f"Số: {s.number}/BC-UBND", 9.5)
    rx = c.w * 0.47
    rw = c.w - 40 - rx
    for i, t in enumerate(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]):
        f = FONT_BOLD
        c.text(rx + (rw - width(t, 9.5, f)) / 2, y + 12 * i, t, 9.5, f)
    c.line(rx + rw * 0.25, y + 16, rx + rw * 0.75, y + 16, 0.5)
    d = s.date
    place = f"Yên Thành, ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"
    c.text(rx + (rw - width(place, 9)) / 2, y + 32, place, 9, FONT_SERIF)
    y += 60
    for i, t in enumerate(["BÁO CÁO", title]):
        f, sz = (FONT_BOLD, 12) if i == 0 else (FONT_BOLD, 10)
        for ln in wrap(t, c.w - 120, sz, f):
            c.text((c.w - width(ln, sz, f)) / 2, y, ln, sz, f)
            y += sz + 4
    return y + 6


def draw_table(c: Canvas, s: Spec, y: float, bottom: float, min_row: float = 0) -> float:
    ms = s.measures
    avail = c.w - 80
    body = s.rows()
    need = max(width(r[2][m], 8.0) for r in body for m in ms) + 12
    colw = max(need, min(92.0, (avail - 30) * 0.55 / len(ms)))
    if s.narrow_labels:
        colw = max(colw, (avail - 26 - 130) / len(ms))
    labw = avail - 26 - colw * len(ms)
    xs = [40.0, 66.0, 66.0 + labw] + [66.0 + labw + colw * (i + 1) for i in range(len(ms))]
    size = 8.0

    def hline(yy):
        if s.ruled:
            c.line(xs[0], yy, xs[-1], yy)

    def header(y0: float) -> float:
        heads = [wrap(s.money_header(m), colw - 6, size, FONT_BOLD) for m in ms]
        hh = max(len(h) for h in heads) * (size + 2) + 8
        top = y0
        rows = [("STT", "Nội dung hỗ trợ")]
        if s.two_rows:
            group = "Kết quả thực hiện đến ngày " + s.date.strftime("%d/%m/%Y")
            c.text(xs[2] + (xs[-1] - xs[2] - width(group, size, FONT_BOLD)) / 2, y0 + 12, group, size, FONT_BOLD)
            if s.ruled:
                c.line(xs[2], y0 + 17, xs[-1], y0 + 17)
            y0 += 17
        for i, h in enumerate(heads):
            for k, ln in enumerate(h):
                x = xs[2 + i] + (colw - width(ln, size, FONT_BOLD)) / 2
                c.text(x, y0 + 10 + k * (size + 2), ln, size, FONT_BOLD)
        for j, t in enumerate(rows[0]):
            c.text(
                xs[j] + (xs[j + 1] - xs[j] - width(t, size, FONT_BOLD)) / 2, (top + y0 + hh) / 2 + 3, t, size, FONT_BOLD
            )
        y1 = y0 + hh
        if s.numbering:
            for j in range(len(xs) - 1):
                t = f"({j + 1})"
                c.text(xs[j] + (xs[j + 1] - xs[j] - width(t, 7)) / 2, y1 + 9, t, 7)
            hline(y1)
            y1 += 12
        if s.ruled:
            c.line(xs[0], top, xs[-1], top)
            for x in xs:
                c.line(x, top if x in (xs[0], xs[1], xs[2], xs[-1]) or not s.two_rows else top + 17, x, y1)
        else:
            c.line(xs[0], y1, xs[-1], y1, 0.8)
        return y1

    cells_at: list[tuple[float, float, float, float]] = []
    y = header(y)
    hline(y)
    for num, label, cells in body:
        lab = wrap(label, labw - 6, size, FONT_BOLD if label == "Tổng cộng" else FONT)
        rh = max(min_row, len(lab) * (size + 2) + 6)
        if y + rh > bottom:
            c.new_page()
            y = header(50.0) if s.repeat_header else 50.0
            hline(y)
        f = FONT_BOLD if label == "Tổng cộng" else FONT
        base = y + (rh - (len(lab) - 1) * (size + 2)) / 2 + size * 0.36
        c.text(xs[0] + (26 - width(num, size)) / 2, base, num, size)
        for k, ln in enumerate(lab):
            c.text(xs[1] + 3, base + k * (size + 2), ln, size, f)
        for i, m in enumerate(ms):
            t = cells[m]
            x = xs[3 + i] - 4 - width(t, size) if t != "-" else xs[2 + i] + (colw - width(t, size)) / 2
            c.text(x, base, t, size, f)
            if t and t != "-":
                cells_at.append((xs[3 + i] - 4 - width(t, size), base - size, xs[3 + i] - 2, base + 2))
        if s.ruled:
            for x in xs:
                c.line(x, y, x, y + rh)
        y += rh
        hline(y)
    if not s.ruled:
        c.line(xs[0], y, xs[-1], y, 0.8)
    s.cells_at = cells_at  # type: ignore[attr-defined]
    return y


def signature_block(c: Canvas, s: Spec, y: float) -> float:
    if y > c.h - 110:
        c.new_page()
        y = 60
    c.text(40, y + 14, "Nơi nhận:", 8.5, FONT_BOLD)
    for i, t in enumerate(["- Ban Chỉ huy PCTT&TKCN huyện;", "- Phòng Tài chính - Kế hoạch;", "- Lưu: VT."]):
        c.text(40, y + 26 + 10 * i, t, 8)
    rx = c.w * 0.6
    for i, t in enumerate(
        [
            "TM. ỦY BAN NHÂN DÂN" if s.name.startswith("UBND") else "TRƯỞNG PHÒNG",
            "CHỦ TỊCH" if s.name.startswith("UBND") else "",
        ]
    ):
        c.text(rx, y + 14 + 12 * i, t, 9.5, FONT_BOLD)
    c.text(rx + 10, y + 90, "Nguyễn Văn Hùng", 9.5, FONT_BOLD)
    s.sign_at = (rx - 20, y + 20, rx + 150, y + 95)  # type: ignore[attr-defined]
    return y + 100


def form_pdf(s: Spec, rng: random.Random) -> bytes:
    """k1/k3/k9 and the paper the scans and photos are made of: the Excel-like form."""
    w, h = (842.0, 595.0) if s.landscape and s.kind != "k3" else (595.0, 842.0)
    c = Canvas(w, h)
    title = f"Kết quả hỗ trợ khắc phục hậu quả mưa lũ tháng 9/2021 (tính đến ngày {s.date:%d/%m/%Y})"
    y = letterhead(c, s, 50, title)
    c.text(40, y, f"Đơn vị: {s.name}", 9)
    y += 14
    if s.kind in ("k3", "k12"):
        for para in preface(s, rng, 6):
            for ln in wrap(para, c.w - 80, 9.5, FONT_SERIF):
                c.text(40, y, ln, 9.5, FONT_SERIF)
                y += 13
            y += 4
        y = max(y, c.h * (0.5 if s.kind == "k3" else 0.62))
    if s.scale_line:
        t = "Đơn vị tính: hộ; tiền: " + next(s.scale[m] for m in s.measures if MEAS[m][2] == "money")
        c.text(c.w - 40 - width(t, 8.5), y, t, 8.5)
        y += 6
    y = draw_table(c, s, y + 6, c.h - 50, min_row={"k3": 34, "k12": 30}.get(s.kind, 0))
    signature_block(c, s, y + 8)
    if s.page_numbers:
        for n, page in enumerate(c.pages, 1):
            c.page = page
            c.text(c.w / 2 - 8, c.h - 25, f"Trang {n}/{len(c.pages)}", 8)
            pdfium_c.FPDFPage_GenerateContent(page.raw)
    return c.save()


def preface(s: Spec, rng: random.Random, n: int) -> list[str]:
    paras = [
        f"Thực hiện Công văn số {rng.randint(1200, 1900)}/UBND-NN ngày 18/9/2021 của UBND huyện Yên Thành "
        "về việc báo cáo "
        "nhanh tình hình thiệt hại và kết quả hỗ trợ khắc phục hậu quả mưa lũ, "
        f"{s.name} báo cáo như sau:",
        "Do ảnh hưởng của hoàn lưu bão số 5, từ ngày 11/9 đến ngày 14/9/2021 trên địa bàn xảy ra mưa to đến rất to, "
        "lượng mưa phổ biến từ 250 đến 400 mm, gây ngập úng cục bộ tại nhiều thôn, xóm.",
        "Ngay sau khi nước rút, đơn vị đã thành lập các tổ công tác rà soát, thống kê thiệt hại đến từng hộ, "
        "niêm yết công khai danh sách và tổ chức chi trả kịp thời theo quy định.",
        "Việc chi trả được thực hiện tại nhà văn hóa các thôn, có sự giám sát của Mặt trận Tổ quốc và các đoàn thể.",
        "Một số hộ đi làm ăn xa chưa về nhận hỗ trợ; đơn vị tiếp tục thông báo và sẽ chi trả ngay khi các hộ có mặt.",
        "Kinh phí còn lại sẽ được giải ngân trong tuần tới sau khi hoàn thiện hồ sơ thanh toán với Kho bạc Nhà nước.",
    ]
    return paras[:n]


def word_pdf(s: Spec, rng: random.Random) -> bytes:
    """k2: a Word report: letterhead, sections, the table (ruled or not), Nơi nhận, signature."""
    c = Canvas(595.0, 842.0)
    y = letterhead(
        c, s, 50, f"Tình hình thiệt hại và kết quả hỗ trợ khắc phục hậu quả mưa lũ đến ngày {s.date:%d/%m/%Y}"
    )
    pre = preface(s, rng, 6)
    sections = [("I. TÌNH HÌNH THIỆT HẠI", pre[1:3]), ("II. KẾT QUẢ HỖ TRỢ", [pre[0]])]
    for head, paras in sections:
        c.text(40, y, head, 10, FONT_BOLD)
        y += 14
        for para in paras:
            for ln in wrap(para, c.w - 80, 10, FONT_SERIF):
                c.text(40, y, ln, 10, FONT_SERIF)
                y += 13.5
            y += 4
    if s.scale_line:  # the money scale stated once, above the table (else it is nowhere)
        t = "Đơn vị tính: hộ; tiền: " + next(s.scale[m] for m in s.measures if MEAS[m][2] == "money")
        c.text(c.w - 40 - width(t, 8.5), y + 4, t, 8.5)
        y += 10
    y = draw_table(c, s, y + 4, c.h - 50)
    y += 14
    for head, paras in [("III. KHÓ KHĂN, VƯỚNG MẮC", pre[4:5]), ("IV. ĐỀ XUẤT, KIẾN NGHỊ", pre[5:6])]:
        if y > c.h - 90:
            c.new_page()
            y = 60
        c.text(40, y, head, 10, FONT_BOLD)
        y += 14
        for para in paras:
            for ln in wrap(para, c.w - 80, 10, FONT_SERIF):
                c.text(40, y, ln, 10, FONT_SERIF)
                y += 13.5
    signature_block(c, s, y + 6)
    return c.save()


def signed_pdf(pdf: bytes, s: Spec) -> bytes:
    """k9: a visible 'Ký bởi' box added as an incremental update after %%EOF."""
    doc = pdfium.PdfDocument(pdf)
    page = doc[len(doc) - 1]
    w, h = page.get_size()
    c = Canvas.__new__(Canvas)
    c.pdf, c.w, c.h, c.fonts, c._keep, c.page, c.pages = doc, w, h, {}, [], page, [page]
    x0, y0 = w - 250, h - 150
    for a, b, cc, d in [
        (x0, y0, x0 + 200, y0),
        (x0, y0 + 46, x0 + 200, y0 + 46),
        (x0, y0, x0, y0 + 46),
        (x0 + 200, y0, x0 + 200, y0 + 46),
    ]:
        c.line(a, b, cc, d, 0.8, (200, 0, 0))
    for i, t in enumerate(
        [
            f"Ký bởi: {s.name}",
            "Cơ quan: UBND huyện Yên Thành, Nghệ An",
            f"Thời gian ký: {s.date:%d.%m.%Y} 08:14:07 +07:00",
        ]
    ):
        c.text(x0 + 5, y0 + 13 + 13 * i, t, 7, FONT, (200, 0, 0))
    pdfium_c.FPDFPage_GenerateContent(page.raw)
    b = io.BytesIO()
    b.write(pdf)
    doc.save(b, flags=pdfium_c.FPDF_INCREMENTAL)
    return b.getvalue()


def letter_pdf(s: Spec) -> bytes:
    """k10: a letter (công văn) with numbers in it, not the report."""
    c = Canvas(595.0, 842.0)
    y = letterhead(c, s, 50, "")
    c.text(60, y - 10, "V/v đề nghị bổ sung kinh phí hỗ trợ khắc phục hậu quả mưa lũ", 9.5, FONT_SERIF)
    y += 20
    c.text(200, y, "Kính gửi: UBND huyện Yên Thành", 10.5, FONT_BOLD)
    y += 24
    text = [
        "Căn cứ Nghị định số 02/2017/NĐ-CP ngày 09/01/2017 của Chính phủ về cơ chế, chính sách hỗ trợ sản xuất nông "
        "nghiệp để khôi phục sản xuất vùng bị thiệt hại do thiên tai, dịch bệnh;",
        f"Qua rà soát, trên địa bàn có 37 hộ có nhà bị hư hỏng nặng, 214 ha lúa bị ngập úng và 6.300 con gia cầm bị "
        f"chết. Kinh phí đã được phân bổ đợt 1 là 450.000.000 đồng, không đủ để hỗ trợ cho các hộ. {s.name} kính "
        "đề nghị UBND huyện xem xét, bổ sung 320.000.000 đồng để kịp thời chi trả cho nhân dân.",
        "(Có biểu tổng hợp chi tiết kèm theo). Điện thoại liên hệ: 0238.3865.214.",
    ]
    for para in text:
        for ln in wrap(para, c.w - 100, 10.5, FONT_SERIF):
            c.text(60, y, ln, 10.5, FONT_SERIF)
            y += 15
        y += 6
    signature_block(c, s, y + 10)
    return c.save()


# ---------------------------------------------------------------------------------------
# scans and photos


def render(pdf: bytes, dpi: int) -> list[Image.Image]:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(len(doc))]


def ink(img: Image.Image, rng: random.Random, s: Spec, dpi: int, stamp_on_digits: bool) -> Image.Image:
    """A red round stamp (over digits when asked) and a blue signature, multiplied like ink."""
    k = dpi / 72
    layer = Image.new("RGB", img.size, "white")
    d = ImageDraw.Draw(layer)
    cells = getattr(s, "cells_at", [])
    sx0, sy0, sx1, sy1 = getattr(
        s, "sign_at", (img.width / k * 0.6, img.height / k * 0.8, img.width / k * 0.9, img.height / k * 0.9)
    )
    if stamp_on_digits and cells:
        x0, y0, x1, y1 = rng.choice(cells[-6:])
        cx, cy = (x0 + x1) / 2 * k, (y0 + y1) / 2 * k
    else:
        cx, cy = (sx0 + 40) * k, (sy0 + 40) * k
    r = 48 * k / 1.0 * 0.75
    red = (205, 35, 45)
    for rr, wd in [(r, int(3 * k)), (r * 0.72, int(1.5 * k))]:
        d.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], outline=red, width=max(1, wd))
    sf = ImageFont.truetype(FONT_BOLD, int(7 * k))
    txt = ("ỦY BAN NHÂN DÂN * " + s.name.upper().replace("UBND ", "") + " * ")[:40]
    for i, ch in enumerate(txt):
        a = 2 * math.pi * i / len(txt) - math.pi / 2
        d.text((cx + r * 0.86 * math.cos(a) - 3 * k, cy + r * 0.86 * math.sin(a) - 4 * k), ch, fill=red, font=sf)
    d.text((cx - 14 * k, cy - 5 * k), "★", fill=red, font=ImageFont.truetype(FONT, int(12 * k)))
    # signature scribble
    blue = (25, 45, 160)
    pts = []
    x, y = (sx0 + 30) * k, (sy0 + 55) * k
    for i in range(60):
        x += rng.uniform(1.5, 4.5) * k
        y += math.sin(i / 2.3) * 5 * k + rng.uniform(-2, 2) * k
        pts.append((x, y))
    d.line(pts, fill=blue, width=max(2, int(1.4 * k)))
    a = np.asarray(img, dtype=np.float32) * np.asarray(layer, dtype=np.float32) / 255.0
    return Image.fromarray(a.clip(0, 255).astype(np.uint8))


def noise(a: np.ndarray, rng: random.Random, sigma: float) -> np.ndarray:
    g = np.random.default_rng(rng.randint(0, 2**31))
    return np.clip(a.astype(np.float32) + g.normal(0, sigma, a.shape), 0, 255).astype(np.uint8)


def rotate(a: np.ndarray, deg: float, fill) -> np.ndarray:
    h, w = a.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=fill)


def scan_pdf(pdf: bytes, s: Spec, rng: random.Random, style: str) -> bytes:
    """k4 (300 dpi colour, stamp over digits) or k5 (200 dpi grey, skewed, dark, thick strokes)."""
    dpi = 300 if style == "k4" else 200
    pages = []
    imgs = render(pdf, dpi)
    for n, img in enumerate(imgs):
        if n == len(imgs) - 1:
            img = ink(img, rng, s, dpi, stamp_on_digits=style == "k4")
        a = np.asarray(img)
        if style == "k4":
            a = rotate(a, rng.uniform(-1.2, 1.2), (250, 250, 248))
            a = noise(a, rng, 6)
            g = np.random.default_rng(rng.randint(0, 999))
            for _ in range(40):
                y, x = g.integers(0, a.shape[0]), g.integers(0, a.shape[1])
                cv2.circle(a, (int(x), int(y)), int(g.integers(1, 4)), (60, 60, 60), -1)
            out = Image.fromarray(a)
            q = rng.randint(55, 80)
        else:
            grey = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
            grey = cv2.erode(grey, np.ones((2, 2), np.uint8))
            grey = rotate(grey, rng.choice([-1, 1]) * rng.uniform(2.0, 3.5), 90)
            h, w = grey.shape
            ramp = np.linspace(rng.uniform(0.62, 0.75), rng.uniform(0.8, 0.9), w, dtype=np.float32)[None, :]
            grey = grey.astype(np.float32) * ramp
            band = rng.randint(20, 60)
            grey[:, :band] *= 0.35
            grey = noise(grey.astype(np.uint8), rng, 9)
            grey = cv2.GaussianBlur(grey, (3, 3), 0.6)
            out = Image.fromarray(grey)
            q = rng.randint(45, 70)
        b = io.BytesIO()
        out.save(b, "JPEG", quality=q)
        pages.append(Image.open(io.BytesIO(b.getvalue())))
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
    return buf.getvalue()


def photo_jpg(pdf: bytes, s: Spec, rng: random.Random) -> bytes:
    """k6: the signed page photographed on a desk: perspective, curl, uneven light, blur, EXIF orientation."""
    page = ink(render(pdf, 170)[0], rng, s, 170, stamp_on_digits=rng.random() < 0.5)
    a = np.asarray(page)
    h, w = a.shape[:2]
    # slight curl: rows shift by a smooth bow
    bow = rng.uniform(4, 10)
    mapx, mapy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mapy = mapy + (bow * np.sin(np.pi * mapx / w)).astype(np.float32)
    a = cv2.remap(a, mapx, mapy, cv2.INTER_LINEAR, borderValue=(255, 255, 255))
    W, H = (2304, 1728) if w > h else (1728, 2304)
    desk = np.zeros((H, W, 3), np.uint8)
    desk[:] = rng.choice([(120, 85, 55), (105, 105, 100), (140, 110, 80)])
    desk = noise(desk, rng, 10)
    sc = min(W / w, H / h) * rng.uniform(0.78, 0.88)
    cw, ch = w * sc, h * sc
    ox, oy = (W - cw) / 2, (H - ch) / 2
    j = lambda: rng.uniform(-0.05, 0.05) * min(W, H)  # noqa: E731
    dst = np.float32(
        [[ox + j(), oy + j()], [ox + cw + j(), oy + j()], [ox + cw + j(), oy + ch + j()], [ox + j(), oy + ch + j()]]
    )
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(src, dst)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (W, H))
    warped = cv2.warpPerspective(a, m, (W, H))
    out = np.where(mask[..., None] > 128, warped, desk).astype(np.float32)
    # uneven light with a shadow, warm cast
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8) * W, rng.uniform(0.1, 0.5) * H
    light = 1.05 - 0.35 * np.hypot((xx - cx) / W, (yy - cy) / H)
    if rng.random() < 0.6:
        light *= np.where(xx + yy * 0.4 > W * rng.uniform(0.75, 0.95), 0.72, 1.0)
    out = out * light[..., None] * np.float32([1.03, 0.98, 0.88])
    out = cv2.GaussianBlur(noise(out.clip(0, 255).astype(np.uint8), rng, 5), (3, 3), rng.uniform(0.5, 1.0))
    img = Image.fromarray(out)
    exif = Image.Exif()
    orient = 6 if rng.random() < 0.4 else 1
    if orient == 6:
        img = img.transpose(Image.Transpose.ROTATE_90)  # stored sideways: viewers rotate 90° clockwise
    exif[0x0112] = orient
    exif[0x010F] = "samsung"
    exif[0x0110] = "SM-A125F"
    b = io.BytesIO()
    img.save(b, "JPEG", quality=rng.randint(70, 85), exif=exif)
    s.orientation = orient  # type: ignore[attr-defined]
    return b.getvalue()


# ---------------------------------------------------------------------------------------
# email bodies


def body_text(s: Spec, rng: random.Random) -> str:
    lines = [
        "Kính gửi: Ban Chỉ huy PCTT&TKCN huyện Yên Thành",
        "",
        f"{s.name} báo cáo nhanh kết quả hỗ trợ khắc phục hậu quả mưa lũ "
        f"đến hết ngày {s.date.day}/{s.date.month}/{s.date.year}:",
        "",
    ]
    money_words = {
        "triệu đồng": ["triệu đồng", "tr.đ", "triệu"],
        "nghìn đồng": ["nghìn đồng", "ngàn đồng"],
        "đồng": ["đồng", "đ"],
    }
    for n, (ind, row) in enumerate(s.values.items(), 1):
        parts = []
        for m in s.measures:
            if m not in row:
                continue
            if MEAS[m][2] == "money":
                sc = rng.choice(["triệu đồng", "nghìn đồng", "đồng"])
                word = rng.choice(money_words[sc])
                v = fmt_money(row[m], sc, "vi")
                parts.append(f"{rng.choice([MEAS[m][0].lower(), MEAS[m][1][0].lower()])} {v} {word}")
            else:
                v = fmt_int(row[m], "vi")
                parts.append(
                    rng.choice(
                        [f"{MEAS[m][1][0].lower()} {v} hộ", f"{v} hộ {MEAS[m][0].lower().replace('số hộ ', '')}"]
                    )
                )
        bullet = rng.choice([f"{n}. ", "- ", "+ "])
        lines.append(f"{bullet}{s.labels[ind]}: " + ", ".join(parts) + ".")
    lines += [
        "",
        "Báo cáo bằng văn bản có chữ ký, đóng dấu sẽ gửi sau.",
        "",
        "Trân trọng!",
        "--",
        "Lê Thị Hoa - Văn phòng " + s.name,
        "ĐT: 0238.3866.102 - DĐ: 0912.345.678",
        f"Số nhà 15, đường {rng.randint(3, 30)}/5, thị trấn Yên Thành",
    ]
    return "\n".join(lines)


def body_html(s: Spec, rng: random.Random) -> tuple[str, str]:
    gmail = rng.random() < 0.5
    ms = s.measures
    esc = lambda t: t.replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
    td = (
        (lambda cls: f'<td class="{cls}"')
        if gmail
        else (lambda cls: '<td style="border:solid windowtext 1.0pt;padding:0cm 5.4pt 0cm 5.4pt"')
    )
    rows = [
        f'<tr>{td("gmail-xl65")} rowspan="2">TT</td>{td("gmail-xl65")} rowspan="2">Nội dung</td>'
        f'{td("gmail-xl65")} colspan="{len(ms)}">Kết quả đến ngày {s.date:%d/%m/%Y}</td></tr>',
        "<tr>" + "".join(f"{td('gmail-xl66')}><b>{esc(s.money_header(m))}</b></td>" for m in ms) + "</tr>",
    ]
    plain = ["TT\tNội dung\t" + "\t".join(s.money_header(m) for m in ms)]
    for num, label, cells in s.rows():
        rows.append(
            f"<tr>{td('gmail-xl67')}>{num}</td>{td('gmail-xl67')}>{esc(label)}</td>"
            + "".join(f'{td("gmail-xl68")} align="right">{cells[m]}</td>' for m in ms)
            + "</tr>"
        )
        plain.append(f"{num}\t{label}\t" + "\t".join(cells[m] for m in ms))
    if gmail:
        table = (
            f'<table border="0" cellpadding="0" cellspacing="0" style="border-collapse:collapse">'
            f'<colgroup><col width="40">'
            f'<col width="260">{"<col width=90>" * len(ms)}</colgroup><tbody>{"".join(rows)}</tbody></table>'
        )
    else:
        table = (
            f'<table class="MsoNormalTable" border="0" cellspacing="0" cellpadding="0" '
            f'style="border-collapse:collapse">'
            f"{''.join(rows)}</table>"
        )
    intro = f"Kính gửi Ban Chỉ huy huyện, {esc(s.name)} gửi số liệu hỗ trợ khắc phục mưa lũ:"
    if s.scale_line:  # the money scale stated once, above the table (else it is nowhere)
        intro += f"<br>({scale_line(s)})"
    html = (
        f'<html><head><meta charset="utf-8"></head><body><div><p>{intro}</p>{table}'
        f"<p>Trân trọng,<br>Văn phòng {esc(s.name)}"
        f"<br>ĐT 0238.3866.{rng.randint(100, 999)}</p></div></body></html>"
    )
    return html, intro.replace("<br>", "\n") + "\n\n" + "\n".join(plain) + f"\n\nTrân trọng,\nVăn phòng {s.name}"


def scale_line(s: Spec) -> str:
    return "Đơn vị tính: hộ; tiền: " + next(s.scale[m] for m in s.measures if MEAS[m][2] == "money")


def older(s: Spec, days: int) -> Spec:
    """The same unit's report of `days` days before, with smaller figures (a quoted or
    forwarded history the reader must not take)."""
    o = Spec.__new__(Spec)
    o.__dict__.update(s.__dict__)
    o.date = s.date - dt.timedelta(days=days)
    o.values = {
        i: {
            m: max(1, v * 3 // 5) // 10_000 * 10_000 if MEAS[m][2] == "money" else max(1, v * 3 // 5)
            for m, v in r.items()
        }
        for i, r in s.values.items()
    }
    return o


def cp1258(text: str) -> bytes:
    """windows-1258 as Vietnamese Windows writes it: tone marks as combining characters."""
    import unicodedata

    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for ch in unicodedata.normalize("NFC", text):
        d = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in d if c not in tones))
        out.append(base + "".join(c for c in d if c in tones))
    return "".join(out).encode("cp1258", errors="replace")


def body_forwarded(s: Spec, rng: random.Random) -> str:
    """k15: today's figures typed over a forwarded (or quoted) report of an earlier day."""
    old = older(s, 2)
    own = body_text(s, rng)
    style = rng.choice(["gmail", "outlook", "quote"])
    when = dt.datetime.combine(old.date, dt.time(15, rng.randint(10, 59)))
    if style == "gmail":
        head = [
            "---------- Forwarded message ---------",
            f"From: Văn phòng {s.name} <{s.sender}>",
            f"Date: Th {old.date.isoweekday() + 1}, {old.date.day} thg {old.date.month}, {old.date.year} "
            f"lúc {when:%H:%M}",
            f"Subject: Báo cáo kết quả hỗ trợ khắc phục mưa lũ - {s.name} ngày {old.date.day}/{old.date.month}",
            "To: <tonghop@yenthanh.example.gov.vn>",
            "",
        ]
        return own + "\n\n" + "\n".join(head) + "\n" + body_text(old, rng)
    if style == "outlook":
        head = [
            "-----Original Message-----",
            f"From: {s.sender}",
            f"Sent: {when:%A, %B %d, %Y %I:%M %p}",
            "To: tonghop@yenthanh.example.gov.vn",
            f"Subject: BC nhanh hỗ trợ mưa lũ {s.name} ngày {old.date.day}/{old.date.month}",
            "",
        ]
        return own + "\n\n" + "\n".join(head) + "\n" + body_text(old, rng)
    quoted = "\n".join("> " + ln if ln else ">" for ln in body_text(old, rng).splitlines())
    return own + f"\n\nVào {when:%H:%M} {old.date:%d/%m/%Y}, {s.sender} đã viết:\n" + quoted


def _table_html(s: Spec, td, esc, cell=lambda t: t) -> str:
    ms = s.measures
    rows = [
        f'<tr>{td("xl65")} rowspan="2">TT</td>{td("xl65")} rowspan="2">Nội dung</td>'
        f'{td("xl65")} colspan="{len(ms)}">Kết quả đến ngày {s.date:%d/%m/%Y}</td></tr>',
        "<tr>" + "".join(f"{td('xl66')}><b>{esc(s.money_header(m))}</b></td>" for m in ms) + "</tr>",
    ]
    for num, label, cells in s.rows():
        rows.append(
            f"<tr>{td('xl67')}>{num or '&nbsp;'}</td>{td('xl67')}>{esc(label)}</td>"
            + "".join(f'{td("xl68")} align="right">{cell(cells[m])}</td>' for m in ms)
            + "</tr>"
        )
    return "".join(rows)


def _plain_table(s: Spec) -> str:
    out = ["TT\tNội dung\t" + "\t".join(s.money_header(m) for m in s.measures)]
    out += [f"{n}\t{lab}\t" + "\t".join(c[m] for m in s.measures) for n, lab, c in s.rows()]
    return "\n".join(out)


def body_outlook(s: Spec, rng: random.Random) -> tuple[str, str]:
    """k16: a range pasted into Outlook: Word HTML (mso styles, <o:p>, &nbsp; in empty
    cells), some figures typed as text with a leading apostrophe, windows-1258."""
    esc = lambda t: t.replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
    st = (
        "border:solid windowtext 1.0pt;border-top:none;mso-border-alt:solid windowtext .5pt;"
        "padding:0cm 5.4pt 0cm 5.4pt;height:15.75pt"
    )
    td = lambda cls: f'<td nowrap valign=bottom style="{st}"'  # noqa: E731
    apostrophe = rng.random() < 0.6

    def cell(t: str) -> str:
        if not t:
            return "<p class=MsoNormal><span lang=VI style='font-size:10.0pt'>&nbsp;<o:p></o:p></span></p>"
        if apostrophe and t != "-" and rng.random() < 0.4:
            t = "'" + t
        return (
            "<p class=MsoNormal align=right style='text-align:right'><span style='font-size:10.0pt;"
            'font-family:"Times New Roman",serif;mso-fareast-font-family:"Times New Roman";color:black\'>'
            f"{esc(t)}<o:p></o:p></span></p>"
        )

    table = (
        "<table class=MsoNormalTable border=0 cellspacing=0 cellpadding=0 width=640 "
        "style='width:480.0pt;border-collapse:collapse;mso-yfti-tbllook:1184;mso-padding-alt:0cm 5.4pt 0cm 5.4pt'>"
        + _table_html(s, td, esc, cell)
        + "</table>"
    )
    intro = (
        "Kính gửi Ban Chỉ huy huyện,<o:p></o:p></p>"
        f"<p class=MsoNormal>{esc(s.name)} gửi số liệu đến ngày {s.date:%d/%m}:"
    )
    if s.scale_line:
        intro += f"<o:p></o:p></p><p class=MsoNormal>{scale_line(s)}"
    html = (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns="http://www.w3.org/TR/REC-html40">'
        '<head><meta http-equiv=Content-Type content="text/html; charset=windows-1258">'
        '<meta name=Generator content="Microsoft Word 15 (filtered medium)"><style><!--'
        'p.MsoNormal, li.MsoNormal, div.MsoNormal {margin:0cm;font-size:11.0pt;font-family:"Calibri",sans-serif;}'
        "@page WordSection1 {size:612.0pt 792.0pt;} div.WordSection1 {page:WordSection1;}"
        '--></style><!--[if gte mso 9]><xml><o:shapedefaults v:ext="edit" spidmax="1026" /></xml><![endif]-->'
        '</head><body lang=EN-US link="#0563C1" vlink="#954F72" style=\'word-wrap:break-word\'>'
        f"<div class=WordSection1><p class=MsoNormal>{intro}<o:p></o:p></p>"
        f"<p class=MsoNormal><o:p>&nbsp;</o:p></p>{table}<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        f"<p class=MsoNormal>Trân trọng!<o:p></o:p></p><p class=MsoNormal>--<br>Văn phòng {esc(s.name)}<br>"
        f"Tel: 0238 3866 {rng.randint(100, 999)} | Mobile: 0912 345 {rng.randint(100, 999)}<o:p></o:p></p>"
        "</div></body></html>"
    )
    plain = f"Kính gửi Ban Chỉ huy huyện,\n{s.name} gửi số liệu đến ngày {s.date:%d/%m}:\n"
    plain += (scale_line(s) + "\n" if s.scale_line else "") + "\n" + _plain_table(s)
    return html, plain + f"\n\nTrân trọng!\n--\nVăn phòng {s.name}\n"


def body_gmail_reply(s: Spec, rng: random.Random) -> tuple[str, str]:
    """k17: a Gmail reply: today's table over the quoted message of two days before, with its table."""
    esc = lambda t: t.replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
    td = lambda cls: f'<td class="gmail-{cls}" style="border:1px solid rgb(0,0,0)"'  # noqa: E731
    old = older(s, 2)

    def table(x: Spec) -> str:
        return (
            '<table border="0" cellpadding="0" cellspacing="0" style="border-collapse:collapse">'
            f"<tbody>{_table_html(x, td, esc)}</tbody></table>"
        )

    when = (
        f"Vào Th {old.date.isoweekday() + 1}, {old.date.day} thg {old.date.month}, {old.date.year} "
        f"vào lúc 15:2{rng.randint(0, 9)}"
    )
    html = (
        f'<div dir="ltr"><div>Kính gửi Ban Chỉ huy huyện, gửi lại số liệu cập nhật đến ngày {s.date:%d/%m/%Y}:</div>'
        + (f"<div>{scale_line(s)}</div>" if s.scale_line else "<div><br></div>")
        + f"{table(s)}<div><br></div><div>Trân trọng,</div>"
        f'<div><div dir="ltr" class="gmail_signature">Văn phòng {esc(s.name)}<br>DĐ: 0987.654.{rng.randint(100, 999)}'
        "</div></div></div><br>"
        f'<div class="gmail_quote"><div dir="ltr" class="gmail_attr">{when} &lt;{s.sender}&gt; đã viết:<br></div>'
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);'
        f'padding-left:1ex"><div dir="ltr"><div>Gửi số liệu ngày {old.date:%d/%m}:</div>{table(old)}</div>'
        "</blockquote></div>"
    )
    plain_old = "\n".join("> " + ln for ln in _plain_table(old).splitlines())
    plain = (
        f"Kính gửi Ban Chỉ huy huyện, gửi lại số liệu cập nhật đến ngày {s.date:%d/%m/%Y}:\n"
        + (scale_line(s) + "\n" if s.scale_line else "\n")
        + f"{_plain_table(s)}\n\n"
        f"Trân trọng,\nVăn phòng {s.name}\n\n{when} <{s.sender}> đã viết:\n\n{plain_old}\n"
    )
    return html, plain


def excel_htm(s: Spec, rng: random.Random) -> bytes:
    """k18: the form saved from Excel as "Web Page" (.htm): x:num holds the value, the
    text what Excel displays; the code page is the machine's (windows-1258)."""
    esc = lambda t: t.replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
    ms = s.measures
    n = len(ms) + 2
    rows = [
        f"<tr height=20><td colspan=3 class=xl70>{esc(s.parent)}</td><td colspan={n - 3} class=xl71>"
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</td></tr>",
        f"<tr height=20><td colspan=3 class=xl72>{esc(s.name.upper())}</td><td colspan={n - 3} class=xl71>"
        "Độc lập - Tự do - Hạnh phúc</td></tr>",
        f"<tr height=24><td colspan={n} class=xl73>BIỂU TỔNG HỢP KẾT QUẢ HỖ TRỢ KHẮC PHỤC HẬU QUẢ MƯA LŨ</td></tr>",
        f"<tr height=20><td colspan={n} class=xl74>(Số liệu tính đến ngày {s.date:%d/%m/%Y})</td></tr>",
        f"<tr height=20><td colspan={n} class=xl75 style='text-align:left'>Đơn vị: {esc(s.name)}</td></tr>",
        *(
            [f"<tr height=20><td colspan={n} class=xl75 style='text-align:right'>{esc(scale_line(s))}</td></tr>"]
            if s.scale_line
            else []
        ),
        "<tr height=42><td class=xl76>STT</td><td class=xl76>Nội dung hỗ trợ</td>"
        + "".join(f"<td class=xl76 width=96 style='width:72pt'>{esc(s.money_header(m))}</td>" for m in ms)
        + "</tr>",
    ]
    for num, label, cells in s.rows():
        tds = []
        for m in ms:
            t = cells[m]
            v = None
            if t and t != "-":
                ind = next((c for c in IND if s.labels[c] == label), None)
                raw = s.values[ind][m] if ind else sum(r[m] for r in s.values.values() if m in r)
                v = raw / SCALE_FACTOR[s.scale[m]] if MEAS[m][2] == "money" else raw
            if v is None:
                tds.append(f"<td class=xl78 align=center>{esc(t) or '&nbsp;'}</td>")
            else:
                num_attr = f"{v:.10g}"
                tds.append(f'<td class=xl77 align=right x:num="{num_attr}">{esc(t)}</td>')
        tds_num = f"<td class=xl78 align=center x:num>{num}</td>" if num else "<td class=xl78></td>"
        rows.append(f"<tr height=20>{tds_num}<td class=xl79>{esc(label)}</td>{''.join(tds)}</tr>")
    html = (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns="http://www.w3.org/TR/REC-html40">'
        '<head><meta http-equiv=Content-Type content="text/html; charset=windows-1258">'
        '<meta name=ProgId content=Excel.Sheet><meta name=Generator content="Microsoft Excel 15">'
        '<style>.xl77{mso-number-format:"\\#\\,\\#\\#0";text-align:right;}</style>'
        "<!--[if gte mso 9]><xml><x:ExcelWorkbook><x:ExcelWorksheets><x:ExcelWorksheet><x:Name>BC</x:Name>"
        "</x:ExcelWorksheet></x:ExcelWorksheets></x:ExcelWorkbook></xml><![endif]--></head>"
        "<body link=blue vlink=purple><table border=0 cellpadding=0 cellspacing=0 width=700 "
        "style='border-collapse:collapse;table-layout:fixed'>" + "".join(rows) + "</table></body></html>"
    )
    return cp1258(html)


def ods_file(s: Spec, rng: random.Random) -> bytes:
    """k19: the form saved by LibreOffice Calc (.ods): float cells with their display text,
    merged title cells, the empty rest of the sheet as repeated rows."""
    import zipfile
    from xml.sax.saxutils import escape

    ms = s.measures
    n = len(ms) + 2

    def text_cell(t: str, span: int = 1) -> str:
        a = f' table:number-columns-spanned="{span}" table:number-rows-spanned="1"' if span > 1 else ""
        cov = "<table:covered-table-cell/>" * (span - 1)
        return f'<table:table-cell office:value-type="string"{a}><text:p>{escape(t)}</text:p></table:table-cell>{cov}'

    def num_cell(v: float, shown: str) -> str:
        return (
            f'<table:table-cell office:value-type="float" office:value="{v:.10g}">'
            f"<text:p>{escape(shown)}</text:p></table:table-cell>"
        )

    rows = [
        text_cell(s.parent, 3) + text_cell("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", n - 3),
        text_cell(s.name.upper(), 3) + text_cell("Độc lập - Tự do - Hạnh phúc", n - 3),
        text_cell(f"KẾT QUẢ HỖ TRỢ KHẮC PHỤC HẬU QUẢ MƯA LŨ ĐẾN NGÀY {s.date:%d/%m/%Y}", n),
        *([text_cell(scale_line(s), n)] if s.scale_line else []),
        text_cell("STT") + text_cell("Nội dung") + "".join(text_cell(s.money_header(m)) for m in ms),
    ]
    for num, label, cells in s.rows():
        out = (num_cell(int(num), num) if num else "<table:table-cell/>") + text_cell(label)
        for m in ms:
            t = cells[m]
            if t and t != "-":
                ind = next((c for c in IND if s.labels[c] == label), None)
                raw = s.values[ind][m] if ind else sum(r[m] for r in s.values.values() if m in r)
                out += num_cell(raw / SCALE_FACTOR[s.scale[m]] if MEAS[m][2] == "money" else raw, t)
            elif t:
                out += text_cell(t)
            else:
                out += "<table:table-cell/>"
        rows.append(out)
    body = "".join(f"<table:table-row>{r}</table:table-row>" for r in rows)
    body += (
        '<table:table-row table:number-rows-repeated="1048560">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">'
        '<office:body><office:spreadsheet><table:table table:name="Báo cáo">'
        f'<table:table-column table:number-columns-repeated="{n}"/>{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return b.getvalue()


# ---------------------------------------------------------------------------------------
# the scenario


def message(s: Spec, rng: random.Random, arrival: dt.datetime) -> tuple[bytes, list[dict]]:
    msg = EmailMessage()
    msg["Date"] = email.utils.format_datetime(arrival - dt.timedelta(seconds=rng.randint(5, 40)))
    msg["From"] = email.utils.formataddr(("Văn phòng " + s.name, s.sender))
    msg["To"] = email.utils.formataddr(("Ban Chỉ huy PCTT huyện", "tonghop@yenthanh.example.gov.vn"))
    msg["Subject"] = (
        rng.choice(["Báo cáo kết quả hỗ trợ khắc phục mưa lũ - ", "BC nhanh hỗ trợ mưa lũ ", "Gửi báo cáo "])
        + f"{s.name} ngày {s.date.day}/{s.date.month}"
    )
    msg["Message-ID"] = f"<{rng.getrandbits(64):016x}.{s.code.lower()}@yenthanh.example.gov.vn>"
    greeting = f"Kính gửi Ban Chỉ huy PCTT&TKCN huyện,\n\n{s.name} gửi báo cáo kết quả hỗ trợ (file đính kèm).\n\n"
    greeting += "Trân trọng!\n"
    parts: list[dict] = []
    stem = f"BC_ho_tro_mua_lu_{s.code}_{s.date:%d%m%Y}"
    k = s.kind
    if k == "k7":
        msg.set_content(body_text(s, rng))
        parts.append({"part": "body", "role": "body-text", "values": s.values})
    elif k == "k8":
        html, plain = body_html(s, rng)
        msg.set_content(plain)
        msg.add_alternative(html, subtype="html")
        parts.append({"part": "body", "role": "body-html", "values": s.values})
    elif k in ("k15", "k20"):
        text = body_forwarded(s, rng) if k == "k15" else body_text(s, rng)
        if k == "k20":
            msg.set_content(cp1258(text), maintype="text", subtype="plain", cte="quoted-printable")
            msg.set_param("charset", "windows-1258")
        else:
            msg.set_content(text)
        parts.append({"part": "body", "role": "body-text", "values": s.values})
    elif k == "k16":
        html, plain = body_outlook(s, rng)
        msg.set_content(cp1258(plain), maintype="text", subtype="plain", cte="quoted-printable")
        msg.set_param("charset", "windows-1258")
        msg.add_alternative(cp1258(html), maintype="text", subtype="html", cte="quoted-printable")
        msg.get_payload()[1].set_param("charset", "windows-1258")
        parts.append({"part": "body", "role": "body-html", "values": s.values})
    elif k == "k17":
        html, plain = body_gmail_reply(s, rng)
        msg.set_content(plain)
        msg.add_alternative(html, subtype="html")
        parts.append({"part": "body", "role": "body-html", "values": s.values})
    else:
        msg.set_content(greeting)
        if k in ("k1", "k3", "k9", "k12", "k13", "k14"):
            data = form_pdf(s, rng)
            if k == "k9":
                data = signed_pdf(data, s)
            name, ctype = stem + ("_signed.pdf" if k == "k9" else ".pdf"), ("application", "pdf")
        elif k == "k2":
            data, name, ctype = word_pdf(s, rng), f"Bao cao {s.name} {s.date:%d.%m}.pdf", ("application", "pdf")
        elif k in ("k4", "k5"):
            paper = form_pdf(s, rng) if rng.random() < 0.7 else word_pdf(s, rng)
            data, name, ctype = (
                scan_pdf(paper, s, rng, k),
                f"scan_{s.date:%Y%m%d}_{rng.randint(100, 999)}.pdf",
                ("application", "pdf"),
            )
        elif k == "k6":
            data = photo_jpg(form_pdf(s, rng), s, rng)
            name, ctype = f"z{rng.randint(10**9, 10**10)}_{rng.getrandbits(40):010x}.jpg", ("image", "jpeg")
        elif k == "k10":
            data = scan_pdf(letter_pdf(s), s, rng, "k4")
            name, ctype = f"Bao cao {s.name}.pdf", ("application", "pdf")
        elif k == "k18":
            data, name, ctype = excel_htm(s, rng), f"{stem}.htm", ("text", "html")
        elif k == "k19":
            data, name = ods_file(s, rng), f"{stem}.ods"
            ctype = ("application", "vnd.oasis.opendocument.spreadsheet")
        else:
            raise ValueError(k)
        msg.add_attachment(data, maintype=ctype[0], subtype=ctype[1], filename=name)
        parts.append(
            {
                "part": name,
                "role": "scan" if k in SCAN_KINDS else ("pdf-text" if ctype[1] == "pdf" else "file"),
                "values": {} if k == "k10" else s.values,
                "locale": s.loc,
                "scales": {m: s.scale[m] for m in s.measures if MEAS[m][2] == "money"},
                "ruled": s.ruled,
                **(
                    {"locale_shown": locale_shown(figure_texts(s))}
                    if ctype[1] == "pdf" and s.loc in ("vi", "en")
                    else {}
                ),
                **({"exif_orientation": s.orientation} if k == "k6" else {}),
            }
        )
    return msg.as_bytes(policy=email.policy.SMTP), parts


def generate(out: Path, seed: int, skip_scans: bool = False) -> dict:
    rng = random.Random(seed)
    scen = out / "samples-documents"
    if scen.exists():
        shutil.rmtree(scen)
    (scen / "expected").mkdir(parents=True)
    (scen / "config.toml").write_text(config_toml())
    figs = figures(rng)
    manifest, index, latest = [], [], {}
    for day in DAYS:
        d = dt.date.fromisoformat(day)
        t = dt.datetime.combine(d, dt.time(7, 40), TZ)
        units_exp = {}
        (scen / "emails" / day).mkdir(parents=True)
        for n, (unit, kind) in enumerate(zip(UNITS, PLAN[day], strict=True), 1):
            if skip_scans:
                kind = NO_SCANS.get(kind, kind)
            t += dt.timedelta(minutes=rng.randint(15, 45), seconds=rng.randint(0, 59))
            vals = figs[day][unit[0]]
            s = Spec(rng, unit, day, vals, kind)
            raw, parts = message(s, rng, t)
            rel = f"emails/{day}/{n:02d}-{unit[0].lower()}-{kind}.eml"
            (scen / rel).write_bytes(raw)
            manifest.append({"file": rel, "day": day, "arrival": t.isoformat()})
            # times are compared at the minute they are shown: 16:00:59 is on time (PRODUCT.md)
            status = "unreadable" if kind == "k10" else ("on_time" if t.time() < dt.time(16, 1) else "late")
            values = {} if kind == "k10" else vals
            if values:
                latest[unit[0]] = values
            mid = email.message_from_bytes(raw)["Message-ID"]
            units_exp[unit[0]] = {
                "name": unit[1],
                "status": status,
                "values": values,
                "expect_problem": kind == "k10",
                # a table without ruling lines has every figure flagged (its columns are inferred)
                # and a PDF whose figures do not show its number locale has them flagged
                "clean": kind in TEXT_KINDS
                and all(p.get("ruled", True) and p.get("locale_shown", True) for p in parts),
                **({"as_of": day} if kind in AS_OF_KINDS else {}),
                "received_at": t.isoformat(),
                "message_id": mid,
                "messages": [rel],
            }
            index.append(
                {
                    "file": rel,
                    "day": day,
                    "unit": unit[0],
                    "kind": kind,
                    "kind_name": KINDS[kind],
                    "arrival": t.isoformat(),
                    "status": status,
                    "parts": parts,
                }
            )
        totals: dict[str, dict[str, int]] = {}
        for vals in latest.values():
            for ind, row in vals.items():
                for m, v in row.items():
                    totals.setdefault(ind, {}).setdefault(m, 0)
                    totals[ind][m] += v
        exp = {
            "date": day,
            "reporting_day": True,
            "deadline": dt.datetime.combine(d, dt.time(16), TZ).isoformat(),
            "units": units_exp,
            "unassigned_count": 0,
            "unassigned_automatic_max": 0,
            "unassigned": [],
            "automatic_messages": [],
            "totals": totals,
            "digest": {
                "to": ["bchptt@yenthanh.example.gov.vn"],
                "subject_prefix": "Tổng hợp kết quả hỗ trợ khắc phục hậu quả mưa lũ ngày ",
            },
        }
        (scen / "expected" / f"{day}.json").write_text(json.dumps(exp, ensure_ascii=False, indent=1))
    (scen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    (scen / "documents.json").write_text(json.dumps({"kinds": KINDS, "messages": index}, ensure_ascii=False, indent=1))
    harness = out / "samples"
    harness.mkdir(exist_ok=True)
    shutil.copy(SHARED / "samples" / "dovecot_server.py", harness / "dovecot_server.py")
    # the same harness, with a longer CLI timeout: on a shared machine a poll of ten scans
    # can pass the public 60 s, and a timed-out poll would hide every figure behind it
    check = (SHARED / "samples" / "check.py").read_text()
    (harness / "check.py").write_text(check.replace("CLI_TIMEOUT = 60\n", f"CLI_TIMEOUT = {CLI_TIMEOUT}\n", 1))
    shutil.copy(SHARED / "samples-documents" / "score.py", scen / "score.py")
    return {"messages": index}


def details(scen: Path) -> None:
    """Every figure that is not exact, and every extra one: unit, kind, file, cell, truth, reading
    (and a wrong status or as-of date)."""
    outdir = Path(tempfile.gettempdir()) / "baocao-check-out" / "documents"
    index = json.loads((scen / "documents.json").read_text())["messages"]
    print("\nfigures not exact (day unit kind file: cell truth -> read [problems])")
    for m in index:
        f = outdir / f"export-{m['day']}.json"
        data = json.loads(f.read_text()) if f.exists() else {}
        u = next((x for x in data.get("units", []) if x.get("code") == m["unit"]), {})
        got = {i: {k: v for k, v in r.items() if v is not None} for i, r in (u.get("values") or {}).items()}
        want = json.loads((scen / "expected" / f"{m['day']}.json").read_text())["units"][m["unit"]]
        probs = "; ".join(str(p.get("message", p) if isinstance(p, dict) else p)[:160] for p in u.get("problems") or [])
        lines = []
        if u.get("status") != want["status"]:
            lines.append(f"status {want['status']} -> {u.get('status')}")
        if "as_of" in want and not str(u.get("as_of") or "").startswith(want["as_of"]):
            lines.append(f"as_of {want['as_of']} -> {u.get('as_of')}")
        for ind, row in want["values"].items():
            for meas, v in row.items():
                g = got.get(ind, {}).get(meas)
                if g != v:
                    lines.append(f"{ind}.{meas} {v} -> {g}")
        for ind, row in got.items():
            for meas, g in row.items():
                if meas not in want["values"].get(ind, {}) and g:
                    lines.append(f"extra {ind}.{meas} -> {g}")
        if lines:
            print(f"{m['day']} {m['unit']} {m['kind']} {m['file']}:")
            for ln in lines:
                print("    " + ln)
            print(f"    problems: {probs or '(none)'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "baocao-unseen")
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument(
        "--skip-scans", action="store_true", help="send the scans and photos of days 1-2 as text PDFs (much faster)"
    )
    ap.add_argument("--project", type=Path, default=ROOT)
    args = ap.parse_args()
    generate(args.out, args.seed, args.skip_scans)
    scen = args.out / "samples-documents"
    print(f"generated {scen} (seed {args.seed})", flush=True)
    if args.generate_only:
        return 0
    r = subprocess.run([sys.executable, str(scen / "score.py"), "--project", str(args.project.resolve())], check=False)
    if r.returncode:
        return r.returncode
    details(scen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
