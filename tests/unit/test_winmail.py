"""Outlook's winmail.dat (TNEF): the files it holds are the message's attachments."""

from __future__ import annotations

import datetime as dt
import struct

from parsers.message import MAX_ATTACHMENTS, parse_message
from parsers.report import read_attachment
from parsers.winmail import MAX_TNEF_OBJECTS, unpack_winmail
from tests.mailbuilders import email_bytes, report_workbook
from tests.unit.builders import FORM


def _obj(level: int, attribute: int, data: bytes) -> bytes:
    """One TNEF attribute: level, id (name and type), length, data, checksum."""
    name, kind = attribute & 0xFFFF, attribute >> 16
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def tnef(files: list[tuple[str, bytes]]) -> bytes:
    """A winmail.dat as Outlook writes it for a message with these attached files."""
    out = struct.pack("<IH", 0x223E9F78, 1)
    out += _obj(1, 0x00089006, struct.pack("<I", 0x10000))  # attTnefVersion
    out += _obj(1, 0x00069007, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += _obj(1, 0x00078008, b"IPM.Microsoft Mail.Note\0")  # attMessageClass
    for name, data in files:
        out += _obj(2, 0x00069002, b"\x01\x00\xff\xff\xff\xff" + b"\0" * 8)  # attAttachRendData
        out += _obj(2, 0x00018010, name.encode() + b"\0")  # attAttachTitle
        out += _obj(2, 0x0006800F, data)  # attAttachData
    return out


def test_the_report_inside_winmail_dat_is_an_attachment_and_is_read() -> None:
    book = report_workbook({"Hỗ trợ hộ kinh doanh": {"Số đối tượng đề nghị hỗ trợ": 12}})
    raw = email_bytes(attachments=[("winmail.dat", "application/ms-tnef", tnef([("BC 16.8.xlsx", book)]))])
    parsed = parse_message(raw)
    assert [(a.filename, a.data) for a in parsed.attachments] == [("BC 16.8.xlsx", book)]
    result = read_attachment(parsed.attachments[0].filename, "", book, FORM, dt.date(2021, 8, 16))
    assert result.values == {"ho_kinh_doanh": {"de_nghi": 12}}


def test_winmail_dat_named_otherwise_is_still_unpacked() -> None:
    raw = email_bytes(attachments=[("ATT00001.bin", "application/octet-stream", tnef([("a.pdf", b"%PDF-1.4")]))])
    assert [a.filename for a in parse_message(raw).attachments] == ["a.pdf"]


def test_a_damaged_winmail_dat_stays_the_file_it_is() -> None:
    data = tnef([("a.xlsx", b"PK\x03\x04")])[:40]
    raw = email_bytes(attachments=[("winmail.dat", "application/ms-tnef", data)])
    assert [a.filename for a in parse_message(raw).attachments] == ["winmail.dat"]


def test_a_container_of_countless_tiny_objects_is_not_unpacked() -> None:
    data = struct.pack("<IH", 0x223E9F78, 1) + _obj(1, 0x00089006, b"") * (MAX_TNEF_OBJECTS + 10)
    assert unpack_winmail(data, 1 << 20) is None


def test_a_file_in_winmail_over_the_size_limit_is_left_out() -> None:
    assert [a.filename for a in unpack_winmail(tnef([("big.xlsx", b"x" * 100), ("ok.csv", b"a,b")]), 50)] == ["ok.csv"]


def test_files_of_a_winmail_dat_past_the_attachment_cap_are_named() -> None:
    files = [(f"bc{i}.csv", b"a,b") for i in range(MAX_ATTACHMENTS + 10)]
    parsed = parse_message(email_bytes(attachments=[("winmail.dat", "application/ms-tnef", tnef(files))]))
    assert len(parsed.attachments) == MAX_ATTACHMENTS
    assert [(p.code, p.params) for p in parsed.problems] == [
        ("too_many_attachments", {"count": str(MAX_ATTACHMENTS + 10), "read": str(MAX_ATTACHMENTS), "skipped": "10"})
    ]


def test_parts_after_a_full_winmail_dat_are_counted_not_added() -> None:
    inner = [(f"bc{i}.csv", b"a,b") for i in range(MAX_ATTACHMENTS)]
    after = [(f"sau{i}.csv", "text/csv", b"a,b") for i in range(3)]
    parsed = parse_message(email_bytes(attachments=[("winmail.dat", "application/ms-tnef", tnef(inner)), *after]))
    assert len(parsed.attachments) == MAX_ATTACHMENTS
    assert [p.params["skipped"] for p in parsed.problems if p.code == "too_many_attachments"] == ["3"]
