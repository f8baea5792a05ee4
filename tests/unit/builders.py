"""Build report attachments in code (xlsx, xls, csv, docx), one quirk at a time.

The form used by the tests mirrors the shipped NQ 68 sample form, so fixtures read
like the reports units really send.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from parsers.model import CheckSpec, FormSpec, IndicatorSpec, MeasureSpec, ReadLimits
from tests.conftest import shared_samples

MEASURES = (
    MeasureSpec(
        "de_nghi", "Số đối tượng đề nghị hỗ trợ", ("Số đề nghị", "Số hồ sơ đề nghị", "Đề nghị hỗ trợ"), "count"
    ),
    MeasureSpec(
        "phe_duyet", "Số đối tượng được phê duyệt", ("Số được phê duyệt", "Đã phê duyệt", "Được phê duyệt"), "count"
    ),
    MeasureSpec(
        "kinh_phi", "Kinh phí được phê duyệt", ("Kinh phí phê duyệt", "Số tiền được phê duyệt"), "money", 1_000_000
    ),
    MeasureSpec("da_chi", "Số đối tượng đã chi trả", ("Số đã chi trả", "Đã chi trả (người)"), "count"),
    MeasureSpec("tien_da_chi", "Số tiền đã chi trả", ("Kinh phí đã chi trả", "Số tiền đã chi"), "money", 1_000_000),
)

INDICATORS = (
    IndicatorSpec(
        "giam_bhtnld", "Giảm mức đóng bảo hiểm tai nạn lao động, bệnh nghề nghiệp", ("Giảm đóng BHTNLĐ-BNN",)
    ),
    IndicatorSpec(
        "dao_tao",
        "Hỗ trợ đào tạo, bồi dưỡng, nâng cao trình độ kỹ năng nghề để duy trì việc làm",
        ("Hỗ trợ đào tạo duy trì việc làm cho người lao động", "Hỗ trợ đào tạo"),
    ),
    IndicatorSpec(
        "tam_hoan_hdld",
        "Hỗ trợ người lao động tạm hoãn thực hiện hợp đồng lao động, nghỉ việc không hưởng lương",
        ("Tạm hoãn HĐLĐ, nghỉ việc không hưởng lương", "NLĐ tạm hoãn hợp đồng lao động"),
    ),
    IndicatorSpec("ngung_viec", "Hỗ trợ người lao động ngừng việc", ("NLĐ ngừng việc",)),
    IndicatorSpec(
        "tre_em_f0_f1", "Hỗ trợ trẻ em và người đang điều trị Covid-19, cách ly y tế", ("Hỗ trợ trẻ em, F0, F1",)
    ),
    IndicatorSpec(
        "nghe_thuat", "Hỗ trợ viên chức, người lao động hoạt động nghệ thuật", ("Viên chức hoạt động nghệ thuật",)
    ),
    IndicatorSpec("huong_dan_vien", "Hỗ trợ hướng dẫn viên du lịch", ("Hướng dẫn viên du lịch",)),
    IndicatorSpec("ho_kinh_doanh", "Hỗ trợ hộ kinh doanh", ("Hộ kinh doanh", "HKD")),
    IndicatorSpec(
        "lao_dong_tu_do",
        "Hỗ trợ người lao động không có giao kết hợp đồng lao động (lao động tự do)",
        ("Lao động tự do",),
    ),
)

CHECKS = (
    CheckSpec("phe_duyet", "<=", "de_nghi", "Số đối tượng được phê duyệt lớn hơn số đề nghị", "phe_duyet <= de_nghi"),
    CheckSpec("da_chi", "<=", "phe_duyet", "Số đối tượng đã chi trả lớn hơn số được phê duyệt", "da_chi <= phe_duyet"),
    CheckSpec(
        "tien_da_chi", "<=", "kinh_phi", "Số tiền đã chi trả lớn hơn kinh phí được phê duyệt", "tien_da_chi <= kinh_phi"
    ),
)

FORM = FormSpec(MEASURES, INDICATORS, CHECKS)


def form_with(**limits: int) -> FormSpec:
    """The test form with some read limits changed."""
    return FormSpec(MEASURES, INDICATORS, CHECKS, ReadLimits(**limits))


# ------------------------------------------------------------------ standard layouts

TITLE_ROWS: list[list[object]] = [
    ["ỦY BAN NHÂN DÂN", None, None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
    ["PHƯỜNG SÔNG CẦU", None, None, None, "Độc lập - Tự do - Hạnh phúc"],
    [],
    ["BÁO CÁO TIẾN ĐỘ THỰC HIỆN CHÍNH SÁCH HỖ TRỢ NGƯỜI LAO ĐỘNG"],
    [],
    ["Đơn vị: UBND phường Sông Cầu"],
    ["Số liệu tính đến ngày 11/08/2021"],
    [],
]

# A figure row: indicator label, then de_nghi, phe_duyet, da_chi, kinh_phi, tien_da_chi.
Figures = Sequence[object]

DEFAULT_ROWS: list[tuple[str, Figures]] = [
    (
        "1. Hỗ trợ người lao động tạm hoãn thực hiện hợp đồng lao động, nghỉ việc không hưởng lương",
        (53, 42, 20, 126.14, 59.36),
    ),
    ("2. Hỗ trợ người lao động ngừng việc", (53, 46, 27, 46, 27)),
    ("3. Hỗ trợ hộ kinh doanh", (26, 23, 14, 69, 42)),
]


@dataclass
class SheetSpec:
    """One worksheet: rows of values (None = empty), merged ranges, one font."""

    name: str = "Sheet1"
    rows: Sequence[Sequence[object]] = ()
    merges: Sequence[str] = ()
    font: str | None = None
    hidden: bool = False


def two_row_header_sheet(
    rows: Iterable[tuple[str, Figures]] = DEFAULT_ROWS,
    *,
    name: str = "Sheet1",
    money_header: str = "Kinh phí (triệu đồng)",
    title_rows: Sequence[Sequence[object]] = TITLE_ROWS,
    total: bool = True,
) -> SheetSpec:
    """The common layout: label in A, 'Số đối tượng' over three count columns (B:D),
    'Kinh phí (...)' over two money columns (E:F), 'Ghi chú' in G; header rows 9-10."""
    out: list[list[object]] = [list(r) for r in title_rows]
    top = len(out) + 1
    out.append(["Nội dung chính sách", "Số đối tượng", None, None, money_header, None, "Ghi chú"])
    out.append([None, "Đề nghị hỗ trợ", "Được phê duyệt", "Đã chi trả", "Được phê duyệt", "Đã chi trả"])
    body = list(rows)
    for label, figures in body:
        out.append([label, *figures])
    if total:
        out.append(["Tổng cộng", *[_sum(f[i] for _, f in body) for i in range(5)]])
    merges = [f"A{top}:A{top + 1}", f"B{top}:D{top}", f"E{top}:F{top}", f"G{top}:G{top + 1}"]
    if title_rows is TITLE_ROWS:
        merges.append("A4:G4")  # the report title across the table
    return SheetSpec(name=name, rows=out, merges=merges)


def _sum(values: Iterable[object]) -> object:
    nums = [v for v in values if isinstance(v, (int, float))]
    return sum(nums) if nums else "-"


def one_row_header_sheet(
    header: Sequence[object],
    rows: Sequence[Sequence[object]],
    *,
    name: str = "Sheet1",
    title_rows: Sequence[Sequence[object]] = TITLE_ROWS,
) -> SheetSpec:
    out = [list(r) for r in title_rows] + [list(header)] + [list(r) for r in rows]
    return SheetSpec(name=name, rows=out)


# ------------------------------------------------------------------ xlsx


def xlsx(*sheets: SheetSpec, active: int = 0) -> bytes:
    """An .xlsx written by openpyxl (which never writes cached formula values)."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for spec in sheets or (SheetSpec(),):
        ws = wb.create_sheet(spec.name)
        font = Font(name=spec.font) if spec.font else None
        for r, row in enumerate(spec.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if font is not None:
                    cell.font = font
        for rng in spec.merges:
            ws.merge_cells(rng)
        if spec.hidden:
            ws.sheet_state = "hidden"
    wb.active = active
    for i, ws in enumerate(wb.worksheets):
        ws.sheet_view.tabSelected = i == active
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def with_cached_values(data: bytes, cached: Mapping[str, object], sheet_part: str = "sheet1") -> bytes:
    """Rewrite a package so the formula cells named in `cached` ({"F13": 29.68})
    carry a cached <v>, as Excel saves them."""
    part = f"xl/worksheets/{sheet_part}.xml"
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == part:
                xml = body.decode("utf-8")
                for coord, value in cached.items():
                    xml = re.sub(
                        rf'(<c r="{coord}"[^>]*>)(<f>[^<]*</f>)<v\s*/?>(?:</v>)?',
                        lambda m, v=value: f"{m.group(1)}{m.group(2)}<v>{v}</v>",
                        xml,
                    )
                body = xml.encode("utf-8")
            dst.writestr(info, body)
    return out.getvalue()


def replace_part(data: bytes, name: str, body: bytes) -> bytes:
    """The same package with one part replaced (or added)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info))
        dst.writestr(name, body)
    return out.getvalue()


def zip_bomb_xlsx(uncompressed_bytes: int = 300 * 1024 * 1024) -> bytes:
    """A tiny .xlsx whose first sheet inflates to `uncompressed_bytes` of XML."""
    base = xlsx(two_row_header_sheet())
    src = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    )
    tail = b"</sheetData></worksheet>"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                bomb = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
                bomb.compress_type = zipfile.ZIP_DEFLATED
                with dst.open(bomb, "w", force_zip64=True) as fh:
                    fh.write(head)
                    filler = b" " * (1 << 20)
                    written = len(head)
                    while written < uncompressed_bytes:
                        fh.write(filler)
                        written += len(filler)
                    fh.write(tail)
            else:
                dst.writestr(info, src.read(info))
    return out.getvalue()


def entity_bomb_xlsx() -> bytes:
    """An .xlsx whose shared strings declare a billion-laughs entity expansion."""
    base = xlsx(two_row_header_sheet())
    lol = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE sst [' + "".join(lol) + "]>"
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    return replace_part(base, "xl/sharedStrings.xml", bomb.encode())


# ------------------------------------------------------------------ xls (xlwt, test-only)


def xls(*sheets: SheetSpec, active: int = 0) -> bytes:
    """A BIFF8 .xls written by xlwt (a test-only dependency)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for i, spec in enumerate(sheets or (SheetSpec(),)):
        ws = book.add_sheet(spec.name, cell_overwrite_ok=True)
        style = xlwt.XFStyle()
        if spec.font:
            font = xlwt.Font()
            font.name = spec.font
            style.font = font
        merged = {}
        for rng in spec.merges:
            a, b = rng.split(":")
            r1, c1 = _rc(a)
            r2, c2 = _rc(b)
            merged[(r1, c1)] = (r2, c2)
        for r, row in enumerate(spec.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                if (r, c) in merged:
                    r2, c2 = merged.pop((r, c))
                    ws.write_merge(r - 1, r2 - 1, c - 1, c2 - 1, value, style)
                else:
                    ws.write(r - 1, c - 1, value, style)
        for (r1, c1), (r2, c2) in merged.items():  # merges over empty cells
            ws.merge(r1 - 1, r2 - 1, c1 - 1, c2 - 1)
        if i == active:
            ws.set_selected(True)
    book.active_sheet = active
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _rc(ref: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    assert m, ref
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


# ------------------------------------------------------------------ csv

_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def cp1258_text(text: str) -> str:
    """Text as windows-1258 spells Vietnamese: base letters (â, ơ, ư...) precomposed,
    tone marks as separate combining characters, which is what Excel writes."""
    import unicodedata

    out: list[str] = []
    tones: list[str] = []
    base = ""
    for ch in unicodedata.normalize("NFD", text) + "\x00":
        if unicodedata.combining(ch):
            if ch in _TONE_MARKS:
                tones.append(ch)
            else:
                base += ch
            continue
        if base:
            out.append(unicodedata.normalize("NFC", base) + "".join(tones))
        base, tones = ch, []
    return "".join(out)


def csv_bytes(rows: Sequence[Sequence[object]], *, delimiter: str = ",", encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    text = buf.getvalue()
    if encoding.replace("-", "").lower() in ("cp1258", "windows1258"):
        text = cp1258_text(text)
    return text.encode(encoding)


# ------------------------------------------------------------------ docx


def docx_bytes(
    table_rows: Sequence[Sequence[object]],
    *,
    paragraphs: Sequence[str] = (),
    merges: Sequence[tuple[int, int, int, int]] = (),
    font: str | None = None,
    after: Sequence[str] = (),
) -> bytes:
    """A .docx with `paragraphs`, one table (merges as 0-based (r1, c1, r2, c2)) and
    `after` paragraphs; every run in `font` when given."""
    import docx

    document = docx.Document()

    def add_paragraph(text: str) -> None:
        run = document.add_paragraph().add_run(text)
        if font:
            run.font.name = font

    for text in paragraphs:
        add_paragraph(text)
    n_cols = max(len(r) for r in table_rows)
    table = document.add_table(rows=len(table_rows), cols=n_cols)
    for r, row in enumerate(table_rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            paragraph = table.cell(r, c).paragraphs[0]
            run = paragraph.add_run(str(value))
            if font:
                run.font.name = font
    for r1, c1, r2, c2 in merges:
        table.cell(r1, c1).merge(table.cell(r2, c2))
    for text in after:
        add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------ samples


def sample_form() -> FormSpec:
    """The FormSpec of the shared sample config, as the service loads it."""
    from service.config import load_config

    return load_config(shared_samples() / "config.toml", require_secrets=False).form


@dataclass(frozen=True)
class SampleAttachment:
    day: str
    message: str  # e.g. "01-bhxh"
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@lru_cache(maxsize=1)
def sample_attachments() -> tuple[SampleAttachment, ...]:
    """Every attachment of every sample message (stdlib email decoding), read once per run."""
    out = []
    for path in sorted((shared_samples() / "emails").glob("*/*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in msg.iter_attachments():
            data = part.get_payload(decode=True)
            if not isinstance(data, bytes):
                continue
            out.append(
                SampleAttachment(path.parent.name, path.stem, part.get_filename() or "", part.get_content_type(), data)
            )
    return tuple(out)


def sample_xls() -> bytes:
    """The .xls (BIFF8) a sample unit sent."""
    for att in sample_attachments():
        if att.filename.lower().endswith(".xls"):
            return att.data
    raise LookupError("no .xls among the samples")


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
