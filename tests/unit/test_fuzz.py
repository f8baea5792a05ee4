"""Property-based fuzzing (hypothesis) of the message and attachment readers.

Inputs are random bytes, and real messages and files (the shared samples when present,
else ones built here) mutated at the byte level and, for zip containers, inside their
XML parts. Each property is a plain `check_*` function so that scripts/fuzz.py can run
the same ones for minutes; here they run briefly (all of this file in well under 20 s).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tomllib
import zipfile
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.authresults import check_sender, parse_authentication_results
from parsers.message import parse_message
from parsers.model import ParsedMessage
from parsers.report import read_attachment
from service.config import SecurityConfig, load_config
from service.ingest.analysis import MAX_ABS_VALUE, Analysis, Routing, analyse_message
from service.outputs.i18n import Texts
from tests.conftest import shared_samples
from tests.mailbuilders import EXAMPLE_CONFIG, XLSX, email_bytes, report_workbook, simple_report
from tests.unit.builders import FORM, csv_bytes, docx_bytes, sample_attachments, two_row_header_sheet, xls, xlsx

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2021, 8, 11)
OUTCOMES = {"read", "unreadable", "evidence"}
KINDS = {"report", "unassigned", "automatic"}
# What no stored or displayed text may hold.
UNSTORABLE = re.compile("[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

FAST = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# -- what is known --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def known_problem_codes() -> frozenset[str]:
    """Every problem code with a sentence in both languages."""
    codes = []
    for lang in ("vi", "en"):
        catalog = tomllib.loads((ROOT / f"templates/lang/{lang}.toml").read_text("utf-8"))
        problems, service = catalog["problems"], catalog["service_problems"]
        codes.append({k for k in problems if not k.startswith(("limit_", "format_"))} | set(service))
    return frozenset(codes[0] & codes[1])


@lru_cache(maxsize=1)
def known_reasons() -> frozenset[str]:
    vi = tomllib.loads((ROOT / "templates/lang/vi.toml").read_text("utf-8"))["reasons"]
    en = tomllib.loads((ROOT / "templates/lang/en.toml").read_text("utf-8"))["reasons"]
    return frozenset(set(vi) & set(en))


@lru_cache(maxsize=1)
def routings() -> tuple[Routing, Routing]:
    cfg = load_config(EXAMPLE_CONFIG, require_secrets=False)
    plain = Routing(units=cfg.units, form=cfg.form, own_addresses=frozenset({"baocao.ldtbxh@example.gov.vn"}))
    secure = Routing(units=cfg.units, form=cfg.form, security=SecurityConfig(True, ("mx.baocao.test",)))
    return plain, secure


# -- seeds ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def seed_messages() -> tuple[bytes, ...]:
    """The sample messages when present, and messages built here (one quirk each)."""
    found = [p.read_bytes() for p in sorted(shared_samples().glob("emails/*/*.eml"))]
    book = report_workbook({"Hỗ trợ hộ kinh doanh": {"Số đối tượng đề nghị hỗ trợ": 5}}, unit_line="BHXH")
    built = [
        simple_report(),
        email_bytes(
            sender='"Văn thư" <VanThu.DucXuan@Gmail.COM>',
            subject="Báo cáo ngày 11/8",
            attachments=[
                ("bc.csv", "text/csv", csv_bytes([["Nội dung", "Số đề nghị"], ["HKD", "3"]])),
                (
                    "bc.docx",
                    "application/octet-stream",
                    docx_bytes([["Nội dung", "Số đề nghị"], ["Hộ kinh doanh", "5"]]),
                ),
                ("Báo cáo.xlsx", XLSX, book),
            ],
        ),
        b"Authentication-Results: mx.baocao.test; dkim=pass header.d=example.gov.vn; spf=fail "
        b"smtp.mailfrom=a@example.gov.vn\r\n" + simple_report(),
        (
            b"From: Mail Delivery System <MAILER-DAEMON@mail.example.gov.vn>\r\nSubject: Undelivered\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n"
            b"Content-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
            b"From: x@y.vn\r\nSubject: =?windows-1258?Q?Ba=ECo_ca=ECo?=\r\n\r\nbody\r\n--b--\r\n"
        ),
        (
            b"From: =?utf-8?b?VsSDbiB0aMawIA==?= <ntmk@example.gov.vn>\r\nSubject: =?utf-8?q?B=C3=A1o_c=C3=A1o?=\r\n"
            b'Content-Type: multipart/mixed; boundary="o"\r\n\r\n--o\r\nContent-Type: multipart/alternative; '
            b'boundary="i"\r\n\r\n--i\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: '
            b"quoted-printable\r\n\r\nK=C3=ADnh g=E1=BB=ADi\r\n--i--\r\n--o\r\nContent-Type: application/pdf; "
            b"name*0*=utf-8''b%C3%A1o; name*1=\".pdf\"\r\nContent-Disposition: attachment\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--o--\r\n"
        ),
    ]
    return tuple(found + built)


@lru_cache(maxsize=1)
def seed_files() -> tuple[tuple[str, str, bytes], ...]:
    """(filename, content type, bytes) of real report files of every readable format."""
    sheet = two_row_header_sheet()
    files = [
        ("bc.xlsx", XLSX, xlsx(sheet)),
        ("bc.xls", "application/vnd.ms-excel", xls(sheet)),
        (
            "bc.docx",
            "application/octet-stream",
            docx_bytes([["Nội dung", "Số đề nghị", "Kinh phí (triệu đồng)"], ["Hộ kinh doanh", "1.234", "3,71"]]),
        ),
        ("bc.csv", "text/csv", csv_bytes([["STT", "Nội dung", "Số đề nghị"], ["1", "Hộ kinh doanh", "1 234"]])),
    ]
    files += [
        (a.filename, a.content_type, a.data)
        for a in sample_attachments()
        if a.filename.lower().endswith((".xlsx", ".xls", ".docx", ".csv"))
    ]
    return tuple(files)


# -- mutations ------------------------------------------------------------------------------

MESSAGE_TOKENS = (
    b"\r\n",
    b"\r\n\r\n",
    b"\n",
    b"\r",
    b"--",
    b"--b--",
    b" boundary=",
    b'boundary="x"\r\n\r\n--x\r\n',
    b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n",
    b"Content-Type: message/rfc822\r\n\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"=?utf-8?b?",
    b"=?windows-1258?q?",
    b"=?x-unknown?q?",
    b"?=",
    b"=\r\n",
    b"=3D",
    b"=FF",
    b"\x00",
    b"\xff",
    b"\x80",
    b"\xc3",
    b"\xe2\x80\xae",
    b"filename*0*=utf-8''%C3%A1",
    b"filename*1=",
    b"filename=",
    b"name=",
    b"Content-Disposition: attachment; filename=a.xlsx\r\n",
    b"From: ",
    b"From: a@b, c@d\r\n",
    b"<",
    b">",
    b"@",
    b'"',
    b"(",
    b")",
    b"\\",
    b";",
    b":",
    b",",
    b"\t",
    b" ",
    b"Authentication-Results: mx.baocao.test; ",
    b"dkim=pass header.d=example.gov.vn",
    b"spf=pass smtp.mailfrom=",
    b"Auto-Submitted: auto-replied\r\n",
    b"BAOCAOOMITTED",
    b"AAAA",
    b"begin 644 a.xlsx\r\n",
)
XML_TOKENS = (
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#xFFFF;",
    b'<!DOCTYPE x [<!ENTITY e "e">]>',
    b"]]>",
    b"<![CDATA[",
    b'"',
    b"'",
    b"=",
    b"/>",
    b"</",
    b'<c r="ZZ99999" t="s"><v>99999</v></c>',
    b"<v>1e308</v>",
    b"<v>NaN</v>",
    b"<v>-0</v>",
    b't="e"',
    b't="str"',
    b't="inlineStr"',
    b"<f>A1+1</f>",
    b'r="A1048577"',
    b'<mergeCell ref="A1:XFD1048576"/>',
    b'xml:space="preserve"',
    b"\x00",
    b"\xff\xfe",
    b"\xc3\xa1",
    b'<w:gridSpan w:val="9999"/>',
    b"<w:vMerge/>",
    b"<w:tc><w:p><w:r><w:t>1.234</w:t></w:r></w:p></w:tc>",
    b"<w:tbl>",
    b"</w:tbl>",
    b"9" * 40,
    b"-",
    b",",
    b";",
    b"\r\n",
)


def mutate(draw: Callable, data: bytes, tokens: tuple[bytes, ...], others: tuple[bytes, ...] = ()) -> bytes:
    """Apply 1-8 random edits: flips, token insertions, deletions, duplications, long runs, cuts, splices."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(("flip", "insert", "insert", "delete", "dup", "repeat", "truncate", "splice")))
        pos = draw(st.integers(0, len(buf)))
        if op == "flip" and buf:
            buf[min(pos, len(buf) - 1)] = draw(st.integers(0, 255))
        elif op == "insert":
            buf[pos:pos] = draw(st.sampled_from(tokens))
        elif op == "delete":
            del buf[pos : pos + draw(st.integers(1, 256))]
        elif op == "dup":
            buf[pos:pos] = buf[pos : pos + draw(st.integers(1, 4096))]
        elif op == "repeat":
            buf[pos:pos] = draw(st.sampled_from(tokens)) * draw(st.integers(2, 3000))
        elif op == "truncate":
            del buf[pos:]
        elif op == "splice" and others:
            other = draw(st.sampled_from(others))
            start = draw(st.integers(0, len(other)))
            buf[pos:pos] = other[start : start + draw(st.integers(1, 2048))]
    return bytes(buf)


