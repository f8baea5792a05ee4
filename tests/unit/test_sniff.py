"""The format of an attachment comes from its bytes; name and MIME type only break ties."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from parsers.sniff import sniff_format
from tests.unit.builders import csv_bytes, docx_bytes, two_row_header_sheet, xlsx


def test_xlsx_named_pdf_is_xlsx() -> None:
    assert sniff_format(xlsx(two_row_header_sheet()), "bao-cao.pdf", "application/pdf") == "xlsx"


def test_xlsx_sent_as_octet_stream_without_name() -> None:
    assert sniff_format(xlsx(two_row_header_sheet()), "", "application/octet-stream") == "xlsx"


def test_docx_by_content_types() -> None:
    assert sniff_format(docx_bytes([["a", "b"]]), "x.xlsx") == "docx"


def test_xlsm_by_content_types() -> None:
    data = xlsx(two_row_header_sheet())
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        ct = zf.read("[Content_Types].xml").replace(
            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        )
    from tests.unit.builders import replace_part

    assert sniff_format(replace_part(data, "[Content_Types].xml", ct)) == "xlsm"


def test_plain_zip_is_archive() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "hello")
    assert sniff_format(buf.getvalue(), "bao-cao.zip") == "archive"


def test_truncated_xlsx_keeps_its_name_so_the_damage_is_named() -> None:
    data = xlsx(two_row_header_sheet())
    assert sniff_format(data[: len(data) // 2], "bc.xlsx") == "xlsx"
    assert sniff_format(data[: len(data) // 2], "bc.zip") == "archive"


@pytest.mark.parametrize(
    "head, fmt",
    [
        (b"%PDF-1.7\n%\xe2\xe3", "pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image"),
        (b"GIF89a\x01\x00", "image"),
        (b"II*\x00\x08\x00\x00\x00", "image"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image"),
        (b"Rar!\x1a\x07\x01\x00", "archive"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "archive"),
        (gzip.compress(b"x"), "archive"),
        (b"{\\rtf1\\ansi hello}", "rtf"),
    ],
)
def test_magic_numbers(head: bytes, fmt: str) -> None:
    assert sniff_format(head, "bao-cao.xlsx") == fmt


def test_html_saved_as_xls() -> None:
    page = b"<html><head><meta charset='utf-8'></head><body><table><tr><td>1</td></tr></table>"
    assert sniff_format(page, "bc.xls", "application/vnd.ms-excel") == "html"


def test_single_file_web_page_saved_as_xls() -> None:
    mht = b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=x\r\n\r\n--x\r\n"
    assert sniff_format(mht, "bc.xls") == "html"


def test_csv_utf8_bom_semicolon() -> None:
    data = csv_bytes([["STT", "Nội dung", "Số đề nghị"], [1, "Hộ kinh doanh", 5]], delimiter=";")
    assert sniff_format(data, "x.bin") == "csv"


def test_csv_windows_1258() -> None:
    data = csv_bytes([["Nội dung", "Số đề nghị"], ["Hộ kinh doanh", 5]], encoding="cp1258")
    assert sniff_format(data, "") == "csv"


def test_plain_text_is_not_a_table() -> None:
    assert sniff_format("Kính gửi phòng LĐTBXH, đơn vị xin gửi báo cáo".encode(), "a.txt") == "text"


def test_ole2_workbook_is_xls() -> None:
    from tests.unit.builders import sample_xls

    assert sniff_format(sample_xls(), "bc.doc", "application/msword") == "xls"


def test_ole2_encrypted_package() -> None:
    data = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096)
    data[30:32] = (9).to_bytes(2, "little")  # 512-byte sectors
    entry = 512 + 128  # second directory record of the first sector after the header
    name = "EncryptedPackage".encode("utf-16-le") + b"\x00\x00"
    data[entry : entry + len(name)] = name
    data[entry + 64 : entry + 66] = len(name).to_bytes(2, "little")
    data[entry + 66] = 2
    assert sniff_format(bytes(data), "bc.xlsx") == "encrypted"


def test_empty_and_random_bytes() -> None:
    assert sniff_format(b"", "a.xlsx") == "empty"
    assert sniff_format(bytes(range(256)) * 4, "a.xlsx") == "unknown"


def _with_content_types(data: bytes, extra: bytes) -> bytes:
    from tests.unit.builders import replace_part

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        ct = zf.read("[Content_Types].xml").replace(b"</Types>", extra + b"</Types>")
    return replace_part(data, "[Content_Types].xml", ct)


def test_xlsx_that_declares_a_binary_type_for_bin_parts_is_no_xlsb() -> None:
    data = _with_content_types(
        xlsx(two_row_header_sheet()),
        b'<Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>',
    )
    assert sniff_format(data, "bc.xlsx") == "xlsx"


def test_the_main_parts_declared_type_decides_the_format() -> None:
    from tests.unit.builders import replace_part

    data = xlsx(two_row_header_sheet())
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        ct = zf.read("[Content_Types].xml").replace(
            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            b"application/vnd.ms-excel.sheet.binary.macroEnabled.main",
        )
    assert sniff_format(replace_part(data, "[Content_Types].xml", ct), "bc.xlsx") == "xlsb"


def test_old_excel_2_to_4_streams_are_xls_and_read() -> None:
    import datetime as dt
    import struct

    from parsers.report import read_attachment
    from parsers.vnlegacy import encode_tcvn3
    from tests.unit.builders import FORM

    def rec(rid: int, data: bytes) -> bytes:
        return struct.pack("<HH", rid, len(data)) + data

    def label(r: int, c: int, text: str) -> bytes:
        b = encode_tcvn3(text).encode("latin-1")  # Excel 4 in Vietnam: TCVN3 (.VnTime) bytes
        return rec(0x0004, struct.pack("<HH", r, c) + b"\0\0\0" + bytes([len(b)]) + b)

    def number(r: int, c: int, v: float) -> bytes:
        return rec(0x0003, struct.pack("<HH", r, c) + b"\0\0\0" + struct.pack("<d", v))

    biff2 = (
        rec(0x0009, struct.pack("<HH", 2, 0x0010))
        + rec(0x0000, struct.pack("<HHHH", 0, 3, 0, 3))
        + label(0, 0, "STT")
        + label(0, 1, "Nội dung")
        + label(0, 2, "Số đề nghị")
        + number(1, 0, 1)
        + label(1, 1, "HKD")
        + number(1, 2, 25)
        + rec(0x000A, b"")
    )
    assert sniff_format(biff2, "bc.xls") == "xls"
    assert sniff_format(biff2, "") == "xls"
    result = read_attachment("bc.xls", "", biff2, FORM, dt.date(2021, 8, 16))
    assert (result.outcome, result.values) == ("read", {"ho_kinh_doanh": {"de_nghi": 25}})
