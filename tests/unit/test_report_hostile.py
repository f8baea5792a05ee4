"""Hostile and broken files: every one ends as a named problem, quickly, never a crash."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.model import ReadLimits
from tests.unit.builders import (
    FORM,
    SheetSpec,
    csv_bytes,
    docx_bytes,
    entity_bomb_xlsx,
    form_with,
    replace_part,
    two_row_header_sheet,
    xlsx,
    zip_bomb_xlsx,
)
from tests.unit.test_report_layout import codes, read

GOOD_XLSX = xlsx(two_row_header_sheet())
GOOD_DOCX = docx_bytes([["Nội dung", "Số đề nghị"], ["Hộ kinh doanh", "5"]])
GOOD_CSV = csv_bytes([["Nội dung", "Số đề nghị"], ["Hộ kinh doanh", "5"]])


def opened_parts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the package parts inflated from here on (a bound on the work)."""
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def counting_open(self: zipfile.ZipFile, name: str | zipfile.ZipInfo, *args: object, **kwargs: object):
        opened.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    return opened


def no_library_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if calamine or openpyxl is asked to open a workbook."""
    import openpyxl
    import python_calamine

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a library was handed the workbook")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", refuse)
    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


def test_zip_bomb_is_refused_before_opening(monkeypatch: pytest.MonkeyPatch) -> None:
    data = zip_bomb_xlsx(300 * 1024 * 1024)
    assert len(data) < 2 * 1024 * 1024
    opened = opened_parts(monkeypatch)
    result = read(data)
    assert "xl/worksheets/sheet1.xml" not in opened  # refused from the zip directory alone
    assert result.outcome == "unreadable"
    assert codes(result) == ["over_limit"]
    assert result.problems[0].params["limit"] in ("decompressed_bytes", "compression_ratio")


def test_compression_ratio_cap_alone() -> None:
    data = zip_bomb_xlsx(50 * 1024 * 1024)  # under the size cap, far over the ratio
    result = read(data)
    assert codes(result) == ["over_limit"]
    assert result.problems[0].params["limit"] == "compression_ratio"


def test_entity_bomb_is_refused_before_a_library_sees_it(monkeypatch: pytest.MonkeyPatch) -> None:
    no_library_reads(monkeypatch)
    result = read(entity_bomb_xlsx())
    assert result.outcome == "unreadable"
    assert codes(result) == ["unsafe_file"]


def test_attachment_over_the_byte_cap() -> None:
    result = read(GOOD_XLSX, form=form_with(max_attachment_bytes=1000))
    assert result.outcome == "unreadable"
    assert codes(result) == ["over_limit"]
    assert result.problems[0].params["limit"] == "attachment_bytes"


def test_rows_beyond_the_cap_are_not_scanned_and_named() -> None:
    sheet = two_row_header_sheet()
    rows = [list(r) for r in sheet.rows] + [["ghi chú"]] * 30
    result = read(xlsx(SheetSpec(rows=rows, merges=sheet.merges)), form=form_with(max_rows=20))
    assert "over_limit" in codes(result)
    assert result.outcome == "read"  # the table itself is within the cap
    assert result.values["ngung_viec"]["de_nghi"] == 53


def test_columns_beyond_the_cap_are_named() -> None:
    sheet = two_row_header_sheet()
    rows = [list(r) for r in sheet.rows]
    rows[0] = rows[0] + [None] * 10 + ["xa"]
    result = read(xlsx(SheetSpec(rows=rows, merges=sheet.merges)), form=form_with(max_columns=8))
    assert [p.params.get("limit") for p in result.problems] == ["columns"]


def test_sheets_beyond_the_cap_are_named() -> None:
    data = xlsx(*[two_row_header_sheet(name=f"S{i}") for i in range(4)])
    result = read(data, form=form_with(max_sheets=2))
    assert [p.params.get("limit") for p in result.problems] == ["sheets"]
    assert result.sheet in ("S0", "S1")


def test_huge_sparse_sheet_is_read_only_up_to_the_row_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate(two_row_header_sheet().rows, start=1):
        for c, v in enumerate(row, start=1):
            if v is not None:
                ws.cell(r, c, v)
    for r in range(100, 5_000):
        ws.cell(r, 1, "x")
    buf = io.BytesIO()
    wb.save(buf)
    from parsers.readers import xlsx as xlsx_reader

    rows_read: list[int] = []
    real_rows = xlsx_reader._rows

    def counting_rows(ws: object, limits: ReadLimits) -> Iterator[tuple[object, ...]]:
        for row in real_rows(ws, limits):
            rows_read.append(1)
            yield row

    monkeypatch.setattr(xlsx_reader, "_rows", counting_rows)
    result = read(buf.getvalue())
    assert 0 < len(rows_read) <= ReadLimits().max_rows  # of the 4,999 rows
    assert result.values["ngung_viec"]["de_nghi"] == 53
    assert "over_limit" in codes(result)


def test_a_long_sheet_reaches_openpyxl_cut_after_the_row_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    # the report, then 150,000 rows of a list (9 MB of XML, no <dimension>): openpyxl
    # parsed all of it only to open the workbook (a million rows: 33 s)
    sheet = zipfile.ZipFile(io.BytesIO(GOOD_XLSX)).read("xl/worksheets/sheet1.xml")
    sheet = re.sub(rb"<dimension[^>]*/>", b"", sheet)
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (r, r) for r in range(3_000, 153_000)
    )
    data = replace_part(GOOD_XLSX, "xl/worksheets/sheet1.xml", sheet.replace(b"</sheetData>", rows + b"</sheetData>"))
    handed: list[int] = []
    real_load = openpyxl.load_workbook

    def load(source: io.BytesIO, **kwargs: object) -> object:
        handed.append(zipfile.ZipFile(source).getinfo("xl/worksheets/sheet1.xml").file_size)
        source.seek(0)
        return real_load(source, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", load)
    result = read(data)
    assert result.values == read(GOOD_XLSX).values and result.values["ngung_viec"]["de_nghi"] == 53
    assert [p.params.get("limit") for p in result.problems] == ["rows"]
    assert handed and max(handed) < len(sheet) + 1_000  # the report's rows, not the list's


@pytest.mark.parametrize("name, data", [("bc.xlsx", GOOD_XLSX), ("bc.docx", GOOD_DOCX), ("bc.csv", GOOD_CSV)])
def test_truncated_files_are_unreadable_not_a_crash(name: str, data: bytes) -> None:
    for cut in (10, len(data) // 3, len(data) // 2, len(data) - 30):
        result = read(data[:cut], filename=name)
        assert result.outcome in ("unreadable", "evidence", "read")
        if result.outcome == "unreadable":
            assert result.problems


def test_truncated_xlsx_names_the_file_and_the_error() -> None:
    result = read(GOOD_XLSX[: len(GOOD_XLSX) // 2], filename="bc.xlsx")
    assert result.outcome == "unreadable"
    [problem] = result.problems
    assert problem.code == "file_unreadable"
    assert problem.params["file"] == "bc.xlsx"
    assert problem.params["error"]


def test_broken_xml_inside_a_valid_zip() -> None:
    data = replace_part(GOOD_XLSX, "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row")
    result = read(data)
    assert result.outcome == "unreadable"
    assert codes(result) == ["file_unreadable"]


def test_random_bytes_are_evidence() -> None:
    result = read(bytes(range(7, 250)) * 50, filename="bc.xlsx")
    assert result.outcome == "evidence"
    assert codes(result) == ["unsupported_format"]


def test_html_disguised_as_xls() -> None:
    result = read(
        "<html><body><table><tr><td>Hộ kinh doanh</td></tr></table></body></html>".encode(), filename="bc.xls"
    )
    assert (result.outcome, codes(result)) == ("unreadable", ["html_disguised"])


def test_damaged_pdf_and_images_are_unreadable() -> None:
    # scans and photos are read now (parsers.ocr): a damaged one is named, not evidence
    for data, name in ((b"%PDF-1.4\n...", "scan.pdf"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "scan.png")):
        result = read(data, filename=name)
        assert result.outcome == "unreadable"
        assert codes(result) == ["file_unreadable"]
        assert result.problems[0].params["file"] == name


def test_empty_file() -> None:
    assert codes(read(b"", filename="bc.xlsx")) == ["empty_file"]


def test_password_protected_ooxml_is_named() -> None:
    data = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048)
    data[30:32] = (9).to_bytes(2, "little")
    name = "EncryptedPackage".encode("utf-16-le") + b"\x00\x00"
    data[512 : 512 + len(name)] = name
    data[512 + 64 : 512 + 66] = len(name).to_bytes(2, "little")
    data[512 + 66] = 2
    result = read(bytes(data), filename="bc.xlsx")
    assert (result.outcome, codes(result)) == ("unreadable", ["encrypted_file"])


def test_unexpected_failure_inside_becomes_file_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    from parsers import report

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RecursionError("deep")

    monkeypatch.setattr(report, "read_grid", boom)
    result = read(GOOD_XLSX, filename="bc.xlsx")
    assert result.outcome == "unreadable"
    assert result.problems[0].code == "file_unreadable"
    assert result.problems[0].params["error"] == "RecursionError"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), st.sampled_from(["a.xlsx", "a.xls", "a.csv", "a.docx", "a"]))
def test_random_bytes_never_raise(data: bytes, name: str) -> None:
    result = read(data, filename=name)
    assert result.outcome in ("read", "unreadable", "evidence")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([("a.xlsx", GOOD_XLSX), ("a.docx", GOOD_DOCX), ("a.csv", GOOD_CSV)]),
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=255),
)
def test_truncated_or_flipped_real_files_never_raise(file: tuple[str, bytes], pos: int, byte: int) -> None:
    name, data = file
    pos %= len(data)
    assert read(data[:pos], filename=name).outcome in ("read", "unreadable", "evidence")
    flipped = data[:pos] + bytes([byte]) + data[pos + 1 :]
    assert read(flipped, filename=name).outcome in ("read", "unreadable", "evidence")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), max_size=6), max_size=12))
def test_random_csv_tables_never_raise(rows: list[list[str]]) -> None:
    rows = [[c.replace("\x00", "") for c in r] for r in rows]
    result = read(csv_bytes(rows), filename="a.csv")
    assert result.outcome in ("read", "unreadable", "evidence")


def test_zip_entry_count_cap() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        for i in range(10_001):
            zf.writestr(f"x/{i}", b"")
    result = read(buf.getvalue(), form=FORM)
    assert codes(result) == ["over_limit"]


def test_csv_line_of_millions_of_delimiters_is_cut_before_the_csv_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    from parsers.readers import csv as csv_reader

    widest: list[int] = []
    real_split = csv_reader.split_delimited

    def measured_split(text: str, delimiter: str) -> Iterator[list[str]]:
        widest.append(max(line.count(delimiter) for line in text.splitlines()))
        assert len(widest) == 1
        return real_split(text, delimiter)

    monkeypatch.setattr(csv_reader, "split_delimited", measured_split)
    data = "Nội dung;Số đề nghị\nHộ kinh doanh;5\n".encode() + b";" * 5_000_000 + b"\n"
    result = read(data, filename="a.csv")
    assert widest[-1] < 4 * ReadLimits().max_columns  # one read, of the line cut first
    assert result.values == {"ho_kinh_doanh": {"de_nghi": 5}}
    assert [p.params.get("limit") for p in result.problems] == ["columns"]
