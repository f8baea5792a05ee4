"""The coordinator's daily digest, pure: a `DayView` in, plain data, HTML/text and a MIME message out.

Nothing here reads the database, the clock or the network; the sending side (SMTP,
the exactly-once claim) passes `now` and the unit files it could not read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from parsers.text import clean_text, safe_filename
from service.config import Config
from service.day.bulk import collector_paused, kept
from service.day.dayview import DayView
from service.day.periods import ReportPeriod, period_label
from service.mail.compose import add_body, address, compose, message_bytes
from service.outputs.formatting import Numbers, day_month_year, local_time
from service.outputs.i18n import fill, labels
from service.outputs.model import digest_model
from service.outputs.render import render_template

if TYPE_CHECKING:
    from service.outputs.upward import UpwardAttachment

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The digest as sent (headers, bodies and base64-encoded attachments, CRLF line ends) stays
# under this: Postfix refuses messages over 10,240,000 bytes by default, and a server adds
# its own header fields on the way.
DEFAULT_MAX_MESSAGE_BYTES = 10_000_000
# A Message-ID at least as long as a real one, for measuring a digest before it has one.
_PROBE_MESSAGE_ID = "<" + "0" * 100 + "@baocao.invalid>"
# A digest that goes out this long after `digest_at` says it is late.
LATE_AFTER = dt.timedelta(minutes=15)
MAX_SUBJECT = 200

# The name of an attached file whose own name leaves nothing to show.
ATTACHMENT_FALLBACK_NAME = "tep-dinh-kem"


@dataclass(frozen=True)
class DigestFile:
    """One attachment of the digest."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class UnreadFile:
    """A unit's file that could not be read, to attach for the coordinator."""

    filename: str
    content_type: str
    data: bytes
    archived_at: str = ""  # the archived message that holds it (shown when it is not attached)


@dataclass(frozen=True)
class DigestContent:
    """Everything the digest email carries, before MIME composition."""

    subject: str
    html: str
    text: str
    files: tuple[DigestFile, ...]
    upward: str = ""  # the name of the superior's form among `files`, when attached


def is_late(cfg: Config, day: dt.date, now: dt.datetime) -> bool:
    """True when a digest for `day` built at `now` is going out well after `digest_at`."""
    due = dt.datetime.combine(day, cfg.schedule.digest_at, tzinfo=cfg.service.timezone)
    return now - due > LATE_AFTER


def digest_subject(cfg: Config, day: dt.date, period: ReportPeriod | None = None) -> str:
    """The subject: {date} the day (a report's period: its first day), {period} the report's period."""
    fields = {"date": day_month_year(day)}
    if period is not None:
        fields["period"] = period_label(period, cfg.service.language)
    return clean_text(fill(cfg.digest.subject, fields), MAX_SUBJECT, ellipsis=True)


@collector_paused()
def render_digest(
    view: DayView,
    cfg: Config,
    *,
    now: dt.datetime,
    unread_files: Sequence[UnreadFile | tuple[str, str, bytes]] = (),
    previous: DayView | None = None,
    reminded: Mapping[str, list[dt.datetime]] | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    sent_late: bool | None = None,
    upward: UpwardAttachment | None = None,
) -> DigestContent:
    """Subject, HTML, text and attachments of the digest for `view.day`.

    `unread_files` are the units' files that could not be read; they are attached after
    the workbook, in order, while the message as it goes out (`wire_size`: base64 and all)
    stays within `max_message_bytes`. The ones left out are named in the email with the
    archived message that holds each and the export command that lists them. `sent_late`
    None means: late when `now` is over 15 minutes past the day's `digest_at`. `upward`
    is the superior's form filled with the day's figures ([upward]), attached after the
    workbook, or the sentence saying why it could not be filled.
    """
    if sent_late is None:
        sent_late = is_late(cfg, view.day, now) if view.period is None else now - view.period.digest_at > LATE_AFTER
    model = kept(digest_model(view, cfg, now=now, previous=previous, reminded=reminded, sent_late=sent_late))
    lang = cfg.service.language
    t = labels(lang)
    num = Numbers.for_language(lang)
    model["max_message_size"] = num.size(max_message_bytes)
    always: list[DigestFile] = []
    names: set[str] = set()
    if cfg.digest.attach_workbook:
        from service.outputs.xl import import_openpyxl

        import_openpyxl()
        from service.outputs.workbook import render_workbook

        book = render_workbook(model, cfg)
        name = _unique_name(fill(t["workbook_filename"], {"date": view.day.isoformat()}), names, t)
        always.append(DigestFile(name, XLSX_TYPE, book))
        model["workbook"] = name
    model["upward"] = None
    if upward is not None:
        entry: dict[str, Any] = {"title": upward.title, "name": "", "filled": 0, "unmatched": [], "notes": []}
        entry["error"] = upward.error
        if upward.form is not None:
            name = _unique_name(upward.filename, names, t)
            always.append(DigestFile(name, upward.form.content_type, upward.form.data))
            entry.update(
                name=name,
                filled=upward.form.filled,
                unmatched=list(upward.form.unmatched),
                notes=list(upward.form.notes),
            )
        model["upward"] = entry
    candidates: list[tuple[DigestFile, dict[str, str]]] = []
    for item in unread_files:
        u = item if isinstance(item, UnreadFile) else UnreadFile(*item)
        name = _unique_name(safe_filename(u.filename, ATTACHMENT_FALLBACK_NAME, 150), names, t)
        candidates.append(
            (
                DigestFile(name, _content_type(u.content_type), u.data),
                {"name": name, "size": num.size(len(u.data)), "archived_at": u.archived_at},
            )
        )
    subject = digest_subject(cfg, view.day, view.period)

    def build(attached: list[int]) -> DigestContent:
        model["attachments"] = [candidates[i][1] for i in attached]
        model["omitted"] = [entry for i, (_, entry) in enumerate(candidates) if i not in attached]
        return DigestContent(
            subject=subject,
            html=render_template("digest.html", model, lang),
            text=render_template("digest.txt", model, lang),
            files=(*always, *(candidates[i][0] for i in attached)),
            upward=str(model["upward"]["name"]) if model["upward"] else "",
        )

    if not candidates:
        return build([])
    # Choose by the encoded size of each file against the room the bodies and the workbook
    # leave (measured with every file named as left out, the longer text), then measure
    # the message itself and leave out the last ones while it is still too big. A digest
    # whose upper bound leaves room for every file is that choice without measuring.
    none_attached = build([])
    if message_size_bound(none_attached, cfg) + sum(_encoded_part_size(f) for f, _ in candidates) <= max_message_bytes:
        content = build(list(range(len(candidates))))
        if message_size_bound(content, cfg) <= max_message_bytes:
            return content
    room = max_message_bytes - _message_size(none_attached, cfg, now)
    attached = []
    for i, (f, _) in enumerate(candidates):
        need = _encoded_part_size(f)
        if need <= room:
            attached.append(i)
            room -= need
    content = build(attached)
    while attached and _message_size(content, cfg, now) > max_message_bytes:
        attached.pop()
        content = build(attached)
    return content


