"""Read the tables of an HTML page into a `Grid`, and an HTML page as plain text.

Two kinds of HTML carry a report: a range pasted from Excel into an email (Outlook's
Word HTML with `MsoNormalTable`, `mso-` styles and `<o:p>`; Gmail's `<table>` with
`gmail-xl65` classes and a `<colgroup>`), and a workbook Excel saved as a web page
(.htm, or the "single file web page" .mht, a MIME multipart/related). Each `<table>`
becomes a `Sheet`: cells placed by the HTML table algorithm, colspan/rowspan as
merged ranges, the text before the table as its notes, so that the same table
finding as for spreadsheets reads it. Numbers stay text as displayed ("110,12"),
except where Excel wrote the cell's value beside it (`x:num`).

lxml parses the markup with no network access; an HTML parser expands no declared
entity, and comments (Outlook's `<!--[if gte mso 9]><xml>...`) are dropped.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import lxml.etree
import lxml.html

from parsers.model import Problem, ReadLimits
from parsers.readers.common import Cell, Grid, GridError, Sheet, TextDecoder, as_active, make_cell, note_truncation
from parsers.sniff import decode_text
from parsers.vntext import nfc

# An lxml element (lxml has no type information here).
_Element = Any

# Markup is bounded before parsing: a pasted table of a few hundred rows in Word HTML
# is well under a megabyte per hundred rows.
MAX_HTML_BYTES = 8 * 1024 * 1024
MAX_TABLES = 50
_MAX_SPAN = 1_000  # the HTML standard's cap on colspan; rowspan is capped by the rows
_MAX_NOTE_LINES = 30
_MAX_MHT_PARTS = 200

_INVISIBLE = frozenset({"head", "style", "script", "title", "xml", "template", "noscript", "object", "iframe"})
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "address",
        "center",
        "dl",
        "dt",
        "dd",
        "hr",
        "table",
        "tr",
        "caption",
        "form",
        "body",
    }
)
_CELLS = frozenset({"td", "th"})
_DISPLAY_NONE_RE = re.compile(r"(?:^|;)\s*display\s*:\s*none\b", re.I)
_PLAIN_NUMBER_RE = re.compile(r"[-−(]?\s*\d[\d.,\s\u00a0]*\)?")
_X_NUM_RE = re.compile(r"-?\d{1,30}(?:\.\d{1,30})?(?:[eE][-+]?\d{1,3})?")
_CHARSET_RE = re.compile(rb"charset\s*=", re.I)
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")

TABLE_MARK = "\x00table\x00"  # where a table starts in `page_lines`


def parse_html(markup: str | bytes) -> _Element:
    """The document tree of `markup` (bytes: the charset its <meta> declares, else UTF-8)."""
    if isinstance(markup, bytes) and not _CHARSET_RE.search(markup[:4096]):
        decoded = decode_text(markup[:MAX_HTML_BYTES])  # no declared charset: UTF-8, else cp1258
        markup = decoded[0] if decoded is not None else markup
    data = markup.encode("utf-8", "surrogateescape") if isinstance(markup, str) else markup
    if len(data) > MAX_HTML_BYTES:
        data = data[:MAX_HTML_BYTES]
    parser = _parser("utf-8" if isinstance(markup, str) else None)
    try:
        root = lxml.html.document_fromstring(data, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        root = lxml.html.document_fromstring(b"<html><body></body></html>", parser=parser)
    return root


def _parser(encoding: str | None) -> lxml.html.HTMLParser:
    return lxml.html.HTMLParser(
        encoding=encoding,
        remove_comments=True,
        remove_pis=True,
        no_network=True,
        huge_tree=False,
        default_doctype=False,
    )


def _tag(el: _Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""  # a comment or processing instruction left by the parser
    return tag.rsplit(":", 1)[-1].lower() if ":" in tag else tag.lower()


def _hidden(el: _Element) -> bool:
    if el.get("hidden") is not None:
        return True
    style = el.get("style")
    return bool(style) and _DISPLAY_NONE_RE.search(style) is not None


# ---- text -----------------------------------------------------------------------------


def _text_parts(el: _Element, out: list[str], skip_tables: bool) -> None:
    """The visible text under `el`: blocks and <br> as line breaks, cells by tabs."""
    tag = _tag(el)
    if tag in _INVISIBLE or _hidden(el):
        if el.tail:
            out.append(_src(el.tail))
        return
    if tag == "table" and skip_tables:
        out.append("\n")
        if el.tail:
            out.append(_src(el.tail))
        return
    if tag in _CELLS:
        # a cell is one field of its row's line, however many paragraphs it holds
        out.append("\t" + cell_text(el).replace("\n", " ") + "\t")
        if not skip_tables:
            for nested in el.iter("table"):
                if nested is not el and not any(_tag(a) == "table" for a in _between(nested, el)):
                    _text_parts(nested, out, skip_tables)
                    out.append("\n")
        if el.tail:
            out.append(_src(el.tail))
        return
    if tag == "br":
        out.append("\n")
    elif tag in _BLOCKS:
        out.append("\n")
        if tag == "table":
            out.append(TABLE_MARK)
            out.append("\n")
    if el.text:
        out.append(el.text if tag == "pre" else _src(el.text))
    for child in el:
        _text_parts(child, out, skip_tables)
    if tag in _BLOCKS:
        out.append("\n")
    if el.tail:
        out.append(_src(el.tail))


def _src(text: str) -> str:
    """Text as written in the markup: its line breaks are spaces to a reader."""
    return text.replace("\r", " ").replace("\n", " ")


def _lines(parts: list[str]) -> list[str]:
    text = nfc("".join(parts))
    lines = []
    for line in text.split("\n"):
        cells = [_SPACES_RE.sub(" ", c).strip() for c in line.split("\t")]
        lines.append("\t".join(c for c in cells if c) if len(cells) > 1 else cells[0])
    return lines


def page_lines(root: _Element) -> list[str]:
    """The visible text of a page, one line per paragraph or table row (cells joined
    by tabs), with TABLE_MARK where each table begins; runs of blank lines folded."""
    parts: list[str] = []
    body = root.find("body") if _tag(root) == "html" else None
    _text_parts(body if body is not None else root, parts, skip_tables=False)
    out: list[str] = []
    for line in _lines(parts):
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def html_text(markup: str) -> str:
    """An HTML body as the plain text a reader sees (for a message with no text part)."""
    return "\n".join(text_lines(page_lines(parse_html(markup))))


def text_lines(lines: list[str]) -> list[str]:
    """`page_lines` without the table marks, runs of blank lines folded."""
    out: list[str] = []
    for line in lines:
        if line != TABLE_MARK and (line or (out and out[-1])):
            out.append(line)
    return out


def cell_text(el: _Element) -> str:
    """One cell's visible text, nested tables left out, lines kept."""
    parts: list[str] = []
    if el.text:
        parts.append(_src(el.text))
    for child in el:
        _text_parts(child, parts, skip_tables=True)
    lines = [" ".join(line.split("\t")).strip() for line in _lines(parts)]
    return "\n".join(line for line in lines if line)