@st.composite
def messages(draw: Callable) -> bytes:
    """Random bytes, a mutated real message, or a message put together from random fields."""
    kind = draw(st.sampled_from(("mutated", "mutated", "mutated", "random", "assembled")))
    seeds = seed_messages()
    if kind == "random":
        return draw(st.binary(max_size=4096))
    if kind == "assembled":
        fields = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(
                        [
                            "From",
                            "Subject",
                            "Message-ID",
                            "Date",
                            "Content-Type",
                            "Content-Transfer-Encoding",
                            "Content-Disposition",
                            "Authentication-Results",
                            "Auto-Submitted",
                            "Return-Path",
                            "X-Junk",
                        ]
                    ),
                    st.binary(max_size=200),
                ),
                max_size=12,
            )
        )
        body = draw(st.binary(max_size=2000))
        return b"".join(k.encode() + b": " + v + b"\r\n" for k, v in fields) + b"\r\n" + body
    return mutate(draw, draw(st.sampled_from(seeds)), MESSAGE_TOKENS, seeds)


@st.composite
def report_files(draw: Callable) -> tuple[str, str, bytes]:
    """A real report file mutated as bytes, or inside one of its zip members."""
    name, ctype, data = draw(st.sampled_from(seed_files()))
    if draw(st.booleans()):
        name = draw(st.sampled_from(["a.xlsx", "a.xls", "a.docx", "a.csv", "a.pdf", "a", name]))
    if data[:2] == b"PK" and draw(st.booleans()):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [(info, z.read(info)) for info in z.infolist()]
        i = draw(st.integers(0, len(members) - 1))
        members[i] = (members[i][0], mutate(draw, members[i][1], XML_TOKENS))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for info, body in members:
                z.writestr(info.filename, body)
        return name, ctype, out.getvalue()
    tokens = XML_TOKENS if name.endswith(("xlsx", "docx")) else MESSAGE_TOKENS + XML_TOKENS
    return name, ctype, mutate(draw, data, tokens)


