"""Parse one raw RFC 5322 message into a `ParsedMessage` (mail-parser underneath).

Pure: bytes in, frozen dataclass out. The message is first bounded
(`parsers.mailbounds.bound_message`: header fields and parts capped, oversized parts
left out, header bytes made valid UTF-8); mail-parser then finds its attachments and
text bodies, and what it gets wrong is corrected in one section below by the
standard library's `email` package (names, payloads, the Subject). Automatic mail is
recognised here; Authentication-Results are checked in `parsers.authresults`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import email.header
import email.message
import email.utils
import hashlib
import logging
import re
import unicodedata
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email import policy as email_policy
from email.parser import BytesHeaderParser
from typing import Any

import mailparser
import mailparser.utils

from parsers.authresults import MAX_AUTH_RESULT_CHARS
from parsers.mailbounds import MAX_HEADER_BYTES, BoundedMessage, bound_message, header_end
from parsers.model import MailAttachment, ParsedMessage, Problem, ReadLimits
from parsers.smime import signed_content
from parsers.sniff import image_size, sniff_format
from parsers.text import CONTROL_CHARS, clean_text, fix_surrogates, safe_filename
from parsers.winmail import is_winmail, unpack_winmail

MAX_SUBJECT_CHARS = 1000
MAX_NAME_CHARS = 200
MAX_ADDRESS_CHARS = 320
MAX_MESSAGE_ID_CHARS = 500
MAX_BODY_CHARS = 20_000
# A pasted Excel range in Outlook's Word HTML takes some 5 kB a row.
MAX_BODY_HTML_CHARS = 2_000_000
# An image the HTML shows by its Content-ID (cid:) up to this size is part of the
# body's look (a logo, a signature), not an attachment; a bigger one may be a photo
# or screenshot of the report pasted into the text, and stays an attachment.
MAX_INLINE_DECORATION_PIXELS = 400_000
MAX_INLINE_DECORATION_BYTES = 200 * 1024
MAX_REASON_CHARS = 200
MAX_CONTENT_TYPE_CHARS = 200
# Attachments read per message; the rest are named in one problem. A report has one
# or two; fifty is far beyond any real one and keeps the digest and database small.
MAX_ATTACHMENTS = 50
MAX_FROM_ADDRESSES = 20
MAX_AUTH_RESULTS = 20

_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic)?\s*(reply|response)|out of (the )?office|abwesenheit|"
    r"trả lời tự động|vắng mặt|tự động trả lời)\b",
    re.IGNORECASE,
)
_DAEMON_LOCALPARTS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


# ---- the message ---------------------------------------------------------------------


def parse_message(raw: bytes, limits: ReadLimits | None = None) -> ParsedMessage:
    """Parse `raw`; never raises for malformed input (problems are recorded instead).

    `limits.max_attachment_bytes` (default ReadLimits()) decides which parts are too
    big to decode at all: they are named as `over_limit` problems, not attachments.
    """
    limits = limits or ReadLimits()
    bounded = bound_message(raw, limits.max_attachment_bytes)
    problems: list[Problem] = []
    try:
        mail = _read_mail(bounded, limits, problems)
    except Exception as exc:  # mail-parser raises many kinds on broken input
        return dataclasses.replace(
            _headers_only(bounded.raw, Problem("message_unparsable", {"detail": type(exc).__name__})),
            content_sha256=content_sha256(raw, bounded),
        )
    digest = content_sha256(raw, bounded, mail.message)
    inner = _opaque_signed(bounded.raw, mail.message)
    if inner is not None:  # S/MIME opaque-signed: the signed entity is the message
        try:
            inner_problems: list[Problem] = []
            signed = _read_mail(bound_message(inner, limits.max_attachment_bytes), limits, inner_problems)
            mail, problems = dataclasses.replace(signed, headers=mail.headers, fields=mail.fields), inner_problems
        except Exception:  # the wrapper stays, named "cannot be read"
            pass
    headers, fields = mail.headers, mail.fields
    return ParsedMessage(
        message_id=normalize_message_id(headers.get("message-id")),
        from_address=mail.from_address,
        from_name=mail.from_name,
        subject=mail.subject,
        date_header=_parse_date(headers.get("date")),
        automatic_reason=automatic_reason(headers, mail.from_address, mail.subject, bool(mail.attachments))
        or _calendar_reason(mail.message, mail.attachments),
        attachments=mail.attachments,
        body_text=mail.body_text,
        in_reply_to=normalize_message_id(headers.get("in-reply-to")),
        problems=tuple(problems),
        from_addresses=_from_addresses(fields),
        authentication_results=_auth_fields(fields),
        content_sha256=digest,
        body_html=mail.body_html,
        embedded_from=_embedded_from(mail.message),
    )


_CMS_TYPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")
_CONTENT_FIELD = re.compile(rb"content-(type|transfer-encoding|disposition|description|id)\s*:", re.I)


def _opaque_signed(raw: bytes, message: email.message.Message | None) -> bytes | None:
    """The message with its opaque-signed S/MIME body (a CMS SignedData) replaced by the
    MIME entity it signs (its header fields but the Content-* ones kept), or None."""
    if message is None or message.get_content_type() not in _CMS_TYPES:
        return None
    try:
        data = message.get_payload(decode=True)
    except Exception:
        return None
    content = signed_content(data) if isinstance(data, bytes) else None
    if not content:
        return None
    end, _ = header_end(raw, 0, len(raw))
    kept: list[bytes] = []
    keep = True
    for line in raw[:end].splitlines(keepends=True):
        if line[:1] not in (b" ", b"\t"):
            keep = not _CONTENT_FIELD.match(line)
        if keep:
            kept.append(line)
    if content.startswith((b"\r\n", b"\n")):  # an entity with no header fields: text/plain
        content = b"Content-Type: text/plain\r\n" + content
    return b"".join(kept) + content


def content_sha256(raw: bytes, bounded: BoundedMessage, message: email.message.Message | None = None) -> str:
    """SHA-256 of what a message says rather than how it travelled, so the same mail
    delivered twice hashes the same: transport fields (Received, Delivered-To,
    Return-Path, ...), a transfer encoding changed on the way, CRLF or LF do not count.

    It covers every leaf MIME part of the parsed `message`, its content type and decoded
    payload, in order (text with its line ends unified); no header field, so the caller
    compares the Message-ID and the sender itself. When a part was left out of parsing
    (too big) or there is no parsed message, it covers the body as written after the
    top header block instead: exact, at worst telling two copies apart, never two mails
    together.
    """
    parts: list[tuple[str, bytes]] = []
    if message is not None and not bounded.omitted_sizes:
        try:
            for part in message.walk():
                if not part.is_multipart():
                    payload = part.get_payload(decode=True)
                    parts.append((part.get_content_type(), payload if isinstance(payload, bytes) else b""))
        except Exception:  # a part the email package cannot decode: use the written body
            parts = []
    if not parts:
        _, body_start = header_end(raw, 0, len(raw))
        parts = [("text/x-raw-body", raw[body_start:])]
    digest = hashlib.sha256()
    for ctype, payload in parts:
        if ctype.startswith("text/"):
            payload = payload.replace(b"\r\n", b"\n").rstrip()
        digest.update(b"%s %d\n" % (ctype.encode("ascii", "replace"), len(payload)))
        digest.update(payload)
    return digest.hexdigest()


def normalize_message_id(value: object) -> str | None:
    """'<abc@host>' -> 'abc@host'; None or empty -> None. No control characters, bounded."""
    text = CONTROL_CHARS.sub("", _header_str(value)).strip()
    if not text:
        return None
    match = re.search(r"<([^<>]+)>", text)
    ident = (match.group(1) if match else text.split()[0]).strip()
    ident = "".join(ident.split()).strip("<>")  # a folded id is one id; a cut one loses its '>'
    return ident[:MAX_MESSAGE_ID_CHARS] or None


def automatic_reason(
    headers: Mapping[str, object], from_address: str | None, subject: str, has_attachments: bool
) -> str | None:
    """Why this is automatic mail (never a report, never answered), or None."""
    auto = _header_str(headers.get("auto-submitted")).split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {clean_text(auto, 60)}"
    ctype = _header_str(headers.get("content-type")).lower()
    if ctype.lstrip().startswith("multipart/report"):
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


_CALENDAR_TYPES = ("text/calendar", "application/ics")


def _calendar_reason(message: email.message.Message | None, attachments: tuple[MailAttachment, ...]) -> str | None:
    """A meeting invitation, or a unit's answer to one (Outlook's "Accepted: ..."): a
    calendar part (iTIP) and no file but calendar files. Not a report, never answered."""
    if message is None:
        return None
    try:
        if not any(part.get_content_type() in _CALENDAR_TYPES for part in message.walk()):
            return None
    except Exception:  # a guard: a hostile tree is read as a person's mail
        return None
    if all(a.content_type in _CALENDAR_TYPES or a.filename.lower().endswith((".ics", ".vcs")) for a in attachments):
        return "calendar invitation or reply (text/calendar)"
    return None


def decode_header_text(value: str) -> str:
    """A header field value (Subject, a file name parameter) as its sender wrote it.

    Unfolded per RFC 5322 (CRLF followed by white space is that white space), then
    its RFC 2047 encoded-words decoded by the `email` package's default policy: white
    space between two adjacent encoded-words is dropped, white space next to plain
    text is kept, and adjacent encoded-words in one charset are joined as bytes before
    decoding (a UTF-8 character split across two words is one character).
    """
    text = fix_surrogates(value)
    text = _unfold(text).replace("\r", "").replace("\n", "")  # a stray line break is no text
    if "=?" not in text:
        return text
    try:
        return fix_surrogates(str(email_policy.default.header_factory("subject", text)))
    except Exception:  # a guard: the default policy's parser registers defects, never raises
        return text


# ---- mail-parser, corrected in one place ---------------------------------------------
#
# mail-parser walks the MIME tree and decides which parts are attachments (named
# parts, parts named by their Content-ID, parts inside an attached container, parts
# recovered from a broken epilogue) and which are the text bodies: that it does well,
# and it is kept for it. What it gets wrong is corrected here, once, from the same
# parts by the standard library's `email` package, and nowhere else:
#   - names: it unfolds a folded header without the white space at the fold and
#     decodes RFC 2047/2231 its own way; `decode_header_text` gives the Subject and
#     every file name as sent (RFC 2231 continuations joined by `email`);
#   - an unnamed attached part gets ten random letters: a stable name instead;
#   - payloads come as base64 text or str: decoded back to bytes, leniently;
#   - it logs every defect it tolerates at WARNING or ERROR: silenced (the problems
#     say what matters);
#   - its costs grow with the input (encoded-words decode in quadratic time): the
#     message is bounded first (`parsers.mailbounds`);
#   - Outlook's winmail.dat (TNEF) is one part holding the real files: unpacked
#     (`parsers.winmail`);
#   - it lists the images an HTML body shows inline (a logo in the signature, by its
#     Content-ID) as attachments: a small one is left out (`_decorations`);
#   - with no text/plain part it strips the HTML's tags into one line: the body text
#     is the HTML's text by lines instead (`parsers.readers.html.html_text`).

logging.getLogger("mailparser").setLevel(logging.CRITICAL)  # see above: its defect logs

# mail-parser's parsed message (the package has no type information).
_MailParser = Any


class _Parser(mailparser.MailParser):  # type: ignore[misc]
    """mail-parser without the two dictionaries it builds at the end of every parse
    (`mail`, `mail_partial`: each decodes every header field again and joins the bodies,
    about a fifth of its own time): nothing here reads them. Attachments, bodies,
    `headers` and `message` are mail-parser's as they were."""

    def _make_mail(self, complete: bool = True) -> dict[str, Any]:
        return {}

    def _build_header_index(self) -> dict[str, list[Any]]:
        """mail-parser's index of the header fields, without the address fields nothing
        here reads (To, Cc, ...): it parses every address field of the index up front
        (a quarter of its own time on an ordinary message). From stays, read as before."""
        index: dict[str, list[Any]] = super()._build_header_index()
        return {name: values for name, values in index.items() if name not in _UNREAD_ADDRESS_FIELDS}


