"""Writing styled cells in the digest workbook and the exports: fonts, fills, number
formats, wrapped rows and print setup. Text that came from units is always written as
text, so no spreadsheet ever runs it as a formula.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from decimal import Decimal
from itertools import repeat
from operator import getitem
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
) -> None:
    """Write one styled cell. A province's digest workbook has 200,000 cells, so this
    path avoids openpyxl's per-cell work: each style combination is resolved against the
    workbook's tables once (through an openpyxl cell), and the cell itself is kept as its
    shared style array and the XML text `save_fast` writes for it, not as an openpyxl
    `Cell` (`merge` and `freeze` turn one into a real cell where openpyxl needs it).
    Text is cleaned of the characters a workbook cannot hold and always stays text."""
    try:
        sheet: _SheetCells = ws.__dict__["_baocao_cells"]
    except KeyError:
        sheet = _sheet_cells(ws)
    if value.__class__ is str:
        quoted = value.startswith(FORMULA_START)
        style = sheet.styles.get((id(font), id(fill), fmt, id(align), id(border), quoted))
        if style is None:
            return _first_of_style(sheet, row, col, value, font, fill, fmt, align, border, quoted)
        entry = sheet.texts.get(value)
        if entry is None:
            entry = sheet.texts[value] = _text_xml(value)
    else:
        style = sheet.styles.get((id(font), id(fill), fmt, id(align), id(border), False))
        if style is None:
            return _first_of_style(sheet, row, col, value, font, fill, fmt, align, border, False)
        kind = value.__class__
        if kind is int:
            entry = sheet.ints.get(value)
            if entry is None:
                entry = sheet.ints[value] = f' t="n"><v>{value:.16g}</v></c>'
        elif value is None:
            entry = _EMPTY_NUMBER
        elif kind is float:
            entry = sheet.floats.get(value)
            if entry is None:
                entry = sheet.floats[value] = f' t="n"><v>{_escape_text(safe_string(value))}</v></c>'
        else:
            return _other_value(sheet, row, col, value, style)
    if sheet.cells and (row, col) in sheet.cells:
        del sheet.cells[(row, col)]  # a new value replaces an openpyxl cell there
    found = sheet.rows.get(row)
    if found is None:
        sheet.rows[row] = {col: (style, entry)}
    else:
        found[col] = (style, entry)


def put_cells(
    ws: Worksheet,
    row: int,
    col: int,
    values: Sequence[Any],
    font: Font,
    fills: Sequence[PatternFill | None],
    fmts: Sequence[str | None],
    *,
    align: Alignment = WRAP,
    border: Border | None = BOX,
) -> None:
    """`put_cell` for the consecutive cells of a row from `col` on, one fill and one number
    format a value: a province's detail sheet is 2,000 rows of 60 figures, its sheet of
    other mail 8,000 rows of text."""
    try:
        sheet: _SheetCells = ws.__dict__["_baocao_cells"]
    except KeyError:
        sheet = _sheet_cells(ws)
    found = sheet.rows.setdefault(row, {})
    styles, ints, floats, taken = sheet.styles, sheet.ints, sheet.floats, sheet.cells
    key_font, key_align, key_border = id(font), id(align), id(border)
    texts = sheet.texts
    for value, fill, fmt in zip(values, fills, fmts):
        kind = value.__class__
        quoted = kind is str and value.startswith(FORMULA_START)
        style = styles.get((key_font, id(fill), fmt, key_align, key_border, quoted))
        if style is None or (taken and (row, col) in taken):
            put_cell(ws, row, col, value, font, fill=fill, fmt=fmt, align=align, border=border)
        elif kind is str:
            entry = texts.get(value)
            if entry is None:
                entry = texts[value] = _text_xml(value)
            found[col] = (style, entry)
        elif kind is int:
            entry = ints.get(value)
            if entry is None:
                entry = ints[value] = f' t="n"><v>{value:.16g}</v></c>'
            found[col] = (style, entry)
        elif value is None:
            found[col] = (style, _EMPTY_NUMBER)
        elif kind is float:
            entry = floats.get(value)
            if entry is None:
                entry = floats[value] = f' t="n"><v>{_escape_text(safe_string(value))}</v></c>'
            found[col] = (style, entry)
        else:
            put_cell(ws, row, col, value, font, fill=fill, fmt=fmt, align=align, border=border)
        col += 1


def put_numbers(
    ws: Worksheet,
    row: int,
    col: int,
    values: Sequence[int | float | None],
    font: Font,
    fill: PatternFill | None,
    formats: tuple[tuple[str, str], ...],
    *,
    align: Alignment = WRAP,
    border: Border | None = BOX,
) -> None:
    """`put_cells` for a row of numbers (int, float or None) with one fill, each column's
    number format by whether its value is an int: `formats[k]` is (the format of a float
    or None, the format of an int). A province's detail sheet is 2,000 rows of 60 figures:
    their styles and texts are looked up a row at a time in C. Anything else (another kind
    of value, a style not met yet, an openpyxl cell in the way) goes through `put_cells`."""
    try:
        sheet: _SheetCells = ws.__dict__["_baocao_cells"]
    except KeyError:
        sheet = _sheet_cells(ws)
    n = len(values)
    taken = sheet.cells
    key = (id(font), id(fill), id(align), id(border), formats)
    by_type = sheet.number_styles.get(key)
    if (
        by_type is not None
        and len(by_type) == n
        and _NUMBERS.issuperset(map(type, values))
        and (not taken or taken.keys().isdisjoint(zip(repeat(row), range(col, col + n))))
    ):
        numbers = sheet.numbers
        entries: list[Any] = list(map(numbers.get, values))  # (None: a value not met yet)
        if None in entries:  # an int and an equal float are written alike ('%.16g'): one cache for both
            entries = [numbers[v] if v in numbers else numbers.setdefault(v, _number_xml(v)) for v in values]
        sheet.rows.setdefault(row, {}).update(
            zip(range(col, col + n), zip(map(getitem, by_type, map(type, values)), entries))
        )
        return
    fmts = [pair[v.__class__ is int] for pair, v in zip(formats, values)]
    put_cells(ws, row, col, values, font, [fill] * n, fmts, align=align, border=border)
    if by_type is None:  # each column's styles, once every one is known
        styles = sheet.styles
        found = []
        for other, whole in formats:
            as_other = styles.get((id(font), id(fill), other, id(align), id(border), False))
            as_int = styles.get((id(font), id(fill), whole, id(align), id(border), False))
            if as_other is None or as_int is None:
                return
            found.append({int: as_int, float: as_other, type(None): as_other})
        sheet.number_styles[key] = found


class _Empty(str):
    """The XML text of an empty cell (value None): written only when the cell is styled."""


# A cell's entry is (style array, what follows `<c r="REF" s="N"` for it).
_EMPTY_NUMBER = _Empty(' t="n"/>')
_NUMBERS = frozenset({int, float, type(None)})


def _number_xml(value: int | float | None) -> str:
    """What follows `<c r="REF" s="N"` for a number cell: put_cell's text for an int, a float, None."""
    if value is None:
        return _EMPTY_NUMBER
    if value.__class__ is int:
        return f' t="n"><v>{value:.16g}</v></c>'
    return f' t="n"><v>{_escape_text(safe_string(value))}</v></c>'


