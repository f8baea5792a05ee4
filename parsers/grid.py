"""Turn a readable attachment (xlsx/xlsm, xls, csv, docx) into plain cell grids.

Every format becomes a tuple of `Sheet`s: cells keyed by (row, column), 1-based,
with their value, their text already converted to Unicode NFC (TCVN3/VNI by font
or by detection), merged ranges and which sheet was active. Caps from `ReadLimits`
bound the work; a fatal problem raises `GridError`, a truncation is reported.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import io
import posixpath
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any, Iterable, Iterator, Mapping

from parsers.model import Problem, ReadLimits
from parsers.sniff import decode_text
from parsers.vntext import decode_legacy, nfc

MAX_ZIP_ENTRIES = 10_000
_XML_HEAD_BYTES = 8192
_DTD_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)
_MERGE_RE = re.compile(
    rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="\$?([A-Za-z]{1,3})\$?(\d{1,7})'
    rb'(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?"'
)
# A cell element with a child (<v>, <f>, <is>): it holds a value or a formula.
_FILLED_CELL_RE = re.compile(
    rb'<(?:\w+:)?c\b[^>]*?\br="\$?([A-Za-z]{1,3})\$?(\d{1,7})"[^>]*(?<!/)>\s*<(?!/)')
_SCAN_CHUNK = 1 << 20
_WHOLE_PART_BYTES = 1 << 20  # an XML part up to this size is parsed in one call
_STREAM_CHUNK = 1 << 16  # bytes fed to the parser at a time when streaming a part
_CACHED_STYLES_BYTES = 256 << 10  # a styles part up to this size is remembered
# Elements one streamed element may hold (all kept until it ends): a row has at most
# 16,384 cells of a few elements each.
_MAX_DESCENDANTS = 1 << 18


class GridError(Exception):
    """The file cannot be turned into grids; `problem` says why (a named Problem)."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code, params)
        self.problem = Problem(code, {k: str(v) for k, v in params.items()})


@dataclass(frozen=True)
class Cell:
    """One non-empty cell.

    `value` is None (formula without cached value), str (Unicode NFC), Decimal,
    bool or a date/datetime/time; `text` is what a person sees, used for labels
    and in problem messages.
    """
    value: object
    text: str
    font_name: str | None = None
    is_formula_without_value: bool = False
    coordinate: str = ""


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook, one table of a .docx, or the whole of a .csv."""
    name: str
    cells: Mapping[tuple[int, int], Cell]
    merged: tuple[tuple[int, int, int, int], ...] = ()  # (min_row, min_col, max_row, max_col)
    is_active: bool = False
    is_hidden: bool = False
    notes: tuple[str, ...] = ()  # docx: paragraphs before the table, in order


@dataclass(frozen=True)
class Grid:
    """All sheets read from one file, plus problems met on the way (truncations)."""
    sheets: tuple[Sheet, ...]
    problems: tuple[Problem, ...] = field(default=())


def column_letter(col: int) -> str:
    letters = _LETTERS_OF.get(col)
    if letters is None:
        letters, n = "", col
        while n > 0:
            n, rem = divmod(n - 1, 26)
            letters = chr(65 + rem) + letters
        if len(_LETTERS_OF) < 20_000:
            _LETTERS_OF[col] = letters
    return letters


_LETTERS_OF: dict[int, str] = {}  # 28 -> "AB", memoised: every cell needs its coordinate


def column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def coordinate(row: int, col: int) -> str:
    return f"{column_letter(col)}{row}"


class _TextDecoder:
    """Legacy-encoding decode + NFC, memoised per (text, font) within one file."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str | None], str] = {}

    def __call__(self, text: str, font_name: str | None) -> str:
        if text.isascii():
            return text
        key = (text, font_name)
        got = self._memo.get(key)
        if got is None:
            got = nfc(decode_legacy(text, font_name=font_name))
            if len(self._memo) < 50_000:
                self._memo[key] = got
        return got


def number_from_float(value: float) -> Decimal:
    """A float from a workbook as the Decimal a person saw (15 significant digits,
    as Excel shows), so 48.184 triệu is exactly 48 184 000 đồng."""
    return Decimal(format(value, ".15g"))


def _number_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _date_text(value: object) -> str:
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)


