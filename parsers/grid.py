"""Turn a readable attachment (xlsx/xlsm, xls, csv, docx) into plain cell grids.

Every format becomes a tuple of `Sheet`s: cells keyed by (row, column), 1-based,
with their value, their text already converted to Unicode NFC (TCVN3/VNI by font
or by detection), merged ranges and which sheet was active. Caps from `ReadLimits`
bound the work; a fatal problem raises `GridError`, a truncation is reported.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterator, Mapping

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
_FORMULA_RE = re.compile(rb"<(?:\w+:)?f[\s>/]")
# A cell element that is not self-closing: it holds a value or a formula.
_FILLED_CELL_RE = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="\$?([A-Za-z]{1,3})\$?(\d{1,7})"[^>]*(?<!/)>')
_SCAN_CHUNK = 1 << 20


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
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


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
    coord = coordinate(row, col)
    if value is None:
        return None
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


def check_zip_container(data: bytes, limits: ReadLimits, filename: str) -> None:
    """Refuse a zip package that would cost too much to open, before any parser
    touches it: total declared size, overall ratio, entry count, DTDs in XML parts.

    Python's zipfile never inflates an entry past its declared size, so the
    declared sizes checked here also bound the real work.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
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
            for info in infos:
                name = info.filename.lower()
                if info.file_size and name.endswith((".xml", ".rels", ".vml")):
                    with zf.open(info) as fh:
                        head = fh.read(_XML_HEAD_BYTES)
                    if _DTD_RE.search(head):
                        raise GridError("unsafe_file", file=filename, detail="DTD")
    except zipfile.BadZipFile as exc:
        raise GridError("file_unreadable", file=filename, error=type(exc).__name__,
                        detail=str(exc)[:200]) from exc


@dataclass
class _SheetScan:
    merges: list[tuple[int, int, int, int]]
    has_formula: bool
    max_row: int  # last row / column holding a value anywhere in the sheet
    max_col: int


def _scan_sheet_xml(zf: zipfile.ZipFile, path: str) -> _SheetScan:
    """Merged ranges, formula presence and the true extent of the filled cells,
    streaming the part in chunks (bounded by the package checks)."""
    merges: set[tuple[int, int, int, int]] = set()
    has_formula = False
    max_row = max_col = 0
    try:
        fh = zf.open(path.lstrip("/"))
    except KeyError:
        return _SheetScan([], False, 0, 0)
    with fh:
        tail = b""
        while True:
            chunk = fh.read(_SCAN_CHUNK)
            if not chunk:
                break
            buf = tail + chunk
            # Matches wholly inside the carried-over tail were seen last round.
            min_start = max(0, len(tail) - 1)
            if not has_formula and _FORMULA_RE.search(buf):
                has_formula = True
            for m in _MERGE_RE.finditer(buf):
                c1, r1, c2, r2 = m.group(1), m.group(2), m.group(3), m.group(4)
                a = (int(r1), column_index(c1.decode()))
                b = (int(r2), column_index(c2.decode())) if c2 else a
                merges.add((min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])))
            for m in _FILLED_CELL_RE.finditer(buf, min_start):
                max_row = max(max_row, int(m.group(2)))
                max_col = max(max_col, column_index(m.group(1).decode()))
            tail = buf[-512:]
    return _SheetScan(sorted(merges), has_formula, max_row, max_col)


def _uncached_formulas(zf: zipfile.ZipFile, path: str, max_row: int, max_col: int) -> set[tuple[int, int]]:
    """Cells holding a formula but no cached value (`<f>` without `<v>`)."""
    from defusedxml.ElementTree import iterparse  # the parser that refuses entity tricks

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    c_tag, f_tag, v_tag, row_tag = ns + "c", ns + "f", ns + "v", ns + "row"
    found: set[tuple[int, int]] = set()
    row_no = 0
    with zf.open(path.lstrip("/")) as fh:
        for _, el in iterparse(fh, events=("end",)):
            tag = el.tag
            if tag == c_tag:
                v = el.find(v_tag)
                # Excel writes <v></v> with t="str" for a formula whose result is "";
                # an empty <v/> on a number cell (what openpyxl writes) is no value.
                if el.find(f_tag) is not None and (
                        v is None or (not (v.text or "").strip() and el.get("t") != "str")):
                    ref = el.get("r") or ""
                    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})", ref)
                    if m:
                        r, c = int(m.group(2)), column_index(m.group(1))
                        if r <= max_row and c <= max_col:
                            found.add((r, c))
                el.clear()
            elif tag == row_tag:
                try:
                    row_no = int(el.get("r") or row_no + 1)
                except ValueError:
                    row_no += 1
                el.clear()
                if row_no > max_row:
                    break
    return found


