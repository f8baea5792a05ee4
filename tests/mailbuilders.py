"""Build report emails and small report workbooks in code, one quirk per argument."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.toml"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_workbook(
    rows: dict[str, dict[str, float | int | str]],
    *,
    unit_line: str | None = None,
    as_of: dt.date | None = None,
    measures: tuple[str, ...] = (
        "Số đối tượng đề nghị hỗ trợ",
        "Số đối tượng được phê duyệt",
        "Kinh phí được phê duyệt (triệu đồng)",
    ),
) -> bytes:
    """A simple one-header-row report: STT | Nội dung | one column per measure label."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Báo cáo"
    r = 1
    if unit_line:
        ws.cell(r, 1, f"Đơn vị: {unit_line}")
        r += 1
    if as_of:
        ws.cell(r, 1, f"Số liệu tính đến ngày {as_of:%d/%m/%Y}")
        r += 1
    r += 1
    ws.cell(r, 1, "STT")
    ws.cell(r, 2, "Nội dung")
    for j, label in enumerate(measures):
        ws.cell(r, 3 + j, label)
    for i, (label, values) in enumerate(rows.items(), start=1):
        ws.cell(r + i, 1, i)
        ws.cell(r + i, 2, label)
        for j, label_m in enumerate(measures):
            if label_m in values:
                ws.cell(r + i, 3 + j, values[label_m])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def email_bytes(
    *,
    sender: str = "bhxh.tp@example.gov.vn",
    subject: str = "Báo cáo NQ68",
    attachments: list[tuple[str, str, bytes]] | None = None,
    headers: dict[str, str] | None = None,
    body: str = "Kính gửi phòng LĐTBXH.",
    date: dt.datetime | None = None,
    message_id: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "baocao.ldtbxh@example.gov.vn"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or dt.datetime(2021, 8, 11, 8, 0, tzinfo=dt.UTC))
    msg["Message-ID"] = message_id or make_msgid(idstring=secrets.token_hex(4), domain="example.gov.vn")
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    for name, ctype, data in attachments or []:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=SMTP)


def simple_report(sender: str = "bhxh.tp@example.gov.vn", de_nghi: int = 46, **kw) -> bytes:
    """A clean report email: one indicator row with three figures."""
    book = report_workbook(
        {
            "Hỗ trợ đào tạo": {
                "Số đối tượng đề nghị hỗ trợ": de_nghi,
                "Số đối tượng được phê duyệt": 33,
                "Kinh phí được phê duyệt (triệu đồng)": 49.5,
            }
        },
        unit_line=kw.pop("unit_line", None),
    )
    return email_bytes(sender=sender, attachments=[("bao-cao.xlsx", XLSX, book)], **kw)


def write_config(
    path: Path,
    *,
    imap: dict | None = None,
    smtp: dict | None = None,
    database_url: str,
    archive_dir: Path,
    extra: str = "",
    timezone: str | None = None,
) -> Path:
    """config.example.toml with [service] paths and the mail sections pointed at test servers
    (and another [service] timezone when given)."""
    import re

    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    if timezone is not None:
        text = re.sub(r"^timezone\s*=.*$", f"timezone = {_toml(timezone)}", text, count=1, flags=re.M)

    def section(name: str, values: dict | None) -> None:
        nonlocal text
        pat = re.compile(rf"^\[{re.escape(name)}\][ \t]*\n(.*?)(?=^\[|\Z)", re.S | re.M)
        body = "" if values is None else "\n".join(f"{k} = {_toml(v)}" for k, v in values.items())
        repl = f"[{name}]\n{body}\n\n" if values is not None else ""
        text = pat.sub(lambda m: repl, text, count=1) if pat.search(text) else text + "\n" + repl

    section("imap", imap)
    section("smtp", smtp)
    text = re.sub(r"^database_url\s*=.*$", f"database_url = {_toml(database_url)}", text, count=1, flags=re.M)
    text = re.sub(r"^archive_dir\s*=.*$", f"archive_dir = {_toml(str(archive_dir))}", text, count=1, flags=re.M)
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return path


SERVICE_ZONE = "Asia/Ho_Chi_Minh"


def zone_away_from_midnight(now: dt.datetime | None = None, margin: dt.timedelta = dt.timedelta(hours=2)) -> ZoneInfo:
    """The service's zone, or, when its clock is within `margin` of midnight, a whole-hour zone
    where it is the middle of the day: a real daemon given a digest due seconds from now then
    still finds it on the same day, whatever the hour the tests run at (no skip near midnight)."""
    now = now or dt.datetime.now(dt.UTC)
    local = now.astimezone(ZoneInfo(SERVICE_ZONE))
    since_midnight = dt.timedelta(hours=local.hour, minutes=local.minute, seconds=local.second)
    if margin <= since_midnight <= dt.timedelta(days=1) - margin:
        return ZoneInfo(SERVICE_ZONE)
    offset = 12 - now.astimezone(dt.UTC).hour  # noon there, give or take an hour: -11..+12
    return ZoneInfo(f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT")  # POSIX sign: Etc/GMT-7 is UTC+7


def _toml(v) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v), ensure_ascii=False)
