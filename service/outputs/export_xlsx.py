"""The export as an .xlsx sheet (openpyxl for the header and the styles, the data rows
written as the sheet's XML): imported only when that format is asked for.

The data rows' texts are shared strings (`xl/sharedStrings.xml`, as Excel writes them):
a province's day repeats each unit's name, group and status on its 60 rows and each
indicator's label on every unit's, and as inline strings the sheet was 85 MB of XML to
make, encode and compress.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
from openpyxl.compat import safe_string
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from service.config import Config
from service.day.dayview import DayView, number
from service.outputs.export import export_groups
from service.outputs.i18n import labels
from service.outputs.sheets import (
    BOX,
    CENTER,
    DATE_FORMAT,
    DATETIME_FORMAT,
    FORMULA_START,
    HEAD,
    HEAD_FILL,
    MAX_CELL_CHARS,
    put_text,
)


def render_export_xlsx(views: Sequence[DayView], cfg: Config) -> bytes:
    """The export as one .xlsx sheet with a frozen, filterable header row."""
    headers, groups = export_groups(views, cfg)
    count = sum(len(tails) for _, tails in groups)
    t = labels(cfg.service.language)["export"]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(t["sheet"])
    widths = [12, 14, 36, 18, 16, 20, 18, 50, 14, 32, 20]
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{count + 1}"
    head = []
    for h in headers:
        c = WriteOnlyCell(ws)
        put_text(c, h)
        c.font, c.fill, c.alignment, c.border = HEAD, HEAD_FILL, CENTER, BOX
        head.append(c)
    ws.append(head)
    # The data rows (a province's day: 120,000 rows, 1.3 million cells) are written as the
    # sheet's XML directly, the way openpyxl would write these cells, then put in the
    # saved file: openpyxl's per-cell path takes about 30 µs a cell.
    styles = _RowStyles(ws)
    data = _groups_xml(groups, styles)
    buf = io.BytesIO()
    wb.save(buf)
    return _with_rows(buf.getvalue(), data, styles.strings)


class _RowStyles:
    """The style indexes of the export's data cells, registered in the workbook."""

    def __init__(self, ws: Any) -> None:
        def style(**attrs: Any) -> str:
            c = WriteOnlyCell(ws)
            for name, value in attrs.items():
                setattr(c, name, value)
            return f' s="{c.style_id}"'

        self.datetime = style(number_format=DATETIME_FORMAT)
        self.date = style(number_format=DATE_FORMAT)
        self.figure = style(number_format="#,##0.####")
        self.quoted = style(quotePrefix=True)
        self.text: dict[str, str] = {}  # cell text -> its <c> attributes and content, "{ref}" to fill
        # a value -> the text of its <v>: a unit's day, arrival and figures repeat row after row
        self.values: dict[tuple[type, Any], str] = {}
        # the shared strings: a data cell's text -> its index, in order of first use
        self.strings: dict[str, int] = {}


def _row_xml(r: Sequence[Any], n: int, styles: _RowStyles) -> str:
    """One data row as openpyxl writes it (cells as put_text / number / date formats make them)."""
    out = [f'<row r="{n}">']
    last = len(r) - 1
    for j, value in enumerate(r):
        if value is None:
            continue
        ref = f"{_COLUMNS[j]}{n}"
        if isinstance(value, str):
            tail = styles.text.get(value)
            if tail is None:
                tail = styles.text[value] = _text_cell(value, styles)
            out.append(f'<c r="{ref}"{tail}')
        elif isinstance(value, dt.datetime):
            local = value.replace(tzinfo=None)  # the wall-clock time is the key: its zone is dropped
            key: tuple[type, Any] = (dt.datetime, local)
            text = styles.values.get(key)
            if text is None:
                text = styles.values[key] = safe_string(to_excel(local))
            out.append(f'<c r="{ref}"{styles.datetime} t="n"><v>{text}</v></c>')
        elif isinstance(value, dt.date):
            key = (dt.date, value)
            text = styles.values.get(key)
            if text is None:
                text = styles.values[key] = safe_string(to_excel(value))
            out.append(f'<c r="{ref}"{styles.date} t="n"><v>{text}</v></c>')
        else:
            key = (type(value), value)
            text = styles.values.get(key)
            if text is None:
                text = styles.values[key] = safe_string(number(value) if isinstance(value, Decimal) else value)
            style = styles.figure if j == last else ""
            out.append(f'<c r="{ref}"{style} t="n"><v>{text}</v></c>')
    out.append("</row>")
    return "".join(out)