# mail-parser's address fields (mailparser.const.ADDRESSES_HEADERS) but From.
_UNREAD_ADDRESS_FIELDS = frozenset({"bcc", "cc", "delivered-to", "reply-to", "to"})


class _Headers(Mapping[str, object]):
    """mail-parser's `headers` (the first spelling of each field name, lower-cased, to
    its decoded value), each value decoded when first asked for: a message has dozens
    of fields and a handful are read."""

    def __init__(self, mail: _MailParser) -> None:
        self._mail = mail
        self._values: dict[str, object] = {}
        try:
            message = mail.message
            self._names = dict.fromkeys(str(k).lower() for k in (message.keys() if message else ()))
        except Exception:
            self._names = {}

    def __getitem__(self, name: str) -> object:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._values:
            try:
                self._values[name] = self._mail._header_value(name)
            except Exception:  # as a field mail-parser cannot decode: no value
                self._values[name] = ""
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass(frozen=True)
class _Mail:
    """What one message says, read by mail-parser and corrected by `email`."""

    message: email.message.Message | None  # the standard library's tree under mail-parser
    headers: Mapping[str, object]  # first value of each field, names lower-cased
    fields: list[tuple[str, str]]  # every field as written, in order
    from_name: str | None
    from_address: str | None
    subject: str
    attachments: tuple[MailAttachment, ...]
    body_text: str
    body_html: str