def wire_size(message: EmailMessage) -> int:
    """Bytes of `message` as an SMTP server receives it (CRLF line ends), which its size limit counts."""
    return len(message_bytes(message, "\r\n"))


def _message_size(content: DigestContent, cfg: Config, now: dt.datetime) -> int:
    if cfg.smtp is None:  # no From address to compose with: the body and attachments, and room for the rest
        return wire_size(_mime(content)) + 4096
    return wire_size(compose_email(content, cfg, now=now, message_id=_PROBE_MESSAGE_ID))


def message_size_bound(content: DigestContent, cfg: Config) -> int:
    """More than `_message_size(content, ...)`, from lengths alone: header text at 4 bytes a
    byte (encoded words), each body part at 4 bytes a byte (quoted-printable's 3 with its
    soft line breaks, base64's 4/3) and 2 more a line, each attachment at
    `_encoded_part_size` and its content type, and 8 KB for the rest (header names, part
    headers, boundaries; the 4 KB `_message_size` adds without [smtp])."""
    people = [cfg.smtp.from_name or "", cfg.smtp.from_address] if cfg.smtp else []
    header_text = " ".join([content.subject, *people, *cfg.digest.to, *cfg.digest.cc])
    size = 8192 + 4 * len(header_text.encode("utf-8"))
    for body in (content.text, content.html):
        size += 1024 + 4 * len(body.encode("utf-8")) + 2 * (body.count("\n") + 1)
    for f in content.files:
        size += _encoded_part_size(f) + 1024 + 4 * len(f.content_type)
    return size


def _encoded_part_size(f: DigestFile) -> int:
    """A generous estimate of one attachment's bytes in the message: base64 in lines of 76
    characters and CRLF, and its part header (a non-ASCII name is encoded, up to 3 bytes
    a byte, and folded)."""
    encoded = 4 * -(-len(f.data) // 3)
    return encoded + 2 * -(-encoded // 76) + 400 + 4 * len(f.filename.encode("utf-8"))


def _unique_name(name: str, taken: set[str], t: Mapping[str, Any]) -> str:
    candidate, n = name, 1
    p = PurePosixPath(name)
    while candidate.casefold() in taken:
        n += 1
        candidate = fill(t["duplicate_filename"], {"stem": p.stem, "n": n, "suffix": p.suffix})
    taken.add(candidate.casefold())
    return candidate


def _content_type(value: str) -> str:
    main, _, sub = (value or "").strip().lower().partition("/")
    if main and sub and re.fullmatch(r"[a-z0-9.+-]+", main) and re.fullmatch(r"[a-z0-9.+-]+", sub):
        return f"{main}/{sub}"
    return "application/octet-stream"


def compose_email(
    content: DigestContent, cfg: Config, *, now: dt.datetime, message_id: str, draft: bool = False
) -> EmailMessage:
    """The digest as a MIME message (service/mail/compose.py): text + HTML alternatives, then
    the attachments; an automatic message, so out-of-office replies do not answer it.
    `draft` (a dry run's .eml): without [smtp] the message has no From field instead of
    being refused, since it is not sent."""
    if cfg.smtp is None and not draft:
        raise ValueError("[smtp] is not configured: the digest has no From address")
    return compose(
        sender=address(cfg.smtp.from_name, cfg.smtp.from_address) if cfg.smtp is not None else None,
        to=cfg.digest.to,
        cc=cfg.digest.cc,
        date=local_time(now, cfg),
        message_id=message_id,
        subject=content.subject,
        text=content.text,
        html=content.html,
        files=_files(content),
        auto_submitted="auto-generated",
    )


def _mime(content: DigestContent) -> EmailMessage:
    """The digest's parts alone (for measuring it before it has headers)."""
    return add_body(EmailMessage(), content.text, content.html, _files(content))


def _files(content: DigestContent) -> list[tuple[str, str, bytes]]:
    return [(f.filename, f.content_type, f.data) for f in content.files]