AUTH_TOKENS = (
    "mx.baocao.test",
    ";",
    " ",
    "=",
    "(",
    ")",
    '"',
    "\\",
    "dkim",
    "spf",
    "dmarc",
    "pass",
    "fail",
    "none",
    "header.d",
    "header.i",
    "smtp.mailfrom",
    "header.from",
    "reason",
    "/1",
    "example.gov.vn",
    "@example.gov.vn",
    "evil.example",
    ".",
    "\r\n\t",
    "\x00",
    "ừ",
    "\ud800",
)


@st.composite
def auth_values(draw: Callable) -> str:
    if draw(st.booleans()):
        return draw(st.text(max_size=300))
    return "".join(draw(st.lists(st.sampled_from(AUTH_TOKENS), max_size=60)))


# -- the properties -------------------------------------------------------------------------


def assert_bounded(m: ParsedMessage) -> None:
    assert isinstance(m, ParsedMessage)
    assert len(m.subject) <= 1000 and len(m.from_name or "") <= 200 and len(m.from_address or "") <= 320
    assert len(m.message_id or "") <= 500 and len(m.in_reply_to or "") <= 500 and len(m.body_text) <= 20_000
    assert len(m.attachments) <= 50 and len(m.automatic_reason or "") <= 200
    for text in (
        m.subject,
        m.from_name or "",
        m.from_address or "",
        m.message_id or "",
        m.in_reply_to or "",
        m.automatic_reason or "",
        *(a.filename for a in m.attachments),
        *(a.content_type for a in m.attachments),
        *m.from_addresses,
    ):
        assert not UNSTORABLE.search(text), repr(text)
    for a in m.attachments:
        assert a.filename and len(a.filename) <= 200 and "/" not in a.filename and "\\" not in a.filename
        assert len(a.content_type) <= 200 and isinstance(a.data, bytes)
    assert m.from_address is None or "@" in m.from_address
    assert m.date_header is None or m.date_header.tzinfo is not None
    assert {p.code for p in m.problems} <= known_problem_codes()