# ---- tables ---------------------------------------------------------------------------


@dataclass
class _Placed:
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    over_rows: bool = False
    over_cols: bool = False


def _rows_of(table: _Element) -> Iterator[_Element]:
    for child in table:
        tag = _tag(child)
        if tag == "tr":
            yield child
        elif tag in ("thead", "tbody", "tfoot"):
            for tr in child:
                if _tag(tr) == "tr":
                    yield tr


def _span(el: _Element, name: str, cap: int) -> int:
    raw = (el.get(name) or "1").strip()
    digits = re.match(r"\d{1,6}", raw)
    n = int(digits.group()) if digits else 1
    return max(1, min(n, cap))


def _excel_value(el: _Element, text: str) -> Decimal | None:
    """The value Excel wrote beside a number it displays (`x:num`), when the cell shows
    a plain number: the workbook's value, as for an .xlsx."""
    raw = el.get("x:num")
    if raw is None or not _PLAIN_NUMBER_RE.fullmatch(text):
        return None
    raw = raw.strip()
    if not _X_NUM_RE.fullmatch(raw):
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _place_table(table: _Element, limits: ReadLimits, decode: TextDecoder) -> _Placed:
    placed = _Placed()
    taken: set[tuple[int, int]] = set()
    r = 0
    for tr in _rows_of(table):
        if _hidden(tr):
            continue
        r += 1
        if r > limits.max_rows:
            placed.over_rows = True
            break
        c = 1
        for td in tr:
            if _tag(td) not in _CELLS or _hidden(td):
                continue
            while (r, c) in taken:
                c += 1
            colspan = _span(td, "colspan", _MAX_SPAN)
            rowspan = _span(td, "rowspan", limits.max_rows)
            if c > limits.max_columns:
                placed.over_cols = True
                break
            last_col = min(c + colspan - 1, limits.max_columns)
            last_row = min(r + rowspan - 1, limits.max_rows)
            for rr in range(r, last_row + 1):
                for cc in range(c, last_col + 1):
                    taken.add((rr, cc))
            if (last_row, last_col) != (r, c):
                placed.merged.append((r, c, last_row, last_col))
            text = cell_text(td)
            number = _excel_value(td, text)
            cell = make_cell(text, r, c, decode) if number is None else make_cell(number, r, c, decode)
            if cell is not None and number is not None:
                cell = Cell(cell.value, text, None, False, cell.coordinate)
            if cell is not None:
                placed.cells[(r, c)] = cell
            c = last_col + 1
    # a rowspan reaching past the last row ends there
    last = max((rr for rr, _ in placed.cells), default=0)
    placed.merged = [(r1, c1, min(r2, max(last, r1)), c2) for r1, c1, r2, c2 in placed.merged]
    placed.merged = [m for m in placed.merged if (m[0], m[1]) != (m[2], m[3])]
    return placed


