"""Read a text PDF (printed from Excel or Word, signed or not) into a `Grid`.

Words come with their positions from pdfplumber (on pdfminer.six); the cells of a table
from its ruling lines, or, on a document with no ruled table of figures, from the
alignment of its words. Each table becomes one sheet; a table that goes on at the top of the next
page (its header rows repeated or not) is the same sheet. The lines of text before a
table (letterhead, title, "Đơn vị: ...", "Số liệu tính đến ngày ...") are its notes;
paragraphs, "Nơi nhận" and signature blocks are not cells of any table and are not read.
How the document writes its numbers (1.234,5 or 1,234.5) is decided once from all its
figures (`parsers.numbers.document_locale`) and given to every sheet.

A PDF without a text layer (a scan) is no text PDF: `has_text_layer` tells them apart
(pypdfium2, which also renders the pages of a scan).
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import LITERALS_FLATE_DECODE, PDFStream

from parsers.model import Problem, ReadLimits
from parsers.numbers import FigureError, FigureKind, document_locale, parse_figure_with_unit
from parsers.readers.common import Cell, Grid, GridError, Sheet, TextDecoder, coordinate, note_truncation
from parsers.vntext import fold_spaces

__all__ = ["has_text_layer", "pdf_page_count", "read_pdf"]

# Fewer characters than this in the whole document: no text layer (a scanner may write
# a few words, its name or a page number, over the image of a page).
_MIN_TEXT_CHARS = 50
_LINES = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
_RUNNING_LINES = 1  # lines of a running header or footer (page number, title) around a continued table
_HEADER_ROWS_MAX = 6  # rows at the top of a continued table compared with the header
_GAP_AS_COLUMNS = 14.0  # points between two words of a line that mean a new column ("   ")
_LINE_TOLERANCE = 3.0  # points of `top` within which two words are on one line
_DOUBLE_PRINTED = 3  # characters over another identical one, above which a page is deduplicated
_EDGE = 0.5  # points: a cell edge that close to a column's or row's start is on it
# Objects in one PDF: a report of 20 pages has hundreds, a long one saved from Word with
# its accessibility tags (an object a paragraph and a table cell) thousands. pdfminer
# parses each one (in Python) to find the compressed streams, and its whole file when
# the cross-reference table is broken: 100,000 empty objects (9 MB) took 16 s.
MAX_PDF_OBJECTS = 50_000
_OBJECT_RE = re.compile(rb"\d+\s+\d+\s+obj\b")


def _open_pdfium(data: bytes, limits: ReadLimits, filename: str) -> Any:
    _check_streams(data, limits, filename)
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        # PDFium's error code is global and may be stale: pdfminer says what is wrong
        raise _why_unreadable(data, filename, str(exc)) from exc


def _check_streams(data: bytes, limits: ReadLimits, filename: str) -> None:
    """Refuse a PDF whose compressed streams other than images (page contents, forms,
    fonts) unpack to more than limits.max_decompressed_bytes (a zip bomb in a PDF), before
    anything unpacks them whole. Each stream is unpacked in bounded steps; a file pdfminer
    cannot parse is left for PDFium to judge."""
    budget = limits.max_decompressed_bytes
    too_many = GridError("over_limit", file=filename, limit="pdf_objects", detail=str(MAX_PDF_OBJECTS))
    if any(n > MAX_PDF_OBJECTS for n, _ in enumerate(_OBJECT_RE.finditer(data), start=1)):
        raise too_many  # (counted before pdfminer, which may read the whole file to find them)
    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        if len({objid for xref in document.xrefs for objid in xref.get_objids()}) > MAX_PDF_OBJECTS:
            raise too_many  # (in object streams, which the count above does not see)
        seen: set[int] = set()
        for xref in document.xrefs:
            for objid in xref.get_objids():
                if objid in seen:
                    continue
                seen.add(objid)
                try:
                    obj = document.getobj(objid)
                except Exception:  # a damaged object: PDFium and pdfminer decide later
                    continue
                if isinstance(obj, PDFStream) and getattr(obj.get("Subtype"), "name", None) != "Image":
                    budget -= _unpacked_size(obj, budget)
                    if budget < 0:
                        raise GridError(
                            "over_limit",
                            file=filename,
                            limit="decompressed_bytes",
                            detail=str(limits.max_decompressed_bytes),
                        )
    except GridError:
        raise
    except Exception:  # not parsable by pdfminer (damaged, a password): PDFium says what
        return


def _unpacked_size(stream: PDFStream, budget: int) -> int:
    """The size `stream` unpacks to (Flate only; others as stored), counted up to `budget` + 1."""
    data = stream.rawdata
    if data is None:
        return len(stream.data or b"")
    filters = stream.get_filters()
    if not filters or filters[0][0] not in LITERALS_FLATE_DECODE:
        return len(data)
    if stream.decipher and stream.objid is not None and stream.genno is not None:
        data = stream.decipher(stream.objid, stream.genno, data, stream.attrs)
    unpacker = zlib.decompressobj()
    size = 0
    try:
        chunk = unpacker.decompress(data, 1 << 20)
        while chunk:
            size += len(chunk)
            if size > budget:
                break
            chunk = unpacker.decompress(unpacker.unconsumed_tail, 1 << 20)
    except zlib.error:
        pass
    return size


def _why_unreadable(data: bytes, filename: str, detail: str) -> GridError:
    """The named problem of a PDF that PDFium could not open: a password, no page, or damage."""
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if not pdf.pages:
                return GridError("empty_file", file=filename)
    except Exception as exc:  # pdfminer wraps what it raises; its cause says which
        cause = exc.__cause__ or (exc.args[0] if exc.args else None)
        if isinstance(cause, PDFPasswordIncorrect) or isinstance(exc, PDFPasswordIncorrect):
            return GridError("encrypted_file", file=filename)
    return GridError("file_unreadable", file=filename, error="PDF", detail=detail[:200])


def pdf_page_count(data: bytes, limits: ReadLimits, filename: str = "") -> int:
    """The number of pages of the PDF `data`. Raises GridError naming the file when it
    cannot be opened (damaged, a password), has no page, or more than limits.max_pages."""
    doc = _open_pdfium(data, limits, filename)
    try:
        return _checked_pages(doc, limits, filename)
    finally:
        doc.close()


def _checked_pages(doc: Any, limits: ReadLimits, filename: str) -> int:
    n = len(doc)
    if n <= 0:
        raise GridError("empty_file", file=filename)
    if n > limits.max_pages:
        raise GridError("over_limit", file=filename, limit="pages", detail=str(limits.max_pages))
    return int(n)


def has_text_layer(data: bytes, limits: ReadLimits, filename: str = "") -> bool:
    """Whether the PDF `data` has text to read (printed to PDF) rather than being only
    images of pages (a scan, which needs recognition). Raises GridError as
    `pdf_page_count` does: a damaged, password-protected, empty or over-long PDF."""
    doc = _open_pdfium(data, limits, filename)
    try:
        chars = 0
        for i in range(_checked_pages(doc, limits, filename)):
            page = doc[i]
            textpage = page.get_textpage()
            try:
                chars += sum(1 for ch in textpage.get_text_range() if not ch.isspace())
            finally:
                textpage.close()
                page.close()
            if chars >= _MIN_TEXT_CHARS:
                return True
        return False
    finally:
        doc.close()


# --------------------------------------------------------------------------- reading


@dataclass
class _Block:
    """One table read from one or more pages: rows of cell texts, merged boxes."""

    first_page: int
    last_page: int
    ncols: int
    rows: list[dict[int, tuple[str, int]]] = field(default_factory=list)  # col -> (text, page)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # 0-based rows, 1-based cols
    notes: tuple[str, ...] = ()
    ends_page: bool = True  # the page's last table, at most a running footer below it
    starts_page: bool = True  # the page's first table, at most a running header above it
    inferred: bool = False  # cells inferred from the alignment of words (no ruling lines)
    columns: tuple[tuple[float, float], ...] = ()  # inferred: (x0, x1) of each column

    def header_texts(self, k: int) -> list[tuple[str, ...]]:
        return [_row_key(r, self.ncols) for r in self.rows[:k]]


def _row_key(row: dict[int, tuple[str, int]], ncols: int) -> tuple[str, ...]:
    return tuple(fold_spaces(row[c][0]) if c in row else "" for c in range(1, ncols + 1))


def read_pdf(data: bytes, limits: ReadLimits, filename: str = "") -> Grid:
    """Every table of the text PDF `data` as a sheet (see the module's doc). Raises
    GridError for a PDF that cannot be opened, is empty or over the page limit."""
    pages = pdf_page_count(data, limits, filename)
    decode = TextDecoder()
    problems: list[Problem] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        page_list = [_deduplicated(page) for page in pdf.pages[:pages]]
        blocks = _read_blocks(page_list, decode)
        if not any(_has_figures(b) for b in blocks):
            # no ruled table of figures (none at all, or only boxes of a letterhead or a
            # signature): cells from the alignment of the words
            blocks += _aligned_blocks(page_list, decode)
    sheets = [_sheet(str(i + 1), b, limits, filename, problems) for i, b in enumerate(blocks)]
    texts = (cell.text for sheet in sheets for cell in sheet.cells.values())
    locale = document_locale(t for t in texts if _is_figure(t)) or "undecided"
    sheets = [Sheet(s.name, s.cells, s.merged, s.is_active, s.is_hidden, s.notes, locale, s.uncertain) for s in sheets]
    return Grid(tuple(sheets), tuple(problems))


def _deduplicated(page: Any) -> Any:
    """The page without characters printed twice over each other (bold faked by printing
    a word twice, "TTổổnngg"), when it has them; checking costs a pass over its characters."""
    seen: set[tuple[str, int, int]] = set()
    twice = 0
    for ch in page.chars:
        key = (ch["text"], round(ch["x0"]), round(ch["top"]))
        if key in seen:
            twice += 1
        seen.add(key)
    return page.dedupe_chars() if twice > _DOUBLE_PRINTED else page


def _has_figures(block: _Block) -> bool:
    """Whether at least two rows of `block` hold a figure beside their first cell, or
    one row holds two under a row above (a table of one row under its header)."""
    rows = 0
    for i, row in enumerate(block.rows):
        figures = sum(1 for col, (text, _page) in row.items() if col != min(row) and _is_figure(text))
        rows += figures > 0
        if rows >= 2 or (i > 0 and figures >= 2):
            return True
    return False


def _is_figure(text: str) -> bool:
    kinds: tuple[FigureKind, ...] = ("count", "money")
    for kind in kinds:
        try:
            if parse_figure_with_unit(text, kind)[0] is not None:
                return True
        except FigureError:
            continue
    return False


def _read_blocks(pages: Sequence[Any], decode: TextDecoder) -> list[_Block]:
    """The tables drawn with ruling lines, in reading order, continued ones joined."""
    blocks: list[_Block] = []
    notes: list[str] = []
    for page_no, page in enumerate(pages, 1):
        words = page.extract_words()
        tables = sorted(page.find_tables(table_settings=_LINES), key=lambda t: (t.bbox[1], t.bbox[0]))
        boxes = [t.bbox for t in tables]
        outside = [w for w in words if not any(_inside(w, b) for b in boxes)]
        lines = _lines(outside)
        for i, table in enumerate(tables):
            top = table.bbox[1]
            above = [text for y, text in lines if y < top]
            notes.extend(above)
            lines = [(y, text) for y, text in lines if y >= top]
            block = _block(table, page_no, decode)
            if block is None:
                continue
            block.starts_page = i == 0 and len(above) <= _RUNNING_LINES
            block.ends_page = i == len(tables) - 1 and sum(1 for y, _t in lines if y > top) <= _RUNNING_LINES
            _add_block(blocks, block, notes, decode)
        notes.extend(text for _y, text in lines)
    return blocks


def _add_block(blocks: list[_Block], block: _Block, notes: list[str], decode: TextDecoder) -> None:
    """Append `block`, or join it to the table before when it goes on with it (that table
    ends its page, this one starts the next)."""
    prev = blocks[-1] if blocks else None
    if (
        block.starts_page
        and prev is not None
        and prev.last_page == block.first_page - 1
        and prev.ends_page
        and _continues(prev, block)
    ):
        return
    block.notes = tuple(decode(n, None) for n in notes)
    blocks.append(block)


# --------------------------------------------------------------------------- no ruling lines

_INFERRED = "inferred_columns"  # uncertain_figure reason of every figure of such a table
_PHRASE_GAP = 7.0  # points between two words of a line that end a phrase (a cell)
_RUN_GAP = 40.0  # points between two table lines of one table, at most
# A column-number cell under a header: "(1)", "(4)=(2)x(3)".
_COLUMN_NUMBER_RE = re.compile(r"\(\d{1,2}\)(?:\s*[=x*+/-]\s*\(\d{1,2}\))*")
_WIDE_SPACE = 1.8  # times the narrowest space between the words of a phrase: a space between two cells
_WRAPPED_LINES = 2  # lines of a single phrase (wrapped labels) between two table lines, at most


@dataclass
class _Line:
    top: float
    bottom: float
    phrases: list[tuple[float, float, str]]  # x0, x1, text
    words: list[list[tuple[float, float, str]]] = field(default_factory=list)  # each phrase's words

    @property
    def text(self) -> str:
        return " ".join(p[2] for p in self.phrases)

    @property
    def has_figure(self) -> bool:
        return any(_is_figure(p[2]) for p in self.phrases[1:])

    @property
    def has_value(self) -> bool:
        """A figure or the mark of an empty cell ("-") after the first phrase."""
        return any(_is_figure(p[2]) or _is_blank(p[2]) for p in self.phrases[1:])

    @property
    def is_column_numbers(self) -> bool:
        """The "(1) (2) (3) ..." line under a header: no row of figures ("(1)" would
        read as -1), and its centred marks must not make columns of their own."""
        return len(self.phrases) > 1 and all(_COLUMN_NUMBER_RE.fullmatch(w) for p in self.phrases for w in p[2].split())


def _aligned_blocks(pages: Sequence[Any], decode: TextDecoder) -> list[_Block]:
    """Tables without ruling lines: runs of lines of several phrases (cells set apart by
    wide gaps) with figures; the columns are where the phrases of the lines with figures
    lie. Lines of one phrase inside a run (a wrapped label) join the nearest row; every
    other line is text around the table.

    A run with one line of figures is a table when a header stands over it (a report of
    one row), or when it goes on with the table that ended the page before (the last rows
    of a table printed over two pages without its header repeated): those rows are laid
    out in that table's columns."""
    blocks: list[_Block] = []
    notes: list[str] = []
    for page_no, page in enumerate(pages, 1):
        lines = _phrase_lines(page.extract_words())
        runs = _runs(lines)
        done = 0
        for n, (start, end) in enumerate(runs):
            notes.extend(line.text for line in lines[done:start])
            done = end + 1
            run = lines[start : end + 1]
            starts_page = n == 0 and start <= _RUNNING_LINES
            prev = blocks[-1] if blocks else None
            goes_on = (
                starts_page and prev is not None and prev.ends_page and prev.last_page == page_no - 1 and prev.columns
            )
            figures = sum(1 for line in run if line.has_figure)
            block = _aligned_block(run, page_no, decode) if figures >= 2 or _headed(run) else None
            if goes_on and prev is not None and (block is None or block.ncols != prev.ncols):
                block = _aligned_block(run, page_no, decode, prev.columns)
            if block is not None:
                block.starts_page = starts_page
                after = len(lines) - 1 - end - _wrapped_after(lines, end)
                block.ends_page = n == len(runs) - 1 and after <= _RUNNING_LINES
                _add_block(blocks, block, notes, decode)
        notes.extend(line.text for line in lines[done:])
    return blocks


def _wrapped_after(lines: list[_Line], end: int) -> int:
    """How many lines of one phrase right under line `end` (set as tight as the lines of
    one paragraph) are the end of its wrapped label, not text below the table."""
    n = 0
    while n < _WRAPPED_LINES and end + n + 1 < len(lines):
        above, line = lines[end + n], lines[end + n + 1]
        if len(line.phrases) > 1 or line.top - above.bottom > 0.5 * (above.bottom - above.top):
            break
        n += 1
    return n


def _headed(lines: list[_Line]) -> bool:
    """Whether a run with one line of figures is a table of one row: a header of several
    phrases above the line, and at least two figures on it."""
    first = next((i for i, line in enumerate(lines) if line.has_figure), None)
    if first is None or sum(1 for p in lines[first].phrases[1:] if _is_figure(p[2])) < 2:
        return False
    return any(len(line.phrases) >= 2 and not line.is_column_numbers for line in lines[:first])


def _phrase_lines(words: Iterable[dict[str, Any]]) -> list[_Line]:
    grouped: list[list[dict[str, Any]]] = []
    for w in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if grouped and abs(grouped[-1][0]["top"] - w["top"]) <= _LINE_TOLERANCE:
            grouped[-1].append(w)
        else:
            grouped.append([w])
    lines = []
    for ws in grouped:
        ws.sort(key=lambda w: w["x0"])
        phrases: list[tuple[float, float, str]] = []
        parts: list[list[tuple[float, float, str]]] = []
        prev = ""
        for w in ws:
            word = (float(w["x0"]), float(w["x1"]), str(w["text"]))
            if phrases and w["x0"] - phrases[-1][1] <= _PHRASE_GAP and not _two_figures(prev, word[2]):
                x0, _x1, text = phrases[-1]
                phrases[-1] = (x0, word[1], f"{text} {word[2]}")
                parts[-1].append(word)
            else:
                phrases.append(word)
                parts.append([word])
            prev = word[2]
        lines.append(_Line(float(ws[0]["top"]), max(float(w["bottom"]) for w in ws), phrases, parts))
    return lines


# A word that may go on with the figure before it: a group of thousands ("1 234", "1 234,5").
_THOUSANDS_GROUP_RE = re.compile(r"\d{3}(?:[.,]\d+)?")


def _two_figures(before: str, word: str) -> bool:
    """Whether `word` is a figure of its own after the figure `before`, however close
    ("1.003 1.264": two right-aligned cells nearly touching), not the next group of
    thousands of one figure written with spaces ("1 234")."""
    return _is_figure(before) and _is_figure(word) and not _THOUSANDS_GROUP_RE.fullmatch(word)


def _runs(lines: list[_Line]) -> list[tuple[int, int]]:
    """(first, last) line index of each run of table lines holding a figure."""
    runs: list[tuple[int, int]] = []
    start = last = -1
    for i, line in enumerate(lines):
        if len(line.phrases) < 2:
            continue
        if start >= 0 and (i - last - 1 <= _WRAPPED_LINES and line.top - lines[last].bottom <= _RUN_GAP):
            last = i
            continue
        if start >= 0:
            runs.append((start, last))
        start = last = i
    if start >= 0:
        runs.append((start, last))
    return [(a, b) for a, b in runs if any(line.has_figure for line in lines[a : b + 1])]


def _aligned_block(
    lines: list[_Line], page_no: int, decode: TextDecoder, known: tuple[tuple[float, float], ...] = ()
) -> _Block | None:
    """One run of lines as a table: the lines above its first line of figures are its
    header, joined into one row, column by column (a header phrase over several columns
    heads each: "Số đối tượng" over "Đề nghị", "Được phê duyệt"...); below, each line of
    several phrases is a row, and a line of one phrase (a wrapped label) joins the row
    above or below, whichever it is closer to. The columns are inferred from the body,
    or `known` (a table's columns on the page before)."""
    lines = [line for line in lines if not line.is_column_numbers]
    first = next((i for i, line in enumerate(lines) if line.has_value), None)
    if first is None:
        return None
    columns: list[list[float]] = [[a, b] for a, b in known]
    # Columns: where the texts and figures of the body lie (a "-" of an empty cell is
    # centred where the figures are right-aligned: it does not make a column).
    spans = sorted(
        (x0, x1) for line in lines[first:] if len(line.phrases) > 1 for x0, x1, t in line.phrases if not _is_blank(t)
    )
    for x0, x1 in [] if known else spans:
        if columns and x0 <= columns[-1][1]:
            columns[-1][1] = max(columns[-1][1], x1)
        else:
            columns.append([x0, x1])
    if len(columns) < 2:
        return None
    # Each column's region reaches halfway to its neighbours.
    edges = [columns[0][0] - 1e6] + [(a[1] + b[0]) / 2 for a, b in zip(columns, columns[1:])] + [columns[-1][1] + 1e6]
    regions = [(edges[i], edges[i + 1]) for i in range(len(columns))]

    def column_of(x0: float, x1: float) -> int:
        overlap = [min(x1, c[1]) - max(x0, c[0]) for c in columns]
        best = max(range(len(columns)), key=lambda i: overlap[i])
        if overlap[best] > 0:
            return best + 1
        centre = (x0 + x1) / 2
        return next(i + 1 for i, (a, b) in enumerate(regions) if a <= centre < b)

    def put(cells: dict[int, str], col: int, text: str, before: bool = False) -> None:
        old = cells.get(col)
        if old is None:
            cells[col] = text
        elif _is_blank(text) or _is_blank(old):
            cells[col] = old if _is_blank(text) else text  # a "-" adds nothing to a cell
        elif _is_figure(text) or _is_figure(old):
            cells[col] = f"{old} | {text}"  # two figures in one column: never one number
        else:
            cells[col] = f"{text} {old}" if before else f"{old} {text}"

    header: dict[int, str] = {}
    for line in lines[:first]:
        for x0, x1, text in _header_phrases(line, column_of):
            width = max(x1 - x0, 1.0)
            under = [
                i + 1
                for i, (a, b) in enumerate(regions)
                if (ov := min(x1, b) - max(x0, a)) >= 0.5 * width or ov >= 0.6 * min(b - a, 1e5)
            ]
            for col in under or [column_of(x0, x1)]:
                put(header, col, text)
    rows: list[tuple[float, float, dict[int, str]]] = []  # top, bottom (with wrapped lines), cells
    for line in lines[first:]:
        if len(line.phrases) > 1:
            cells: dict[int, str] = {}
            for x0, x1, text in line.phrases:
                put(cells, column_of(x0, x1), text)
            rows.append((line.top, line.bottom, cells))
    for line in lines[first:]:
        if len(line.phrases) > 1:
            continue
        above = [i for i, r in enumerate(rows) if r[0] < line.top]
        below = [i for i, r in enumerate(rows) if r[0] > line.top]
        gap_above = line.top - rows[above[-1]][1] if above else float("inf")
        gap_below = rows[below[0]][0] - line.bottom if below else float("inf")
        i = above[-1] if gap_above <= gap_below else below[0]
        top, bottom, cells = rows[i]
        x0, x1, text = line.phrases[0]
        # a label wrapped above its figures (cells aligned to the bottom or the centre)
        put(cells, column_of(x0, x1), text, before=line.top < top)
        rows[i] = (min(top, line.top), max(bottom, line.bottom), cells)
    block = _Block(page_no, page_no, len(columns), inferred=True, columns=tuple((a, b) for a, b in columns))
    for cells in [header] if header else []:
        block.rows.append({c: (decode(t, None), page_no) for c, t in cells.items()})
    for _top, _bottom, cells in rows:
        block.rows.append({c: (decode(t, None), page_no) for c, t in cells.items()})
    return block


def _header_phrases(line: _Line, column_of: Callable[[float, float], int]) -> list[tuple[float, float, str]]:
    """The phrases of a header line, a phrase split where a wider space than between its
    other words parts two headers of two columns set close ("Số hộ đã nhận  Số hộ đăng ký"
    over two narrow columns); a heading over several columns, evenly spaced, stays whole."""
    out: list[tuple[float, float, str]] = []
    for phrase, words in zip(line.phrases, line.words or [[p] for p in line.phrases], strict=True):
        gaps = [b[0] - a[1] for a, b in zip(words, words[1:])]
        if len(gaps) < 2:
            out.append(phrase)
            continue
        normal = min(gaps)
        pieces = [[words[0]]]
        for gap, word in zip(gaps, words[1:]):
            if gap > _WIDE_SPACE * max(normal, 0.5):
                pieces.append([word])
            else:
                pieces[-1].append(word)
        split = [(p[0][0], p[-1][1], " ".join(w[2] for w in p)) for p in pieces]
        cols = [column_of(a, b) for a, b, _t in split]
        if len(split) > 1 and all(c1 < c2 for c1, c2 in zip(cols, cols[1:])):
            out.extend(split)
        else:
            out.append(phrase)
    return out


def _is_blank(text: str) -> bool:
    """A mark of an empty cell ("-", "x", "...")."""
    try:
        return parse_figure_with_unit(text, "count") == (None, None)
    except FigureError:
        return False


def _inside(word: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    cx = (word["x0"] + word["x1"]) / 2
    cy = (word["top"] + word["bottom"]) / 2
    return bool(box[0] <= cx <= box[2] and box[1] <= cy <= box[3])


def _lines(words: Iterable[dict[str, Any]]) -> list[tuple[float, str]]:
    """Words grouped into lines, top to bottom, as (top, text); a wide gap between two
    words becomes three spaces (two columns of a letterhead, "Đơn vị: ...   ngày ...")."""
    lines: list[list[dict[str, Any]]] = []
    for w in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if lines and abs(lines[-1][0]["top"] - w["top"]) <= _LINE_TOLERANCE:
            lines[-1].append(w)
        else:
            lines.append([w])
    out = []
    for line in lines:
        line.sort(key=lambda w: w["x0"])
        parts = [line[0]["text"]]
        for a, b in zip(line, line[1:]):
            parts.append("   " if b["x0"] - a["x1"] > _GAP_AS_COLUMNS else " ")
            parts.append(b["text"])
        out.append((float(line[0]["top"]), "".join(parts)))
    return out


def _block(table: Any, page_no: int, decode: TextDecoder) -> _Block | None:
    """One pdfplumber table as rows of (column -> text) and merged boxes."""
    rows = table.rows
    if not rows:
        return None
    texts = table.extract()
    xs: list[float] = sorted({c[0] for r in rows for c in r.cells if c is not None})
    tops: list[float] = [min(c[1] for c in r.cells if c is not None) for r in rows]
    block = _Block(page_no, page_no, len(xs))
    for i, row in enumerate(rows):
        out: dict[int, tuple[str, int]] = {}
        for bbox, text in zip(row.cells, texts[i]):
            if bbox is None:
                continue
            c1 = _index_at(xs, bbox[0]) + 1
            c2 = max(c1, _last_before(xs, bbox[2]) + 1)
            r2 = max(i, _last_before(tops, bbox[3]))
            if c2 > c1 or r2 > i:
                block.merged.append((i, c1, r2, c2))
            if text and text.strip():
                out[c1] = (decode(text.strip(), None), page_no)
        block.rows.append(out)
    return block


def _index_at(edges: list[float], x: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - x))


def _last_before(edges: list[float], end: float) -> int:
    last = 0
    for i, x in enumerate(edges):
        if x < end - _EDGE:
            last = i
    return last


def _continues(prev: _Block, block: _Block) -> bool:
    """Append `block` (the first table at the top of a page) to `prev` (the last table of
    the page before) when it goes on with it: the same columns, and its first rows are
    either the header rows repeated (dropped) or rows of the body."""
    if block.ncols != prev.ncols:
        return False
    repeated = 0
    for k in range(min(_HEADER_ROWS_MAX, len(block.rows), len(prev.rows) - 1), 0, -1):
        if block.header_texts(k) == prev.header_texts(k):
            repeated = k
            break
    offset = len(prev.rows) - repeated
    prev.rows.extend(block.rows[repeated:])
    prev.merged.extend((r1 + offset, c1, r2 + offset, c2) for r1, c1, r2, c2 in block.merged if r1 >= repeated)
    prev.last_page = block.last_page
    prev.ends_page = block.ends_page
    return True


def _sheet(name: str, block: _Block, limits: ReadLimits, filename: str, problems: list[Problem]) -> Sheet:
    cells: dict[tuple[int, int], Cell] = {}
    over_rows = len(block.rows) > limits.max_rows
    over_cols = block.ncols > limits.max_columns
    for i, row in enumerate(block.rows[: limits.max_rows]):
        for col, (text, page) in row.items():
            if col > limits.max_columns:
                continue
            cells[(i + 1, col)] = Cell(text, text, coordinate=coordinate(i + 1, col), page=page)
    merged = tuple(
        (r1 + 1, c1, r2 + 1, c2) for r1, c1, r2, c2 in block.merged if r2 < limits.max_rows and c2 <= limits.max_columns
    )
    note_truncation(problems, filename, name, over_rows, over_cols, limits)
    uncertain = _INFERRED if block.inferred else None
    return Sheet(name=name, cells=cells, merged=merged, notes=block.notes, uncertain=uncertain)
