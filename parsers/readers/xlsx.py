"""Read an .xlsx/.xlsm workbook's cached cell values into a `Grid`."""
from __future__ import annotations

import contextlib
import functools
import posixpath
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from typing import Iterable

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
from parsers.readers.ooxml import (
    CT_NS,
    check_xml_heads,
    check_zip_container,
    grandchildren,
    has_dtd,
    open_zip,
    part_root,
    shallow_xml,
)

_MERGE_RE = re.compile(
    rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="\$?([A-Za-z]{1,3})\$?(\d{1,7})'
    rb'(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?"'
)
# A cell element with a child (<v>, <f>, <is>): it holds a value or a formula.
_FILLED_CELL_RE = re.compile(
    rb'<(?:\w+:)?c\b[^>]*?\br="\$?([A-Za-z]{1,3})\$?(\d{1,7})"[^>]*(?<!/)>\s*<(?!/)')
_SCAN_CHUNK = 1 << 20
_CACHED_STYLES_BYTES = 256 << 10  # a styles part up to this size is remembered


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_SPREADSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.%s+xml"
_SHARED_STRINGS_TYPE = _SPREADSHEET_TYPE % "sharedStrings"
_STYLES_PART = "xl/styles.xml"  # where openpyxl looks for it, whatever the manifest says
_WORKBOOK_TYPES = (  # the order openpyxl tries them in
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    _SPREADSHEET_TYPE % "template.main",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    _SPREADSHEET_TYPE % "sheet.main",
)
_ROW_TAG, _C_TAG, _V_TAG, _F_TAG = (_MAIN_NS + t for t in ("row", "c", "v", "f"))
_SHEET_DATA_TAG = _MAIN_NS + "sheetData"
_MERGE_CELLS_TAG, _MERGE_CELL_TAG = _MAIN_NS + "mergeCells", _MAIN_NS + "mergeCell"
_FONTS_TAG, _FONT_TAG, _NAME_TAG = _MAIN_NS + "fonts", _MAIN_NS + "font", _MAIN_NS + "name"
_CELL_XFS_TAG, _XF_TAG = _MAIN_NS + "cellXfs", _MAIN_NS + "xf"
_NUM_FMTS_TAG, _NUM_FMT_TAG = _MAIN_NS + "numFmts", _MAIN_NS + "numFmt"
_IS_TAG, _SI_TAG, _T_TAG, _R_TAG, _RPR_TAG = (_MAIN_NS + t for t in ("is", "si", "t", "r", "rPr"))
_RPH_TAG, _PHONETIC_PR_TAG = _MAIN_NS + "rPh", _MAIN_NS + "phoneticPr"
_MERGE_REF_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?")
_COLUMN_OF: dict[str, int] = {}  # "AB" -> 28, memoised: few distinct column letters exist


def _ref_column(ref: str) -> int:
    """Column of a cell reference ("AB12" -> 28); 0 when it is not one."""
    letters = ref.rstrip("0123456789")
    col = _COLUMN_OF.get(letters)
    if col is None:
        bare = letters.replace("$", "")
        col = column_index(bare) if 0 < len(bare) <= 3 and bare.isascii() and bare.isalpha() else 0
        if len(_COLUMN_OF) < 20_000:
            _COLUMN_OF[letters] = col
    return col


def _text_content(node: ET.Element) -> str:
    """The text of an <is> or <si> element: what openpyxl's
    `Text.from_tree(node).content` gives (the plain <t>, then each run's <t>).

    Those objects cost more than the rest of a cell's reading; only their text is
    needed, so the usual shapes are joined here and anything else goes to openpyxl.
    """
    if not node.attrib:
        plain: str | None = None
        runs: list[str] = []
        for child in node:
            tag = child.tag
            if tag == _T_TAG:
                plain = child.text
            elif tag == _R_TAG and not child.attrib:
                text = None
                for sub in child:
                    if sub.tag == _T_TAG:
                        text = sub.text
                    elif sub.tag != _RPR_TAG:
                        break
                else:
                    if text is not None:
                        runs.append(text)
                    continue
                break
            elif tag != _RPH_TAG and tag != _PHONETIC_PR_TAG:
                break
        else:
            return "".join(runs) if plain is None else plain + "".join(runs)
    from openpyxl.cell.text import Text

    return Text.from_tree(node).content


def _read_shared_strings(zf: zipfile.ZipFile, path: str, filename: str) -> list[str]:
    """The shared string table, as openpyxl's `read_string_table` reads it."""
    return [_text_content(el).replace("x005F_", "")
            for tag, el in shallow_xml(zf, path, filename, depth=2) if tag == _SI_TAG]


def _merge_box(c1: str, r1: str, c2: str | None, r2: str | None) -> tuple[int, int, int, int]:
    a = (int(r1), column_index(c1))
    b = (int(r2), column_index(c2)) if c2 and r2 else a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))