def check_parse_message(raw: bytes) -> None:
    """parse_message never raises, returns bounded clean text, and is deterministic."""
    first = parse_message(raw)
    assert_bounded(first)
    assert parse_message(raw) == first


def check_read_attachment(file: tuple[str, str, bytes]) -> None:
    """read_attachment never raises and names every problem with a known code."""
    name, ctype, data = file
    result = read_attachment(name, ctype, data, FORM, DAY)
    assert result.outcome in OUTCOMES
    assert {p.code for p in result.problems} <= known_problem_codes(), result.problems
    if result.outcome == "unreadable":
        assert result.problems
    for p in result.problems:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in p.params.items())
    for row in result.values.values():
        assert all(isinstance(v, Decimal) and v.is_finite() for v in row.values())


def assert_storable(a: Analysis) -> None:
    assert a.kind in KINDS
    assert a.reason is None or a.reason in known_reasons()
    assert {p.code for p in a.problems} <= known_problem_codes(), a.problems
    texts = [a.reason_detail or "", a.unit_text or ""]
    for info in a.attachments:
        r = info.result
        assert r.outcome in OUTCOMES and len(r.detected_format) <= 20 and len(r.sheet or "") <= 300
        texts += [info.filename, info.content_type, r.sheet or "", r.unit_text or ""]
        for p in r.problems:
            texts += list(p.params.values())
    for p in a.problems:
        texts += list(p.params.values())
        for lang in ("vi", "en"):
            assert Texts(lang).problem(p.code, p.params)
    for text in texts:
        assert "\x00" not in text and not re.search("[\ud800-\udfff]", text), repr(text)
    for row in a.values.values():
        assert all(v.is_finite() and abs(v) < MAX_ABS_VALUE for v in row.values())


def check_analyse_message(raw: bytes) -> None:
    """analyse_message never raises and returns only what the database can store."""
    plain, secure = routings()
    for routing in (plain, secure):
        analysis = analyse_message(raw, routing, DAY)
        assert_storable(analysis)
        assert_bounded(analysis.parsed)


def check_authentication_results(value: str) -> None:
    """The RFC 8601 parser and the sender check never raise on any header text."""
    ar = parse_authentication_results(value)
    assert ar is None or (ar.authserv_id and all(r.method and r.result for r in ar.results))
    parsed = ParsedMessage(
        message_id=None,
        from_address="bhxh.tp@example.gov.vn",
        from_name=None,
        subject="",
        date_header=None,
        automatic_reason=None,
        attachments=(),
        body_text="",
        from_addresses=("bhxh.tp@example.gov.vn",),
        authentication_results=((0, value),),
    )
    verdict = check_sender(parsed, ["mx.baocao.test"])
    assert verdict.verified or verdict.reason in known_reasons()


# name -> (strategy, check): what scripts/fuzz.py runs for longer.
PROPERTIES: dict[str, tuple[Callable[[], st.SearchStrategy], Callable]] = {
    "parse_message": (messages, check_parse_message),
    "read_attachment": (report_files, check_read_attachment),
    "analyse_message": (messages, check_analyse_message),
    "authentication_results": (auth_values, check_authentication_results),
}


@FAST
@given(messages())
def test_parse_message_never_raises_and_returns_bounded_text(raw: bytes) -> None:
    check_parse_message(raw)


@settings(FAST, max_examples=80)
@given(report_files())
def test_read_attachment_never_raises_and_names_known_problems(file: tuple[str, str, bytes]) -> None:
    check_read_attachment(file)


@settings(FAST, max_examples=40)
@given(messages())
def test_analyse_message_never_raises_and_returns_storable_rows(raw: bytes) -> None:
    check_analyse_message(raw)


@settings(FAST, max_examples=200)
@given(auth_values())
def test_authentication_results_parser_never_raises(value: str) -> None:
    check_authentication_results(value)


def test_the_seeds_are_real() -> None:
    # A property over seeds that do not parse would fuzz only the error path.
    assert all(parse_message(raw).from_address for raw in seed_messages()[-5:-2])
    assert all(read_attachment(n, c, d, FORM, DAY).outcome == "read" for n, c, d in seed_files()[:4])


# Built once, outside any strategy: building them draws on `random` (Message-IDs).
seed_messages()
seed_files()
