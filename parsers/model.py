"""Frozen value types shared by the pure readers (parsers/) and their callers.

Nothing here does I/O. `service.config` builds a `FormSpec` from the TOML file and
passes it to the readers; the readers return `AttachmentResult`/`ParsedMessage`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

MeasureKind = Literal["count", "money"]


@dataclass(frozen=True)
class MeasureSpec:
    """One column of the report form."""

    code: str
    label: str
    aliases: tuple[str, ...] = ()
    kind: MeasureKind = "count"
    default_scale: int = 1  # đồng per unit of a money figure when the header states none


@dataclass(frozen=True)
class IndicatorSpec:
    """One row of the report form."""

    code: str
    label: str
    aliases: tuple[str, ...] = ()
    group: str | None = None


@dataclass(frozen=True)
class CheckSpec:
    """A comparison between two measures of the same row, e.g. `phe_duyet <= de_nghi`."""

    left: str
    op: Literal["<=", "<", ">=", ">", "==", "!="]
    right: str
    message: str
    rule: str = ""


@dataclass(frozen=True)
class ReadLimits:
    """Caps against hostile or runaway files; a file over a cap is a named problem."""

    max_attachment_bytes: int = 20 * 1024 * 1024
    max_decompressed_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: int = 200
    max_sheets: int = 100
    max_rows: int = 2_000
    max_columns: int = 100
    max_csv_cells: int = 200_000
    max_pages: int = 20  # pages of a PDF read (text or scan)
    # scans and photos (parsers.ocr): megapixels of one page as
    # rendered (300 dpi) or stored, seconds of recognition for one document
    max_page_megapixels: int = 40
    max_document_seconds: int = 60


@dataclass(frozen=True)
class FormSpec:
    """The report form: what the readers look for in an attachment."""

    measures: tuple[MeasureSpec, ...]
    indicators: tuple[IndicatorSpec, ...]
    checks: tuple[CheckSpec, ...] = ()
    limits: ReadLimits = field(default_factory=ReadLimits)

    def measure(self, code: str) -> MeasureSpec:
        for m in self.measures:
            if m.code == code:
                return m
        raise KeyError(code)


# The problems that say one figure is no valid value: a count that is not whole, a
# negative, text or a formula with no value. Such a figure stays in the unit's row,
# flagged, and is left out of the totals (service.day.dayview, which finds it here
# without importing the readers); each names its cell by `indicator_code` and
# `measure_code`. A failed check between measures (check_failed) flags figures that
# are each valid: they count.
FIGURE_FORMAT_PROBLEMS = frozenset({"not_a_number", "formula_no_value", "fractional_count", "negative_value"})


@dataclass(frozen=True)
class Problem:
    """Something wrong with a message or file, with a stable `code`.

    `params` fill the sentence for `code` in templates/lang/<language>.toml [problems]
    (e.g. file, sheet, cell, text); the sentence is rendered at the edge, in the
    configured language.
    """

    code: str
    params: Mapping[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.code, tuple(sorted(self.params.items()))))


# Outcome of one attachment.
#   read        a report table was found (values may still be empty or have problems)
#   unreadable  the file is a format we read but nothing could be read from it
#   evidence    a format we never read automatically (pdf, image, .doc, archive...)
AttachmentOutcome = Literal["read", "unreadable", "evidence", "pending"]  # pending: awaiting recognition

# values: {indicator_code: {measure_code: Decimal}}; money already in đồng.
Values = Mapping[str, Mapping[str, Decimal]]


@dataclass(frozen=True)
class AttachmentResult:
    """What the report reader made of one attachment."""

    filename: str
    detected_format: str  # xlsx, xls, csv, docx, pdf, image, zip, unknown, ...
    outcome: AttachmentOutcome
    values: Values = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    unit_text: str | None = None  # the "Đơn vị: ..." line, as written (Unicode)
    as_of: dt.date | None = None  # "Số liệu tính đến ngày dd/mm/yyyy"
    sheet: str | None = None  # sheet (or table) the figures were taken from
    sheet_reason: str | None = None  # why that sheet: "day", "active", "only"
    # The kind of source the figures came from: "spreadsheet", "text_pdf", "scan",
    # "photo", "body_text", "body_html" ("file" until a reader says more). Figures not
    # from a spreadsheet, a text PDF or an HTML table are marked as read from a
    # scan, a photo or free text.
    source: str = "file"
    # The form's rows (indicator codes) and columns (measure codes) the table was found
    # to have, filled or not: which of several report forms it is (service.ingest.choice).
    rows: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class MailAttachment:
    """One attachment as it came in the message (payload already decoded)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMessage:
    """The parts of an RFC 5322 message the pipeline needs."""

    message_id: str | None  # without angle brackets
    from_address: str | None  # lower-cased addr-spec
    from_name: str | None
    subject: str
    date_header: dt.datetime | None  # aware, from the Date header
    automatic_reason: str | None  # why it is automatic mail; None for a human message
    attachments: tuple[MailAttachment, ...]
    body_text: str
    in_reply_to: str | None = None
    problems: tuple[Problem, ...] = ()
    # Every address of every From field (a forged message may carry two); lower-cased.
    from_addresses: tuple[str, ...] = ()
    # Authentication-Results fields (RFC 8601) as (position among the header fields,
    # 0 = top, value), top first: which ones to trust is the caller's decision.
    authentication_results: tuple[tuple[int, str], ...] = ()
    # What the message says, not how it travelled (`parsers.message.content_sha256`):
    # with the Message-ID and the sender it tells one mail delivered twice from two mails.
    content_sha256: str | None = None
    # The HTML body as sent (bounded), "" when the message has none: a table pasted
    # from Excel is read from it (`parsers.body`).
    body_html: str = ""
    # The From addresses of the messages attached whole (message/rfc822: a report
    # forwarded "as attachment"), lower-cased: whose report the attached files are.
    embedded_from: tuple[str, ...] = ()