def _make_cell(value: object, row: int, col: int, decode: _TextDecoder,
               font_name: str | None = None) -> Cell | None:
    """Build a Cell from a raw library value; None for an empty cell."""
    if value is None:
        return None
    if value.__class__ is str:  # the common case first
        if not value.strip():
            return None
        text = decode(value, font_name)
        return Cell(text, text, font_name, False, coordinate(row, col))
    coord = coordinate(row, col)
    if isinstance(value, bool):
        return Cell(value, "TRUE" if value else "FALSE", font_name, False, coord)
    if isinstance(value, int):
        d = Decimal(value)
        return Cell(d, str(value), font_name, False, coord)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return Cell(str(value), str(value), font_name, False, coord)
        d = number_from_float(value)
        return Cell(d, _number_text(d), font_name, False, coord)
    if isinstance(value, Decimal):
        return Cell(value, _number_text(value), font_name, False, coord)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return Cell(value, _date_text(value), font_name, False, coord)
    if isinstance(value, dt.timedelta):
        text = str(value)
        return Cell(text, text, font_name, False, coord)
    text = str(value)
    if not text.strip():
        return None
    text = decode(text, font_name)
    return Cell(text, text, font_name, False, coord)


def _merges_from_cells(origin: Mapping[tuple[int, int], tuple[int, int]]
                       ) -> tuple[tuple[int, int, int, int], ...]:
    boxes: dict[tuple[int, int], list[int]] = {}
    for (r, c), o in origin.items():
        box = boxes.get(o)
        if box is None:
            boxes[o] = [r, c, r, c]
        else:
            box[0] = min(box[0], r)
            box[1] = min(box[1], c)
            box[2] = max(box[2], r)
            box[3] = max(box[3], c)
    return tuple(tuple(b) for b in boxes.values() if (b[0], b[1]) != (b[2], b[3]))  # type: ignore[misc]


# --------------------------------------------------------------------------- zip


def _damaged_file(exc: Exception, filename: str) -> GridError:
    """file_unreadable, named by the library error that found the damage."""
    return GridError("file_unreadable", file=filename, error=type(exc).__name__,
                     detail=str(exc)[:200])


