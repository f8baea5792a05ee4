"""What storage hands to the service: plain frozen copies of stored rows, detached from any
session, so the day view, the renderers and the mails to units never touch the database.

The attribute names are the columns' own (storage/models.py), so a record reads like
the row it was made from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.models import Attachment, Figure, Message, ProblemRow


@dataclass(frozen=True)
class ProblemRecord:
    """A problem found in a message or one of its files: a code and its sentence's parameters."""

    code: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class AttachmentRecord:
    """One attachment as stored, with what the reader made of it."""

    position: int
    filename: str
    content_type: str
    detected_format: str
    size: int
    sha256: str
    outcome: str  # read | unreadable | evidence
    sheet: str | None
    sheet_reason: str | None


@dataclass(frozen=True)
class FigureRecord:
    """One value read from a report: indicator × measure, money in đồng."""

    indicator: str
    measure: str
    value: Decimal
    source: str = "file"  # spreadsheet, text_pdf, scan, photo, body_text, body_html ("file": not known)


@dataclass(frozen=True, eq=False)
class MessageRecord:
    """One stored message. Compared and hashed by identity, as the row it copies was.

    `attachments` and `problems` are always filled; `figures` only when the query that
    made the record says so (the day view reads figures in bulk, see storage.days)."""

    id: int
    sha256: str
    message_id: str | None
    size: int
    archive_path: str
    source: str  # imap | import
    received_at: dt.datetime
    report_day: dt.date
    from_address: str | None
    from_name: str | None
    subject: str
    date_header: dt.datetime | None
    kind: str  # report | unassigned | automatic
    unit_code: str | None
    reason: str | None
    readable: bool
    as_of: dt.date | None
    unit_text: str | None
    content_sha256: str | None
    identity_sha256: str | None
    attachments: tuple[AttachmentRecord, ...] = ()
    problems: tuple[ProblemRecord, ...] = ()
    figures: tuple[FigureRecord, ...] = ()


def problem_record(row: ProblemRow) -> ProblemRecord:
    return ProblemRecord(row.code, dict(row.params or {}))


def attachment_record(row: Attachment) -> AttachmentRecord:
    return AttachmentRecord(
        row.position,
        row.filename,
        row.content_type,
        row.detected_format,
        row.size,
        row.sha256,
        row.outcome,
        row.sheet,
        row.sheet_reason,
    )


def figure_record(row: Figure) -> FigureRecord:
    return FigureRecord(row.indicator, row.measure, row.value, row.source or "file")


def message_record(
    row: Message, *, attachments: bool = True, problems: bool = True, figures: bool = False
) -> MessageRecord:
    """A detached copy of `row`; the relations asked for are read (load them with the query)."""
    return MessageRecord(
        id=row.id,
        sha256=row.sha256,
        message_id=row.message_id,
        size=row.size,
        archive_path=row.archive_path,
        source=row.source,
        received_at=row.received_at,
        report_day=row.report_day,
        from_address=row.from_address,
        from_name=row.from_name,
        subject=row.subject,
        date_header=row.date_header,
        kind=row.kind,
        unit_code=row.unit_code,
        reason=row.reason,
        readable=bool(row.readable),
        as_of=row.as_of,
        unit_text=row.unit_text,
        content_sha256=row.content_sha256,
        identity_sha256=row.identity_sha256,
        attachments=tuple(attachment_record(a) for a in row.attachments) if attachments else (),
        problems=tuple(problem_record(p) for p in row.problems) if problems else (),
        figures=tuple(figure_record(f) for f in row.figures) if figures else (),
    )


@dataclass(frozen=True)
class DigestRecord:
    """The digest row of one reporting day (storage.models.Digest)."""

    id: int
    report_day: dt.date
    state: str
    message_id: str
    claimed_by: str
    lease_until: dt.datetime
    lease_token: str | None
    holder_process: str | None
    handed_over_at: dt.datetime | None
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    sends: int
    recipients: str | None
    updated_at: dt.datetime