class _SheetCells:
    """The cells `put_cell` wrote on one sheet: row -> column -> (style array, XML text)."""

    def __init__(self, ws: Worksheet, book: dict[str, Any]) -> None:
        self.ws = ws
        self.cells = ws._cells  # openpyxl's own cells (merged ones, a frozen pane's corner)
        self.rows: dict[int, dict[int, tuple[Any, str]]] = {}
        # by workbook: style arrays of the style combinations; XML of repeated values
        self.styles: dict[Any, Any] = book.setdefault("_baocao_styles", {})
        self.texts: dict[str, str] = book.setdefault("_baocao_texts", {})
        self.ints: dict[int, str] = book.setdefault("_baocao_ints", {})
        self.floats: dict[float, str] = book.setdefault("_baocao_floats", {})
        self.numbers: dict[int | float | None, str] = book.setdefault("_baocao_numbers", {})
        # put_numbers: each column's style by the type of its value, by (font, fill, align, border, formats)
        self.number_styles: dict[Any, list[dict[type, Any]]] = book.setdefault("_baocao_number_styles", {})
        self.date_styles: set[int] = book.setdefault("_baocao_date_styles", set())


def _sheet_cells(ws: Worksheet) -> _SheetCells:
    sheet = ws.__dict__["_baocao_cells"] = _SheetCells(ws, ws.parent.__dict__)
    return sheet