def _read_mail(bounded: BoundedMessage, limits: ReadLimits, problems: list[Problem]) -> _Mail:
    mail = _Parser.from_bytes(bounded.raw)
    message = getattr(mail, "message", None)
    headers = _Headers(mail)
    fields = _header_fields(message)
    from_name, from_address = _parse_from(mail, headers.get("from", ""))
    raw_subject = next((v for k, v in fields if k == "subject"), None)
    subject = clean_text(
        decode_header_text(raw_subject) if raw_subject is not None else _header_str(getattr(mail, "subject", "")),
        MAX_SUBJECT_CHARS,
    )
    html = _body_html(mail, bounded.marker)
    return _Mail(
        message=message,
        headers=headers,
        fields=fields,
        from_name=from_name,
        from_address=from_address,
        subject=subject,
        attachments=tuple(_decode_attachments(mail, bounded, limits, problems, _decorations(mail, html, bounded))),
        body_text=_body_text(mail, bounded.marker, html),
        body_html=html,
    )


def _parse_from(mail: _MailParser, raw_from: object) -> tuple[str | None, str | None]:
    try:
        pairs = getattr(mail, "from_", None) or email.utils.getaddresses([_header_str(raw_from)])
    except Exception:
        pairs = []
    for name, addr in pairs:
        addr = _address(addr)
        if addr:
            return (clean_text(_header_str(name), MAX_NAME_CHARS) or None), addr
    return None, None