def tables_of(
    root: _Element, limits: ReadLimits, filename: str, name_prefix: str = "", max_tables: int = MAX_TABLES
) -> Grid:
    """The visible tables of a parsed page (the first `max_tables`) as sheets named by
    their position ("1", "2", ...)."""
    lines = page_lines(root)
    notes_of: list[tuple[str, ...]] = []
    before: list[str] = []
    for line in lines:
        if line == TABLE_MARK:
            notes_of.append(tuple(x for x in before[-_MAX_NOTE_LINES:] if x))
            before = []
        else:
            before.append(line)
    tables = [t for t in root.iter("table") if not any(_hidden(a) or _tag(a) in _INVISIBLE for a in _lineage(t))]
    problems: list[Problem] = []
    if len(tables) > MAX_TABLES:
        problems.append(Problem("over_limit", {"file": filename, "limit": "sheets", "detail": str(MAX_TABLES)}))
    tables = tables[: min(max_tables, MAX_TABLES)]
    decode = TextDecoder()
    sheets: list[Sheet] = []
    for i, table in enumerate(tables):
        name = f"{name_prefix}{i + 1}"
        placed = _place_table(table, limits, decode)
        note_truncation(problems, filename, name, placed.over_rows, placed.over_cols, limits)
        if not placed.cells:
            continue
        notes = notes_of[i] if i < len(notes_of) else ()
        sheets.append(Sheet(name=name, cells=placed.cells, merged=tuple(placed.merged), notes=notes))
    if sheets:
        sheets[0] = as_active(sheets[0])
    return Grid(tuple(sheets), tuple(problems))


def _between(el: _Element, ancestor: _Element) -> Iterator[_Element]:
    """The ancestors of `el` below `ancestor`."""
    el = el.getparent()
    while el is not None and el is not ancestor:
        yield el
        el = el.getparent()


def _lineage(el: _Element) -> Iterator[_Element]:
    while el is not None:
        yield el
        el = el.getparent()


# ---- files ----------------------------------------------------------------------------


def read_html(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """The tables of a page saved as .htm/.html, or of every page of an .mht archive."""
    if len(data) > MAX_HTML_BYTES:
        raise GridError("over_limit", file=filename, limit="attachment_bytes", detail=str(MAX_HTML_BYTES))
    pages = _mht_pages(data)
    if pages is None:
        return tables_of(parse_html(data), limits, filename)
    sheets: list[Sheet] = []
    problems: list[Problem] = []
    for n, page in enumerate(pages, start=1):
        grid = tables_of(parse_html(page), limits, filename, name_prefix=f"{n}." if len(pages) > 1 else "")
        sheets.extend(grid.sheets)
        problems.extend(grid.problems)
    sheets = [Sheet(s.name, s.cells, s.merged, False, s.is_hidden, s.notes) for s in sheets]
    if sheets:
        sheets[0] = as_active(sheets[0])
    return Grid(tuple(sheets), tuple(problems))


_MHT_HEAD_RE = re.compile(rb"^\s*mime-version\s*:", re.I)


def _mht_pages(data: bytes) -> list[str | bytes] | None:
    """The HTML parts of a "single file web page" (MIME), in order; None for plain HTML."""
    if not _MHT_HEAD_RE.match(data[:200]):
        return None
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    pages: list[str | bytes] = []
    for n, part in enumerate(message.walk()):
        if n > _MAX_MHT_PARTS:
            break
        if part.get_content_type() != "text/html":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset()
        try:
            pages.append(payload.decode(charset, "replace") if charset else payload)
        except LookupError:  # a charset Python does not know: the page's <meta> decides
            pages.append(payload)
    return pages