def _open_zip(data: bytes, filename: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise _damaged_file(exc, filename) from exc


def _has_dtd(head: bytes) -> bool:
    # NULs dropped so a UTF-16 part is checked too (its ASCII markup is then plain).
    return _DTD_RE.search(head.replace(b"\x00", b"") if b"\x00" in head else head) is not None


def check_zip_container(zf: zipfile.ZipFile, limits: ReadLimits, filename: str, *,
                        xml_heads: bool = True) -> None:
    """Refuse a zip package that would cost too much to open, before any parser
    touches it: total declared size, overall ratio, entry count, and (`xml_heads`)
    DTDs at the start of XML parts; a caller whose every XML parse refuses DTDs
    itself passes False and calls `check_xml_heads` for the parts it did not read.

    Python's zipfile never inflates an entry past its declared size, so the
    declared sizes checked here also bound the real work.
    """
    try:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise GridError("over_limit", file=filename, limit="zip_entries",
                            detail=str(MAX_ZIP_ENTRIES))
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        if total > limits.max_decompressed_bytes:
            raise GridError("over_limit", file=filename, limit="decompressed_bytes",
                            detail=str(limits.max_decompressed_bytes))
        if total > 1_000_000 and total > limits.max_compression_ratio * max(packed, 1):
            raise GridError("over_limit", file=filename, limit="compression_ratio",
                            detail=str(limits.max_compression_ratio))
    except zipfile.BadZipFile as exc:
        raise _damaged_file(exc, filename) from exc
    if xml_heads:
        check_xml_heads(zf, filename)


def check_xml_heads(zf: zipfile.ZipFile, filename: str, skip: frozenset[str] = frozenset()
                    ) -> None:
    """Refuse the package if the start of an XML part holds a DTD; parts in `skip` were
    parsed by a reader that refuses DTDs itself and are not inflated again."""
    try:
        for info in zf.infolist():
            name = info.filename.lower()
            if (info.file_size and name.endswith((".xml", ".rels", ".vml"))
                    and info.filename not in skip):
                with zf.open(info) as fh:
                    head = fh.read(_XML_HEAD_BYTES)
                if _has_dtd(head):
                    raise GridError("unsafe_file", file=filename, detail="DTD")
    except zipfile.BadZipFile as exc:
        raise _damaged_file(exc, filename) from exc


def _shallow_xml(zf: zipfile.ZipFile, path: str, filename: str, depth: int = 3
                 ) -> Iterator[tuple[str, ET.Element]]:
    """The elements at `depth` of one XML part (2: the root's children, 3: their
    children), each whole, with the tag of the root's child it belongs to. Read what
    you need before asking for the next one: each is cleared once passed on.

    The C parser underneath is safe because no DTD reaches it (no DTD, no entities to
    expand: what defusedxml guarantees, at the C parser's speed). A small part is
    parsed in one call, a fraction of the cost of handling its events one by one; a
    big one is streamed, every element dropped once passed on, so memory stays bounded.
    """
    with zf.open(path) as fh:
        if zf.getinfo(path).file_size > _WHOLE_PART_BYTES:
            yield from _stream_shallow_xml(fh, filename, depth)
            return
        data = fh.read(_WHOLE_PART_BYTES + 1)
    if _has_dtd(data):
        raise GridError("unsafe_file", file=filename, detail="DTD")
    root = ET.fromstring(data)
    if depth == 2:
        yield from ((section.tag, section) for section in root)
    else:
        yield from _grandchildren(root)


def _grandchildren(root: ET.Element) -> Iterator[tuple[str, ET.Element]]:
    for section in root:
        tag = section.tag
        for el in section:
            yield tag, el


def _stream_shallow_xml(fh: IO[bytes], filename: str, want: int
                        ) -> Iterator[tuple[str, ET.Element]]:
    parser = ET.XMLPullParser(events=("start", "end"))
    depth = passed = held = 0
    section: ET.Element | None = None
    section_tag = ""
    tail = b""
    while True:
        chunk = fh.read(_STREAM_CHUNK)
        if chunk:
            if _has_dtd(tail + chunk):
                raise GridError("unsafe_file", file=filename, detail="DTD")
            tail = chunk[-32:]
            parser.feed(chunk)
        else:
            parser.close()
        for event, el in parser.read_events():
            if event == "start":
                depth += 1
                if depth == 2:
                    section, section_tag = el, el.tag
                elif depth > want:
                    held += 1
                    if held > _MAX_DESCENDANTS:
                        raise GridError("over_limit", file=filename, limit="columns",
                                        detail=str(_MAX_DESCENDANTS))
                continue
            if depth == want:
                held = 0
                yield section_tag, el
                el.clear()
                passed += 1
                if not passed & 1023 and depth == 3 and section is not None:
                    del section[:]  # drop the cleared husks; queued elements stay alive
            elif depth == 2:
                el.clear()  # a part of the root we do not read, or the husk of one we did
            depth -= 1
        if not chunk:
            return


# --------------------------------------------------------------------------- xlsx

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
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
            for tag, el in _shallow_xml(zf, path, filename, depth=2) if tag == _SI_TAG]


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


def _part_root(zf: zipfile.ZipFile, path: str, filename: str) -> ET.Element:
    """The root element of a small package part, parsed safely (see `_shallow_xml`)."""
    data = zf.read(path)  # bounded by the package checks
    if _has_dtd(data):
        raise GridError("unsafe_file", file=filename, detail="DTD")
    return ET.fromstring(data)


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
    for el in _part_root(zf, "[Content_Types].xml", filename):
        if el.tag == _CT_NS + "Override":
            overrides.setdefault(el.get("ContentType") or "", (el.get("PartName") or "").lstrip("/"))
        elif el.tag == _CT_NS + "Default":
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
    workbook = _part_root(zf, workbook_path, filename)
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
    for rel in _part_root(zf, rels_path, filename):
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
        if _has_dtd(data):
            raise GridError("unsafe_file", file=filename, detail="DTD")
        return _styles_of(data)
    return _styles_from(_shallow_xml(zf, _STYLES_PART, filename))