def _decode_attachments(
    mail: _MailParser,
    bounded: BoundedMessage,
    limits: ReadLimits,
    problems: list[Problem],
    decorations: frozenset[int] = frozenset(),
) -> list[MailAttachment]:
    out: list[MailAttachment] = []
    seen = unread = 0
    names = _part_filenames(getattr(mail, "message", None))
    next_name = 0
    for index, att in enumerate(getattr(mail, "attachments", None) or []):
        if index in decorations:
            continue
        payload = att.get("payload") or ""
        filename = _header_str(att.get("filename"))
        # mail-parser's name for the part, replaced by the one the stdlib decodes for it
        found = next((k for k in range(next_name, len(names)) if names[k][0] == filename), None)
        if found is not None:
            filename, next_name = names[found][1], found + 1
        name = safe_filename(_stable_name(filename, index, bounded.raw), f"attachment-{index + 1}")
        ctype = (
            clean_text(_header_str(att.get("mail_content_type")).lower(), MAX_CONTENT_TYPE_CHARS)
            or "application/octet-stream"
        )
        if isinstance(payload, str) and _omitted(payload, bounded, name, limits, problems):
            continue
        if ctype.startswith("message/") and not att.get("filename"):
            continue  # embedded messages (bounces) are not report files
        seen += 1
        if seen > MAX_ATTACHMENTS or len(out) >= MAX_ATTACHMENTS:  # (a winmail.dat's files count)
            unread += 1
            continue  # counted for the problem below, never decoded
        try:
            data = _decode_payload(payload, bool(att.get("binary")))
        except (binascii.Error, ValueError):
            problems.append(Problem("attachment_undecodable", {"file": name}))
            data = b""
        if data[:13] == b"BAOCAOOMITTED" and _omitted(data.decode("ascii", "replace"), bounded, name, limits, problems):
            seen -= 1
            continue
        inner = unpack_winmail(data, limits.max_attachment_bytes) if is_winmail(data) else None
        if inner:  # Outlook's winmail.dat: the files it holds are the attachments (else it stays)
            room = max(0, MAX_ATTACHMENTS - len(out))
            out.extend(inner[:room])
            unread += max(0, len(inner) - room)  # named below with the parts over the cap
            continue
        out.append(MailAttachment(filename=name, content_type=ctype, data=data))
    skipped = unread + bounded.parts_cut
    if skipped:
        problems.append(
            Problem(
                "too_many_attachments",
                {"count": str(len(out) + skipped), "read": str(len(out)), "skipped": str(skipped)},
            )
        )
    return out


