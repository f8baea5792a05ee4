"""The shortcuts of the per-message reading (issue 14): each gives what the long way gave.

Delimiter lines and boundary parameters found by `bytes.find`, an attachment sniffed once
for both the recognition check and the reading, package parts without a DTD parsed by the
C parser, cells built without the dataclass's `__init__`, the form's index by identity.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

import pytest
from defusedxml import DTDForbidden

from parsers.mailbounds import MAX_MIME_PARTS, bound_message
from parsers.message import parse_message
from parsers.model import ReadLimits
from parsers.readers.common import Cell, TextDecoder, make_cell
from parsers.readers.ooxml import xml_root
from parsers.report import form_index, needs_recognition, read_attachment, sniff_attachment
from parsers.vntext import fold_spaces, unify_d
from service.config import load_config
from tests.mailbuilders import EXAMPLE_CONFIG
from tests.unit.builders import two_row_header_sheet, xlsx

HEAD = b"From: BHXH <bhxh.tp@example.gov.vn>\r\nMessage-ID: <s1@example.gov.vn>\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
LIMIT = ReadLimits().max_attachment_bytes


def _part(name: bytes, data: bytes) -> bytes:
    return (
        b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="
        + name
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(data).replace(b"\n", b"\r\n")
    )


def test_a_boundary_parameter_in_capitals_and_one_boundary_the_start_of_another() -> None:
    # "b1" is the start of "b10": each delimiter line is counted once, for its own boundary.
    inner = b'Content-Type: multipart/mixed; boundary="b10"\r\n\r\n' + b"".join(
        b"--b10\r\n" + _part(b"in%d.bin" % i, b"x") for i in range(3)
    )
    raw = (
        HEAD
        + b'Content-Type: multipart/mixed; BOUNDARY = "b1"\r\n\r\n--b1\r\n'
        + inner
        + b"--b10--\r\n--b1\r\n"
        + _part(b"out.bin", b"y")
        + b"--b1--\r\n"
    )
    bounded = bound_message(raw, LIMIT)
    assert bounded.raw is raw and bounded.parts_total == 5
    assert [a.filename for a in parse_message(raw).attachments] == ["in0.bin", "in1.bin", "in2.bin", "out.bin"]


def test_a_delimiter_on_the_first_line_and_lines_that_only_start_like_one() -> None:
    # A body line "--Bx" or "--B junk" is no delimiter; the parts past the cap are cut.
    body = b"".join(b"--B\r\n" + _part(b"f%d.bin" % i, b"--Bx\r\n--B junk\r\n") for i in range(MAX_MIME_PARTS + 5))
    raw = b"--B\r\n" + HEAD + b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" + body + b"--B--\r\n"
    bounded = bound_message(raw, LIMIT)
    assert bounded.parts_total == MAX_MIME_PARTS + 6 and bounded.parts_cut == 6


def test_an_attachment_named_only_by_its_content_type() -> None:
    raw = (
        HEAD
        + b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        + b'Content-Type: application/octet-stream;\r\n NAME="=?utf-8?B?'
        + base64.b64encode("Báo cáo.xlsx".encode())
        + b'?="\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + base64.encodebytes(b"PK")
        + b"--B--\r\n"
    )
    assert [a.filename for a in parse_message(raw).attachments] == ["Báo cáo.xlsx"]


def test_headers_read_for_automatic_mail_and_the_sender() -> None:
    raw = HEAD.replace(b"Subject: s\r\n", b"Subject: s\r\nTo: a@x.vn, b@y.vn\r\nAUTO-SUBMITTED: auto-replied\r\n")
    m = parse_message(raw + b"Content-Type: text/plain\r\n\r\nhi\r\n")
    assert m.automatic_reason == "Auto-Submitted: auto-replied"
    assert (m.from_name, m.from_address, m.message_id) == ("BHXH", "bhxh.tp@example.gov.vn", "s1@example.gov.vn")


def test_an_attachment_sniffed_once_reads_as_before() -> None:
    form = load_config(EXAMPLE_CONFIG, require_secrets=False).form
    data = xlsx(two_row_header_sheet())
    fmt = sniff_attachment("r.xlsx", "application/octet-stream", data)
    assert fmt == "xlsx"
    day = dt.date(2021, 8, 11)
    told = read_attachment("r.xlsx", "application/octet-stream", data, form, day, fmt=fmt)
    assert told == read_attachment("r.xlsx", "application/octet-stream", data, form, day)
    assert told.outcome == "read" and told.values
    assert needs_recognition("r.xlsx", "", data, form, fmt) is None
    assert needs_recognition("p.jpg", "", b"\xff\xd8\xff\xe0" + b"\0" * 64, form, "image") == "image"


def test_package_parts_with_a_dtd_are_still_refused() -> None:
    assert xml_root(b'<r xmlns="urn:x"><a v="1"/></r>').find("{urn:x}a").get("v") == "1"
    with pytest.raises(DTDForbidden):
        xml_root(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>')
    with pytest.raises(DTDForbidden):  # UTF-16: the check looks through the NULs
        xml_root('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r><r/>'.encode("utf-16"))


@pytest.mark.parametrize("value", ["Số tiền", 46, 1.5, True, dt.date(2021, 8, 11), dt.timedelta(hours=1)])
def test_a_cell_is_the_frozen_dataclass_it_always_was(value: object) -> None:
    cell = make_cell(value, 12, 28, TextDecoder())
    assert cell is not None and cell.coordinate == "AB12"
    same = Cell(cell.value, cell.text, None, False, "AB12")
    assert cell == same and hash(cell) == hash(same) and repr(cell) == repr(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cell.text = "x"  # type: ignore[misc]


def test_the_form_index_of_an_equal_form_is_the_same_index() -> None:
    form = load_config(EXAMPLE_CONFIG, require_secrets=False).form
    copy = dataclasses.replace(form)
    assert copy is not form and form_index(copy) is form_index(form)
    other = dataclasses.replace(form, indicators=form.indicators[:1])
    assert form_index(other) is not form_index(form) and len(form_index(other).indicators) == 1


def test_text_helpers_that_now_look_first() -> None:
    assert fold_spaces(" a\u200cb \u200d c\u2060 ") == "ab c"
    assert unify_d("\u00d0\u00f0 \u0189\u0256") == "Đđ Đđ" and unify_d("Đồng") == "Đồng"
