"""Parse one raw RFC 5322 message into a `ParsedMessage` (mail-parser underneath).

Pure: bytes in, frozen dataclass out. Decides whether the message is automatic
mail (auto-replies, bounces, bulk) and decodes every attachment payload here, in
one place, so the rest of the code only sees bytes.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import logging
import re
import unicodedata

import mailparser

from parsers.model import MailAttachment, ParsedMessage, Problem

# mail-parser logs every part type it does not decode (text/rfc822-headers, ...) at
# WARNING; that is normal for bounces, not something an administrator must act on.
logging.getLogger("mailparser").setLevel(logging.ERROR)

MAX_FILENAME_CHARS = 200
MAX_SUBJECT_CHARS = 1000

_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic)?\s*(reply|response)|out of (the )?office|abwesenheit|"
    r"trả lời tự động|vắng mặt|tự động trả lời)\b",
    re.IGNORECASE,
)
_DAEMON_LOCALPARTS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse `raw`; never raises for malformed input (problems are recorded instead)."""
    problems: list[Problem] = []
    try:
        mail = mailparser.parse_from_bytes(raw)
    except Exception as exc:  # mail-parser raises many kinds on broken input
        return ParsedMessage(
            message_id=None, from_address=None, from_name=None, subject="",
            date_header=None, automatic_reason=None, attachments=(), body_text="",
            problems=(Problem("message_unparsable", {"detail": type(exc).__name__}),),
        )
    headers = {k.lower(): v for k, v in _safe_headers(mail).items()}
    from_name, from_address = _parse_from(mail, headers.get("from", ""))
    subject = clean_text(_header_str(getattr(mail, "subject", "")), MAX_SUBJECT_CHARS)
    attachments = tuple(_decode_attachments(mail, problems))
    message_id = normalize_message_id(headers.get("message-id"))
    return ParsedMessage(
        message_id=message_id,
        from_address=from_address,
        from_name=from_name,
        subject=subject,
        date_header=_parse_date(headers.get("date")),
        automatic_reason=automatic_reason(headers, from_address, subject, bool(attachments)),
        attachments=attachments,
        body_text=_body_text(mail),
        in_reply_to=normalize_message_id(headers.get("in-reply-to")),
        problems=tuple(problems),
    )


def normalize_message_id(value: object) -> str | None:
    """'<abc@host>' -> 'abc@host'; None or empty -> None."""
    text = _header_str(value).strip()
    if not text:
        return None
    match = re.search(r"<([^<>]+)>", text)
    ident = (match.group(1) if match else text.split()[0]).strip()
    return ident[:500] or None


def automatic_reason(headers: dict[str, object], from_address: str | None, subject: str,
                     has_attachments: bool) -> str | None:
    """Why this is automatic mail (never a report, never answered), or None."""
    auto = _header_str(headers.get("auto-submitted")).split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    ctype = _header_str(headers.get("content-type")).lower()
    if ctype.startswith("multipart/report"):
        return "delivery or read report (multipart/report)"
    precedence = _header_str(headers.get("precedence")).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond", "x-auto-reply"):
        if _header_str(headers.get(name)).strip():
            return f"{name}"
    if _header_str(headers.get("list-id")).strip():
        return "mailing list (List-Id)"
    if _header_str(headers.get("return-path")).strip() in ("<>", ""):
        if "return-path" in headers:
            return "null sender (Return-Path: <>)"
    if from_address and from_address.split("@")[0] in _DAEMON_LOCALPARTS:
        return "sent by a mail server (MAILER-DAEMON)"
    if not has_attachments and _AUTO_REPLY_SUBJECT.search(subject):
        return "auto-reply subject"
    return None


def clean_text(text: str, max_chars: int) -> str:
    """NFC, control characters removed, whitespace folded, length capped."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:max_chars]


def safe_filename(name: str | None, index: int) -> str:
    """A display name for an attachment: no path, no control characters, bounded.

    Never used to build a path on disk (the archive names files by content hash).
    """
    name = clean_text(name or "", 10 * MAX_FILENAME_CHARS)
    name = re.split(r"[\\/]", name)[-1].strip(" .")
    if not name:
        name = f"attachment-{index + 1}"
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot and len(ext) <= 10 else ""
        name = name[: MAX_FILENAME_CHARS - len(ext) - 1] + ("." + ext if ext else "")
    return name


def _safe_headers(mail) -> dict[str, object]:
    try:
        return dict(mail.headers)
    except Exception:
        return {}


def _header_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value)


def _parse_from(mail, raw_from: object) -> tuple[str | None, str | None]:
    pairs = getattr(mail, "from_", None) or email.utils.getaddresses([_header_str(raw_from)])
    for name, addr in pairs:
        addr = (addr or "").strip().strip("<>").lower()
        if "@" in addr:
            return (clean_text(name or "", 200) or None), addr[:320]
    return None, None


def _parse_date(value: object) -> dt.datetime | None:
    text = _header_str(value).strip()
    if not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when


def _decode_attachments(mail, problems: list[Problem]) -> list[MailAttachment]:
    out: list[MailAttachment] = []
    for index, att in enumerate(getattr(mail, "attachments", None) or []):
        payload = att.get("payload") or ""
        name = safe_filename(att.get("filename"), index)
        ctype = _header_str(att.get("mail_content_type")).lower()[:200] or "application/octet-stream"
        try:
            data = _decode_payload(payload, bool(att.get("binary")))
        except (binascii.Error, ValueError):
            problems.append(Problem("attachment_undecodable", {"file": name}))
            data = b""
        if ctype.startswith("message/") and not att.get("filename"):
            continue  # embedded messages (bounces) are not report files
        out.append(MailAttachment(filename=name, content_type=ctype, data=data))
    return out


def _decode_payload(payload: str | bytes, binary: bool) -> bytes:
    """mail-parser gives binary payloads as base64 text and text payloads as str."""
    if isinstance(payload, bytes):
        return payload
    if binary:
        return base64.b64decode(payload.encode("ascii", "ignore"), validate=False)
    return payload.encode("utf-8", "surrogateescape")


def _body_text(mail) -> str:
    parts = getattr(mail, "text_plain", None) or []
    text = "\n".join(p for p in parts if isinstance(p, str))
    if not text.strip():
        html = "\n".join(p for p in (getattr(mail, "text_html", None) or []) if isinstance(p, str))
        text = re.sub(r"<[^>]+>", " ", html)
    return unicodedata.normalize("NFC", text)[:20_000]
