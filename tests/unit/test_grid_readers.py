"""The lean .xlsx/.docx readers: what openpyxl/python-docx would read, read faster.

Proposed as tests/unit/test_grid_readers.py. Each test builds one quirk in code.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tracemalloc
import zipfile

import openpyxl
import pytest

from parsers.model import ReadLimits
from parsers.readers.common import Grid, GridError
from parsers.readers.docx import read_docx
from parsers.readers.xlsx import read_xlsx
from tests.unit.builders import replace_part, two_row_header_sheet, xlsx

LIMITS = ReadLimits()
SHEET = "xl/worksheets/sheet1.xml"


def part(data: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)


def edit(data: bytes, name: str, pattern: str, repl: str) -> bytes:
    return replace_part(data, name, re.sub(pattern, repl, part(data, name).decode(), flags=re.S).encode())


def with_shared_strings(data: bytes) -> bytes:
    """openpyxl writes inline strings; Excel writes a shared string table."""
    strings: list[str] = []

    def to_index(m: re.Match) -> str:
        strings.append(m.group(2))
        return f'{m.group(1)} t="s"><v>{len(strings) - 1}</v></c>'

    sheet = re.sub(
        r'(<c r="[A-Z]+\d+"(?: s="\d+")?) t="inlineStr"><is>(.*?)</is></c>', to_index, part(data, SHEET).decode()
    )
    sst = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + "".join(f"<si>{s}</si>" for s in strings)
        + "</sst>"
    )
    data = replace_part(data, SHEET, sheet.encode())
    data = replace_part(data, "xl/sharedStrings.xml", sst.encode())
    data = edit(
        data,
        "[Content_Types].xml",
        "</Types>",
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    return data


def values(g: Grid, sheet: int = 0) -> dict[tuple[int, int], object]:
    return {k: c.value for k, c in g.sheets[sheet].cells.items()}


def openpyxl_values(data: bytes, sheet: int = 0) -> dict[tuple[int, int], object]:
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    out = {}
    for r, row in enumerate(wb.worksheets[sheet].iter_rows(values_only=True), start=1):
        for c, v in enumerate(row, start=1):
            if v is not None and not (isinstance(v, str) and not v.strip()):
                out[(r, c)] = v
    return out


def same_as_openpyxl(data: bytes) -> None:
    ours = values(read_xlsx(data, LIMITS, "a.xlsx"))
    theirs = openpyxl_values(data)
    assert set(ours) == set(theirs)
    for key, v in theirs.items():
        got = ours[key]
        if isinstance(v, float):
            assert float(got) == pytest.approx(v)
        elif isinstance(v, int) and not isinstance(v, bool):
            assert got == v
        else:
            assert got == v, key


def test_shared_strings_as_excel_saves_them_read_as_openpyxl_does() -> None:
    same_as_openpyxl(with_shared_strings(xlsx(two_row_header_sheet())))


def test_rich_text_runs_are_joined_and_phonetic_runs_left_out() -> None:
    data = with_shared_strings(xlsx(two_row_header_sheet()))
    rich = (
        '<si><r><rPr><b/></rPr><t>Hỗ trợ </t></r><r><t xml:space="preserve">hộ kinh doanh</t>'
        '</r><rPh sb="0" eb="1"><t>x</t></rPh></si>'
    )
    data = edit(data, "xl/sharedStrings.xml", r"<si>.*?</si>", rich)
    g = read_xlsx(data, LIMITS, "a.xlsx")
    assert "Hỗ trợ hộ kinh doanh" in {c.value for c in g.sheets[0].cells.values()}
    same_as_openpyxl(data)


def test_dates_by_number_format_in_the_1904_date_system() -> None:
    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    ws = wb.active
    ws["A1"] = dt.datetime(2021, 8, 11)
    ws["A1"].number_format = "dd/mm/yyyy"
    ws["B1"] = 44419
    buf = io.BytesIO()
    wb.save(buf)
    got = values(read_xlsx(buf.getvalue(), LIMITS, "a.xlsx"))
    assert got[(1, 1)] == dt.datetime(2021, 8, 11)
    assert got[(1, 2)] == 44419  # no date format: a number


def test_font_names_come_from_the_cell_style_for_legacy_text() -> None:
    from tests.unit.builders import SheetSpec

    data = xlsx(SheetSpec(rows=[["Tæng sè"]], font=".VnTime"))
    [cell] = read_xlsx(data, LIMITS, "a.xlsx").sheets[0].cells.values()
    assert (cell.font_name, cell.value) == (".VnTime", "Tổng số")


def test_a_chartsheet_counts_for_the_active_tab() -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb.create_chartsheet("Chart", 0)
    wb.active = 0  # the chartsheet: no worksheet is active
    buf = io.BytesIO()
    wb.save(buf)
    g = read_xlsx(buf.getvalue(), LIMITS, "a.xlsx")
    assert [(s.name, s.is_active) for s in g.sheets] == [("Data", False)]


@pytest.mark.parametrize("where", [SHEET, "xl/styles.xml", "xl/workbook.xml"])
def test_a_dtd_after_a_long_comment_is_refused(where: str) -> None:
    data = xlsx(two_row_header_sheet())
    body = part(data, where).decode()
    root = re.search(r"<(?!\?)[A-Za-z]", body).start()
    hostile = body[:root] + "<!--" + "x" * 20_000 + '--><!DOCTYPE r [<!ENTITY a "b">]>' + body[root:]
    with pytest.raises(GridError) as err:
        read_xlsx(replace_part(data, where, hostile.encode()), LIMITS, "a.xlsx")
    assert err.value.problem.code == "unsafe_file"


def test_a_dtd_in_a_utf16_part_is_refused() -> None:
    data = xlsx(two_row_header_sheet())
    body = part(data, "xl/styles.xml").decode().split("?>", 1)[-1]
    hostile = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE s [<!ENTITY a "b">]>' + body
    with pytest.raises(GridError) as err:
        read_xlsx(replace_part(data, "xl/styles.xml", hostile.encode("utf-16")), LIMITS, "a.xlsx")
    assert err.value.problem.code == "unsafe_file"


def test_a_sheet_past_the_caps_reads_its_first_rows_as_a_sheet_within_them() -> None:
    """Two readers, one result: a sheet within the caps is read by calamine, one past
    them by openpyxl's read-only API up to the caps."""
    data = with_shared_strings(xlsx(two_row_header_sheet()))
    within = read_xlsx(data, LIMITS, "a.xlsx")
    far = replace_part(
        data,
        SHEET,
        part(data, SHEET).replace(
            b"</sheetData>", b'<row r="5000"><c r="A5000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
        ),
    )
    past = read_xlsx(far, LIMITS, "a.xlsx")
    assert past.sheets[0] == within.sheets[0]
    assert [p.params["limit"] for p in past.problems] == ["rows"]


