"""Figures a unit states in the email itself rather than in an attachment.

`read_body` is the entry. It reads, in this order, what the sender wrote in this
message (never the quoted or forwarded history, never the signature):
  1. a table in the HTML body (a range pasted from Excel into Outlook or Gmail), by
     the same table finding as for spreadsheets (source "body_html");
  2. a table in the plain text (tab-separated rows, or one cell per line), when its
     header kept its shape (source "body_text");
  3. figures written in sentences and lists (`parsers.body.freetext`, source
     "body_text"); a figure whose place in the form is a guess is flagged.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from parsers.body.freetext import Placed, problems_of, read_free_text
from parsers.body.history import history_start, own_lines, prune_quotes, signature_start
from parsers.body.plaintable import line_cell_rows, rows_sheet, tab_rows
from parsers.body.vocabulary import vocabulary
from parsers.model import AttachmentResult, FormSpec, ParsedMessage, Problem
from parsers.numbers import parse_as_of_date
from parsers.readers.common import Grid
from parsers.readers.html import TABLE_MARK, page_lines, parse_html, tables_of, text_lines
from parsers.report import form_index, report_from_grid
from parsers.report.values import Reading, run_checks

__all__ = ["BODY_HTML", "BODY_TEXT", "read_body"]

# The "file" a figure of the body comes from, in problems (translated by the sentences).
BODY_TEXT, BODY_HTML = "body_text", "body_html"


def read_body(parsed: ParsedMessage, form: FormSpec, report_day: dt.date | None) -> AttachmentResult | None:
    """The figures the message's own text states, or None when it states none."""
    text = parsed.body_text
    if parsed.body_html.strip():
        result, text = _html_table(parsed.body_html, form, report_day)
        if result is not None:
            return result
    lines = own_lines(text.splitlines())
    return _plain_table(lines, form, report_day) or _free_text(lines, form)


def _html_table(html: str, form: FormSpec, report_day: dt.date | None) -> tuple[AttachmentResult | None, str]:
    """The report table of the sender's own part of an HTML body, and that part's text
    (the quote containers the mail client marked already left out)."""
    root = parse_html(html)
    prune_quotes(root)
    lines = page_lines(root)
    end = history_start(lines)
    end = signature_start(lines[:end])
    text = "\n".join(text_lines(lines[:end]))
    grid = tables_of(root, form.limits, BODY_HTML, max_tables=lines[:end].count(TABLE_MARK))
    if not grid.sheets:
        return None, text
    result = report_from_grid(grid, BODY_HTML, "html", form, report_day, source=BODY_HTML)
    return (result if result.outcome == "read" and result.values else None), text


def _plain_table(lines: list[str], form: FormSpec, report_day: dt.date | None) -> AttachmentResult | None:
    for found in (tab_rows(lines), line_cell_rows(lines)):
        if found is None:
            continue
        first, rows = found
        sheet = rows_sheet(rows, form.limits, "1", tuple(x for x in lines[:first] if x.strip())[-30:])
        if sheet is None:
            continue
        result = report_from_grid(Grid((sheet,)), BODY_TEXT, "text", form, report_day, source=BODY_TEXT)
        if result.outcome == "read" and result.values:
            return result
    return None


def _free_text(lines: list[str], form: FormSpec) -> AttachmentResult | None:
    vocab = vocabulary(form)
    prose = [line for line in lines if "\t" not in line]  # table rows that failed above are no prose
    found = read_free_text(prose, form, vocab)
    values: dict[str, dict[str, Decimal]] = {}
    first: dict[tuple[str, str], Placed] = {}
    problems: list[Problem] = []
    for p in found.placed:
        if p.measure is None or p.value is None:
            continue
        seen = first.get((p.indicator, p.measure))
        if seen is None:
            first[(p.indicator, p.measure)] = p
            values.setdefault(p.indicator, {})[p.measure] = p.value
        elif seen.value != p.value:  # stated twice, differently: the first is kept, both flagged
            if seen.reason is None:
                seen.reason = "stated_twice"
            p.reason = "stated_twice"
    problems.extend(problems_of(found.placed, BODY_TEXT, form))
    if values:
        reading = Reading(BODY_TEXT, "-")
        reading.values = values
        run_checks(form, form_index(form), reading)
        problems.extend(reading.problems)
    if not values and not problems:
        return None
    as_of = found.as_of or next((d for d in map(parse_as_of_date, lines) if d is not None), None)
    return AttachmentResult(
        filename=BODY_TEXT,
        detected_format="text",
        outcome="read" if values else "unreadable",
        values=values,
        problems=tuple(problems),
        as_of=as_of,
        source=BODY_TEXT,
    )
