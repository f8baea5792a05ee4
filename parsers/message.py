"""Parse one raw RFC 5322 message into a `ParsedMessage` (mail-parser underneath).

Pure: bytes in, frozen dataclass out. Before mail-parser sees a message, `bound_message`
makes it cheap to parse whatever it holds (header fields and parts capped, oversized
parts left out, header bytes made valid UTF-8); then the attachments are decoded here,
in one place, and automatic mail is recognised. The Subject and file names are decoded
by the standard library's `email` package (`decode_header_text`), not mail-parser,
whose unfolding loses the space at each fold. Authentication-Results fields
(RFC 8601) are parsed and checked against the From domain by `check_sender`.
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email import policy as email_policy
from email.parser import BytesHeaderParser

import mailparser
import mailparser.utils

from parsers.model import MailAttachment, ParsedMessage, Problem, ReadLimits
from parsers.text import CONTROL_CHARS, clean_text, fix_surrogates, safe_filename

# mail-parser logs every part type it does not decode (text/rfc822-headers, ...) at
# WARNING and every header part it cannot decode at ERROR: normal for bounces and
# broken mail, nothing an administrator must act on (the problems say what matters).
logging.getLogger("mailparser").setLevel(logging.CRITICAL)

MAX_SUBJECT_CHARS = 1000
MAX_NAME_CHARS = 200
MAX_ADDRESS_CHARS = 320
MAX_MESSAGE_ID_CHARS = 500
MAX_BODY_CHARS = 20_000
MAX_REASON_CHARS = 200
MAX_CONTENT_TYPE_CHARS = 200
# Attachments read per message; the rest are named in one problem. A report has one
# or two; fifty is far beyond any real one and keeps the digest and database small.
MAX_ATTACHMENTS = 50
# MIME parts handed to mail-parser. It takes ~60 µs a part and keeps every part in
# memory, so a message of a million empty parts (7 MB) would take 16 s and 350 MB.
MAX_MIME_PARTS = 200
# One header block (the message's or a part's) and one header field, folded lines
# included. mail-parser decodes encoded-words in quadratic time: 1 MB of them in a
# Subject takes 20 s, 32 KB takes 20 ms. Real fields are under 10 KB (a long To).
MAX_HEADER_BYTES = 256 * 1024
MAX_FIELD_BYTES = 32 * 1024
# A header block longer than this is cut before it is even looked at (no real one is).
MAX_HEADER_SCAN_BYTES = 4 * 1024 * 1024
MAX_BOUNDARIES = 64
MAX_FROM_ADDRESSES = 20
MAX_AUTH_RESULTS = 20
MAX_AUTH_RESULT_CHARS = 8 * 1024

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
        mail = mailparser.parse_from_bytes(bounded.raw)
        headers = {k.lower(): v for k, v in _safe_headers(mail).items()}
        fields = _header_fields(getattr(mail, "message", None))
    except Exception as exc:  # mail-parser raises many kinds on broken input
        return dataclasses.replace(
            _headers_only(bounded.raw, Problem("message_unparsable", {"detail": type(exc).__name__})),
            content_sha256=content_sha256(raw, bounded),
        )
    from_name, from_address = _parse_from(mail, headers.get("from", ""))
    raw_subject = next((v for k, v in fields if k == "subject"), None)
    subject = clean_text(
        decode_header_text(raw_subject) if raw_subject is not None else _header_str(getattr(mail, "subject", "")),
        MAX_SUBJECT_CHARS,
    )
    attachments = tuple(_decode_attachments(mail, bounded, limits, problems))
    message_id = normalize_message_id(headers.get("message-id"))
    return ParsedMessage(
        message_id=message_id,
        from_address=from_address,
        from_name=from_name,
        subject=subject,
        date_header=_parse_date(headers.get("date")),
        automatic_reason=automatic_reason(headers, from_address, subject, bool(attachments)),
        attachments=attachments,
        body_text=_body_text(mail, bounded.marker),
        in_reply_to=normalize_message_id(headers.get("in-reply-to")),
        problems=tuple(problems),
        from_addresses=_from_addresses(fields),
        authentication_results=_auth_fields(fields),
        content_sha256=content_sha256(raw, bounded, getattr(mail, "message", None)),
    )


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
        _, body_start = _header_end(raw, 0, len(raw))
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


# ---- bounding the raw bytes -----------------------------------------------------------


@dataclass(frozen=True)
class BoundedMessage:
    """`raw` as mail-parser may parse it, and what was left out on the way."""

    raw: bytes
    marker: str  # the body that stands in for a part too big to decode
    omitted_sizes: Mapping[int, int] = field(default_factory=dict)  # marker index -> encoded bytes
    parts_total: int = 0  # MIME parts seen (delimiter lines), 0 for a single-part message
    parts_cut: int = 0  # parts after MAX_MIME_PARTS, not handed to the parser


_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.IGNORECASE)
_READ_FIELDS = frozenset(
    (
        b"from",
        b"subject",
        b"message-id",
        b"date",
        b"in-reply-to",
        b"mime-version",
        b"content-type",
        b"content-transfer-encoding",
        b"content-disposition",
        b"auto-submitted",
        b"precedence",
        b"list-id",
        b"return-path",
        b"authentication-results",
        b"x-autoreply",
        b"x-autorespond",
        b"x-auto-reply",
    )
)
_FIELD_START = re.compile(rb"[!-9;-~]+[ \t]*:")
_CTE = re.compile(rb"^content-transfer-encoding[ \t]*:[ \t]*([!-~]+)", re.IGNORECASE | re.MULTILINE)


def bound_message(raw: bytes, max_part_bytes: int) -> BoundedMessage:
    """Cap what a parser would spend on `raw`, keeping everything a report needs.

    Header blocks are tidied (see `_tidy_header_block`); at most MAX_MIME_PARTS parts
    are kept; a part whose decoded body must be over `max_part_bytes` gets a marker
    in place of its body. The message is returned unchanged when nothing applies,
    which is the case for every ordinary message.
    """
    marker = ""  # made only when a part is left out: hashing costs ~2 ms a megabyte
    chunks: list[bytes | memoryview] = []
    view = memoryview(raw)
    changed = False
    omitted: dict[int, int] = {}

    def entity(start: int, end: int, top: bool, preamble: bool = False) -> None:
        """Append the entity raw[start:end] (header block, blank line, body), bounded.

        With `preamble`, the "body" is the top-level preamble before the first part,
        which parsers ignore: a huge one is dropped rather than marked."""
        nonlocal changed, marker
        head_end, body_start = _header_end(raw, start, end)
        header = raw[start : min(head_end, start + MAX_HEADER_SCAN_BYTES)]
        tidy = _tidy_header_block(header, keep_unixfrom=top)
        if tidy is not None or head_end - start > len(header):
            changed = True
            block = tidy if tidy is not None else header
            chunks.append(block + b"\r\n" if block else b"")
            chunks.append(b"\r\n" if body_start > head_end or not block else b"")
        else:
            chunks.append(view[start:body_start])
        body_len = end - body_start
        if body_len <= _encoded_cap(header, max_part_bytes):
            chunks.append(view[body_start:end])
        elif preamble:
            changed = True
        else:
            if not marker:
                marker = "BAOCAOOMITTED" + hashlib.sha256(raw).hexdigest()[:24].upper()
            index = len(omitted)
            omitted[index] = body_len
            chunks.append(f"{marker}{index:06d}\r\n".encode("ascii"))
            changed = True

    boundaries = _boundaries(raw)
    delimiters: list[tuple[int, int, bool]] = []  # (line start, line end, is the close delimiter)
    parts_total = parts_cut = 0
    cut_at = len(raw)
    if boundaries:
        pattern = re.compile(
            rb"^--(?:" + b"|".join(re.escape(b) for b in boundaries) + rb")(--)?[ \t]*\r?$", re.MULTILINE
        )
        for m in pattern.finditer(raw):
            closing = m.group(1) is not None
            if not closing:
                parts_total += 1
                if parts_total > MAX_MIME_PARTS:
                    cut_at = m.start()
                    parts_cut = 1 + sum(
                        raw.count(b"\n--" + b, m.end()) - raw.count(b"\n--" + b + b"--", m.end()) for b in boundaries
                    )
                    parts_total += parts_cut - 1
                    break
            end = m.end() + (1 if raw[m.end() : m.end() + 1] == b"\n" else 0)
            delimiters.append((m.start(), end, closing))
    if not delimiters:
        entity(0, len(raw), True)
    else:
        first = delimiters[0][0]
        entity(0, first, True, preamble=True)  # the top header block and the preamble
        for i, (start, end, closing) in enumerate(delimiters):
            chunks.append(view[start:end])
            stop = delimiters[i + 1][0] if i + 1 < len(delimiters) else cut_at
            if closing:  # an epilogue: parsers ignore it, unless it is all a hostile one is
                if stop - end > max_part_bytes:
                    changed = True
                else:
                    chunks.append(view[end:stop])
            else:
                entity(end, stop, False)
        if parts_cut:
            changed = True
            chunks.append(b"\r\n")
    if not changed:
        return BoundedMessage(raw, marker, {}, parts_total, 0)
    return BoundedMessage(b"".join(chunks), marker, omitted, parts_total, parts_cut)


def _boundaries(raw: bytes) -> list[bytes]:
    """Every multipart boundary declared anywhere, longest first (so none shadows another)."""
    found: dict[bytes, None] = {}
    for m in _BOUNDARY_PARAM.finditer(raw):
        value = (m.group(1) or m.group(2)).rstrip()
        if value:
            found[value] = None
            if len(found) >= MAX_BOUNDARIES:
                break
    return sorted(found, key=len, reverse=True)


def _header_end(raw: bytes, start: int, end: int) -> tuple[int, int]:
    """(end of the header block, start of the body) of the entity raw[start:end]."""
    if start >= end:
        return end, end
    if raw.startswith(b"\r\n", start, end) or raw.startswith(b"\n", start, end):
        return start, start + (2 if raw.startswith(b"\r\n", start) else 1)
    hits = [(p, p + n) for p, n in ((raw.find(b"\n\r\n", start, end), 3), (raw.find(b"\n\n", start, end), 2)) if p >= 0]
    if not hits:
        return end, end
    p, body = min(hits)
    return p + 1, body


def _encoded_cap(header: bytes, max_part_bytes: int) -> int:
    """Encoded body size above which the decoded body is surely over `max_part_bytes`."""
    m = _CTE.search(header)
    cte = m.group(1).lower() if m else b""
    if cte == b"base64":
        return max_part_bytes * 78 // 57 + 4096  # 57 bytes per 76-character line + CRLF
    if cte == b"quoted-printable":
        return max_part_bytes * 3 + 4096
    return max_part_bytes + 4096


def _tidy_header_block(block: bytes, keep_unixfrom: bool) -> bytes | None:
    """The header block made safe to parse, or None when it already is.

    Lines that are neither a field nor a continuation are dropped (a parser would
    take the first such line for the start of the body and lose every field after
    it); NUL and other control bytes go; a field not in UTF-8 is read as
    windows-1258, the Vietnamese legacy code page; fields are cut at MAX_FIELD_BYTES
    and the block at MAX_HEADER_BYTES.
    """
    lines = block.split(b"\n")
    if lines and lines[-1] in (b"", b"\r"):
        lines.pop()
    fields: list[list[bytes]] = []
    dirty = len(block) > MAX_HEADER_BYTES
    for i, line in enumerate(lines):
        line = line[:-1] if line.endswith(b"\r") else line
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        elif _FIELD_START.match(line) or (i == 0 and keep_unixfrom and line.startswith(b"From ")):
            fields.append([line])
        else:
            dirty = True  # a line with no colon, or a continuation with nothing to continue
    out: list[bytes] = []
    size = 0
    for lines_of_field in fields:
        raw_field = b"\r\n".join(lines_of_field)
        text = _tidy_field(raw_field)
        if text != raw_field:
            dirty = True
        # Past the budget only the fields this module reads are kept, so a huge To or
        # thousands of X- fields cannot push the Subject out.
        name = raw_field.split(b":", 1)[0].strip().lower()
        budget = 2 * MAX_HEADER_BYTES if name in _READ_FIELDS else MAX_HEADER_BYTES
        if size + len(text) + 2 > budget:
            dirty = True
            continue
        out.append(text)
        size += len(text) + 2
    if not dirty:
        return None
    return b"\r\n".join(out)


def _tidy_field(raw_field: bytes) -> bytes:
    if len(raw_field) > MAX_FIELD_BYTES:
        cut = max(raw_field.rfind(b" ", 0, MAX_FIELD_BYTES), raw_field.rfind(b"\t", 0, MAX_FIELD_BYTES))
        raw_field = raw_field[: cut if cut > MAX_FIELD_BYTES // 2 else MAX_FIELD_BYTES].rstrip(b"\r\n")
    if re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)", raw_field):
        raw_field = re.sub(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)", b"", raw_field)
    if max(raw_field, default=0) >= 0x80:
        try:
            raw_field.decode("utf-8")
        except UnicodeDecodeError:
            raw_field = raw_field.decode("windows-1258", "replace").encode("utf-8")
    return raw_field


# ---- from the parsed message -------------------------------------------------------------


def _safe_headers(mail) -> dict[str, object]:
    try:
        return dict(mail.headers)
    except Exception:
        return {}


def _header_fields(message) -> list[tuple[str, str]]:
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


def _parse_from(mail, raw_from: object) -> tuple[str | None, str | None]:
    try:
        pairs = getattr(mail, "from_", None) or email.utils.getaddresses([_header_str(raw_from)])
    except Exception:
        pairs = []
    for name, addr in pairs:
        addr = _address(addr)
        if addr:
            return (clean_text(_header_str(name), MAX_NAME_CHARS) or None), addr
    return None, None


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


def _decode_attachments(
    mail, bounded: BoundedMessage, limits: ReadLimits, problems: list[Problem]
) -> list[MailAttachment]:
    out: list[MailAttachment] = []
    seen = 0
    names = _part_filenames(getattr(mail, "message", None))
    next_name = 0
    for index, att in enumerate(getattr(mail, "attachments", None) or []):
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
        if seen > MAX_ATTACHMENTS:
            continue  # counted for the problem below, never decoded
        try:
            data = _decode_payload(payload, bool(att.get("binary")))
        except (binascii.Error, ValueError):
            problems.append(Problem("attachment_undecodable", {"file": name}))
            data = b""
        if data[:13] == b"BAOCAOOMITTED" and _omitted(data.decode("ascii", "replace"), bounded, name, limits, problems):
            seen -= 1
            continue
        out.append(MailAttachment(filename=name, content_type=ctype, data=data))
    skipped = max(0, seen - MAX_ATTACHMENTS) + bounded.parts_cut
    if skipped:
        problems.append(
            Problem(
                "too_many_attachments",
                {"count": str(len(out) + skipped), "read": str(len(out)), "skipped": str(skipped)},
            )
        )
    return out


def _part_filenames(message) -> list[tuple[str, str]]:
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


def _body_text(mail, marker: str) -> str:
    parts = getattr(mail, "text_plain", None) or []

    def kept(p: object) -> bool:
        return isinstance(p, str) and not (marker and p.startswith(marker))

    text = "\n".join(p for p in parts if kept(p))
    if not text.strip():
        html = "\n".join(p for p in (getattr(mail, "text_html", None) or []) if kept(p))
        text = re.sub(r"<[^>]+>", " ", html[: MAX_BODY_CHARS * 10])
    text = fix_surrogates(text[: MAX_BODY_CHARS * 2])
    text = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]", "", text)
    return unicodedata.normalize("NFC", text)[:MAX_BODY_CHARS]


def _headers_only(raw: bytes, problem: Problem) -> ParsedMessage:
    """What the header block says, for a message whose body mail-parser could not parse."""
    try:
        head_end, _ = _header_end(raw, 0, len(raw))
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


# ---- Authentication-Results (RFC 8601) ------------------------------------------------------


@dataclass(frozen=True)
class AuthResult:
    """One result of an Authentication-Results field: `dkim=pass header.d=example.vn`."""

    method: str  # lower case, version dropped: dkim, spf, dmarc, ...
    result: str  # lower case: pass, fail, softfail, none, ...
    reason: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)  # "header.d" -> "example.vn"

    def describe(self) -> str:
        props = " ".join(
            f"{k}={v}"
            for k, v in self.properties.items()
            if k in ("header.d", "header.i", "smtp.mailfrom", "header.from")
        )
        return f"{self.method}={self.result}" + (f" {props}" if props else "")


@dataclass(frozen=True)
class AuthenticationResults:
    """A parsed Authentication-Results field."""

    authserv_id: str  # lower case
    version: int | None
    results: tuple[AuthResult, ...]


def parse_authentication_results(value: str) -> AuthenticationResults | None:
    """Parse one Authentication-Results field value (RFC 8601); None when it has no authserv-id.

    Comments (nested, with quoted-pairs) are dropped, quoted strings unquoted, names
    and results lower-cased. Results that do not parse are skipped; never raises.
    """
    try:
        tokens = _ar_tokens(value[:MAX_AUTH_RESULT_CHARS])
    except Exception:  # a guard: the tokenizer is total, but this must never raise
        return None
    groups: list[list[tuple[str, str]]] = [[]]
    for tok in tokens:
        if tok == (";", ";"):
            groups.append([])
        else:
            groups[-1].append(tok)
    head = groups[0]
    if not head or head[0][0] not in ("word", "quoted") or not head[0][1].strip():
        return None
    authserv_id = head[0][1].strip().lower()
    version = (
        int(head[1][1]) if len(head) > 1 and head[1][0] == "word" and re.fullmatch(r"[0-9]{1,3}", head[1][1]) else None
    )
    results = []
    for group in groups[1:64]:
        result = _ar_result(group)
        if result is not None:
            results.append(result)
    return AuthenticationResults(authserv_id, version, tuple(results))


def _ar_tokens(text: str) -> list[tuple[str, str]]:
    """("word", w), ("quoted", s), ("=", "="), (";", ";") - comments and spaces dropped."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    word: list[str] = []

    def flush() -> None:
        if word:
            tokens.append(("word", "".join(word)))
            word.clear()

    while i < n:
        c = text[i]
        if c == "(":
            flush()
            depth = 0
            while i < n:
                c = text[i]
                if c == "\\":
                    i += 1
                elif c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
        elif c == '"':
            flush()
            i += 1
            buf = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            tokens.append(("quoted", "".join(buf)))
        elif c in ";=":
            flush()
            tokens.append((c, c))
        elif c.isspace():
            flush()
        else:
            word.append(c)
        i += 1
    flush()
    return tokens