def test_a_row_of_a_million_cells_is_refused_in_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    data = xlsx(two_row_header_sheet())
    zf = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in zf.infolist():
            body = zf.read(info)
            if info.filename == SHEET:
                cells = "".join(f"<c><v>{i * 7919 % 100_003}</v></c>" for i in range(1_000_000))
                body = body.decode().replace("<sheetData>", f'<sheetData><row r="1">{cells}</row>', 1).encode()
            dst.writestr(info.filename, body)
    import openpyxl as real_openpyxl
    import python_calamine

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the row reached a parser")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", refuse)
    monkeypatch.setattr(real_openpyxl, "load_workbook", refuse)
    tracemalloc.start()
    try:
        with pytest.raises(GridError) as err:
            read_xlsx(out.getvalue(), LIMITS, "a.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.value.problem.code == "over_limit"
    assert peak < 16 * 1024 * 1024  # the part (20 MB) is scanned in chunks, never held


def test_docx_default_font_from_the_normal_style() -> None:
    import docx

    doc = docx.Document()
    doc.styles["Normal"].font.name = ".VnTime"
    table = doc.add_table(rows=1, cols=1)
    table.cell(0, 0).text = "Tæng sè"
    buf = io.BytesIO()
    doc.save(buf)
    [cell] = read_docx(buf.getvalue(), LIMITS, "a.docx").sheets[0].cells.values()
    assert (cell.font_name, cell.value) == (".VnTime", "Tổng số")