# Stands for a row's number in a cell's XML made once for every row holding that value in
# that column (never in a cell's text: a workbook cannot hold it, put_text's cleaning
# replaces it).
_ROW = "\x00"
_OPEN = '<row r="\x00">'


def _rows_xml(rows: Iterable[Sequence[Any]], styles: _RowStyles) -> Iterator[str]:
    """The data rows from row 2 on, as `_row_xml` writes each: a cell's XML is made once
    per column and value (a unit's six leading cells repeat on each of its 60 rows, the
    indicators and measures on every unit's) with `_ROW` for its row number, and a row
    is its cells' XML joined, the number put in."""
    made: dict[tuple[Any, ...], str] = {}
    columns: dict[int, list[tuple[int, bool]]] = {}  # a row's length -> (column, last) of each
    get = made.get
    for n, r in enumerate(rows, start=2):
        at = columns.get(len(r))
        if at is None:
            at = columns[len(r)] = [(j, j == len(r) - 1) for j in range(len(r))]
        cells: list[Any] = list(map(get, zip(at, map(type, r), r)))
        if None in cells:
            for k, (where, value) in enumerate(zip(at, r)):
                if cells[k] is None:
                    key = (where, type(value), value)
                    cells[k] = made[key] = _one_cell_xml(value, where[0], where[1], styles)
        yield ('<row r="\x00">' + "".join(cells) + "</row>").replace(_ROW, str(n))


def _groups_xml(groups: Iterable[tuple[Sequence[Any], Iterable[Sequence[Any]]]], styles: _RowStyles) -> Iterator[str]:
    """`_rows_xml` of the rows `head + tail` of each (head, tails) group, the head's cells'
    XML joined once per group (a unit's six leading cells, on each of its 60 rows) and the
    cells of a tail but its last once per distinct texts (the indicators and measures)."""
    made: dict[tuple[Any, ...], str] = {}
    middles: dict[tuple[Any, ...], str] = {}
    n = 2
    for head, tails in groups:
        width = len(head)
        heads: dict[int, str] = {}  # a row's length -> the head's cells' XML (the last column's format)
        for tail in tails:
            size = width + len(tail)
            start = heads.get(size)
            if start is None:
                start = heads[size] = "".join(
                    _cached_cell_xml(made, value, j, j == size - 1, styles) for j, value in enumerate(head)
                )
            if not tail:
                yield f'<row r="{n}">' + start.replace(_ROW, str(n)) + "</row>"
                n += 1
                continue
            rest, last = tail[:-1], tail[-1]
            key = (size, *map(type, rest), *rest)
            middle = middles.get(key)
            if middle is None:
                cells = enumerate(rest, start=width)
                middle = middles[key] = "".join(_cached_cell_xml(made, value, j, False, styles) for j, value in cells)
            end = made.get(((size - 1, True), last.__class__, last)) or _cached_cell_xml(
                made, last, size - 1, True, styles
            )
            yield "".join((_OPEN, start, middle, end, "</row>")).replace(_ROW, str(n))
            n += 1


def _cached_cell_xml(made: dict[tuple[Any, ...], str], value: Any, j: int, last: bool, styles: _RowStyles) -> str:
    key = ((j, last), type(value), value)
    xml = made.get(key)
    if xml is None:
        xml = made[key] = _one_cell_xml(value, j, last, styles)
    return xml