_KEYWORD = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")  # RFC 8601 Keyword (an ldh-str)


def _ar_result(group: list[tuple[str, str]]) -> AuthResult | None:
    """`method[/version] = result [reason=...] [ptype.property=value ...]`, else None."""
    try:
        eq = group.index(("=", "="))
    except ValueError:
        return None  # "none" (no result) or garbage
    method = "".join(v for _, v in group[:eq]).split("/")[0].strip().lower()
    if not _KEYWORD.fullmatch(method) or eq + 1 >= len(group) or group[eq + 1][0] not in ("word", "quoted"):
        return None
    result = group[eq + 1][1].lower()
    if not _KEYWORD.fullmatch(result):
        return None
    reason = None
    props: dict[str, str] = {}
    rest = group[eq + 2 :]
    key: list[str] = []
    i = 0
    while i < len(rest):
        kind, value = rest[i]
        if kind == "=":
            if i + 1 < len(rest) and rest[i + 1][0] in ("word", "quoted"):
                name = "".join(key).lower()
                if name == "reason":
                    reason = rest[i + 1][1]
                elif "." in name and name not in props:
                    props[name] = rest[i + 1][1]
                i += 1
            key = []
        else:
            key.append(value)
        i += 1
    return AuthResult(method, result, reason, props)