def _part_filenames(message: email.message.Message | None) -> list[tuple[str, str]]:
    """(mail-parser's name, the name decoded by `decode_header_text`) of every named MIME
    part, in the order mail-parser lists attachments.

    The parameter value is the `email` package's (RFC 2231 continuations joined as
    bytes and decoded, quotes removed, folds kept); the key is what mail-parser made of
    the same value, so each of its attachments finds its part.
    """
    out: list[tuple[str, str]] = []
    if message is None:
        return out
    try:
        for part in message.walk():
            if not _may_be_named(part):
                continue
            view, _ = mailparser.utils.mime_header_view(part)
            raw = view.get_filename()
            if not raw:
                continue
            theirs = mailparser.utils.decode_header_part(raw)
            if theirs:
                out.append((theirs, decode_header_text(str(raw))))
    except Exception:  # a guard: mail-parser's own names stand
        return out
    return out


def _may_be_named(part: email.message.Message) -> bool:
    """Whether the part's Content-Disposition or Content-Type field may carry a file name
    (`get_filename` reads their `filename` and `name` parameters): most parts have none."""
    return any(
        "name" in str(value).lower()
        for field, value in part.raw_items()
        if field.lower() in ("content-disposition", "content-type")
    )


_CID_RE = re.compile(r"""cid:([^"'\s>)]+)""", re.I)


def _decorations(mail: _MailParser, html: str, bounded: BoundedMessage) -> frozenset[int]:
    """Indexes of mail-parser's attachments that are small images the HTML body shows
    by their Content-ID: a logo or signature image, part of the text's look."""
    if "cid:" not in html.lower():
        return frozenset()
    shown = {urllib.parse.unquote(m.group(1)).strip("<>").lower() for m in _CID_RE.finditer(html)}
    out = set()
    for index, att in enumerate(getattr(mail, "attachments", None) or []):
        cid = _header_str(att.get("content-id")).strip().strip("<>").lower()
        payload = att.get("payload") or ""
        if not cid or cid not in shown or (bounded.marker and str(payload).startswith(bounded.marker)):
            continue  # (a part left out as too big is named as such)
        try:
            data = _decode_payload(payload, bool(att.get("binary")))
        except (binascii.Error, ValueError):
            continue
        size = image_size(data)
        if size is not None and size[0] * size[1] <= MAX_INLINE_DECORATION_PIXELS:
            out.add(index)
        elif size is None and _is_image(att, data) and len(data) <= MAX_INLINE_DECORATION_BYTES:
            out.add(index)
    return frozenset(out)