def _text_xml(value: str) -> str:
    """The XML of a text cell holding `value` (put_text's cleaning)."""
    s = ILLEGAL_CHARACTERS_RE.sub(" ", value)[:MAX_CELL_CHARS]
    if not s:
        return ' t="inlineStr"/>'
    space = ' xml:space="preserve"' if s != s.strip() else ""
    return f' t="inlineStr"><is><t{space}>{_escape_text(s)}</t></is></c>'


def _cell_xml(ws: Worksheet, cell: Cell) -> str:
    """What follows `<c r="REF" s="N"` for an openpyxl cell, as openpyxl's writer writes
    it (an `_Empty` text for an empty one)."""
    value = cell._value
    kind = cell.data_type
    if kind == "s":
        if not isinstance(value, str) and value is not None:
            raise _Unsupported  # rich text
        head = ' t="inlineStr"'
    elif kind == "d":
        head = ' t="n"'
        if value is not None and not isinstance(value, dt.timedelta) and ws.parent.iso_dates:
            raise _Unsupported
        if value is not None:
            value = to_excel(value, ws.parent.epoch)
    elif kind in ("n", "b", "e"):
        head = f' t="{kind}"'
    else:
        raise _Unsupported  # a formula
    if value is None:
        return _Empty(head + "/>")
    if value == "":
        return head + "/>"
    if kind == "s":
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f"{head}><is><t{space}>{_escape_text(value)}</t></is></c>"
    if type(value) is int:
        return f"{head}><v>{value:.16g}</v></c>"  # safe_string's text, no markup in it
    return f"{head}><v>{_escape_text(safe_string(value))}</v></c>"


def _store(sheet: _SheetCells, row: int, col: int, cell: Cell, style: Any) -> None:
    """Keep openpyxl `cell` (its value set, styled by `style`) as an entry."""
    try:
        text = _cell_xml(sheet.ws, cell)
    except _Unsupported:  # not a kind put_cell makes: openpyxl's own cell
        sheet.cells[(row, col)] = cell
        sheet.rows.get(row, {}).pop(col, None)
        return
    if sheet.cells and (row, col) in sheet.cells:
        del sheet.cells[(row, col)]
    sheet.rows.setdefault(row, {})[col] = (style, text)


def _other_value(sheet: _SheetCells, row: int, col: int, value: Any, style: Any) -> None:
    """A value other than text, a number or None (a Decimal, a date): through openpyxl's
    inference, as openpyxl would store it in a cell of this style. openpyxl gives a style
    without a date format one the first time it holds a date; after that a date of the
    style is written directly (Excel's serial number, as openpyxl's writer writes it)."""
    if isinstance(value, dt.date) and id(style) in sheet.date_styles:
        serial = to_excel(value, sheet.ws.parent.epoch)
        text = f' t="n"><v>{_escape_text(safe_string(serial))}</v></c>'
        if sheet.cells and (row, col) in sheet.cells:
            del sheet.cells[(row, col)]
        sheet.rows.setdefault(row, {})[col] = (style, text)
        return
    cell = Cell(sheet.ws, row=row, column=col)
    cell._style = style
    if isinstance(value, Decimal):
        cell.value = number(value)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        cell.value = value
    else:
        cell._value = value
        cell.data_type = "n"
    _store(sheet, row, col, cell, style)
    if isinstance(value, dt.date) and cell.data_type == "d" and not sheet.ws.parent.iso_dates:
        sheet.date_styles.add(id(style))


def _first_of_style(
    sheet: _SheetCells,
    row: int,
    col: int,
    value: Any,
    font: Font,
    fill: PatternFill | None,
    fmt: str | None,
    align: Alignment,
    border: Border | None,
    quoted: bool,
) -> None:
    """The first cell of a style combination, through openpyxl: its style array is cached."""
    cell = Cell(sheet.ws, row=row, column=col)
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
    style = sheet.styles[(id(font), id(fill), fmt, id(align), id(border), quoted)] = copy(cell._style)
    _store(sheet, row, col, cell, style)