@dataclass(frozen=True)
class SenderCheck:
    """Whether the receiving server vouched for the From domain, and if not, why."""

    verified: bool
    reason: str | None = None  # a reason code of templates/messages.*.toml when not verified
    detail: str = ""


def check_sender(parsed: ParsedMessage, authserv_ids: Iterable[str]) -> SenderCheck:
    """Verified when the receiving server's Authentication-Results show DKIM, SPF or
    DMARC passing for a domain aligned with the From domain.

    Only fields whose authserv-id is one of `authserv_ids` are read, anyone can write
    the others; and of those only the topmost run (the ones the receiving server
    prepended last), so a field with that id that the sender wrote further down is
    not believed either. Alignment is relaxed (RFC 7489): the same domain, or one a
    subdomain of the other.
    """
    ids = {a.strip().lower() for a in authserv_ids if a.strip()}
    addresses = [a for a in parsed.from_addresses if a] or ([parsed.from_address] if parsed.from_address else [])
    # Verify the address the message was routed by, and only when it is the only one.
    if len(parsed.from_addresses) > 1 or addresses != [parsed.from_address]:
        shown = ", ".join(a or "?" for a in parsed.from_addresses[:5])
        return SenderCheck(False, "unverified_sender_ambiguous", shown)
    from_domain = _domain(addresses[0])
    trusted: list[AuthenticationResults] = []
    last_position = None
    for position, value in parsed.authentication_results:
        ar = parse_authentication_results(value)
        if ar is None or ar.authserv_id not in ids:
            if trusted:
                break
            continue
        if last_position is not None and position != last_position + 1:
            break
        trusted.append(ar)
        last_position = position
    if not trusted:
        return SenderCheck(False, "unverified_sender_no_results", ", ".join(sorted(ids)))
    seen: list[str] = []
    for ar in trusted:
        for r in ar.results:
            if r.method in ("dkim", "spf", "dmarc"):
                seen.append(r.describe())
            if r.result != "pass":
                continue
            if r.method == "dkim":
                signer = r.properties.get("header.d") or _domain(r.properties.get("header.i", ""))
                if _aligned(signer, from_domain):
                    return SenderCheck(True)
            elif r.method == "spf":
                if _aligned(_domain(r.properties.get("smtp.mailfrom", "")), from_domain):
                    return SenderCheck(True)
            elif r.method == "dmarc":
                if _norm_domain(r.properties.get("header.from", "")) == _norm_domain(from_domain):
                    return SenderCheck(True)
    detail = "; ".join(dict.fromkeys(seen)) or "none"
    return SenderCheck(False, "unverified_sender", clean_text(detail, 300))


def _domain(address: str) -> str:
    return _norm_domain(address.strip().strip("<>").rpartition("@")[2])


def _norm_domain(domain: str) -> str:
    d = domain.strip().strip("[]").rstrip(".").lower()
    if d and not d.isascii():
        try:
            d = d.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    return d


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment without a public-suffix list: equal, or one under the other
    with at least two labels in the shorter (no one signs for a bare top-level domain)."""
    d, f = _norm_domain(domain), _norm_domain(from_domain)
    if not d or not f:
        return False
    if d == f:
        return True
    shorter, longer = (d, f) if len(d) < len(f) else (f, d)
    return "." in shorter and longer.endswith("." + shorter)
