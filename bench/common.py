"""Shared benchmark helpers: many distinct, realistic report emails in a throwaway Dovecot.

The emails are the public sample reports (../shared/samples/emails) with a fresh
Message-ID and Date each; without those samples, one report built here in code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import io
import json
import re
import secrets
import sys
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python bench/x.py`: measure this working tree
    sys.path.insert(0, str(ROOT))

from service.demo.localmail import LocalDovecot  # noqa: E402

SAMPLE_EMAILS = ROOT.parent / "shared" / "samples" / "emails"
ICT = dt.timezone(dt.timedelta(hours=7))
FIRST_ARRIVAL = dt.datetime(2021, 8, 11, 7, 30, tzinfo=ICT)
ARRIVAL_STEP = dt.timedelta(seconds=17)  # 20,000 messages span about four days
_REPLACED_HEADERS = re.compile(rb"^(message-id|date)[ \t]*:", re.IGNORECASE)


def load_templates(emails_dir: Path = SAMPLE_EMAILS) -> list[bytes]:
    """The sample .eml files (sorted), or one generated report if there are none."""
    files = sorted(emails_dir.glob("*/*.eml")) if emails_dir.is_dir() else []
    if files:
        return [f.read_bytes() for f in files]
    return [build_fallback_report()]


def build_fallback_report() -> bytes:
    """A plain unit report: one .xlsx with a title, a unit line, a header and six rows."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "11.8"
    ws.append(["BÁO CÁO TIẾN ĐỘ THỰC HIỆN NGHỊ QUYẾT 68/NQ-CP"])
    ws.append(["Đơn vị: Bảo hiểm xã hội thành phố Bắc Kạn"])
    ws.append(["Số liệu tính đến ngày 11/08/2021"])
    ws.append(["STT", "Chỉ tiêu", "Số đề nghị", "Số được phê duyệt", "Kinh phí đã chi trả (triệu đồng)"])
    rows = [
        "Giảm mức đóng bảo hiểm tai nạn lao động",
        "Tạm dừng đóng vào quỹ hưu trí",
        "Hỗ trợ đào tạo duy trì việc làm",
        "Hỗ trợ người lao động ngừng việc",
        "Hỗ trợ người lao động tạm hoãn hợp đồng",
        "Hỗ trợ hộ kinh doanh",
    ]
    for i, label in enumerate(rows, 1):
        ws.append([i, label, 10 * i + 3, 10 * i, round(2.5 * i, 2)])
    buffer = io.BytesIO()
    wb.save(buffer)

    msg = EmailMessage(policy=SMTP)
    msg["From"] = '"BHXH thành phố" <bhxh.tp@example.gov.vn>'
    msg["To"] = "baocao.ldtbxh@example.gov.vn"
    msg["Subject"] = "Báo cáo tiến độ NQ 68 ngày 11/8/2021"
    msg["Date"] = email.utils.format_datetime(FIRST_ARRIVAL)
    msg["Message-ID"] = "<fallback@example.gov.vn>"
    msg.set_content("Kính gửi Phòng LĐTBXH, đơn vị gửi báo cáo (file đính kèm).")
    msg.add_attachment(
        buffer.getvalue(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename="Báo cáo BHXH 11.8.xlsx",
    )
    return msg.as_bytes()


def make_variant(template: bytes, seq: int, sent_at: dt.datetime) -> bytes:
    """`template` with a new Message-ID and Date; every other byte is kept.

    The From address is kept on purpose: it is a configured unit's sender, so a full
    pipeline run takes the normal path instead of the unknown-sender one.
    """
    split = template.find(b"\r\n\r\n")
    newline = b"\r\n"
    if split < 0:
        split, newline = template.find(b"\n\n"), b"\n"
    head, body = template[:split], template[split:]
    kept: list[bytes] = []
    dropping = False
    for line in head.split(newline):
        if line[:1] in (b" ", b"\t"):  # folded continuation of the previous header
            if not dropping:
                kept.append(line)
            continue
        dropping = bool(_REPLACED_HEADERS.match(line))
        if not dropping:
            kept.append(line)
    fresh = [
        f"Message-ID: <bench-{seq}.{secrets.token_hex(4)}@bench.example.gov.vn>".encode(),
        f"Date: {email.utils.format_datetime(sent_at)}".encode(),
    ]
    return newline.join(fresh + kept) + body


def generate_messages(
    n: int,
    templates: Sequence[bytes] | None = None,
    first_arrival: dt.datetime = FIRST_ARRIVAL,
) -> Iterator[tuple[bytes, dt.datetime]]:
    """`n` distinct messages with their arrival times (INTERNALDATE), templates in turn."""
    templates = list(templates) if templates is not None else load_templates()
    for i in range(n):
        arrival = first_arrival + i * ARRIVAL_STEP
        sent_at = arrival - dt.timedelta(seconds=40 + i % 300)  # the sender's clock is earlier
        yield make_variant(templates[i % len(templates)], i, sent_at), arrival


@contextlib.contextmanager
def seeded_dovecot(
    n: int, templates: Sequence[bytes] | None = None, user: str = "bench", folder: str = "INBOX"
) -> Iterator[tuple[LocalDovecot, str, float]]:
    """A throwaway Dovecot whose `folder` holds `n` messages, already indexed.

    Yields (server, user, seconds spent seeding). Messages are written into the
    maildir directly (APPEND would dominate at 20,000), then one SELECT makes Dovecot
    index them so the timed part measures the client, not the first index build.
    """
    import time

    with LocalDovecot().start({user: secrets.token_urlsafe(12)}) as server:
        started = time.perf_counter()
        written = server.write_maildir(user, folder, generate_messages(n, templates))
        client = server.connect(user)
        try:
            exists = client.select_folder(folder, readonly=True)[b"EXISTS"]
        finally:
            client.logout()
        if exists != written:
            raise RuntimeError(f"seeded {written} messages but Dovecot shows {exists}")
        yield server, user, time.perf_counter() - started


def print_result(**fields: object) -> None:
    """The benchmark's one result line, JSON on stdout."""
    print(json.dumps(fields, ensure_ascii=False, sort_keys=False), flush=True)