@functools.lru_cache(maxsize=64)
def _styles_of(data: bytes) -> _Styles:
    # A unit's reports all come from one template: the same styles part day after day.
    return _styles_from(_grandchildren(ET.fromstring(data)))


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
    decode = _TextDecoder()
    with _open_zip(data, filename) as zf, warnings.catch_warnings():
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
                     filename: str, decode: _TextDecoder, problems: list[Problem]) -> Sheet:
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
    with contextlib.closing(_shallow_xml(zf, part.path, filename)) as elements:
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
                cell = _make_cell(value, row_no, col, decode, font_name)
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
    _note_truncation(problems, filename, part.name, over_rows, over_cols, limits)
    return Sheet(
        name=str(part.name),
        cells=cells,
        merged=tuple(m for m in merged if m[0] <= max_rows and m[1] <= max_cols),
        is_active=part is book.active,
        is_hidden=part.state != "visible",
    )


def _note_truncation(problems: list[Problem], filename: str, sheet: str, over_rows: bool,
                     over_cols: bool, limits: ReadLimits) -> None:
    if over_rows:
        problems.append(Problem("over_limit", {"file": filename, "sheet": sheet, "limit": "rows",
                                               "detail": str(limits.max_rows)}))
    if over_cols:
        problems.append(Problem("over_limit", {"file": filename, "sheet": sheet,
                                               "limit": "columns",
                                               "detail": str(limits.max_columns)}))


# --------------------------------------------------------------------------- xls


