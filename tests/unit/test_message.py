"""parsers.message: headers, attachments and automatic-mail detection, one quirk each."""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.message import automatic_reason, normalize_message_id, parse_message
from parsers.text import safe_filename
from tests.mailbuilders import XLSX, email_bytes


def test_basic_fields():
    raw = email_bytes(
        sender='"Văn thư" <VanThu.DucXuan@Gmail.COM>',
        subject="P. Đức Xuân báo cáo",
        message_id="<abc.123@gmail.com>",
        date=dt.datetime(2021, 8, 11, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7))),
        attachments=[("Báo cáo.xlsx", XLSX, b"PK\x03\x04data")],
    )
    m = parse_message(raw)
    assert m.from_address == "vanthu.ducxuan@gmail.com" and m.from_name == "Văn thư"
    assert m.subject == "P. Đức Xuân báo cáo"
    assert m.message_id == "abc.123@gmail.com"
    assert m.date_header == dt.datetime(2021, 8, 11, 2, 30, tzinfo=dt.UTC)
    [a] = m.attachments
    assert (a.filename, a.content_type, a.data) == ("Báo cáo.xlsx", XLSX, b"PK\x03\x04data")
    assert m.automatic_reason is None


def test_rfc2047_windows1258_subject_is_nfc():
    # "Báo cáo" in windows-1258 with a combining acute accent (0xEC) after 'a' and 'o'.
    raw = (
        b"From: a@b.vn\r\nSubject: =?windows-1258?Q?Ba=ECo_ca=ECo?=\r\nMessage-ID: <x@y>\r\n"
        b"Date: Wed, 11 Aug 2021 08:00:00 +0700\r\n\r\nbody\r\n"
    )
    assert parse_message(raw).subject == "Báo cáo"


def test_raw_utf8_headers():
    raw = (
        "From: BHXH thành phố <bhxh.tp@example.gov.vn>\r\nSubject: Báo cáo ngày 11/8\r\n"
        "Message-ID: <m@x>\r\n\r\nbody\r\n"
    ).encode()
    m = parse_message(raw)
    assert m.subject == "Báo cáo ngày 11/8" and m.from_name == "BHXH thành phố"


@pytest.mark.parametrize(
    "headers,expected",
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted"),
        ({"Auto-Submitted": "auto-generated; foo"}, "Auto-Submitted"),
        ({"Precedence": "bulk"}, "Precedence"),
        ({"Precedence": "junk"}, "Precedence"),
        ({"Precedence": "list"}, "Precedence"),
        ({"X-Autoreply": "yes"}, "x-autoreply"),
        ({"List-Id": "<news.example.org>"}, "List-Id"),
        ({"Return-Path": "<>"}, "null sender"),
    ],
)
def test_automatic_headers(headers, expected):
    assert expected in parse_message(email_bytes(headers=headers)).automatic_reason


def test_auto_submitted_no_is_a_person():
    assert parse_message(email_bytes(headers={"Auto-Submitted": "no"})).automatic_reason is None


def test_delivery_report_and_mailer_daemon():
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mail.example.gov.vn>\r\nSubject: Undelivered\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b--\r\n"
    )
    assert "multipart/report" in parse_message(raw).automatic_reason
    assert "MAILER-DAEMON" in automatic_reason({}, "mailer-daemon@x.vn", "Hi", False)


def test_out_of_office_subject_without_attachment():
    assert parse_message(email_bytes(subject="Trả lời tự động: Báo cáo")).automatic_reason
    assert parse_message(email_bytes(subject="Automatic reply: report")).automatic_reason
    with_file = email_bytes(subject="Auto reply", attachments=[("a.xlsx", XLSX, b"x")])
    assert parse_message(with_file).automatic_reason is None


