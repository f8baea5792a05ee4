"""Read an .xlsx/.xlsm workbook's cached cell values into a `Grid`.

python-calamine reads the values (shared and inline strings, numbers, booleans, dates
and durations by their number format in either date system) and the merged ranges.
What it does not tell is read from the package here, by public means: where each
sheet's part is, its visibility and which one is active (workbook.xml and its
relationships), each cell style's font and whether it formats dates (styles.xml),
both parsed by defusedxml; and, from a scan of the sheet part, formulas without a
cached value and error values (calamine gives both as empty), and the style of text
cells in a workbook that uses a legacy TCVN3/VNI font.

The scan also bounds the sheet before calamine sees it: calamine builds a dense grid
from the first to the last filled cell, so one cell at A1 and one at XFD1048576 would
ask for half a terabyte. A sheet whose filled cells reach past the row or column cap,
whose cells lack a plain reference, or whose part is large, is read with openpyxl's
read-only API instead, row by row up to the caps: slower, and only for such sheets.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import posixpath
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from defusedxml import DefusedXmlException

from parsers.model import Problem, ReadLimits
from parsers.readers.common import (
    Cell,
    Grid,
    GridError,
    Sheet,
    TextDecoder,
    column_index,
    coordinate,
    make_cell,
    note_truncation,
)
from parsers.readers.numfmt import builtin_format_code, is_date_format, is_timedelta_format
from parsers.readers.ooxml import (
    check_xml_heads,
    check_zip_container,
    grandchildren,
    has_dtd,
    open_zip,
    part_root,
    stream_grandchildren,
    xml_root,
)
from parsers.vnlegacy import font_encoding

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_WORKBOOK_PART = "xl/workbook.xml"  # where calamine reads it
_STYLES_PART = "xl/styles.xml"
_FONTS_TAG, _FONT_TAG, _NAME_TAG = _MAIN_NS + "fonts", _MAIN_NS + "font", _MAIN_NS + "name"
_CELL_XFS_TAG, _XF_TAG = _MAIN_NS + "cellXfs", _MAIN_NS + "xf"
_NUM_FMTS_TAG, _NUM_FMT_TAG = _MAIN_NS + "numFmts", _MAIN_NS + "numFmt"

_CACHED_STYLES_BYTES = 256 << 10  # a styles part up to this size is parsed whole and remembered
_IN_MEMORY_PART_BYTES = 8 << 20  # a sheet part up to this size is scanned in memory
_SCAN_CHUNK = 1 << 20
# Excel's column count: a row holding more cells than that is no worksheet, and it
# would all be held in memory by a parser at once.
MAX_ROW_CELLS = 16_384
# From this serial on a date format cannot show a date (after 9999-12-31 in the 1904
# system, the lower bound): openpyxl calls such a cell the error #VALUE!, calamine
# gives the number.
_LAST_DATE_SERIAL = 2_957_003

# A cell element: its attributes, and its content unless it closes itself.
_CELL_RE = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_ATTR_RE = re.compile(rb"""(?<![\w:.-])([rst])\s*=\s*(["'])(.*?)\2""", re.S)
_PLAIN_REF_RE = re.compile(rb"([A-Z]{1,3})([1-9][0-9]{0,6})")
_VALUE_RE = re.compile(rb"<(?:\w+:)?v(?:\s[^>]*)?>([^<]*)</(?:\w+:)?v>")
_FORMULA_RE = re.compile(rb"<(?:\w++:)?+f[\s/>]")
_CHILD_RE = re.compile(rb"\s*<(?!/)")
# Every cell written as Excel, LibreOffice and openpyxl write it: '<c r="B12"' first.
_LEADING_REF_RE = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"')
_MERGE_RE = re.compile(
    rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="\$?([A-Za-z]{1,3})\$?(\d{1,7})(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?"'
)
# A cell element with a child (<v>, <f>, <is>): it holds a value or a formula.
_FILLED_CELL_RE = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="\$?([A-Za-z]{1,3})\$?(\d{1,7})"[^>]*(?<!/)>\s*<(?!/)')
_ROW_START_RE = re.compile(rb"<(?:\w+:)?row[\s/>]")
# Text with white space at an end in a <t> without xml:space: calamine trims it, as the
# attribute allows, where openpyxl and Excel keep it ("Hỗ trợ " + "hộ kinh doanh").
_PADDED_TEXT_RE = re.compile(
    rb"<(?:\w++:)?+t(?:\s(?:(?!xml:space)[^>])*)?>(?:[ \t\r\n][^<]*+|[^<]*+(?<=[ \t\r\n]))</(?:\w+:)?t>"
)
# (The possessive "++", "?+" and "*+" of _FORMULA_RE, _PADDED_TEXT_RE and _CELL_START_RE
# match what the plain forms would: a namespace prefix ends at its ":", a text at its
# "<"; they spare the regex engine retries, at each "<" of a part, that cannot succeed.)
_CELL_START_RE = re.compile(rb"<(?:\w++:)?+c[\s/>]")
# A row's number, right after its start tag's name (as Excel and openpyxl write it).
_ROW_NUMBER_RE = re.compile(rb"""[^>]*?(?<![\w:.-])r\s*=\s*["']([0-9]{1,7})["']""")
_SHEET_DATA_RE = re.compile(rb"<(\w+:)?sheetData\b")
_WORKSHEET_RE = re.compile(rb"<(\w+:)?worksheet\b")
_HEAD_BYTES = 64 << 20  # a part whose rows within the cap are longer than this is not cut


# --------------------------------------------------------------------------- the book


@dataclass(frozen=True)
class _Styles:
    fonts: tuple[str | None, ...] = ()  # cellXfs index -> font name
    dates: frozenset[int] = frozenset()  # cellXfs indexes whose number format shows a date
    legacy: bool = False  # some cell style uses a TCVN3/VNI font


@dataclass(frozen=True)
class _SheetPart:
    name: str
    path: str
    hidden: bool


@dataclass(frozen=True)
class _Book:
    worksheets: tuple[_SheetPart, ...]
    active: _SheetPart | None
    styles: _Styles
    shared_strings: tuple[str, ...]  # the shared string table's part (where calamine looks for it)
    parts_read: frozenset[str]  # parts parsed by defusedxml here (DTDs refused on the way)


def _read_book(zf: zipfile.ZipFile, filename: str) -> _Book:
    """The worksheets in workbook order (chartsheets count for the active index, as
    Excel and openpyxl count them), and the cell styles."""
    names = set(zf.namelist())
    if _WORKBOOK_PART not in names:
        raise GridError(
            "file_unreadable", file=filename, error="NoWorkbookPart", detail=f"no {_WORKBOOK_PART} in the package"
        )
    workbook = part_root(zf, _WORKBOOK_PART, filename)
    view = workbook.find(f"{_MAIN_NS}bookViews/{_MAIN_NS}workbookView")
    try:
        active_index = int(view.get("activeTab") or 0) if view is not None else 0
    except ValueError:
        active_index = 0
    rels, rels_path = _relationships(zf, _WORKBOOK_PART, names, filename)
    parts: list[_SheetPart | None] = []  # None: a chartsheet, or a sheet with no part
    for sheet in workbook.iterfind(f"{_MAIN_NS}sheets/{_MAIN_NS}sheet"):
        rel_id = sheet.get(_REL_ID)
        if not rel_id:
            continue  # openpyxl drops such a sheet too
        target, rel_type = rels.get(rel_id, ("", ""))
        if "chartsheet" in rel_type:
            parts.append(None)
        elif target in names:
            parts.append(_SheetPart(sheet.get("name") or "", target, sheet.get("state", "visible") != "visible"))
    active = parts[active_index] if 0 <= active_index < len(parts) else None
    styles = _read_styles(zf, names, filename)
    shared = {t for t, kind in rels.values() if kind.endswith("/sharedStrings") and t in names}
    shared.update(p for p in ("xl/sharedStrings.xml",) if p in names)
    return _Book(
        worksheets=tuple(p for p in parts if p is not None),
        active=active,
        styles=styles,
        shared_strings=tuple(sorted(shared)),
        parts_read=frozenset({_WORKBOOK_PART, rels_path, _STYLES_PART}),
    )


def _relationships(
    zf: zipfile.ZipFile, part: str, names: set[str], filename: str
) -> tuple[dict[str, tuple[str, str]], str]:
    """Id -> (target part, type) of `part`'s relationships, and the relationships part."""
    folder, name = posixpath.split(part)
    rels_path = posixpath.join(folder, "_rels", f"{name}.rels")
    out: dict[str, tuple[str, str]] = {}
    if rels_path not in names:
        return out, rels_path
    for rel in part_root(zf, rels_path, filename):
        if rel.tag != _PKG_REL_NS + "Relationship":
            continue
        target = rel.get("Target") or ""
        if rel.get("TargetMode") != "External":
            target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id") or ""] = (target, rel.get("Type") or "")
    return out, rels_path


def _read_styles(zf: zipfile.ZipFile, names: set[str], filename: str) -> _Styles:
    if _STYLES_PART not in names:
        return _Styles()
    if zf.getinfo(_STYLES_PART).file_size > _CACHED_STYLES_BYTES:
        return _styles_from(stream_grandchildren(zf, _STYLES_PART, filename))
    try:
        return _styles_of(zf.read(_STYLES_PART))
    except DefusedXmlException as exc:
        raise GridError("unsafe_file", file=filename, detail="DTD") from exc


@functools.lru_cache(maxsize=64)
def _styles_of(data: bytes) -> _Styles:
    # A unit's reports all come from one template: the same styles part day after day.
    return _styles_from(grandchildren(xml_root(data)))


def _styles_from(elements: Iterable[tuple[str, ET.Element]]) -> _Styles:
    """The font name of each cell style and which cell styles format numbers as dates
    (not durations), as openpyxl decides it."""
    font_names: list[str | None] = []
    xfs: list[tuple[int, int]] = []  # (fontId, numFmtId) per cellXfs entry
    custom: dict[int, str] = {}
    for section, el in elements:
        tag = el.tag
        if tag == _XF_TAG and section == _CELL_XFS_TAG:
            xfs.append((_int(el.get("fontId")), _int(el.get("numFmtId"))))
        elif tag == _FONT_TAG and section == _FONTS_TAG:
            name = el.find(_NAME_TAG)
            font_names.append(name.get("val") if name is not None else None)
        elif tag == _NUM_FMT_TAG and section == _NUM_FMTS_TAG:
            custom[_int(el.get("numFmtId"))] = el.get("formatCode") or ""
    fonts: list[str | None] = []
    dates: set[int] = set()
    for idx, (font_id, fmt_id) in enumerate(xfs):
        fonts.append(font_names[font_id] if 0 <= font_id < len(font_names) else None)
        fmt = custom[fmt_id] if fmt_id in custom else builtin_format_code(fmt_id)
        if fmt is not None and is_date_format(fmt) and not is_timedelta_format(fmt):
            dates.add(idx)
    legacy = any(font_encoding(name)[0] is not None for name in fonts)
    return _Styles(tuple(fonts), frozenset(dates), legacy)


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


# --------------------------------------------------------------------------- the scans


@dataclass
class _CellScan:
    """What the sheet part says of its cells beyond calamine's values."""

    plain: bool  # every cell has a plain reference (r="B12"): positions are known
    filled: int = 0  # cells holding a child element (a value, a formula, a string)
    max_row: int = 0  # the last row / column holding a filled cell
    max_col: int = 0
    uncached: list[tuple[int, int]] = field(default_factory=list)  # formulas with no value
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # "#DIV/0!" ...
    styles: dict[tuple[int, int], int] = field(default_factory=dict)  # filled cell -> cellXfs index
    styled: bool = False  # `styles` was filled in (a quick scan leaves it out)

    def fits(self, limits: ReadLimits) -> bool:
        """Whether calamine may read the sheet: its dense grid stays within the caps."""
        return (
            self.plain
            and self.max_row <= limits.max_rows
            and self.max_col <= limits.max_columns
            and self.filled <= limits.max_rows * limits.max_columns
        )


def _quick_scan(xml: bytes) -> _CellScan | None:
    """The extent of every cell (filled or not) when every cell is written '<c r="B12"'
    and nothing else needs a look at each cell (no formula, no error value); else None."""
    if _FORMULA_RE.search(xml) or b't="e"' in xml or b"t='e'" in xml:
        return None
    refs = _LEADING_REF_RE.findall(xml)
    if len(refs) != len(_CELL_START_RE.findall(xml)):
        return None
    if not refs:
        return _CellScan(plain=True)
    columns, rows = zip(*set(refs))  # few distinct references: the work is in C until here
    width = max(map(len, columns))
    return _CellScan(
        plain=True,
        filled=len(refs),
        max_row=max(map(int, rows)),
        max_col=column_index(max(c for c in columns if len(c) == width).decode()),
    )


def _full_scan(xml: bytes) -> _CellScan:
    """Every cell element looked at: reference, style, type, formula and cached value."""
    scan = _CellScan(plain=True, styled=True)
    for m in _CELL_RE.finditer(xml):
        attrs = {k: v for k, _, v in _ATTR_RE.findall(m.group(1))}
        ref = _PLAIN_REF_RE.fullmatch(attrs.get(b"r", b""))
        content = m.group(2)
        if ref is None:
            scan.plain = False
            continue
        if not content or not _CHILD_RE.match(content):
            continue  # no child: an empty (styled) cell
        row, col = int(ref.group(2)), column_index(ref.group(1).decode())
        scan.filled += 1
        scan.max_row = max(scan.max_row, row)
        scan.max_col = max(scan.max_col, col)
        style = attrs.get(b"s")
        if style and style.isdigit():
            scan.styles[(row, col)] = int(style)
        kind = attrs.get(b"t", b"n")
        value = _VALUE_RE.search(content)
        if kind == b"e":
            scan.errors[(row, col)] = value.group(1).decode("utf-8", "replace").strip() if value else "#N/A"
        elif _FORMULA_RE.search(content):
            # Excel writes <v></v> with t="str" for a formula whose result is ""; an empty
            # <v/> on a number cell is no value.
            if value is None or (not value.group(1).strip() and kind != b"str"):
                scan.uncached.append((row, col))
    return scan


@dataclass
class _PartScan:
    """A sheet part too long to hold, streamed: merges, the extent of the filled cells
    and whether it holds formulas, in the rows a reader reads (up to the row cap);
    `head` is the part cut before the first row past the cap, when it has one."""

    merges: list[tuple[int, int, int, int]]
    max_row: int
    max_col: int
    formulas: bool
    head: bytes | None = None


def _stream_scan(fh: IO[bytes], filename: str, max_rows: int) -> _PartScan:
    """Scan a sheet part in chunks (bounded by the package checks): a DTD is refused, and
    a row of more cells than a sheet has columns is refused before any parser holds it.

    The rows are numbered as openpyxl numbers them (`r`, else one more than the last):
    at the first one past `max_rows`, where openpyxl stops reading, the part is cut
    (`head`); after it only merges and whether a filled cell follows are looked for. A
    sheet of a million rows costs then what its first `max_rows` do, not seconds a
    hundred thousand rows (openpyxl parses a whole part that has no <dimension> only to
    open it)."""
    merges: set[tuple[int, int, int, int]] = set()
    max_row = max_col = row_cells = row_number = 0
    formulas = False
    tail = b""
    kept: list[bytes] = []  # the part up to the cut, while there is none
    kept_bytes = 0
    head: bytes | None = None
    while True:
        chunk = fh.read(_SCAN_CHUNK)
        if not chunk:
            break
        buf = tail + chunk
        if has_dtd(buf):
            raise GridError("unsafe_file", file=filename, detail="DTD")
        if b"mergeCell" in buf:
            for m in _MERGE_RE.finditer(buf):
                merges.add(_merge_box(m.group(1), m.group(2), m.group(3), m.group(4)))
        if head is not None:  # past the cut: only whether a filled cell follows
            if max_row <= max_rows and _FILLED_CELL_RE.search(buf):
                max_row = max_rows + 1
            tail = buf[-512:]
            continue
        # Matches wholly inside the carried-over tail were seen last round.
        min_start = max(0, len(tail) - 1)
        start = len(tail)
        cut = len(buf)
        for m in _ROW_START_RE.finditer(buf, start):
            row_cells += _count_cells(buf, start, m.start())
            _refuse_long_row(row_cells, filename)
            row_cells, start = 0, m.end()
            number = _ROW_NUMBER_RE.match(buf, m.end())
            row_number = int(number.group(1)) if number else row_number + 1
            if row_number > max_rows:
                cut = m.start()
                break
        for m in _FILLED_CELL_RE.finditer(buf, min_start, cut):
            max_row = max(max_row, int(m.group(2)))
            max_col = max(max_col, column_index(m.group(1).decode()))
        formulas = formulas or _FORMULA_RE.search(buf, 0, cut) is not None
        if cut < len(buf):  # the first row past the cap
            head = _closed(b"".join(kept) + buf[len(tail) : cut]) if kept_bytes < _HEAD_BYTES else b""
            kept = []
            if _FILLED_CELL_RE.search(buf, cut):
                max_row = max(max_row, max_rows + 1)
        else:
            row_cells += _count_cells(buf, start, len(buf))
            _refuse_long_row(row_cells, filename)
            kept_bytes += len(chunk)
            if kept_bytes < _HEAD_BYTES:
                kept.append(chunk)
            else:  # rows this long are parsed whole anyway: the part is not cut
                kept = []
        tail = buf[-512:]
    return _PartScan(sorted(merges), max_row, max_col, formulas, head or None)


def _closed(head: bytes) -> bytes:
    """`head`, a sheet part cut inside its sheetData, closed as a whole part; b"" when it
    is not cut there."""
    data = _SHEET_DATA_RE.search(head)
    root = _WORKSHEET_RE.search(head)
    if data is None or root is None or b"</" + (data.group(1) or b"") + b"sheetData" in head[data.end() :]:
        return b""
    return head + b"</%ssheetData></%sworksheet>" % (data.group(1) or b"", root.group(1) or b"")


def _count_cells(buf: bytes, start: int, end: int) -> int:
    return sum(1 for _ in _CELL_START_RE.finditer(buf, start, end))


def _refuse_long_row(cells: int, filename: str) -> None:
    if cells > MAX_ROW_CELLS:
        raise GridError("over_limit", file=filename, limit="columns", detail=str(MAX_ROW_CELLS))


def _merge_box(c1: bytes, r1: bytes, c2: bytes | None, r2: bytes | None) -> tuple[int, int, int, int]:
    a = (int(r1), column_index(c1.decode()))
    b = (int(r2), column_index(c2.decode())) if c2 and r2 else a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))