def merge(ws: Worksheet, start_row: int, start_column: int, end_row: int, end_column: int) -> None:
    """`ws.merge_cells` over cells `put_cell` wrote, as openpyxl does it over its own cells:
    the range takes its borders from its first and last cells (openpyxl cells standing in
    for them while it looks, sharing their style arrays), the cells after the first give
    way to openpyxl's merged cells, the first keeps its value."""
    sheet: _SheetCells | None = ws.__dict__.get("_baocao_cells")
    first = (start_row, start_column)
    stand_in = None
    if sheet is not None:
        for r, c in (first, (end_row, end_column)):
            entry = sheet.rows.get(r, {}).get(c)
            if entry is not None and (r, c) not in ws._cells:
                cell = ws._cells[(r, c)] = Cell(ws, row=r, column=c)
                cell._style = entry[0]
                if (r, c) == first:
                    stand_in = cell
        for r in range(start_row, end_row + 1):
            found = sheet.rows.get(r)
            if found:
                for c in range(start_column, end_column + 1):
                    if (r, c) != first:
                        found.pop(c, None)
    ws.merge_cells(start_row=start_row, start_column=start_column, end_row=end_row, end_column=end_column)
    if stand_in is not None and ws._cells.get(first) is stand_in:
        del ws._cells[first]


def freeze(ws: Worksheet, row: int, col: int) -> None:
    """Freeze the panes above and left of (row, col), as `ws.freeze_panes = ws.cell(row, col)`
    does: that cell is made (empty) when nothing was written there."""
    sheet: _SheetCells | None = ws.__dict__.get("_baocao_cells")
    if sheet is None or col not in sheet.rows.get(row, ()):
        ws.cell(row, col)
    ws.freeze_panes = f"{get_column_letter(col)}{row}"


def _wrapped_lines(text: object, width: float) -> int:
    """Lines a wrapped cell of `width` (Excel character units) needs for `text`."""
    if text is None or text == "":
        return 1
    per_line = max(1, int(width * 1.3))  # Times New Roman is narrower than the width unit
    s = text if isinstance(text, str) else str(text)
    if "\n" not in s:  # (most cells: one part)
        return 1 if len(s) <= per_line else math.ceil(len(s) / per_line)
    return sum(max(1, math.ceil(len(part) / per_line)) for part in s.split("\n"))


def fit_row(ws: Worksheet, row: int, cells: Iterable[tuple[object, float]], line_points: float = 14.5) -> None:
    """Set the row height for its wrapped text: openpyxl does not, and LibreOffice/Excel
    would then draw long labels over the next row."""
    lines = 1
    for text, width in cells:
        n = _wrapped_lines(text, width)
        if n > lines:
            lines = n
    if lines > 1:  # one-line rows get the sheet's default height (set_widths sets it)
        ws.row_dimensions[row].height = max(ROW_POINTS, line_points * lines + 4)


def banner(
    ws: Worksheet, row: int, text: str, widths: Sequence[float], font: Font, height: float | None = None
) -> None:
    last_col = len(widths)
    put_cell(ws, row, 1, text, font, align=CENTER if font in (TITLE, SUBTITLE) else LEFT_CENTER, border=None)
    if last_col > 1:
        merge(ws, row, 1, row, last_col)
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
    cell; a province's digest workbook has 200,000): the cells `put_cell` wrote, and
    openpyxl's own. A workbook with openpyxl cells of a kind this does not write
    (formulas, rich text, hyperlinks, comments) and none of put_cell's is left to openpyxl."""
    sheets = wb.worksheets
    if any(not isinstance(ws, Worksheet) for ws in sheets):
        return _save(wb)
    parts: dict[str, tuple[str, str]] = {}
    try:
        for n, ws in enumerate(sheets, start=1):
            bounds: list[int] = []
            rows = _sheet_rows_xml(ws, bounds)
            parts[f"xl/worksheets/sheet{n}.xml"] = (_dimension(ws, bounds), rows)
    except _Unsupported:
        if any("_baocao_cells" in ws.__dict__ for ws in sheets):
            raise TypeError(
                "a workbook written with put_cell holds a formula, rich text, a hyperlink or a comment"
            ) from None
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