def _one_cell_xml(value: Any, j: int, last: bool, styles: _RowStyles) -> str:
    """The XML `_row_xml` writes for `value` in column j (of a row whose last column it is
    or not), with `_ROW` for the row number; "" for None."""
    if value is None:
        return ""
    xml = _row_xml([*([None] * j), value, *([None] if not last else [])], 2, styles)
    body = xml[len('<row r="2">') : -len("</row>")]
    ref = f'<c r="{_COLUMNS[j]}2"'
    assert body.startswith(ref)
    return f'<c r="{_COLUMNS[j]}{_ROW}"' + body[len(ref) :]


def _text_cell(value: str, styles: _RowStyles) -> str:
    """What follows `<c r="REF"` for a text cell (put_text's cleaning and quoting)."""
    text = ILLEGAL_CHARACTERS_RE.sub(" ", value)[:MAX_CELL_CHARS]
    style = styles.quoted if text.startswith(FORMULA_START) else ""
    if text == "":
        return f'{style} t="inlineStr"/>'
    index = styles.strings.setdefault(text, len(styles.strings))
    return f'{style} t="s"><v>{index}</v></c>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_NAMING_PARTS = ("xl/_rels/workbook.xml.rels", "[Content_Types].xml")


def _shared_strings_xml(strings: Mapping[str, int]) -> bytes:
    """`xl/sharedStrings.xml` holding `strings` in the order of their indexes."""
    items = []
    for text in strings:  # (a dict keeps the order the indexes were given in)
        space = ' xml:space="preserve"' if text != text.strip() else ""
        items.append(f"<si><t{space}>{_escape(text)}</t></si>")
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        f' uniqueCount="{len(strings)}">'
    )
    return (head + "".join(items) + "</sst>").encode("utf-8")


_COLUMNS = [get_column_letter(j) for j in range(1, 40)]


def _with_rows(xlsx: bytes, rows_xml: Iterable[str], strings: Mapping[str, int]) -> bytes:
    """`xlsx` (one sheet, its header row written) with `rows_xml` after the header,
    streamed into the file (a province's rows are ~40 MB of XML), and the shared strings
    the rows refer to (`strings`, complete once the rows are written) with their part's
    relationship and content type."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        # (the parts naming the shared strings after the sheet that makes them: openpyxl's order)
        for info in sorted(src.infolist(), key=lambda i: i.filename in _NAMING_PARTS):
            data = src.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                if strings and info.filename == "xl/_rels/workbook.xml.rels":
                    n = data.count(b"<Relationship ") + 1
                    while f'Id="rId{n}"'.encode() in data:
                        n += 1
                    rel = f'<Relationship Type="{_SST_REL}" Target="sharedStrings.xml" Id="rId{n}"/>'
                    data = data.replace(b"</Relationships>", rel.encode() + b"</Relationships>", 1)
                elif strings and info.filename == "[Content_Types].xml":
                    part = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SST_TYPE}"/>'
                    data = data.replace(b"</Types>", part.encode() + b"</Types>", 1)
                dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
                continue
            head, tail = data.split(b"</sheetData>", 1)
            info.compress_type = zipfile.ZIP_DEFLATED
            info._compresslevel = 1  # type: ignore[attr-defined]  # (ZipFile.open has no level of its own)
            with dst.open(info, "w") as sheet:
                sheet.write(head)
                batch: list[str] = []
                for row in rows_xml:
                    batch.append(row)
                    if len(batch) == 1000:
                        sheet.write("".join(batch).encode("utf-8"))
                        batch.clear()
                sheet.write("".join(batch).encode("utf-8"))
                sheet.write(b"</sheetData>" + tail)
            if strings:
                shared = zipfile.ZipInfo("xl/sharedStrings.xml", date_time=info.date_time)
                dst.writestr(shared, _shared_strings_xml(strings), compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return out.getvalue()