def read_xlsx(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Read an .xlsx/.xlsm with openpyxl in read-only mode (streaming, bounded rows)."""
    import openpyxl

    check_zip_container(data, limits, filename)
    problems: list[Problem] = []
    decode = _TextDecoder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True,
                                    keep_links=False)
    try:
        worksheets = list(wb.worksheets)
        active = wb.active
        if len(worksheets) > limits.max_sheets:
            problems.append(Problem("over_limit", {"file": filename, "limit": "sheets",
                                                   "detail": str(limits.max_sheets)}))
            worksheets = worksheets[: limits.max_sheets]
        sheets = []
        with zipfile.ZipFile(io.BytesIO(data)) as zf:  # to scan merges and formulas
            for ws in worksheets:
                sheets.append(_read_xlsx_sheet(ws, ws is active, zf, limits, filename, decode,
                                               problems))
    finally:
        wb.close()
    return Grid(tuple(sheets), tuple(problems))


def _read_xlsx_sheet(ws, is_active: bool, zf: zipfile.ZipFile, limits: ReadLimits,
                     filename: str, decode: _TextDecoder, problems: list[Problem]) -> Sheet:
    max_rows, max_cols = limits.max_rows, limits.max_columns
    cells: dict[tuple[int, int], Cell] = {}
    over_rows = over_cols = False
    for r_idx, row in enumerate(ws.iter_rows(min_row=1, max_row=max_rows + 1,
                                             min_col=1, max_col=max_cols + 1), start=1):
        for c_idx, xc in enumerate(row, start=1):
            value = xc.value
            if value is None:
                continue
            if r_idx > max_rows:
                over_rows = True
                break
            if c_idx > max_cols:
                over_cols = True
                continue
            font_name = None
            if isinstance(value, str) and not value.isascii():
                try:
                    font_name = xc.font.name
                except (AttributeError, IndexError, KeyError):
                    font_name = None
            cell = _make_cell(value, r_idx, c_idx, decode, font_name)
            if cell is not None:
                cells[(r_idx, c_idx)] = cell
    # Read-only sheets stream their part; its name lets us scan what read-only mode
    # does not give (merged ranges, formulas without a cached value).
    path = getattr(ws, "_worksheet_path", "")
    merges: list[tuple[int, int, int, int]] = []
    if path:
        scan = _scan_sheet_xml(zf, path)
        merges = scan.merges
        over_rows = over_rows or scan.max_row > max_rows
        over_cols = over_cols or scan.max_col > max_cols
        if scan.has_formula:
            for rc in _uncached_formulas(zf, path, max_rows, max_cols):
                if rc not in cells:
                    cells[rc] = Cell(None, "", None, True, coordinate(*rc))
    _note_truncation(problems, filename, ws.title, over_rows, over_cols, limits)
    return Sheet(
        name=str(ws.title),
        cells=cells,
        merged=tuple(m for m in merges if m[0] <= max_rows and m[1] <= max_cols),
        is_active=is_active,
        is_hidden=getattr(ws, "sheet_state", "visible") != "visible",
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
        raise GridError("file_unreadable", file=filename, error=type(exc).__name__,
                        detail=str(exc)[:200]) from exc
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


def read_docx(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Every table of a .docx as a sheet; the paragraphs before it become its notes."""
    import docx

    check_zip_container(data, limits, filename)
    document = docx.Document(io.BytesIO(data))
    default_font = None
    try:
        default_font = document.styles["Normal"].font.name
    except (KeyError, AttributeError):
        default_font = None
    decode = _TextDecoder()
    problems: list[Problem] = []
    sheets: list[Sheet] = []
    notes: list[str] = []
    for child in _block_items(document.element.body):
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