# --------------------------------------------------------------------------- reading


def read_xlsx(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Read an .xlsx/.xlsm's cached values, merges and formulas without a value."""
    problems: list[Problem] = []
    with open_zip(data, filename) as zf:
        check_zip_container(zf, limits, filename, xml_heads=False)
        try:
            book = _read_book(zf, filename)
            worksheets = book.worksheets
            if len(worksheets) > limits.max_sheets:
                problems.append(
                    Problem("over_limit", {"file": filename, "limit": "sheets", "detail": str(limits.max_sheets)})
                )
                worksheets = worksheets[: limits.max_sheets]
            # Every part a library will parse is checked before it is handed over: the
            # ones read here were parsed by defusedxml, the sheets and the shared
            # strings are looked at whole.
            whole = {p.path for p in worksheets} | set(book.shared_strings)
            check_xml_heads(zf, filename, skip=book.parts_read | whole)
            with _Workbook(data, zf, book, limits, filename, problems) as reader:
                sheets = tuple(reader.sheet(part) for part in worksheets)
        except GridError:
            raise
        except Exception:
            check_xml_heads(zf, filename)  # a hostile part is the better explanation
            raise
    return Grid(sheets, tuple(problems))


class _Workbook:
    """One workbook being read: calamine's and (for sheets it must not read) openpyxl's
    view of it, each opened once when first needed."""

    def __init__(
        self,
        data: bytes,
        zf: zipfile.ZipFile,
        book: _Book,
        limits: ReadLimits,
        filename: str,
        problems: list[Problem],
    ) -> None:
        self.data, self.zf, self.book, self.limits = data, zf, book, limits
        self.filename, self.problems = filename, problems
        self.decode = TextDecoder()
        self._calamine: Any = None
        self._openpyxl: dict[bool, Any] = {}  # data_only -> read-only workbook
        self._scans: dict[str, _PartScan] = {}  # sheet part -> its streamed scan
        self._openpyxl_data: bytes | None = None  # the package openpyxl reads (_bounded_package)
        # Whether calamine reads the shared strings as openpyxl does (see _PADDED_TEXT_RE).
        self._strings_faithful = True
        for path in book.shared_strings:
            strings = zf.read(path)
            if has_dtd(strings):
                raise GridError("unsafe_file", file=filename, detail="DTD")
            self._strings_faithful = self._strings_faithful and _PADDED_TEXT_RE.search(strings) is None

    def __enter__(self) -> _Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._calamine is not None:
            self._calamine.close()
        for wb in self._openpyxl.values():
            wb.close()

    def sheet(self, part: _SheetPart) -> Sheet:
        if self.zf.getinfo(part.path).file_size > _IN_MEMORY_PART_BYTES:
            return self._read_with_openpyxl(part, self._streamed(part.path))
        xml = self.zf.read(part.path)
        if has_dtd(xml):
            raise GridError("unsafe_file", file=self.filename, detail="DTD")
        scan = _quick_scan(xml)
        if scan is None or not scan.fits(self.limits):
            scan = _full_scan(xml)
        if not scan.fits(self.limits) or not self._strings_faithful or _PADDED_TEXT_RE.search(xml):
            self._scans[part.path] = _stream_scan(io.BytesIO(xml), self.filename, self.limits.max_rows)
            return self._read_with_openpyxl(part, self._scans[part.path])
        return self._read_with_calamine(part, xml, scan)

    def _streamed(self, path: str) -> _PartScan:
        """The scan of a sheet part too long to hold (made once)."""
        if path not in self._scans:
            with self.zf.open(path) as fh:
                self._scans[path] = _stream_scan(fh, self.filename, self.limits.max_rows)
        return self._scans[path]

    def _bounded_package(self) -> bytes:
        """The workbook for openpyxl: each long sheet part cut after its last row within
        the cap (openpyxl parses every sheet part whole when it opens a workbook, if the
        part does not state its dimension), the other parts as they are."""
        heads = {}
        for part in self.book.worksheets:
            if self.zf.getinfo(part.path).file_size > _IN_MEMORY_PART_BYTES or part.path in self._scans:
                head = self._streamed(part.path).head
                if head is not None:
                    heads[part.path] = head
        if not heads:
            return self.data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
            for info in self.zf.infolist():
                dst.writestr(info.filename, heads.get(info.filename) or self.zf.read(info))
        return out.getvalue()

    # -- calamine: every sheet within the caps

    def _read_with_calamine(self, part: _SheetPart, xml: bytes, scan: _CellScan) -> Sheet:
        if self._calamine is None:
            import python_calamine

            self._calamine = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(self.data))
        sheet = self._calamine.get_sheet_by_name(part.name)
        rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)
        styles = self.book.styles
        cells: dict[tuple[int, int], Cell] = {}
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value.__class__ is str:
                    if not value:
                        continue  # calamine's empty cell
                    if not styles.legacy or value.isascii():
                        cell = make_cell(value, r, c, self.decode)
                    else:
                        cell = make_cell(value, r, c, self.decode, self._font(xml, scan, r, c))
                elif value.__class__ is dt.date:  # openpyxl, and so the readers, give a datetime
                    cell = make_cell(dt.datetime(value.year, value.month, value.day), r, c, self.decode)
                elif value.__class__ is float and abs(value) >= _LAST_DATE_SERIAL and styles.dates:
                    cell = make_cell(self._out_of_range_date(xml, scan, r, c, value), r, c, self.decode)
                else:
                    cell = make_cell(value, r, c, self.decode)
                if cell is not None:
                    cells[(r, c)] = cell
        for (r, c), text in scan.errors.items():
            cells[(r, c)] = Cell(text, text, None, False, coordinate(r, c))
        for rc in scan.uncached:
            if rc not in cells:
                cells[rc] = Cell(None, "", None, True, coordinate(*rc))
        merged = sorted({(r1 + 1, c1 + 1, r2 + 1, c2 + 1) for (r1, c1), (r2, c2) in sheet.merged_cell_ranges or ()})
        return Sheet(
            name=part.name,
            cells=cells,
            merged=tuple(m for m in merged if m[0] <= self.limits.max_rows and m[1] <= self.limits.max_columns),
            is_active=part is self.book.active,
            is_hidden=part.hidden,
        )

    def _style(self, xml: bytes, scan: _CellScan, r: int, c: int) -> int:
        """The cellXfs index of a filled cell (a quick scan looks at each cell only now)."""
        if not scan.styled:
            scan.styles, scan.styled = _full_scan(xml).styles, True
        return scan.styles.get((r, c), 0)

    def _font(self, xml: bytes, scan: _CellScan, r: int, c: int) -> str | None:
        fonts = self.book.styles.fonts
        style = self._style(xml, scan, r, c)
        return fonts[style] if style < len(fonts) else None

    def _out_of_range_date(self, xml: bytes, scan: _CellScan, r: int, c: int, value: float) -> object:
        """calamine gives the number of a date cell it cannot show as a date; openpyxl,
        and so this reader, call it the error #VALUE!."""
        return "#VALUE!" if self._style(xml, scan, r, c) in self.book.styles.dates else value

    # -- openpyxl's read-only API: a sheet past the caps, or one calamine cannot place

    def _workbook(self, data_only: bool) -> Any:
        wb = self._openpyxl.get(data_only)
        if wb is None:
            import openpyxl

            if self._openpyxl_data is None:
                self._openpyxl_data = self._bounded_package()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about dates out of range, extensions
                wb = openpyxl.load_workbook(io.BytesIO(self._openpyxl_data), read_only=True, data_only=data_only)
            self._openpyxl[data_only] = wb
        return wb

    def _read_with_openpyxl(self, part: _SheetPart, scan: _PartScan) -> Sheet:
        limits = self.limits
        cells: dict[tuple[int, int], Cell] = {}
        data_types: dict[tuple[int, int], str] = {}
        legacy = self.book.styles.legacy
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for row in _rows(self._workbook(True)[part.name], limits):
                for cell in row:
                    value = cell.value
                    if value is None:
                        if scan.formulas and hasattr(cell, "row"):
                            data_types[(cell.row, cell.column)] = cell.data_type
                        continue
                    font = cell.font.name if legacy and isinstance(value, str) and not value.isascii() else None
                    got = make_cell(value, cell.row, cell.column, self.decode, font)
                    if got is not None:
                        cells[(cell.row, cell.column)] = got
            if scan.formulas:
                for row in _rows(self._workbook(False)[part.name], limits):
                    for cell in row:
                        key = (getattr(cell, "row", 0), getattr(cell, "column", 0))
                        # Excel writes a formula whose result is "" as t="str" with an empty value.
                        if cell.data_type == "f" and key not in cells and data_types.get(key, "s") != "s":
                            cells[key] = Cell(None, "", None, True, coordinate(*key))
        note_truncation(
            self.problems,
            self.filename,
            part.name,
            scan.max_row > limits.max_rows,
            scan.max_col > limits.max_columns,
            limits,
        )
        return Sheet(
            name=part.name,
            cells=cells,
            merged=tuple(m for m in scan.merges if m[0] <= limits.max_rows and m[1] <= limits.max_columns),
            is_active=part is self.book.active,
            is_hidden=part.hidden,
        )


def _rows(ws: Any, limits: ReadLimits) -> Iterator[tuple[Any, ...]]:
    rows: Iterator[tuple[Any, ...]] = ws.iter_rows(max_row=limits.max_rows, max_col=limits.max_columns)
    return rows