@dataclass(frozen=True)
class _SheetPart:
    name: str
    path: str
    state: str | None


@dataclass(frozen=True)
class _Book:
    """What reading cached cell values needs from the workbook-level parts."""
    worksheets: tuple[_SheetPart, ...]
    active: _SheetPart | None
    date1904: bool
    shared_strings: list[str]
    font_by_style: tuple[str | None, ...]  # cellXfs index -> font name
    date_styles: frozenset[int]
    timedelta_styles: frozenset[int]
    parts_read: frozenset[str]  # every XML part parsed for this book and its sheets



def _read_book(zf: zipfile.ZipFile, filename: str) -> _Book:
    """The sheets, shared strings, date system and cell styles of a package.

    What openpyxl's read-only load decides from [Content_Types].xml, workbook.xml and
    its relationships (same part lookup, same sheet order, chartsheets counted for the
    active index, sheets without a relationship id dropped), without what reading
    cached values never uses: the Workbook object with its default styles and first
    sheet, the whole stylesheet as objects (`apply_stylesheet`, a third of a load),
    properties, theme, chartsheets, and a parse of every sheet's start for <dimension>.
    """
    names = set(zf.namelist())
    overrides: dict[str, str] = {}  # content type -> first part name, as openpyxl's find()
    defaults: set[str] = set()
    for el in part_root(zf, "[Content_Types].xml", filename):
        if el.tag == CT_NS + "Override":
            overrides.setdefault(el.get("ContentType") or "", (el.get("PartName") or "").lstrip("/"))
        elif el.tag == CT_NS + "Default":
            defaults.add(el.get("ContentType") or "")
    shared_strings: list[str] = []
    read = {"[Content_Types].xml"}
    if _SHARED_STRINGS_TYPE in overrides:
        read.add(overrides[_SHARED_STRINGS_TYPE])
        shared_strings = _read_shared_strings(zf, overrides[_SHARED_STRINGS_TYPE], filename)
    workbook_path = next((overrides[t] for t in _WORKBOOK_TYPES if t in overrides), None)
    if workbook_path is None:
        if not defaults.intersection(_WORKBOOK_TYPES):
            raise GridError("file_unreadable", file=filename, error="NoWorkbookPart",
                            detail="no workbook part in [Content_Types].xml")
        workbook_path = "xl/workbook.xml"
    workbook = part_root(zf, workbook_path, filename)
    props = workbook.find(_MAIN_NS + "workbookPr")
    date1904 = props is not None and props.get("date1904", "false") not in ("false", "f", "0", "")
    view = workbook.find(f"{_MAIN_NS}bookViews/{_MAIN_NS}workbookView")
    active_index = int(view.get("activeTab") or 0) if view is not None else 0
    rels, rels_path = _relationships(zf, workbook_path, filename)
    read.update((workbook_path, rels_path, _STYLES_PART))
    parts: list[_SheetPart | None] = []  # chartsheets count for the active index
    for sheet in workbook.iterfind(f"{_MAIN_NS}sheets/{_MAIN_NS}sheet"):
        rel_id = sheet.get(_REL_ID)
        if not rel_id:
            continue  # openpyxl drops such a sheet too
        target, rel_type = rels[rel_id]
        if target not in names:
            continue
        parts.append(None if "chartsheet" in rel_type
                     else _SheetPart(sheet.get("name"), target, sheet.get("state", "visible")))
    try:
        active = parts[active_index]
    except IndexError:
        active = None
    fonts, dates, timedeltas = _read_styles(zf, names, filename)
    worksheets = tuple(p for p in parts if p is not None)
    read.update(p.path for p in worksheets)
    return _Book(worksheets, active, date1904, shared_strings, fonts, dates, timedeltas,
                 frozenset(read))


def _relationships(zf: zipfile.ZipFile, part: str, filename: str
                   ) -> tuple[dict[str, tuple[str, str]], str]:
    """Id -> (target part, type) of `part`'s relationships, targets resolved as openpyxl's
    get_dependents does; and the path of the relationships part."""
    folder, name = posixpath.split(part)
    rels_path = posixpath.join(folder, "_rels", f"{name}.rels")
    parent = posixpath.split(posixpath.dirname(rels_path))[0]
    out: dict[str, tuple[str, str]] = {}
    for rel in part_root(zf, rels_path, filename):
        if rel.tag != _PKG_REL_NS + "Relationship":
            continue
        target = rel.get("Target") or ""
        if rel.get("TargetMode") != "External":
            target = target[1:] if target.startswith("/") else posixpath.normpath(
                posixpath.join(parent, target))
        out[rel.get("Id") or ""] = (target, rel.get("Type") or "")
    return out, rels_path


_Styles = tuple[tuple[str | None, ...], frozenset[int], frozenset[int]]