@pytest.mark.parametrize(
    "name,expected",
    [
        ("../../etc/passwd", "passwd"),
        ("a\x00b\x1f.xlsx", "a b .xlsx"),
        ("C:\\Users\\x\\bc.xls", "bc.xls"),
        ("", "attachment-1"),
        ("..", "attachment-1"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name, "attachment-1") == expected


def test_long_filename_keeps_extension():
    name = safe_filename("x" * 1000 + ".xlsx", "attachment-1")
    assert len(name) <= 200 and name.endswith(".xlsx")


def test_message_id_normalisation():
    assert normalize_message_id(" <a@b> ") == "a@b"
    assert normalize_message_id("a@b (comment)") == "a@b"
    assert normalize_message_id("") is None and normalize_message_id(None) is None


@pytest.mark.parametrize("raw", [b"", b"\x00\xff" * 100, b"From: \r\n\r\n", b"Content-Type: multipart/mixed\r\n\r\n--"])
def test_garbage_is_an_empty_message_from_nobody_not_an_automatic_one(raw):
    m = parse_message(raw)
    # nothing invented, and not dropped as automatic mail: it stays in sight as unassigned
    assert (m.subject, m.from_address, m.message_id, m.date_header) == ("", None, None, None)
    assert (m.attachments, m.body_text, m.automatic_reason) == ((), "", None)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw):
    m = parse_message(raw)
    assert isinstance(m.subject, str)


# -- folded and encoded header fields (RFC 5322 unfolding, RFC 2047, RFC 2231) ------------------


def _with_subject(field: bytes) -> bytes:
    return b"From: a@b.vn\r\nSubject: " + field + b"\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n"


@pytest.mark.parametrize(
    "field, expected",
    [
        # an encoded-word, a fold, then plain 8-bit text: the fold's white space is a space
        ("=?utf-8?q?B=C3=A1o_c=C3=A1o_c=E1=BB=A7a?=\r\n phường Sông Cầu".encode(), "Báo cáo của phường Sông Cầu"),
        # plain text, a fold, then an encoded-word
        (b"Bao cao cua\r\n =?utf-8?q?ph=C6=B0=E1=BB=9Dng?= Song Cau", "Bao cao cua phường Song Cau"),
        # two encoded-words across a fold: the white space between them is not text (RFC 2047)
        (
            b"=?utf-8?q?B=C3=A1o_c=C3=A1o_c=E1=BB=A7a_?=\r\n =?utf-8?b?cGjGsOG7nW5nIFPDtG5nIEPhuqd1?=",
            "Báo cáo của phường Sông Cầu",
        ),
        # plain text folded over three lines
        (
            "Báo cáo tiến độ ngày 11/8 của\r\n phường\r\n\tSông Cầu".encode(),
            "Báo cáo tiến độ ngày 11/8 của phường Sông Cầu",
        ),
    ],
)
def test_a_folded_subject_keeps_the_white_space_of_each_fold(field, expected):
    assert parse_message(_with_subject(field)).subject == expected


def test_a_utf8_subject_split_inside_a_character_across_encoded_words():
    data = "Báo cáo phường Sông Cầu".encode()
    words = b"\r\n ".join(b"=?utf-8?b?" + base64.b64encode(data[i : i + 5]) + b"?=" for i in range(0, len(data), 5))
    assert parse_message(_with_subject(words)).subject == "Báo cáo phường Sông Cầu"


def _with_attachment(disposition: str) -> bytes:
    return (
        "From: a@b.vn\r\nSubject: x\r\nMessage-ID: <x@y>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        f"--BB\r\nContent-Type: application/octet-stream\r\nContent-Disposition: {disposition}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--BB--\r\n"
    ).encode()


NAME = "Báo cáo phường Sông Cầu.xlsx"


def _split_inside_characters(size: int, skip: int = 0) -> list[bytes]:
    """NAME in UTF-8 from its `skip`th character, in chunks of `size` bytes."""
    data = NAME[skip:].encode()
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    assert any(c[-1] >= 0x80 for c in chunks[:-1]), "the chunks must cut a character"
    return chunks


@pytest.mark.parametrize(
    "disposition",
    [
        # RFC 2047 encoded-words (Outlook, Thunderbird), B and Q, each cutting a character in two
        # ... after raw 8-bit text (SMTPUTF8 mailers mix both)
        'attachment; filename="Báo cáo '
        + "\r\n ".join(
            f"=?utf-8?b?{base64.b64encode(c).decode()}?=" for c in _split_inside_characters(5, skip=len("Báo cáo "))
        )
        + '"',
        'attachment; filename="'
        + "\r\n ".join(f"=?utf-8?b?{base64.b64encode(c).decode()}?=" for c in _split_inside_characters(7))
        + '"',
        'attachment; filename="'
        + "\r\n ".join("=?UTF-8?Q?" + "".join(f"={b:02X}" for b in c) + "?=" for c in _split_inside_characters(5))
        + '"',
        # RFC 2231 continuations, each percent-encoded segment cutting a character in two
        "attachment;"
        + ";".join(
            f"\r\n filename*{i}*={'utf-8' + chr(39) * 2 if i == 0 else ''}{urllib.parse.quote(c)}"
            for i, c in enumerate(_split_inside_characters(7))
        ),
    ],
)
def test_a_utf8_file_name_split_inside_a_character_is_joined_before_decoding(disposition):
    [att] = parse_message(_with_attachment(disposition)).attachments
    assert att.filename == NAME


@pytest.mark.parametrize(
    "disposition, expected",
    [
        (
            'attachment; filename="=?utf-8?q?B=C3=A1o_c=C3=A1o?=\r\n phuong Song Cau.xlsx"',
            "Báo cáo phuong Song Cau.xlsx",
        ),
        ('attachment; filename="Báo  cáo   ngày 11.xlsx"', "Báo  cáo   ngày 11.xlsx"),
        ("attachment; filename*=utf-8''B%C3%A1o%20%20c%C3%A1o.xlsx", "Báo  cáo.xlsx"),
        ('attachment; filename="=?utf-8?q?B=C3=A1o__c=C3=A1o=2Exlsx?="', "Báo  cáo.xlsx"),
    ],
)
def test_file_names_keep_their_spaces_as_sent(disposition, expected):
    [att] = parse_message(_with_attachment(disposition)).attachments
    assert att.filename == expected