def _is_image(att: dict[str, Any], data: bytes) -> bool:
    return _header_str(att.get("mail_content_type")).lower().startswith("image/") or sniff_format(data) == "image"


_GENERATED_NAME = re.compile(r"[a-z]{10}\.(txt|rtf)")


def _stable_name(name: str, index: int, raw: bytes) -> str:
    """mail-parser names an unnamed attached part with ten random letters: the same
    message must give the same names every time it is read (reprocessing, digest)."""
    if _GENERATED_NAME.fullmatch(name) and (len(raw) > 4 * 1024 * 1024 or name.encode() not in raw):
        return f"attachment-{index + 1}.{name[-3:]}"
    return name


def _omitted(payload: str, bounded: BoundedMessage, name: str, limits: ReadLimits, problems: list[Problem]) -> bool:
    """Whether `payload` is the marker `bound_message` put for a part too big to decode
    (then it is named as a problem)."""
    text = payload[:64].strip()
    if not bounded.marker or text[:-6] != bounded.marker or not text[-6:].isdigit():
        return False
    size = bounded.omitted_sizes.get(int(text[-6:]), 0)
    problems.append(
        Problem(
            "over_limit",
            {"file": name, "limit": "attachment_bytes", "detail": str(limits.max_attachment_bytes), "size": str(size)},
        )
    )
    return True


def _decode_payload(payload: str | bytes, binary: bool) -> bytes:
    """mail-parser gives binary payloads as base64 text and text payloads as str."""
    if isinstance(payload, bytes):
        return payload
    if binary:
        data = payload.encode("ascii", "ignore")
        try:
            return base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError):
            # A cut or damaged part (wrong padding): decode what is there and let the
            # reader say whether the file is usable.
            clean = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
            clean = clean[: len(clean) - 1] if len(clean) % 4 == 1 else clean
            return base64.b64decode(clean + b"=" * (-len(clean) % 4))
    return payload.encode("utf-8", "surrogateescape")


def _kept_parts(parts: object, marker: str) -> list[str]:
    """The body parts of a kind, without the markers of parts left out as too big."""
    return [p for p in (parts or []) if isinstance(p, str) and not (marker and p.startswith(marker))]  # type: ignore[attr-defined]


def _body_html(mail: _MailParser, marker: str) -> str:
    html = "\n".join(_kept_parts(getattr(mail, "text_html", None), marker))
    html = fix_surrogates(html[:MAX_BODY_HTML_CHARS])
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]", "", html)


def _body_text(mail: _MailParser, marker: str, html: str) -> str:
    text = "\n".join(_kept_parts(getattr(mail, "text_plain", None), marker))
    if not text.strip() and html.strip():
        from parsers.readers.html import html_text  # lxml: only for a message whose text is HTML alone

        try:
            text = html_text(html)
        except Exception:  # lxml on a hostile page: its tags stripped as before
            text = re.sub(r"<[^>]+>", " ", html[: MAX_BODY_CHARS * 10])
    text = fix_surrogates(text[: MAX_BODY_CHARS * 2])
    text = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]", "", text)
    return unicodedata.normalize("NFC", text)[:MAX_BODY_CHARS]


# ---- header fields, by the standard library -------------------------------------------


def _header_fields(message: email.message.Message | None) -> list[tuple[str, str]]:
    """The raw header fields in order, names lower-cased (the stdlib message under mail-parser)."""
    if message is None:
        return []
    try:
        # raw_items: the values as written (str(), not Header objects with their
        # encoded-words decoded, which would let a display name pose as an address).
        return [(str(k).lower(), _header_str(v)) for k, v in message.raw_items()]
    except Exception:
        return []