def _read_styles(zf: zipfile.ZipFile, names: set[str], filename: str) -> _Styles:
    """From xl/styles.xml: the font name of each cell style (for TCVN3/VNI text) and
    which cell styles format numbers as dates or durations, as openpyxl decides it."""
    if _STYLES_PART not in names:
        return (), frozenset(), frozenset()
    if zf.getinfo(_STYLES_PART).file_size <= _CACHED_STYLES_BYTES:
        data = zf.read(_STYLES_PART)
        if has_dtd(data):
            raise GridError("unsafe_file", file=filename, detail="DTD")
        return _styles_of(data)
    return _styles_from(shallow_xml(zf, _STYLES_PART, filename))


@functools.lru_cache(maxsize=64)
def _styles_of(data: bytes) -> _Styles:
    # A unit's reports all come from one template: the same styles part day after day.
    return _styles_from(grandchildren(ET.fromstring(data)))


def _styles_from(elements: Iterable[tuple[str, ET.Element]]) -> _Styles:
    from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format

    font_names: list[str | None] = []
    xfs: list[tuple[int, int]] = []  # (fontId, numFmtId) per cellXfs entry
    custom: dict[int, str] = {}
    for section, el in elements:
        tag = el.tag
        if tag == _XF_TAG and section == _CELL_XFS_TAG:
            xfs.append((int(el.get("fontId") or 0), int(el.get("numFmtId") or 0)))
        elif tag == _FONT_TAG and section == _FONTS_TAG:
            name = el.find(_NAME_TAG)
            font_names.append(name.get("val") if name is not None else None)
        elif tag == _NUM_FMT_TAG and section == _NUM_FMTS_TAG:
            custom[int(el.get("numFmtId") or 0)] = el.get("formatCode") or ""
    by_style: list[str | None] = []
    dates: set[int] = set()
    timedeltas: set[int] = set()
    for idx, (font_id, fmt_id) in enumerate(xfs):
        by_style.append(font_names[font_id] if 0 <= font_id < len(font_names) else None)
        fmt = custom[fmt_id] if fmt_id in custom else builtin_format_code(fmt_id)
        if is_date_format(fmt):
            dates.add(idx)
        if is_timedelta_format(fmt):
            timedeltas.add(idx)
    return tuple(by_style), frozenset(dates), frozenset(timedeltas)


@dataclass
class _SheetScan:
    merges: list[tuple[int, int, int, int]]
    max_row: int  # last row / column holding a value anywhere in the sheet
    max_col: int


def _scan_sheet_xml(zf: zipfile.ZipFile, path: str) -> _SheetScan:
    """Merged ranges and the true extent of the filled cells of a sheet too long to
    parse to its end, streaming the part in chunks (bounded by the package checks)."""
    merges: set[tuple[int, int, int, int]] = set()
    max_row = max_col = 0
    with zf.open(path) as fh:
        tail = b""
        while True:
            chunk = fh.read(_SCAN_CHUNK)
            if not chunk:
                break
            buf = tail + chunk
            # Matches wholly inside the carried-over tail were seen last round.
            min_start = max(0, len(tail) - 1)
            for m in _MERGE_RE.finditer(buf):
                merges.add(_merge_box(m.group(1).decode(), m.group(2).decode(),
                                      m.group(3) and m.group(3).decode(),
                                      m.group(4) and m.group(4).decode()))
            for m in _FILLED_CELL_RE.finditer(buf, min_start):
                max_row = max(max_row, int(m.group(2)))
                max_col = max(max_col, column_index(m.group(1).decode()))
            tail = buf[-512:]
    return _SheetScan(sorted(merges), max_row, max_col)


