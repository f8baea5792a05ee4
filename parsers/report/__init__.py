"""Read the report out of one attachment: find the table, its figures and problems.

`read_attachment` never raises: whatever the bytes, it returns an AttachmentResult
whose problems say, with stable codes, what could not be read and where. The work is
in `matching` (labels to the form), `tables` (finding the table), `values` (figures
and checks) and `problems` (codes and sentences).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Final

from parsers.model import AttachmentResult, FormSpec, Problem, ReadLimits
from parsers.problems import FIGURE_FORMAT_PROBLEMS, PROBLEM_CODES, fill_sentence, render_problem
from parsers.readers import Grid, GridError, has_text_layer, read_grid
from parsers.report.matching import FormIndex, form_index, match_key
from parsers.report.ocrlabels import snap_labels
from parsers.report.tables import choose_table, find_table
from parsers.report.uncertain import choose_by_totals, flag_uncertain
from parsers.report.values import Reading, read_values, run_checks
from parsers.sniff import READABLE_FORMATS, sniff_format, sniff_hint

__all__ = [
    "FIGURE_FORMAT_PROBLEMS",
    "PROBLEM_CODES",
    "WORKBOOK_FORMATS",
    "FormIndex",
    "fill_sentence",
    "form_index",
    "match_key",
    "needs_recognition",
    "other_sheets",
    "read_attachment",
    "render_problem",
    "report_from_grid",
    "sniff_attachment",
]

log = logging.getLogger(__name__)

_EVIDENCE_OUTCOME: Final = "evidence"


def read_attachment(
    filename: str,
    content_type: str,
    data: bytes,
    form: FormSpec,
    report_day: dt.date | None,
    clock: Callable[[], float] = time.monotonic,
    fmt: str | None = None,
) -> AttachmentResult:
    """Read one attachment into figures and problems. Never raises. `clock` (seconds)
    times a scan's recognition against `max_document_seconds`; `fmt`, when given, is
    `sniff_format` of the attachment, already told (`sniff_attachment`)."""
    sniffed = fmt
    fmt = "unknown"
    try:
        fmt = sniffed if sniffed is not None else sniff_format(data, filename, content_type)
        return _read(filename, content_type, fmt, data, form, report_day, clock)
    except Exception as exc:  # the boundary: any failure is a named problem, not a crash
        log.debug("could not read attachment %r (%s)", filename, fmt, exc_info=True)
        return AttachmentResult(
            filename=filename,
            detected_format=fmt,
            outcome="unreadable",
            problems=(
                Problem("file_unreadable", {"file": filename, "error": type(exc).__name__, "detail": str(exc)[:200]}),
            ),
        )


def sniff_attachment(filename: str, content_type: str, data: bytes) -> str | None:
    """`sniff_format` of an attachment, for `needs_recognition` and `read_attachment` to
    share; None when it fails (each then names the failure as it would have)."""
    try:
        return sniff_format(data, filename, content_type)
    except Exception:  # noqa: BLE001 - read_attachment names what is wrong with the file
        return None


def needs_recognition(
    filename: str, content_type: str, data: bytes, form: FormSpec, fmt: str | None = None
) -> str | None:
    """The format ("image" or "pdf") when `read_attachment` would recognise this attachment
    cell by cell (a photo, or a PDF without a text layer: seconds, not milliseconds), else
    None. Cheap: the format (`fmt` when already told), and for a PDF whether it has a text
    layer. Never raises."""
    try:
        fmt = fmt if fmt is not None else sniff_format(data, filename, content_type)
        if len(data) > form.limits.max_attachment_bytes:
            return None
        if fmt == "image" or (fmt == "pdf" and not has_text_layer(data, form.limits, filename)):
            return fmt
    except Exception:  # noqa: BLE001 - read_attachment names what is wrong with the file
        log.debug("could not tell whether %r needs recognition", filename, exc_info=True)
    return None


def _read(
    filename: str,
    content_type: str,
    fmt: str,
    data: bytes,
    form: FormSpec,
    report_day: dt.date | None,
    clock: Callable[[], float],
) -> AttachmentResult:
    def unreadable(*problems: Problem) -> AttachmentResult:
        return AttachmentResult(filename=filename, detected_format=fmt, outcome="unreadable", problems=tuple(problems))

    if fmt == "empty":
        return unreadable(Problem("empty_file", {"file": filename}))
    if fmt == "encrypted":
        return unreadable(Problem("encrypted_file", {"file": filename}))
    if fmt == "pdf":
        return _read_pdf(filename, data, form, report_day, clock)
    if fmt == "image" and len(data) <= form.limits.max_attachment_bytes:
        return _read_scan(filename, fmt, data, form, report_day, clock)
    if fmt not in READABLE_FORMATS:
        return AttachmentResult(
            filename=filename,
            detected_format=fmt,
            outcome=_EVIDENCE_OUTCOME,
            problems=(Problem("unsupported_format", {"file": filename, "format": fmt}),),
        )
    limits = form.limits
    if len(data) > limits.max_attachment_bytes:
        return unreadable(
            Problem(
                "over_limit",
                {"file": filename, "limit": "attachment_bytes", "detail": str(limits.max_attachment_bytes)},
            )
        )
    try:
        grid: Grid = read_grid(data, fmt, limits, filename)
    except GridError as exc:
        return unreadable(exc.problem)
    result = report_from_grid(grid, filename, fmt, form, report_day, source="spreadsheet")
    if result.outcome != "read" and fmt == "html" and sniff_hint(filename, content_type) in _SPREADSHEET_HINTS:
        # a web page named like a workbook, with no report table Excel could have saved
        return unreadable(*grid.problems, Problem("html_disguised", {"file": filename}))
    return result


_SPREADSHEET_HINTS = frozenset({"xls", "xlsx", "xlsm"})
# Sources whose money columns must state their scale: a PDF or an email body is no form
# the coordinator handed out, so a scale stated nowhere is an assumption, flagged
# (a scan or photo flags it in parsers.report.uncertain, free text in parsers.body).
_DOCUMENT_SOURCES = frozenset({"text_pdf", "body_html", "body_text"})
WORKBOOK_FORMATS = frozenset({"xlsx", "xlsm", "xls", "ods", "fods"})


def other_sheets(filename: str, fmt: str, data: bytes, limits: ReadLimits, used_sheet: str | None) -> Grid | None:
    """The sheets of a workbook but `used_sheet` (the one a report of the file was read
    from: several reports may come as the sheets of one workbook), or None when it has
    no other sheet."""
    if fmt not in WORKBOOK_FORMATS or len(data) > limits.max_attachment_bytes:
        return None
    try:
        grid = read_grid(data, fmt, limits, filename)
    except GridError:
        return None
    others = tuple(s for s in grid.sheets if s.name != used_sheet)
    if not others or len(others) == len(grid.sheets):
        return None
    return Grid(others, grid.problems)


def _read_scan(
    filename: str, fmt: str, data: bytes, form: FormSpec, report_day: dt.date | None, clock: Callable[[], float]
) -> AttachmentResult:
    """A scanned PDF or a photo: recognised cell by cell (parsers.ocr), then the same
    table finding as a spreadsheet; unsure figures flagged (`uncertain_figure`)."""
    source = "photo" if fmt == "image" else "scan"
    from parsers.ocr import read_scan  # OpenCV, NumPy, Tesseract: imported for a scan only

    try:
        grid = read_scan(data, fmt, form.limits, filename, clock)
    except GridError as exc:
        return AttachmentResult(
            filename=filename, detected_format=fmt, outcome="unreadable", problems=(exc.problem,), source=source
        )
    grid = snap_labels(grid, form, form_index(form))
    return report_from_grid(grid, filename, fmt, form, report_day, source=source)


def _read_pdf(
    filename: str, data: bytes, form: FormSpec, report_day: dt.date | None, clock: Callable[[], float]
) -> AttachmentResult:
    """A PDF: a text PDF is read like a spreadsheet (source "text_pdf"); a PDF with no
    text layer (a scan) is recognised cell by cell (`_read_scan`)."""
    limits = form.limits
    if len(data) > limits.max_attachment_bytes:
        problem = Problem(
            "over_limit", {"file": filename, "limit": "attachment_bytes", "detail": str(limits.max_attachment_bytes)}
        )
        return AttachmentResult(filename=filename, detected_format="pdf", outcome="unreadable", problems=(problem,))
    try:
        if not has_text_layer(data, limits, filename):
            return _read_scan(filename, "pdf", data, form, report_day, clock)
        grid = read_grid(data, "pdf", limits, filename)
    except GridError as exc:
        return AttachmentResult(filename=filename, detected_format="pdf", outcome="unreadable", problems=(exc.problem,))
    return report_from_grid(grid, filename, "pdf", form, report_day, source="text_pdf")


def report_from_grid(
    grid: Grid, filename: str, fmt: str, form: FormSpec, report_day: dt.date | None, source: str
) -> AttachmentResult:
    """The report table among the sheets of `grid`, its figures and their problems
    (outcome "unreadable" with no_table_found when no sheet holds one)."""
    index = form_index(form)
    tables = [t for t in (find_table(s, index) for s in grid.sheets) if t is not None]
    if not tables:
        return AttachmentResult(
            filename=filename,
            detected_format=fmt,
            outcome="unreadable",
            problems=(*grid.problems, Problem("no_table_found", {"file": filename})),
            source=source,
        )
    table, reason = choose_table(tables, report_day)
    reading = Reading(filename, table.sheet.name)
    read_values(table, index, reading, flag_unstated_scale=source in _DOCUMENT_SOURCES)
    recognised = any(c.confidence is not None for c in table.sheet.cells.values())
    if recognised:
        choose_by_totals(table, index, reading)
    run_checks(form, index, reading)
    if recognised:
        reading.problems.extend(flag_uncertain(table, index, form, reading))
    problems = list(grid.problems) + reading.problems
    return AttachmentResult(
        filename=filename,
        detected_format=fmt,
        outcome="read",
        values={k: dict(v) for k, v in reading.values.items()},
        problems=tuple(problems),
        unit_text=table.unit_text,
        as_of=table.as_of,
        sheet=table.sheet.name,
        sheet_reason=reason,
        source=source,
        rows=tuple(dict.fromkeys(code for _, code, _ in table.rows)),
        columns=tuple(table.columns),
    )