def _dimension(ws: Worksheet, bounds: Sequence[int] = ()) -> str:
    """`ws.calculate_dimension()` over put_cell's cells and openpyxl's; `bounds`: the first
    and last row and column holding a cell, as `_sheet_rows_xml` found them."""
    sheet: _SheetCells | None = ws.__dict__.get("_baocao_cells")
    if sheet is None:
        return str(ws.calculate_dimension())
    if bounds:
        top, bottom, left, right = bounds
        return f"{get_column_letter(left)}{top}:{get_column_letter(right)}{bottom}"
    rows = {r for r, found in sheet.rows.items() if found}
    cols = {c for found in sheet.rows.values() for c in (min(found, default=None), max(found, default=None))}
    cols.discard(None)
    for r, c in ws._cells:
        rows.add(r)
        cols.add(c)
    if not rows:
        return "A1:A1"
    return f"{get_column_letter(min(cols))}{min(rows)}:{get_column_letter(max(cols))}{max(rows)}"  # type: ignore[type-var]


def _sheet_rows_xml(ws: Worksheet, bounds: list[int] | None = None) -> str:
    """The <row> elements of `ws`, as openpyxl's WorksheetWriter.write_rows writes them;
    the first and last row and column holding a cell put in `bounds` (none: left empty)."""
    sheet: _SheetCells | None = ws.__dict__.get("_baocao_cells")
    rows: dict[int, dict[int, tuple[Any, str]]] = {}
    if sheet is not None:
        rows = {r: found for r, found in sheet.rows.items() if found}
    for (r, c), cell in ws._cells.items():
        if cell._comment is not None or getattr(cell, "_hyperlink", None) is not None:
            raise _Unsupported
        found = rows.get(r)
        if found is None or (sheet is not None and found is sheet.rows.get(r)):
            found = rows[r] = dict(found or {})  # (put_cell's rows are not changed)
        found[c] = (cell._style, _cell_xml(ws, cell))
    for r in ws.row_dimensions.keys() - rows.keys():
        rows[r] = {}
    styles = ws.parent._cell_styles
    # a cell's style array by its bytes -> its index in the workbook's styles ("" unstyled):
    # the same few arrays come back in every row, and hashing one as openpyxl does is slow
    style_attrs: dict[bytes, str] = {}
    by_array: dict[int, str] = {id(None): ""}  # the same by the array itself: put_cell's cells share theirs
    letters = [""]  # by column number
    out: list[str] = []
    append = out.append
    dimensions = ws.row_dimensions
    top = bottom = left = right = 0
    for r in sorted(rows):
        found = rows[r]
        columns = sorted(found)
        if columns:
            if not top:
                top, left, right = r, columns[0], columns[-1]
            bottom = r
            left = min(left, columns[0])
            right = max(right, columns[-1])
            if columns[-1] >= len(letters):
                letters.extend(get_column_letter(c) for c in range(len(letters), columns[-1] + 1))
        dims = dimensions.get(r)
        if dims is None:
            append(f'<row r="{r}">')
        else:
            attrs = {"r": f"{r}", **dict(dims)}
            append("<row" + "".join(f' {k}="{_escape_attr(v)}"' for k, v in attrs.items()) + ">")
        row_ref = f'{r}"'
        for c in columns:
            style, text = found[c]
            attr = by_array.get(id(style))
            if attr is None:
                key = style.tobytes()
                attr = style_attrs.get(key)
                if attr is None:
                    attr = style_attrs[key] = f' s="{styles.add(style)}"' if any(style) else ""
                by_array[id(style)] = attr
            if attr:
                append(f'<c r="{letters[c]}{row_ref}{attr}{text}')
            elif text.__class__ is not _Empty:  # (an unstyled empty cell is not written)
                append(f'<c r="{letters[c]}{row_ref}{text}')
        append("</row>")
    if bounds is not None and top:
        bounds[:] = [top, bottom, left, right]
    return "".join(out)


def _escape_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _escape_attr(s: str) -> str:
    return _escape_text(s).replace('"', "&quot;")
