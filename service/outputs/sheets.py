"""Writing styled cells in the digest workbook and the exports: fonts, fills, number
formats, wrapped rows and print setup. Text that came from units is always written as
text, so no spreadsheet ever runs it as a formula.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.compat import safe_string
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.dimensions import DimensionHolder
from openpyxl.worksheet.worksheet import Worksheet

from service.day.dayview import number

# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_CHARS = 32_767

FONT_NAME = "Times New Roman"  # what official documents (and the blank form) use
REGULAR = Font(name=FONT_NAME, size=11)
BOLD = Font(name=FONT_NAME, size=11, bold=True)
MUTED = Font(name=FONT_NAME, size=11, italic=True, color="6B7785")
TITLE = Font(name=FONT_NAME, size=14, bold=True, color="1F3A5F")
SUBTITLE = Font(name=FONT_NAME, size=12, bold=True)
NOTE = Font(name=FONT_NAME, size=10, italic=True, color="444444")
HEAD = Font(name=FONT_NAME, size=11, bold=True, color="1F3A5F")
THIN = Side(style="thin", color="A6B4C5")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
GROUP_FILL = PatternFill("solid", fgColor="EEF3F9")
TOTAL_FILL = PatternFill("solid", fgColor="E3EBF5")
ZEBRA_FILL = PatternFill("solid", fgColor="F5F8FC")
# A unit's figure that failed a format check: shown in its row, not in the totals.
EXCLUDED_FILL = PatternFill("solid", fgColor="FFE9D9")
# A unit's figure read from a scan, a photo or the email's text: to check against the original.
READ_FROM_FILL = PatternFill("solid", fgColor="FFF2B3")
STATUS_FILL = {
    "on_time": PatternFill("solid", fgColor="E6F4EA"),
    "late": PatternFill("solid", fgColor="FFF3D6"),
    "unreadable": PatternFill("solid", fgColor="FFE9D9"),
    "missing": PatternFill("solid", fgColor="FDE3E3"),
    "not_expected": PatternFill("solid", fgColor="ECEFF3"),
}
STATUS_COLOR = {"on_time": "2E7D32", "late": "F9A825", "unreadable": "EF6C00", "missing": "D32F2F"}
# Font of a "change" cell by (trend, bold row): decreases stand out in red.
CHANGE_FONT = {
    (trend, bold): Font(
        name=FONT_NAME,
        size=10 if trend != "down" else 11,
        bold=bold or trend == "down",
        color={"up": "1E6B34", "down": "B3261E"}.get(trend, "8A94A3"),
    )
    for trend in ("up", "down", "same", "none")
    for bold in (False, True)
}
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="center")
LEFT_CENTER = Alignment(horizontal="left", vertical="center", wrap_text=True)

ROW_POINTS = 18.0  # a table row: a little air around 11-pt text
COUNT_FORMAT = "#,##0"
# triệu đồng as in the email (1.234,5; 3,71; whole: see figure_format); the cell keeps every đồng
MONEY_FORMAT = "#,##0.0#"
COUNT_CHANGE_FORMAT = "+#,##0;-#,##0;0"
MONEY_CHANGE_FORMAT = "+#,##0.0#;-#,##0.0#;0"
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm:ss"


# -- untrusted text -------------------------------------------------------------------------


def neutralize(text: object) -> str:
    """Text for a CSV cell: one that a spreadsheet would run as a formula gets a leading '."""
    s = "" if text is None else str(text)
    return "'" + s if s.startswith(FORMULA_START) else s


def put_text(cell: Cell, text: object) -> Cell:
    """Write `text` as a plain string cell, never a formula or an error value."""
    s = ILLEGAL_CHARACTERS_RE.sub(" ", "" if text is None else str(text))[:MAX_CELL_CHARS]
    # Bypass openpyxl's inference on purpose: it turns "=..." into a formula and "#N/A"
    # into an error value, and re-checks the characters just cleaned.
    cell._value = s
    cell.data_type = "s"
    if s.startswith(FORMULA_START):
        cell.quotePrefix = True  # Excel keeps it text even when the cell is edited
    return cell