def read_xlsx(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Read an .xlsx/.xlsm's cached values with openpyxl's cell parser, one streaming
    pass per sheet (bounded rows), merges and formulas without a value included."""
    problems: list[Problem] = []
    decode = TextDecoder()
    with open_zip(data, filename) as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about dates out of range
        check_zip_container(zf, limits, filename, xml_heads=False)
        try:
            book = _read_book(zf, filename)
            worksheets = book.worksheets
            if len(worksheets) > limits.max_sheets:
                problems.append(Problem("over_limit", {"file": filename, "limit": "sheets",
                                                       "detail": str(limits.max_sheets)}))
                worksheets = worksheets[: limits.max_sheets]
            sheets = tuple(_read_xlsx_sheet(zf, part, book, limits, filename, decode, problems)
                           for part in worksheets)
        except GridError:
            raise
        except Exception:
            check_xml_heads(zf, filename)  # a hostile part is the better explanation
            raise
        # The parts read above refused DTDs themselves; the others are looked at here.
        check_xml_heads(zf, filename, skip=book.parts_read)
    return Grid(sheets, tuple(problems))


def _row_number(row: ET.Element, counter: int) -> int:
    """The row's number as openpyxl reads it ("r", else one after the previous)."""
    r = row.get("r")
    if r is None:
        return counter + 1
    try:
        return int(r)
    except ValueError:
        val = float(r)
        if not val.is_integer():
            raise ValueError(f"{r} is not a valid row number") from None
        return int(val)


def _read_xlsx_sheet(zf: zipfile.ZipFile, part: _SheetPart, book: _Book, limits: ReadLimits,
                     filename: str, decode: TextDecoder, problems: list[Problem]) -> Sheet:
    """One pass over the sheet's XML: cell values, formulas without a cached value and
    merged ranges; only a sheet longer than the row cap is scanned a second time."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH
    from openpyxl.worksheet._reader import WorkSheetParser

    max_rows, max_cols = limits.max_rows, limits.max_columns
    # openpyxl's own cell parser types each value: shared strings, numbers, booleans,
    # errors, dates by the cell's number format (in the 1900 or 1904 date system).
    epoch = CALENDAR_MAC_1904 if book.date1904 else WINDOWS_EPOCH
    parser = WorkSheetParser(None, book.shared_strings, data_only=True, epoch=epoch,
                             date_formats=book.date_styles,
                             timedelta_formats=book.timedelta_styles)
    parse_cell = parser.parse_cell
    fonts = book.font_by_style
    cells: dict[tuple[int, int], Cell] = {}
    uncached: list[tuple[int, int]] = []
    merges: set[tuple[int, int, int, int]] = set()
    over_cols = truncated = False
    next_row, stray = 1, 0
    with contextlib.closing(shallow_xml(zf, part.path, filename)) as elements:
        for section, el in elements:
            tag = el.tag
            if tag == _MERGE_CELL_TAG and section == _MERGE_CELLS_TAG:
                m = _MERGE_REF_RE.fullmatch(el.get("ref") or "")
                if m:
                    merges.add(_merge_box(*m.groups()))
                continue
            if tag != _ROW_TAG:
                if section == _SHEET_DATA_TAG:
                    stray += 1
                    if stray > max_rows * 8:  # cells outside rows: never read, only scanned
                        truncated = True
                        break
                continue
            row_no = parser.row_counter = _row_number(el, parser.row_counter)
            parser.col_counter = 0
            if row_no > max_rows:
                truncated = True  # the rest is only scanned, below
                break
            if row_no < next_row:
                continue  # a repeated or out-of-order row: openpyxl's read-only mode skips it
            next_row = row_no + 1
            for c in el:
                if c.tag != _C_TAG:
                    continue
                ref = c.get("r")
                col = _ref_column(ref) if ref else parser.col_counter + 1
                key = (row_no, col)
                if key in cells:  # the same cell twice: the last one counts
                    del cells[key]
                if not len(c) or col > max_cols:  # no <v>, <f> or <is>: empty
                    over_cols = over_cols or (col > max_cols and len(c) > 0)
                    parser.col_counter = col
                    continue
                if c.get("t") == "inlineStr":
                    # What parse_cell does for an inline string, minus building
                    # openpyxl's rich-text objects just to join their text.
                    parser.col_counter = col
                    inline = c.find(_IS_TAG)
                    value = None if inline is None else _text_content(inline)
                    style_id = c.get("s", 0)
                    style_id = int(style_id) if style_id else style_id
                else:
                    got = parse_cell(c)
                    col, value, style_id = got["column"], got["value"], got["style_id"]
                if value is None:
                    if c.find(_F_TAG) is not None:
                        v = c.find(_V_TAG)
                        # Excel writes <v></v> with t="str" for a formula whose result
                        # is ""; an empty <v/> on a number cell is no value.
                        if v is None or (not (v.text or "").strip() and c.get("t") != "str"):
                            uncached.append((row_no, col))
                    continue
                font_name = None
                if value.__class__ is str and not value.isascii():
                    try:
                        font_name = fonts[style_id]
                    except (IndexError, TypeError):
                        font_name = None
                cell = make_cell(value, row_no, col, decode, font_name)
                if cell is not None:
                    cells[(row_no, col)] = cell
    over_rows = False
    merged = sorted(merges)
    if truncated:
        scan = _scan_sheet_xml(zf, part.path)
        merged = scan.merges
        over_rows = scan.max_row > max_rows
        over_cols = over_cols or scan.max_col > max_cols
    for rc in uncached:
        if rc not in cells:
            cells[rc] = Cell(None, "", None, True, coordinate(*rc))
    note_truncation(problems, filename, part.name, over_rows, over_cols, limits)
    return Sheet(
        name=str(part.name),
        cells=cells,
        merged=tuple(m for m in merged if m[0] <= max_rows and m[1] <= max_cols),
        is_active=part is book.active,
        is_hidden=part.state != "visible",
    )

