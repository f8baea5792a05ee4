"""parsers.message.content_sha256: the same mail delivered twice hashes the same; any other
body or attachment does not (the pipeline's "same message" rule stands on it)."""

from __future__ import annotations

import base64
import hashlib
import quopri

from parsers.message import parse_message
from parsers.model import ReadLimits
from tests.mailbuilders import XLSX, email_bytes

MID = "<reused@example.gov.vn>"
BOOK = b"PK\x03\x04 the unit's workbook"


def report(body: str = "Kính gửi phòng LĐTBXH.", book: bytes = BOOK) -> bytes:
    return email_bytes(message_id=MID, body=body, attachments=[("bao-cao.xlsx", XLSX, book)])


def delivered_again(raw: bytes) -> bytes:
    """The same mail as a second delivery writes it: its own transport fields on top."""
    return (
        b"Return-Path: <bhxh.tp@example.gov.vn>\r\nDelivered-To: baocao@example.gov.vn\r\n"
        b"Received: from mx2.example.gov.vn by mail.example.gov.vn; Wed, 11 Aug 2021 08:01:02 +0700\r\n"
        b"Authentication-Results: mail.example.gov.vn; dkim=pass header.d=example.gov.vn\r\n"
        b"X-Spam-Score: 0.1\r\n"
    ) + raw


def content(raw: bytes, **limits) -> str | None:
    return parse_message(raw, ReadLimits(**limits) if limits else None).content_sha256


def test_transport_fields_do_not_change_it():
    raw = report()
    again = delivered_again(raw)
    assert hashlib.sha256(raw).digest() != hashlib.sha256(again).digest()
    assert content(raw) is not None and content(raw) == content(again)


def test_line_ends_do_not_change_it():
    raw = report()
    assert content(raw.replace(b"\r\n", b"\n")) == content(raw)


def test_transfer_encoding_does_not_change_it():
    text = "Kính gửi phòng LĐTBXH,\r\nbáo cáo số liệu ngày 11/8.\r\n".encode()
    head = (
        b"From: bhxh.tp@example.gov.vn\r\nSubject: x\r\nMessage-ID: "
        + MID.encode()
        + b"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    )
    qp = head + b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + quopri.encodestring(text)
    b64 = head + b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(text)
    assert content(qp) == content(b64)


def test_another_body_or_attachment_changes_it():
    assert content(report()) != content(report(body="Báo cáo bổ sung."))
    assert content(report()) != content(report(book=BOOK + b" corrected"))


def test_unparsable_message_still_has_one():
    # 1,000 nested multiparts: mail-parser gives up, the headers are read on their own.
    nested = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1) for i in range(1000))
    raw = (
        b"From: bhxh.tp@example.gov.vn\r\nMessage-ID: "
        + MID.encode()
        + b"\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
        + nested
        + b"--b1000\r\n\r\nx\r\n"
    )
    parsed = parse_message(raw)
    assert [p.code for p in parsed.problems] == ["message_unparsable"]
    assert parsed.content_sha256 is not None
    assert parse_message(delivered_again(raw)).content_sha256 == parsed.content_sha256


def test_an_attachment_too_big_to_read_still_counts():
    # Left out of parsing (over the limit), the file still tells two messages apart.
    one, other = report(book=BOOK * 100), report(book=BOOK[::-1] * 100)
    assert content(one, max_attachment_bytes=1000) != content(other, max_attachment_bytes=1000)
    assert content(delivered_again(one), max_attachment_bytes=1000) == content(one, max_attachment_bytes=1000)