def put_cell(
    ws: Worksheet,
    row: int,
    col: int,
    value: Any,
    font: Font = REGULAR,
    *,
    fill: PatternFill | None = None,
    fmt: str | None = None,
    align: Alignment = WRAP,
    border: Border | None = BOX,
) -> Cell:
    """Write one styled cell. A workbook of 1,000 units has ~100,000 cells, so this path
    avoids openpyxl's per-cell work: each style combination is resolved against the
    workbook's tables once, and later cells of it share its style array (the cells this
    writes are never restyled afterwards: do not set a style on the cell it returns);
    the cell is made without openpyxl's constructor and plain numbers skip type inference."""
    quoted = isinstance(value, str) and value.startswith(FORMULA_START)
    cache = _style_cache(ws)
    key = (id(font), id(fill), fmt, id(align), id(border), quoted)  # module constants: ids are stable
    style = cache.get(key)
    if style is None:
        return _first_of_style(ws, row, col, value, font, fill, fmt, align, border, cache, key)
    cell = _new_cell(Cell)
    cell.parent = ws
    cell._style = style  # the quote prefix is part of the cached style already
    cell.row = row
    cell.column = col
    cell._hyperlink = None
    cell._comment = None
    if isinstance(value, str):
        cell._value = ILLEGAL_CHARACTERS_RE.sub(" ", value)[:MAX_CELL_CHARS]
        cell.data_type = "s"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        cell._value = value
        cell.data_type = "n"
    else:
        cell._value = None
        cell.data_type = "n"
        if isinstance(value, Decimal):
            cell.value = number(value)
        elif value is not None:
            cell.value = value
    ws._cells[(row, col)] = cell
    return cell


_new_cell = Cell.__new__