def _header_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return fix_surrogates(str(value))


def _address(value: object) -> str | None:
    """A lower-cased addr-spec with no spaces or control characters, or None."""
    addr = CONTROL_CHARS.sub("", _header_str(value)).strip().strip("<>").lower()
    # Too long to be an address (RFC 5321: 64 + 1 + 255): cutting one would make another.
    if "@" not in addr or len(addr) > MAX_ADDRESS_CHARS or any(c.isspace() for c in addr):
        return None
    return addr


def _from_addresses(fields: list[tuple[str, str]]) -> tuple[str, ...]:
    """Every address of every From field; "" stands for a From field with none readable."""
    out: list[str] = []
    for value in (v for k, v in fields if k == "from"):
        try:
            found = [a for a in (_address(addr) for _, addr in email.utils.getaddresses([value])) if a]
        except Exception:  # getaddresses on a hostile field: no address read
            found = []
        out.extend(found or [""])
    return tuple(dict.fromkeys(out))[:MAX_FROM_ADDRESSES]


def _embedded_from(message: email.message.Message | None) -> tuple[str, ...]:
    """The From addresses of the messages attached whole (message/rfc822 parts)."""
    fields: list[tuple[str, str]] = []
    try:
        for part in message.walk() if message is not None else ():
            if part.get_content_type() == "message/rfc822" and part.is_multipart():
                for inner in part.get_payload():
                    value = inner.get("from") if isinstance(inner, email.message.Message) else None
                    if value is not None:
                        fields.append(("from", str(value)))
            if len(fields) >= MAX_FROM_ADDRESSES:
                break
    except Exception:  # a guard: a hostile embedded tree names nobody more
        pass
    return tuple(a for a in _from_addresses(fields) if a)


def _auth_fields(fields: list[tuple[str, str]]) -> tuple[tuple[int, str], ...]:
    out = []
    for position, (name, value) in enumerate(fields):
        if name == "authentication-results":
            out.append((position, _unfold(value)[:MAX_AUTH_RESULT_CHARS]))
            if len(out) >= MAX_AUTH_RESULTS:
                break
    return tuple(out)


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _parse_date(value: object) -> dt.datetime | None:
    text = _header_str(value).strip()[:200]
    if not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


def _headers_only(raw: bytes, problem: Problem) -> ParsedMessage:
    """What the header block says, for a message whose body mail-parser could not parse."""
    try:
        head_end, _ = header_end(raw, 0, len(raw))
        message = BytesHeaderParser(policy=email_policy.compat32).parsebytes(raw[: min(head_end, MAX_HEADER_BYTES)])
        fields = _header_fields(message)
    except Exception:  # the tidied header block always parses; this is the last guard
        fields = []
    headers: dict[str, str] = {}
    for name, value in fields:
        headers.setdefault(name, value)
    from_address = next(iter(a for a in _from_addresses(fields) if a), None)
    from_name = None
    try:
        for name, addr in email.utils.getaddresses([headers.get("from", "")]):
            if _address(addr) == from_address:
                from_name = clean_text(decode_header_text(name), MAX_NAME_CHARS) or None
                break
    except Exception:  # a display name is not worth failing for
        pass
    headers["subject"] = decode_header_text(headers.get("subject", ""))
    subject = clean_text(headers.get("subject", ""), MAX_SUBJECT_CHARS)
    return ParsedMessage(
        message_id=normalize_message_id(headers.get("message-id")),
        from_address=from_address,
        from_name=from_name,
        subject=subject,
        date_header=_parse_date(headers.get("date")),
        automatic_reason=automatic_reason(headers, from_address, subject, False),
        attachments=(),
        body_text="",
        in_reply_to=normalize_message_id(headers.get("in-reply-to")),
        problems=(problem,),
        from_addresses=_from_addresses(fields),
        authentication_results=_auth_fields(fields),
    )