def read_xls(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Read a BIFF .xls with xlrd (formatting info gives merges and font names)."""
    import xlrd

    log = io.StringIO()  # xlrd chats on stdout by default
    try:
        try:
            book = xlrd.open_workbook(file_contents=data, formatting_info=True,
                                      on_demand=True, logfile=log, verbosity=0)
        except NotImplementedError:
            book = xlrd.open_workbook(file_contents=data, formatting_info=False,
                                      on_demand=True, logfile=log, verbosity=0)
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise GridError("encrypted_file", file=filename) from exc
        raise
    problems: list[Problem] = []
    decode = _TextDecoder()
    try:
        n_sheets = book.nsheets
        if n_sheets > limits.max_sheets:
            problems.append(Problem("over_limit", {"file": filename, "limit": "sheets",
                                                   "detail": str(limits.max_sheets)}))
        sheets = []
        for idx in range(min(n_sheets, limits.max_sheets)):
            sh = book.sheet_by_index(idx)
            sheets.append(_read_xls_sheet(book, sh, limits, filename, decode, problems))
            book.unload_sheet(idx)
    finally:
        book.release_resources()
    if sheets and not any(s.is_active for s in sheets):
        sheets[0] = _replace_active(sheets[0])
    return Grid(tuple(sheets), tuple(problems))


def _replace_active(sheet: Sheet) -> Sheet:
    return Sheet(sheet.name, sheet.cells, sheet.merged, True, sheet.is_hidden, sheet.notes)


def _read_xls_sheet(book, sh, limits: ReadLimits, filename: str, decode: _TextDecoder,
                    problems: list[Problem]) -> Sheet:
    import xlrd

    nrows, ncols = min(sh.nrows, limits.max_rows), min(sh.ncols, limits.max_columns)
    fonts = getattr(book, "font_list", None) or []
    xfs = getattr(book, "xf_list", None) or []
    cells: dict[tuple[int, int], Cell] = {}
    for r in range(nrows):
        for c in range(ncols):
            ctype = sh.cell_type(r, c)
            if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                continue
            raw = sh.cell_value(r, c)
            if ctype == xlrd.XL_CELL_NUMBER:
                value: object = raw
            elif ctype == xlrd.XL_CELL_DATE:
                try:
                    value = xlrd.xldate_as_datetime(raw, book.datemode)
                except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                    value = raw
            elif ctype == xlrd.XL_CELL_BOOLEAN:
                value = bool(raw)
            elif ctype == xlrd.XL_CELL_ERROR:
                value = xlrd.error_text_from_code.get(raw, "#ERR")
            else:
                value = raw
            font_name = None
            if isinstance(value, str) and not value.isascii() and fonts and xfs:
                try:
                    font_name = fonts[xfs[sh.cell_xf_index(r, c)].font_index].name
                except (IndexError, AttributeError):
                    font_name = None
            cell = _make_cell(value, r + 1, c + 1, decode, font_name)
            if cell is not None:
                cells[(r + 1, c + 1)] = cell
    _note_truncation(problems, filename, sh.name, sh.nrows > limits.max_rows,
                     sh.ncols > limits.max_columns, limits)
    merges = tuple(
        (rlo + 1, clo + 1, min(rhi, nrows), min(chi, ncols))
        for rlo, rhi, clo, chi in getattr(sh, "merged_cells", ()) or ()
        if rlo < nrows and clo < ncols and (rhi - rlo) * (chi - clo) > 1
    )
    return Sheet(
        name=str(sh.name),
        cells=cells,
        merged=merges,
        is_active=bool(getattr(sh, "sheet_visible", 0)),
        is_hidden=getattr(sh, "visibility", 0) != 0,
    )


# --------------------------------------------------------------------------- csv


def _split_delimited(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits most lines consistently: ',', ';' or tab."""
    sample_lines = text.splitlines()[:50]
    sample = "\n".join(sample_lines)
    best, best_score = ",", (-1, -1)
    for delim in (",", ";", "\t"):
        try:
            rows = list(_split_delimited(sample, delim))
        except csv.Error:
            continue
        widths = [len(r) for r in rows if any(f.strip() for f in r)]
        split_rows = sum(1 for w in widths if w > 1)
        common = max((widths.count(w) for w in set(widths) if w > 1), default=0)
        score = (split_rows, common)
        if score > best_score:
            best, best_score = delim, score
    return best


def read_csv(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Read delimited text in UTF-8 (BOM or not), UTF-16 or windows-1258."""
    decoded = decode_text(data)
    if decoded is None:
        raise GridError("file_unreadable", file=filename, error="UnicodeDecodeError",
                        detail="not text")
    text = nfc(decoded[0].lstrip("\ufeff"))
    delimiter = None
    first_line, _, rest = text.partition("\n")
    m = re.fullmatch(r"\s*sep=(.)\s*", first_line)
    if m:  # Excel's explicit delimiter line
        delimiter, text = m.group(1), rest
    if delimiter is None:
        delimiter = sniff_delimiter(text)
    decode = _TextDecoder()
    cells: dict[tuple[int, int], Cell] = {}
    problems: list[Problem] = []
    n_cells = 0
    over_rows = over_cols = over_cells = False
    # csv.reader builds a whole row before we can cut it: shorten absurdly wide lines
    # first so a hostile line of millions of delimiters costs nothing.
    widest = limits.max_columns * 4
    lines = text.splitlines(keepends=True)
    if any(line.count(delimiter) > widest for line in lines):
        over_cols = True
        text = "".join(
            delimiter.join(line.split(delimiter, widest)[:widest]) + "\n"
            if line.count(delimiter) > widest else line
            for line in lines)
    try:
        for r_idx, fields in enumerate(_split_delimited(text, delimiter), start=1):
            if r_idx > limits.max_rows:
                over_rows = True
                break
            if len(fields) > limits.max_columns:
                over_cols = True
                fields = fields[: limits.max_columns]
            n_cells += len(fields)
            if n_cells > limits.max_csv_cells:
                over_cells = True
                break
            for c_idx, raw in enumerate(fields, start=1):
                cell = _make_cell(raw.strip(), r_idx, c_idx, decode)
                if cell is not None:
                    cells[(r_idx, c_idx)] = cell
    except csv.Error as exc:
        raise _damaged_file(exc, filename) from exc
    _note_truncation(problems, filename, "1", over_rows, over_cols, limits)
    if over_cells:
        problems.append(Problem("over_limit", {"file": filename, "limit": "csv_cells",
                                               "detail": str(limits.max_csv_cells)}))
    return Grid((Sheet(name="1", cells=cells, is_active=True),), tuple(problems))


# --------------------------------------------------------------------------- docx


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_font(tc_or_p, default_font: str | None) -> str | None:
    for rfonts in tc_or_p.iter(_W + "rFonts"):
        name = rfonts.get(_W + "ascii") or rfonts.get(_W + "hAnsi") or rfonts.get(_W + "cs")
        if name:
            return name
    return default_font


def _docx_text(el) -> str:
    """Text of a paragraph or cell: runs joined, paragraphs on separate lines."""
    paragraphs = []
    for p in el.iter(_W + "p"):
        parts = []
        for node in p.iter(_W + "t", _W + "tab", _W + "br"):
            if node.tag == _W + "t":
                parts.append(node.text or "")
            elif node.tag == _W + "tab":
                parts.append("\t")
            else:
                parts.append("\n")
        paragraphs.append("".join(parts))
    return "\n".join(paragraphs)


_PKG_RELS_PART = "_rels/.rels"
_OFFICE_DOCUMENT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_STYLES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
_WML_DOCUMENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def _docx_body(zf: zipfile.ZipFile, filename: str) -> tuple[Any, str | None]:
    """The <w:body> of the main document, parsed by python-docx, and the font of the
    Normal style, as `docx.Document(...)` and `styles["Normal"].font.name` give them.

    `docx.Document` also loads and parses every other part (styles.xml alone is often
    hundreds of kilobytes, more than the document); only these two things are used.
    """
    from docx.oxml.parser import parse_xml

    main = _package_target(zf, _PKG_RELS_PART, "", _OFFICE_DOCUMENT_REL, filename)
    if main is None:
        raise GridError("file_unreadable", file=filename, error="KeyError",
                        detail="no main document part")
    content_type = _content_type(zf, main, filename)
    if content_type != _WML_DOCUMENT_TYPE:  # what python-docx refuses too (.docm, .dotx)
        raise GridError("file_unreadable", file=filename, error="ValueError",
                        detail=f"not a Word document, content type is {content_type!r}")
    data = zf.read(main)
    if _has_dtd(data):
        raise GridError("unsafe_file", file=filename, detail="DTD")
    body = parse_xml(data).body
    folder, name = posixpath.split(main)
    styles = _package_target(zf, posixpath.join(folder, "_rels", f"{name}.rels"), folder,
                             _STYLES_REL, filename)
    return body, (_normal_style_font(zf, styles) if styles else None)


def _package_target(zf: zipfile.ZipFile, rels_path: str, base: str, rel_type: str,
                    filename: str) -> str | None:
    """The part the first relationship of `rel_type` in `rels_path` points to."""
    if rels_path not in zf.namelist():
        return None
    for rel in _part_root(zf, rels_path, filename):
        if rel.get("Type") == rel_type and rel.get("TargetMode") != "External":
            target = rel.get("Target") or ""
            path = target[1:] if target.startswith("/") else posixpath.join(base, target)
            return posixpath.normpath(path).lstrip("/")
    return None


def _content_type(zf: zipfile.ZipFile, part: str, filename: str) -> str | None:
    """A part's content type from [Content_Types].xml: its override, else its extension's."""
    overrides: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for el in _part_root(zf, "[Content_Types].xml", filename):
        if el.tag == _CT_NS + "Override":
            overrides[(el.get("PartName") or "").lower()] = el.get("ContentType") or ""
        elif el.tag == _CT_NS + "Default":
            defaults[(el.get("Extension") or "").lower()] = el.get("ContentType") or ""
    return overrides.get("/" + part.lower()) or defaults.get(part.rpartition(".")[2].lower())


def _normal_style_font(zf: zipfile.ZipFile, styles: str) -> str | None:
    """`w:rPr/w:rFonts/@w:ascii` of the style named "Normal" (else with that id), read
    only as far as that style: it comes early in a styles part that can be large.
    (No entity is expanded: `check_zip_container` refused a DTD at the part's start,
    and lxml is told not to resolve entities.)"""
    from lxml import etree

    if styles not in zf.namelist():
        return None
    by_id = None
    with zf.open(styles) as fh:
        for _, style in etree.iterparse(fh, tag=_W + "style", resolve_entities=False,
                                        no_network=True, huge_tree=False):
            name = style.find(_W + "name")
            if name is not None and name.get(_W + "val") == "Normal":
                return _style_font(style)
            if by_id is None and style.get(_W + "styleId") == "Normal":
                by_id = _style_font(style)
            style.clear()
    return by_id


def _style_font(style) -> str | None:
    rpr = style.find(_W + "rPr")
    fonts = rpr.find(_W + "rFonts") if rpr is not None else None
    return fonts.get(_W + "ascii") if fonts is not None else None


def read_docx(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Every table of a .docx as a sheet; the paragraphs before it become its notes."""
    with _open_zip(data, filename) as zf:
        check_zip_container(zf, limits, filename)
        body, default_font = _docx_body(zf, filename)
    decode = _TextDecoder()
    problems: list[Problem] = []
    sheets: list[Sheet] = []
    notes: list[str] = []
    for child in _block_items(body):
        if child.tag == _W + "p":
            text = _docx_text(child)
            if text.strip():
                notes.append(decode(text, _docx_font(child, default_font)))
        elif child.tag == _W + "tbl":
            if len(sheets) >= limits.max_sheets:
                problems.append(Problem("over_limit", {"file": filename, "limit": "sheets",
                                                       "detail": str(limits.max_sheets)}))
                break
            name = str(len(sheets) + 1)
            sheet = _read_docx_table(child, name, tuple(notes), limits, filename,
                                     decode, default_font, problems)
            sheets.append(sheet)
            # A letterhead is often a borderless table: its lines ("Đơn vị: ...") are
            # context for the tables after it, like paragraphs.
            pending = ""
            for key in sorted(sheet.cells)[:500]:
                text = sheet.cells[key].text.strip()
                if pending:
                    notes.append(f"{pending} {text}")
                    pending = ""
                elif text.endswith(":"):
                    pending = text  # "Đơn vị:" | "UBND ..." in the next cell
                else:
                    notes.append(text)
    if sheets:
        sheets[0] = _replace_active(sheets[0])
    return Grid(tuple(sheets), tuple(problems))


def _block_items(parent) -> Iterator:
    """Paragraphs and tables in document order, looking inside content controls."""
    for child in parent.iterchildren():
        if child.tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _block_items(content)
        else:
            yield child


def _read_docx_table(tbl, name: str, notes: tuple[str, ...], limits: ReadLimits,
                     filename: str, decode: _TextDecoder, default_font: str | None,
                     problems: list[Problem]) -> Sheet:
    cells: dict[tuple[int, int], Cell] = {}
    origin: dict[tuple[int, int], tuple[int, int]] = {}
    over_rows = over_cols = False
    rows = tbl.findall(_W + "tr")
    if len(rows) > limits.max_rows:
        over_rows = True
        rows = rows[: limits.max_rows]
    for r_idx, tr in enumerate(rows, start=1):
        col = 1
        trpr = tr.find(_W + "trPr")
        if trpr is not None:
            before = trpr.find(_W + "gridBefore")
            if before is not None:
                col += _int_attr(before, 0)
        for tc in tr.findall(_W + "tc"):
            span, vmerge = 1, None
            tcpr = tc.find(_W + "tcPr")
            if tcpr is not None:
                gs = tcpr.find(_W + "gridSpan")
                if gs is not None:
                    span = max(1, min(_int_attr(gs, 1), limits.max_columns))
                vm = tcpr.find(_W + "vMerge")
                if vm is not None:
                    vmerge = vm.get(_W + "val") or "continue"
            if col > limits.max_columns:
                over_cols = True
                break
            if vmerge == "continue" and (r_idx - 1, col) in origin:
                o = origin[(r_idx - 1, col)]
            else:
                o = (r_idx, col)
                text = _docx_text(tc).strip()
                if text:
                    text = decode(text, _docx_font(tc, default_font))
                    cells[o] = Cell(text, text, _docx_font(tc, default_font), False,
                                    coordinate(*o))
            for c in range(col, min(col + span, limits.max_columns + 1)):
                origin[(r_idx, c)] = o
            col += span
    _note_truncation(problems, filename, name, over_rows, over_cols, limits)
    return Sheet(name=name, cells=cells, merged=_merges_from_cells(origin), notes=notes)


def _int_attr(el, default: int) -> int:
    try:
        return int(el.get(_W + "val"))
    except (TypeError, ValueError):
        return default


# --------------------------------------------------------------------------- entry


def read_grid(data: bytes, fmt: str, limits: ReadLimits, filename: str = "") -> Grid:
    """Read `data` of sniffed format `fmt` into sheets. Raises GridError (named
    problem) or a library exception for a damaged file; the caller maps the latter."""
    if fmt in ("xlsx", "xlsm"):
        return read_xlsx(data, limits, filename)
    if fmt == "xls":
        return read_xls(data, limits, filename)
    if fmt == "csv":
        return read_csv(data, limits, filename)
    if fmt == "docx":
        return read_docx(data, limits, filename)
    raise GridError("unsupported_format", file=filename, format=fmt)