def _first_of_style(
    ws: Worksheet,
    row: int,
    col: int,
    value: Any,
    font: Font,
    fill: PatternFill | None,
    fmt: str | None,
    align: Alignment,
    border: Border | None,
    cache: dict[Any, Any],
    key: Any,
) -> Cell:
    """The first cell of a style combination, through openpyxl: its style array is cached."""
    cell = Cell(ws, row=row, column=col)
    ws._cells[(row, col)] = cell
    if isinstance(value, str):
        put_text(cell, value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        cell._value = value
        cell.data_type = "n"
    elif isinstance(value, Decimal):
        cell.value = number(value)
    elif value is not None:
        cell.value = value
    cell.font = font
    cell.alignment = align
    if border is not None:
        cell.border = border
    if fill is not None:
        cell.fill = fill
    if fmt is not None:
        cell.number_format = fmt
    cache[key] = copy(cell._style)
    return cell


def _style_cache(ws: Worksheet) -> dict[Any, Any]:
    # Style indices belong to one workbook, so the cache lives on it (each sheet holds it too).
    cache: dict[Any, Any] | None = ws.__dict__.get("_baocao_styles")
    if cache is None:
        book = ws.parent.__dict__
        cache = book.get("_baocao_styles")
        if cache is None:
            cache = book["_baocao_styles"] = {}
        ws.__dict__["_baocao_styles"] = cache
    return cache


def _wrapped_lines(text: object, width: float) -> int:
    """Lines a wrapped cell of `width` (Excel character units) needs for `text`."""
    if text is None or text == "":
        return 1
    per_line = max(1, int(width * 1.3))  # Times New Roman is narrower than the width unit
    return sum(max(1, math.ceil(len(part) / per_line)) for part in str(text).split("\n"))


def fit_row(ws: Worksheet, row: int, cells: Iterable[tuple[object, float]], line_points: float = 14.5) -> None:
    """Set the row height for its wrapped text: openpyxl does not, and LibreOffice/Excel
    would then draw long labels over the next row."""
    lines = max((_wrapped_lines(text, width) for text, width in cells), default=1)
    if lines > 1:  # one-line rows get the sheet's default height (set_widths sets it)
        ws.row_dimensions[row].height = max(ROW_POINTS, line_points * lines + 4)


def banner(
    ws: Worksheet, row: int, text: str, widths: Sequence[float], font: Font, height: float | None = None
) -> None:
    last_col = len(widths)
    put_cell(ws, row, 1, text, font, align=CENTER if font in (TITLE, SUBTITLE) else LEFT_CENTER, border=None)
    if last_col > 1:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
    lines = _wrapped_lines(text, sum(widths) * (0.85 if font in (TITLE, SUBTITLE) else 1.0))
    ws.row_dimensions[row].height = max(height or 15, (font.sz or 11) * 1.35 * lines + 4)


def header_row(ws: Worksheet, row: int, headers: Sequence[str], widths: Sequence[float]) -> None:
    for j, h in enumerate(headers, start=1):
        put_cell(ws, row, j, h, HEAD, fill=HEAD_FILL, align=CENTER)
    ws.row_dimensions[row].height = max(30, 14.5 * max(_wrapped_lines(h, w) for h, w in zip(headers, widths)) + 6)


def set_widths(ws: Worksheet, widths: Sequence[float]) -> None:
    """Column widths, and a row height with a little air around 11-pt text."""
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.sheet_format.defaultRowHeight = ROW_POINTS
    ws.sheet_format.customHeight = True


def print_setup(ws: Worksheet, title_rows: str, title_cols: str | None = None) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols
    ws.oddFooter.center.text = "&P / &N"


def figure_format(measure: Mapping[str, Any], change: bool = False, value: object = None) -> str:
    """The number format of a figure; whole triệu without decimals where the language says
    so (vi: 70, never 70,0). `sheet_number` makes a whole amount an int."""
    if measure["money"] and not (measure.get("whole_money") and isinstance(value, int)):
        return MONEY_CHANGE_FORMAT if change else MONEY_FORMAT
    return COUNT_CHANGE_FORMAT if change else COUNT_FORMAT


# -- saving ----------------------------------------------------------------------------


def save_fast(wb: Workbook) -> bytes:
    """`wb` as .xlsx bytes, the same file openpyxl's `save` makes with each sheet's cells
    written as XML text instead of through openpyxl's per-cell writer (about 30 µs a
    cell; a province's digest workbook has 200,000). Cells of a kind this does not
    write (formulas, rich text, hyperlinks, comments) leave the whole save to openpyxl."""
    sheets = wb.worksheets
    if any(not isinstance(ws, Worksheet) for ws in sheets):
        return _save(wb)
    parts: dict[str, tuple[str, str]] = {}
    try:
        for n, ws in enumerate(sheets, start=1):
            parts[f"xl/worksheets/sheet{n}.xml"] = (ws.calculate_dimension(), _sheet_rows_xml(ws))
    except _Unsupported:
        return _save(wb)
    stashed = [(ws, ws._cells, ws.row_dimensions) for ws in sheets]
    try:
        for ws in sheets:
            ws._cells = {}
            ws.row_dimensions = DimensionHolder(worksheet=ws, default_factory=ws._add_row)
        data = _save(wb)
    finally:
        for ws, cells, dims in stashed:
            ws._cells, ws.row_dimensions = cells, dims
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename in parts:
                dimension, rows = parts[info.filename]
                body = body.replace(b'<dimension ref="A1:A1"/>', f'<dimension ref="{dimension}"/>'.encode(), 1)
                empty = b"<sheetData/>" if b"<sheetData/>" in body else b"<sheetData></sheetData>"
                body = body.replace(empty, b"<sheetData>" + rows.encode("utf-8") + b"</sheetData>", 1)
            dst.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return out.getvalue()


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class _Unsupported(Exception):
    pass


def _sheet_rows_xml(ws: Worksheet) -> str:
    """The <row> elements of `ws`, as openpyxl's WorksheetWriter.write_rows writes them."""
    rows: dict[int, list[Any]] = defaultdict(list)
    for (r, _), cell in sorted(ws._cells.items()):
        rows[r].append(cell)
    for r in ws.row_dimensions.keys() - rows.keys():
        rows[r] = []
    styles = ws.parent._cell_styles
    # a cell's style array by its bytes -> its index in the workbook's styles ("" unstyled):
    # the same few arrays come back in every row, and hashing one as openpyxl does is slow
    style_attrs: dict[bytes, str] = {}
    by_array: dict[int, str] = {}  # the same by the array itself: put_cell's cells share theirs
    letters: dict[int, str] = {}
    out: list[str] = []
    for r, cells in sorted(rows.items()):
        attrs = {"r": f"{r}", **dict(ws.row_dimensions.get(r, {}))}
        out.append("<row" + "".join(f' {k}="{_escape_attr(v)}"' for k, v in attrs.items()) + ">")
        for cell in cells:
            if cell._comment is not None or getattr(cell, "_hyperlink", None) is not None:
                raise _Unsupported
            value = cell._value
            style = cell._style
            if style is None:
                attr = ""
            else:
                attr = by_array.get(id(style))  # type: ignore[assignment]
                if attr is None:
                    key = style.tobytes()
                    attr = style_attrs.get(key)
                    if attr is None:
                        attr = style_attrs[key] = f' s="{styles.add(style)}"' if any(style) else ""
                    by_array[id(style)] = attr
            if value is None and not attr:
                continue
            letter = letters.get(cell.column)
            if letter is None:
                letter = letters[cell.column] = get_column_letter(cell.column)
            head = f'<c r="{letter}{cell.row}"' + attr
            kind = cell.data_type
            if kind == "s":
                if not isinstance(value, str) and value is not None:
                    raise _Unsupported  # rich text
                head += ' t="inlineStr"'
            elif kind == "d":
                head += ' t="n"'
                if value is not None and not isinstance(value, dt.timedelta) and ws.parent.iso_dates:
                    raise _Unsupported
                if value is not None:
                    value = to_excel(value, ws.parent.epoch)
            elif kind in ("n", "b", "e"):
                head += f' t="{kind}"'
            else:
                raise _Unsupported  # a formula
            if value is None or value == "":
                out.append(head + "/>")
            elif kind == "s":
                space = ' xml:space="preserve"' if value != value.strip() else ""
                out.append(f"{head}><is><t{space}>{_escape_text(value)}</t></is></c>")
            elif type(value) is int:
                out.append(f"{head}><v>{value:.16g}</v></c>")  # safe_string's text, no markup in it
            else:
                out.append(f"{head}><v>{_escape_text(safe_string(value))}</v></c>")
        out.append("</row>")
    return "".join(out)


def _escape_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _escape_attr(s: str) -> str:
    return _escape_text(s).replace('"', "&quot;")
