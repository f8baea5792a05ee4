"""Hostile messages: each is read in bounded time into bounded, storable text, or named.

One quirk per test, built in code. The pipeline-level versions (Dovecot, database)
are in tests/integration/test_hostile.py.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
import urllib.parse
from decimal import Decimal

import pytest

from parsers.authresults import AuthenticationResults, AuthResult, check_sender, parse_authentication_results
from parsers.mailbounds import MAX_FIELD_BYTES, MAX_HEADER_BYTES, MAX_MIME_PARTS, BoundedMessage, bound_message
from parsers.message import MAX_ATTACHMENTS, parse_message
from parsers.model import AttachmentResult, ParsedMessage, Problem, ReadLimits
from service.config import SecurityConfig, load_config
from service.ingest.analysis import MAX_ABS_VALUE, Routing, analyse_message, storable_result
from tests.mailbuilders import EXAMPLE_CONFIG, XLSX, email_bytes, simple_report

DAY = dt.date(2021, 8, 11)
UNIT = b"bhxh.tp@example.gov.vn"
HEAD = (
    b"From: BHXH <" + UNIT + b">\r\nTo: baocao@example.gov.vn\r\nMessage-ID: <h1@example.gov.vn>\r\n"
    b"Date: Wed, 11 Aug 2021 08:00:00 +0700\r\n"
)
# Nothing a database column or a terminal should ever get.
UNSTORABLE = re.compile("[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200b-\u200f\ud800-\udfff]")


@pytest.fixture(scope="module")
def routing() -> Routing:
    cfg = load_config(EXAMPLE_CONFIG, require_secrets=False)
    return Routing(units=cfg.units, form=cfg.form)


def parsed(raw: bytes, limits: ReadLimits | None = None) -> tuple[ParsedMessage, BoundedMessage]:
    """The message, and what the MIME parser underneath was handed: the bound on its work
    whatever the machine (`bound_message` caps each field, header block and the parts)."""
    limits = limits or ReadLimits()
    return parse_message(raw, limits), bound_message(raw, limits.max_attachment_bytes)


def assert_storable(m: ParsedMessage) -> None:
    for text in (
        m.subject,
        m.from_name or "",
        m.from_address or "",
        m.message_id or "",
        m.in_reply_to or "",
        m.automatic_reason or "",
        *(a.filename for a in m.attachments),
        *(a.content_type for a in m.attachments),
    ):
        assert not UNSTORABLE.search(text), repr(text)
    assert len(m.subject) <= 1000 and len(m.from_name or "") <= 200 and len(m.message_id or "") <= 500
    assert all(len(a.filename) <= 200 for a in m.attachments)


def multipart(*parts: bytes, head: bytes = HEAD + b"Subject: parts\r\n", boundary: bytes = b"BB") -> bytes:
    out = [head, b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n']
    for p in parts:
        out += [b"--" + boundary + b"\r\n", p]
    out.append(b"--" + boundary + b"--\r\n")
    return b"".join(out)


def attachment_part(filename_header: bytes, data: bytes, ctype: bytes = b"application/octet-stream") -> bytes:
    return (
        b"Content-Type: "
        + ctype
        + b"\r\nContent-Disposition: attachment; "
        + filename_header
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(data).replace(b"\n", b"\r\n")
    )


def rfc2231(name: str) -> bytes:
    return b"filename*=utf-8''" + urllib.parse.quote(name, safe="").encode()


# -- over-long and malformed headers --------------------------------------------------------


def test_one_megabyte_subject_is_cut_quickly() -> None:
    m, handed = parsed(HEAD + b"Subject: " + b"A" * 1_000_000 + b"\r\n\r\nbody\r\n")
    assert len(handed.raw) <= len(HEAD) + MAX_FIELD_BYTES + 16
    assert m.subject == "A" * 1000 and m.from_address == UNIT.decode()


def test_one_megabyte_of_encoded_words_is_not_quadratic() -> None:
    # mail-parser decodes encoded-words in quadratic time: this took 20 s before the cap.
    m, handed = parsed(HEAD + b"Subject: " + b"=?utf-8?b?w6E=?= " * 60_000 + b"\r\n\r\nbody\r\n")
    assert len(handed.raw) <= len(HEAD) + MAX_FIELD_BYTES + 16
    assert m.subject.startswith("ááá") and len(m.subject) <= 1000


def test_encoded_words_in_an_attachment_name_are_bounded_too() -> None:
    name = b'filename="' + b"=?utf-8?b?w6E=?= " * 60_000 + b'.xlsx"'
    m, handed = parsed(multipart(attachment_part(name, b"PK\x03\x04")))
    assert len(handed.raw) <= 2 * MAX_FIELD_BYTES
    [a] = m.attachments
    assert len(a.filename) <= 200 and a.filename.startswith("ááá")  # the cut lost the closing quote


def test_a_huge_to_field_does_not_push_the_subject_out() -> None:
    to = b"To: " + b", ".join(b'"N%d" <u%d@example.vn>' % (i, i) for i in range(50_000)) + b"\r\n"
    m, handed = parsed(HEAD + to + b"Subject: still here\r\n\r\nbody\r\n")
    assert len(handed.raw) <= len(HEAD) + MAX_FIELD_BYTES + 64
    assert m.subject == "still here" and m.message_id == "h1@example.gov.vn"


def test_five_hundred_to_addresses() -> None:
    to = b"To: " + b", ".join(b"u%d@example.vn" % i for i in range(500)) + b"\r\n"
    m, _ = parsed(HEAD + to + b"Subject: x\r\n\r\nbody\r\n")
    assert m.from_address == UNIT.decode() and m.subject == "x"


def test_two_hundred_thousand_header_fields() -> None:
    m, handed = parsed(b"From: " + UNIT + b"\r\n" + b"X-A: b\r\n" * 200_000 + b"Subject: last\r\n\r\nb\r\n")
    assert len(handed.raw) <= MAX_HEADER_BYTES + 64
    assert m.from_address == UNIT.decode() and m.subject == "last"


@pytest.mark.parametrize("bad_line", [b"This line has no colon", b"\x00\x01", b"=?utf-8?b?w6E=?="])
def test_a_header_line_without_colon_loses_no_field_after_it(bad_line: bytes) -> None:
    raw = b"From: " + UNIT + b"\r\n" + bad_line + b"\r\nSubject: hi\r\nMessage-ID: <m2@x>\r\n\r\nbody\r\n"
    m = parse_message(raw)
    assert (m.from_address, m.subject, m.message_id) == (UNIT.decode(), "hi", "m2@x")


@pytest.mark.parametrize("first_line", [b"garbage line", b" a continuation of nothing"])
def test_a_first_line_that_is_no_field(first_line: bytes) -> None:
    m = parse_message(first_line + b"\r\nFrom: " + UNIT + b"\r\nSubject: hi\r\n\r\nbody\r\n")
    assert (m.from_address, m.subject) == (UNIT.decode(), "hi")


def test_nul_bytes_never_reach_a_field() -> None:
    raw = (
        b"From: BH\x00XH <" + UNIT + b">\r\nSubject: a\x00b\r\nMessage-ID: <m\x001@x>\r\n"
        b"In-Reply-To: <r\x00@x>\r\n\r\nbo\x00dy\r\n"
    )
    m = parse_message(raw)
    assert_storable(m)
    assert m.message_id == "m1@x" and m.subject == "ab" and m.from_address == UNIT.decode()
    assert "\x00" not in m.body_text


def test_invalid_encoded_words_are_shown_as_written() -> None:
    raw = HEAD + (
        b"Subject: =?utf-8?q?=FF=FE?= =?bogus-charset?b?AAAA?= =?utf-8?b?###?= =?utf-8?x?abc?=\r\n\r\nbody\r\n"
    )
    m = parse_message(raw)
    assert_storable(m)
    assert "=?utf-8?x?abc?=" in m.subject


def test_windows_1258_bytes_in_a_header_are_decoded() -> None:
    raw = (
        b"From: "
        + "Văn thư".encode("cp1258")
        + b" <"
        + UNIT
        + b">\r\nSubject: "
        + "Báo cáo".encode("cp1258")
        + b"\r\n\r\nbody\r\n"
    )
    m = parse_message(raw)
    assert (m.subject, m.from_name) == ("Báo cáo", "Văn thư")


@pytest.mark.parametrize(
    "from_field",
    [b"Chi Van Thu", b"", b"undisclosed-recipients:;", b"<>", b"=?utf-8?q?bhxh=2Etp=40example=2Egov=2Evn?="],
)
def test_a_from_with_no_address_is_unassigned(from_field: bytes, routing: Routing) -> None:
    raw = b"From: " + from_field + b"\r\nSubject: x\r\nMessage-ID: <n@x>\r\n\r\nbody\r\n"
    a = analyse_message(raw, routing, DAY)
    assert a.parsed.from_address is None
    assert (a.kind, a.reason, a.unit_code) == ("unassigned", "no_sender_address", None)


def test_an_address_hidden_in_the_display_name_is_not_the_sender() -> None:
    m = parse_message(b'From: "' + UNIT + b'" <a@evil.example>\r\nSubject: x\r\n\r\nb\r\n')
    assert m.from_address == "a@evil.example" and m.from_addresses == ("a@evil.example",)


def test_rtl_override_and_invisible_characters_leave_the_subject() -> None:
    subject = "Báo cáo\u202egnp.exe\u200b\U000e0041\ufeff"
    raw = HEAD + b"Subject: =?utf-8?b?" + base64.b64encode(subject.encode()) + b"?=\r\n\r\nb\r\n"
    m = parse_message(raw)
    assert_storable(m)
    assert m.subject == "Báo cáo gnp.exe"


def test_long_message_id_is_bounded() -> None:
    m = parse_message(b"From: a@b.vn\r\nMessage-ID: <" + b"a" * 100_000 + b"@x>\r\n\r\nb\r\n")
    assert m.message_id is not None and 0 < len(m.message_id) <= 500 and "<" not in m.message_id


# -- attachment names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\bc.xlsx", "bc.xlsx"),
        ("bc\x00.xlsx", "bc .xlsx"),
        ("b\x07c\x1b[31m.xlsx", "b c [31m.xlsx"),
        ("bao-cao\u202exslx.exe", "bao-cao xslx.exe"),
        ("\u2066bc\u2069.xlsx", "bc .xlsx"),
        ("/", "attachment-1"),
        ("..", "attachment-1"),
        ('=HYPERLINK("http:\\\\evil","x").xlsx', 'evil","x").xlsx'),
    ],
)
def test_hostile_attachment_names_are_cleaned(name: str, expected: str) -> None:
    m = parse_message(multipart(attachment_part(rfc2231(name), b"data")))
    assert_storable(m)
    assert [a.filename for a in m.attachments] == [expected]


def test_a_thousand_character_name_keeps_its_extension() -> None:
    m = parse_message(multipart(attachment_part(rfc2231("Báo cáo " * 125 + ".xlsx"), b"data")))
    [a] = m.attachments
    assert len(a.filename) <= 200 and a.filename.endswith(".xlsx") and a.filename.startswith("Báo cáo")


def test_unnamed_attached_parts_get_the_same_name_every_time() -> None:
    raw = multipart(b"Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nhello\r\n")
    assert [a.filename for a in parse_message(raw).attachments] == ["attachment-1.txt"]
    assert parse_message(raw) == parse_message(raw)


# -- many parts, deep nesting, big parts ----------------------------------------------------


def numbered_parts(n: int) -> bytes:
    return multipart(*[attachment_part(b"filename=f%d.bin" % i, b"\0\0\0") for i in range(n)])


def test_ten_thousand_parts_read_the_first_fifty_and_name_the_rest() -> None:
    m, handed = parsed(numbered_parts(10_000))
    assert handed.raw.count(b"\r\n--BB\r\n") <= MAX_MIME_PARTS
    assert [a.filename for a in m.attachments] == [f"f{i}.bin" for i in range(MAX_ATTACHMENTS)]
    [problem] = m.problems
    assert problem == Problem("too_many_attachments", {"count": "10000", "read": "50", "skipped": "9950"})


def test_just_over_fifty_attachments() -> None:
    m = parse_message(numbered_parts(MAX_ATTACHMENTS + 1))
    assert len(m.attachments) == MAX_ATTACHMENTS
    assert m.problems[0].params["skipped"] == "1"


def test_fifty_attachments_is_no_problem() -> None:
    m = parse_message(numbered_parts(MAX_ATTACHMENTS))
    assert len(m.attachments) == MAX_ATTACHMENTS and m.problems == ()


def test_a_million_empty_parts_is_cut_before_the_parser() -> None:
    raw = (
        b"From: "
        + UNIT
        + b"\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        + b"--B\r\n\r\n" * 1_000_000
    )
    bounded = bound_message(raw, ReadLimits().max_attachment_bytes)
    assert bounded.parts_total >= 1_000_000 and bounded.parts_cut == 1_000_000 - MAX_MIME_PARTS
    m, handed = parsed(raw)
    assert handed.raw.count(b"--B\r\n") <= MAX_MIME_PARTS
    assert m.from_address == UNIT.decode() and m.subject == "x"


def test_nesting_a_thousand_levels_deep_keeps_the_sender() -> None:
    raw = HEAD + b"Subject: nest\r\nMIME-Version: 1.0\r\n"
    for i in range(1000):
        raw += b"Content-Type: multipart/mixed; boundary=B%d\r\n\r\n--B%d\r\n" % (i, i)
    raw += b"Content-Type: text/plain\r\n\r\nhi\r\n" + b"".join(b"--B%d--\r\n" % i for i in reversed(range(1000)))
    m, _ = parsed(raw)
    assert (m.from_address, m.subject, m.message_id) == (UNIT.decode(), "nest", "h1@example.gov.vn")
    assert [p.code for p in m.problems] == ["message_unparsable"]


SMALL = ReadLimits(max_attachment_bytes=100_000)


def test_a_part_over_the_byte_cap_is_named_and_never_decoded() -> None:
    big = attachment_part(b'filename="big.xlsx"', b"\x01" * 1_000_000, XLSX.encode())
    small = attachment_part(b'filename="small.xlsx"', b"PK\x03\x04small", XLSX.encode())
    bounded = bound_message(multipart(big, small), SMALL.max_attachment_bytes)
    assert len(bounded.raw) < 10_000  # the big body is not handed to the parser at all
    m = parse_message(multipart(big, small), SMALL)
    assert [a.filename for a in m.attachments] == ["small.xlsx"]
    [problem] = m.problems
    assert problem.code == "over_limit" and problem.params["file"] == "big.xlsx"
    assert problem.params["limit"] == "attachment_bytes" and problem.params["detail"] == "100000"


def test_a_part_just_under_the_cap_is_decoded() -> None:
    data = b"\x02" * 99_000
    m = parse_message(multipart(attachment_part(b'filename="ok.xlsx"', data)), SMALL)
    assert [a.data for a in m.attachments] == [data] and m.problems == ()


def test_a_single_part_message_that_is_one_big_file() -> None:
    raw = (
        HEAD
        + (
            b"Subject: x\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
            b"filename=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        )
        + base64.encodebytes(b"%PDF" * 100_000)
    )
    m = parse_message(raw, SMALL)
    assert m.attachments == () and [p.params["file"] for p in m.problems] == ["scan.pdf"]


def test_a_huge_body_text_is_left_out_silently() -> None:
    raw = multipart(
        b"Content-Type: text/plain\r\n\r\n" + b"x" * 1_000_000 + b"\r\n", attachment_part(b"filename=a.xlsx", b"PK")
    )
    m = parse_message(raw, SMALL)
    assert m.body_text == "" and [a.filename for a in m.attachments] == ["a.xlsx"] and m.problems == ()


def test_a_huge_preamble_and_epilogue_are_dropped() -> None:
    raw = (
        HEAD
        + b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
        + b"p" * 1_000_000
        + b"\r\n--B\r\n"
        + attachment_part(b"filename=a.xlsx", b"PK")
        + b"--B--\r\n"
        + b"e" * 1_000_000
    )
    bounded = bound_message(raw, SMALL.max_attachment_bytes)
    assert len(bounded.raw) < 5_000
    assert [a.filename for a in parse_message(raw, SMALL).attachments] == ["a.xlsx"]


def test_the_omitted_marker_cannot_be_forged() -> None:
    raw = multipart(attachment_part(b"filename=a.xlsx", b"BAOCAOOMITTED000000000000000000000000000000"))
    m = parse_message(raw)
    assert [a.filename for a in m.attachments] == ["a.xlsx"] and m.problems == ()


def test_ordinary_messages_are_handed_to_the_parser_unchanged() -> None:
    raw = simple_report()
    assert bound_message(raw, ReadLimits().max_attachment_bytes).raw is raw


# -- Authentication-Results (RFC 8601) -------------------------------------------------------


def test_authentication_results_with_comments_quotes_and_versions() -> None:
    ar = parse_authentication_results(
        '"MX.Example.org" 1 (comment (nested \\) ) ); dkim/1 = pass (ok; really) reason="good sig" '
        'header . d = "Example.NET" header.s=s1;\r\n\tspf=softfail smtp.mailfrom=<x@evil.vn>; none'
    )
    assert ar == AuthenticationResults(
        "mx.example.org",
        1,
        (
            AuthResult("dkim", "pass", "good sig", {"header.d": "Example.NET", "header.s": "s1"}),
            AuthResult("spf", "softfail", None, {"smtp.mailfrom": "<x@evil.vn>"}),
        ),
    )


def test_a_no_result_field() -> None:
    assert parse_authentication_results("example.org 1; none") == AuthenticationResults("example.org", 1, ())


@pytest.mark.parametrize(
    "value",
    [
        "",
        ";;;",
        "(only a comment)",
        "x; =pass",
        "x; dkim=",
        '"unclosed',
        "x; dkim=pass (unclosed comment",
        "\u00b2 \u00b2; dkim=pass",
    ],
)
def test_broken_fields_never_raise(value: str) -> None:
    ar = parse_authentication_results(value)
    assert ar is None or all(r.method and r.result for r in ar.results)


def signed(*ar_fields: str, from_field: str = "BHXH <bhxh.tp@example.gov.vn>", extra: str = "") -> ParsedMessage:
    head = "".join(f"Authentication-Results: {v}\r\n" for v in ar_fields)
    raw = (head + extra + f"From: {from_field}\r\nSubject: x\r\nMessage-ID: <s@x>\r\n\r\nbody\r\n").encode()
    return parse_message(raw)


MX = ("mx.baocao.test",)


@pytest.mark.parametrize(
    "fields",
    [
        ["mx.baocao.test; dkim=pass header.d=example.gov.vn"],
        ["MX.BAOCAO.TEST; dkim=pass header.i=@example.gov.vn"],
        ["mx.baocao.test; dkim=pass header.d=mail.example.gov.vn"],  # a subdomain signs
        ["mx.baocao.test; spf=pass smtp.mailfrom=bounce@example.gov.vn"],
        ["mx.baocao.test; spf=pass smtp.mailfrom=example.gov.vn"],
        ["mx.baocao.test; dmarc=pass header.from=example.gov.vn"],
        ["mx.baocao.test; dkim=fail header.d=example.gov.vn; spf=pass smtp.mailfrom=x@example.gov.vn"],
        # two filters of the same server, each with its own field, on top of each other
        ["mx.baocao.test; dmarc=none", "mx.baocao.test; dkim=pass header.d=example.gov.vn"],
    ],
)
def test_aligned_pass_from_the_receiving_server_verifies(fields: list[str]) -> None:
    assert check_sender(signed(*fields), MX).verified


@pytest.mark.parametrize(
    "fields, extra, reason",
    [
        ([], "", "unverified_sender_no_results"),
        (["other.example; dkim=pass header.d=example.gov.vn"], "", "unverified_sender_no_results"),
        (["mx.baocao.test; dkim=pass header.d=evil.example"], "", "unverified_sender"),
        (["mx.baocao.test; dkim=pass header.d=gov.vn.evil.example"], "", "unverified_sender"),
        (["mx.baocao.test; dkim=pass header.d=vn"], "", "unverified_sender"),  # a bare TLD aligns nothing
        (
            ["mx.baocao.test; dkim=fail header.d=example.gov.vn; spf=softfail smtp.mailfrom=x@example.gov.vn"],
            "",
            "unverified_sender",
        ),
        (["mx.baocao.test; spf=pass smtp.helo=example.gov.vn"], "", "unverified_sender"),
        (["mx.baocao.test; dmarc=pass header.from=evil.example"], "", "unverified_sender"),
        (["mx.baocao.test; none"], "", "unverified_sender"),
        # the sender's own field with the server's name, below what the server wrote
        (
            ["mx.baocao.test; dkim=fail header.d=example.gov.vn"],
            "Received: from evil by mx.baocao.test\r\nAuthentication-Results: mx.baocao.test; dkim=pass "
            "header.d=example.gov.vn\r\n",
            "unverified_sender",
        ),
    ],
)
def test_anything_else_does_not(fields: list[str], extra: str, reason: str) -> None:
    check = check_sender(signed(*fields, extra=extra), MX)
    assert (check.verified, check.reason) == (False, reason)


def test_the_reason_names_what_the_server_saw() -> None:
    check = check_sender(
        signed("mx.baocao.test; dkim=pass (sig ok) header.d=evil.example; spf=fail smtp.mailfrom=a@evil.example"), MX
    )
    assert check.detail == "dkim=pass header.d=evil.example; spf=fail smtp.mailfrom=a@evil.example"


@pytest.mark.parametrize(
    "from_field", ["bhxh.tp@example.gov.vn, a@evil.example", "bhxh.tp@example.gov.vn\r\nFrom: a@evil.example"]
)
def test_several_senders_cannot_be_verified(from_field: str) -> None:
    check = check_sender(signed("mx.baocao.test; dkim=pass header.d=example.gov.vn", from_field=from_field), MX)
    assert (check.verified, check.reason) == (False, "unverified_sender_ambiguous")
    assert "a@evil.example" in check.detail


def test_the_routed_address_is_the_one_verified() -> None:
    # From fields that say something else than the address the message was routed by
    # (two parsers disagreeing on a crafted From) are never vouched for.
    parsed = dataclasses.replace(
        signed("mx.baocao.test; dkim=pass header.d=evil.example"),
        from_address="bhxh.tp@example.gov.vn",
        from_addresses=("a@evil.example",),
    )
    assert check_sender(parsed, MX).reason == "unverified_sender_ambiguous"


def test_required_authentication_in_the_analysis(routing: Routing) -> None:
    secure = dataclasses.replace(routing, security=SecurityConfig(True, MX))
    spoofed = simple_report()
    a = analyse_message(spoofed, secure, DAY)
    assert (a.kind, a.unit_code, a.reason, a.reason_detail) == (
        "unassigned",
        None,
        "unverified_sender_no_results",
        "mx.baocao.test",
    )
    assert a.values  # the figures are kept as evidence, as for an unknown sender
    genuine = b"Authentication-Results: mx.baocao.test; dkim=pass header.d=example.gov.vn\r\n" + spoofed
    assert analyse_message(genuine, secure, DAY).unit_code == "BHXH"
    assert analyse_message(spoofed, routing, DAY).unit_code == "BHXH"  # off by default


def test_automatic_mail_is_not_checked(routing: Routing) -> None:
    secure = dataclasses.replace(routing, security=SecurityConfig(True, MX))
    a = analyse_message(email_bytes(headers={"Auto-Submitted": "auto-replied"}), secure, DAY)
    assert (a.kind, a.reason) == ("automatic", "automatic")


# -- what reaches the database ------------------------------------------------------------------


def result(values, **kw) -> AttachmentResult:
    return AttachmentResult(filename="bc.xlsx", detected_format="xlsx", outcome="read", values=values, **kw)


@pytest.mark.parametrize(
    "value", [Decimal("1e30"), Decimal("-1e18"), Decimal("1E+400"), Decimal("NaN"), Decimal("Infinity")]
)
def test_absurd_figures_are_named_not_stored(value: Decimal, routing: Routing) -> None:
    got = storable_result(result({"ho_kinh_doanh": {"de_nghi": value, "phe_duyet": Decimal(3)}}), routing.form)
    assert got.values == {"ho_kinh_doanh": {"phe_duyet": 3}}
    [problem] = got.problems
    assert problem.code == "value_out_of_range"
    assert problem.params["indicator"] == "Hỗ trợ hộ kinh doanh" and problem.params["file"] == "bc.xlsx"


def test_the_largest_storable_figure_is_kept(routing: Routing) -> None:
    value = MAX_ABS_VALUE - Decimal("0.0001")
    got = storable_result(result({"ho_kinh_doanh": {"de_nghi": value}}), routing.form)
    assert got.values == {"ho_kinh_doanh": {"de_nghi": value}} and got.problems == ()
    assert len(format(value.quantize(Decimal("0.0001")).normalize(), "f")) <= 48


def test_reader_texts_are_made_storable(routing: Routing) -> None:
    got = storable_result(
        result(
            {},
            problems=(Problem("not_a_number", {"text": "a\x00b\ud800" + "x" * 5000}),),
            unit_text="Đơn vị:\x00 BHXH",
            sheet="S\x00" * 400,
        ),
        routing.form,
    )
    assert got.problems[0].params["text"].startswith("a b") and len(got.problems[0].params["text"]) <= 1000
    assert got.unit_text == "Đơn vị: BHXH" and len(got.sheet) <= 300 and "\x00" not in got.sheet


def test_a_cell_of_1e30_reaches_no_column(routing: Routing) -> None:
    a = analyse_message(simple_report(de_nghi=10**30), routing, DAY)
    assert "de_nghi" not in a.values.get("dao_tao", {})
    assert a.values["dao_tao"]["phe_duyet"] == 33
    assert [p.code for p in a.problems] == ["value_out_of_range"]
