"""Values written into an .xlsx or .docx package in place, every other part kept byte for byte.

Re-saving a workbook through openpyxl drops what it does not model (pictures such as a
logo, charts, some data validations and conditional formats, form controls) and rewrites
every part. The superior's form is the superior's file: here only the parts that must
change are edited. An .xlsx gets the cells of the sheets filled (`xl/worksheets/*.xml`:
numbers as numbers, text as inline strings, each cell's style kept, a missing cell
created with its row's or column's style), the cached results of the formulas of those
sheets dropped, and `fullCalcOnLoad` set in `xl/workbook.xml` so Excel computes them
again on opening. A .docx gets `word/document.xml` edited by the caller.
Every other entry of the zip (styles, drawings, media, charts, headers and footers,
defined names, print settings, calcChain) is copied as it is, in the same order.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from parsers.readers.common import column_index, coordinate

_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_REF_RE = re.compile(r"^([A-Z]{1,3})(\d+)$")
# CT_Workbook's children after calcPr, in schema order: calcPr goes before the first of them.
_AFTER_CALC_PR = (
    *("oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes"),
    *("webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst"),
)


class CellValue:
    """What to write in a cell: a number, a text, a date (as the serial number the cell's
    date format shows), or None to empty it (its style kept)."""

    __slots__ = ("value",)

    def __init__(self, value: Decimal | int | float | str | dt.date | None) -> None:
        self.value = value


def _parser() -> Any:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False, huge_tree=False)


def _parse(data: bytes) -> Any:
    from lxml import etree

    return etree.fromstring(data, _parser())


def _serialize(root: Any) -> bytes:
    from lxml import etree

    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def replace_parts(data: bytes, parts: Mapping[str, bytes]) -> bytes:
    """The zip `data` with the entries named in `parts` replaced, every other entry (and
    the order, names, dates and compression of all of them) kept."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            body = parts[info.filename] if info.filename in parts else zin.read(info)
            zout.writestr(info, body, compress_type=info.compress_type)
    return out.getvalue()


def read_part(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(name)


# ---------------------------------------------------------------------------------- .xlsx


_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def _target(base: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))


def workbook_part(z: zipfile.ZipFile) -> str:
    """The workbook's part, as the package's relationships name it (xl/workbook.xml as a rule)."""
    rels = _parse(z.read("_rels/.rels"))
    for rel in rels.iter(_PKG_REL + "Relationship"):
        if rel.get("Type") == _OFFICE_DOCUMENT and rel.get("Target"):
            return _target("", rel.get("Target"))
    return "xl/workbook.xml"


def _rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def sheet_parts(data: bytes) -> dict[str, str]:
    """Each sheet's name to its part in the package (workbook.xml and its relationships)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        book_part = workbook_part(z)
        book = _parse(z.read(book_part))
        rels = _parse(z.read(_rels_of(book_part)))
    if book.tag != _S + "workbook":
        raise ValueError("the workbook is not in the transitional SpreadsheetML namespace (a Strict OOXML file)")
    targets = {rel.get("Id"): rel.get("Target") for rel in rels.iter(_PKG_REL + "Relationship")}
    out = {}
    for sheet in book.iter(_S + "sheet"):
        target = targets.get(sheet.get(_R + "id"))
        if target:
            out[sheet.get("name")] = _target(posixpath.dirname(book_part), target)
    return out


def _date1904(book: Any) -> bool:
    pr = book.find(_S + "workbookPr")
    return pr is not None and (pr.get("date1904") or "").lower() in ("1", "true")


def _serial(day: dt.date, date1904: bool) -> int:
    return (day - (dt.date(1904, 1, 1) if date1904 else dt.date(1899, 12, 30))).days


def _number_text(value: Decimal | int | float) -> str:
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return str(int(value))
        return repr(float(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def patch_xlsx(
    data: bytes, edits: Mapping[str, Mapping[tuple[int, int], CellValue]]
) -> tuple[bytes, dict[str, list[tuple[int, int]]]]:
    """`data` with the cells of `edits` ({sheet name: {(row, col): value}}) written; a cell
    holding a formula is left as it is and returned among the kept ones, by sheet."""
    parts = sheet_parts(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        book_part = workbook_part(z)
        book_xml = z.read(book_part)
        sheets = {name: z.read(parts[name]) for name in edits if name in parts}
    book = _parse(book_xml)
    date1904 = _date1904(book)
    new: dict[str, bytes] = {}
    kept: dict[str, list[tuple[int, int]]] = {}
    for name, cells in edits.items():
        if name not in sheets or not cells:
            continue
        root = _parse(sheets[name])
        if root.tag != _S + "worksheet":
            raise ValueError(f"the sheet '{name}' is not a worksheet (a chart sheet or a Strict OOXML part)")
        kept[name] = _patch_sheet(root, cells, date1904)
        new[parts[name]] = _serialize(root)
    if new:
        calc = book.find(_S + "calcPr")
        if calc is None:
            from lxml import etree

            calc = etree.Element(_S + "calcPr")
            following = next((c for c in book if c.tag in {_S + t for t in _AFTER_CALC_PR}), None)
            if following is not None:
                following.addprevious(calc)
            else:
                book.append(calc)
        calc.set("fullCalcOnLoad", "1")
        new[book_part] = _serialize(book)
    return replace_parts(data, new), kept


def _patch_sheet(root: Any, cells: Mapping[tuple[int, int], CellValue], date1904: bool) -> list[tuple[int, int]]:
    from lxml import etree

    data = root.find(_S + "sheetData")
    if data is None:
        data = etree.SubElement(root, _S + "sheetData")
    rows: dict[int, Any] = {}
    for row in data.findall(_S + "row"):
        if row.get("r"):
            rows[int(row.get("r"))] = row
    col_styles = _column_styles(root)
    kept: list[tuple[int, int]] = []
    for (r, c), value in sorted(cells.items()):
        row = rows.get(r)
        if row is None:
            row = etree.Element(_S + "row", r=str(r))
            after = [n for n in rows if n < r]
            if after:
                rows[max(after)].addnext(row)
            else:
                data.insert(0, row)
            rows[r] = row
        cell = _cell(row, r, c, col_styles)
        if cell.find(_S + "f") is not None:
            kept.append((r, c))
            continue
        _set_value(cell, value.value, date1904)
    # The cached results of the sheet's formulas are no longer right: dropped, computed on opening.
    for cell in data.iter(_S + "c"):
        if cell.find(_S + "f") is not None:
            for v in cell.findall(_S + "v"):
                cell.remove(v)
            if cell.get("t") in ("str", "e", "b", "n"):
                del cell.attrib["t"]
    return kept


def _column_styles(root: Any) -> Callable[[int], str | None]:
    spans = []
    cols = root.find(_S + "cols")
    if cols is not None:
        for col in cols.findall(_S + "col"):
            if col.get("style"):
                spans.append((int(col.get("min") or 0), int(col.get("max") or 0), col.get("style")))

    def style(c: int) -> str | None:
        return next((s for lo, hi, s in spans if lo <= c <= hi), None)

    return style


def _cell(row: Any, r: int, c: int, col_style: Callable[[int], str | None]) -> Any:
    """The <c> of (r, c) in `row`, created in column order with the style the empty cell shows."""
    from lxml import etree

    ref = coordinate(r, c)
    before = None
    for cell in row.findall(_S + "c"):
        m = _REF_RE.match(cell.get("r") or "")
        if m is None:
            continue
        col = column_index(m.group(1))
        if col == c:
            return cell
        if col > c:
            before = cell
            break
    cell = etree.Element(_S + "c", r=ref)
    style = row.get("s") if row.get("customFormat") in ("1", "true") else col_style(c)
    if style:
        cell.set("s", style)
    if before is not None:
        before.addprevious(cell)
    else:
        row.append(cell)
    if "spans" in row.attrib:
        del row.attrib["spans"]  # an optimisation hint only; no longer true once a cell is added
    return cell


def _set_value(cell: Any, value: Decimal | int | float | str | dt.date | None, date1904: bool) -> None:
    from lxml import etree

    for child in list(cell):
        if child.tag in (_S + "v", _S + "is"):
            cell.remove(child)
    if "t" in cell.attrib:
        del cell.attrib["t"]
    if value is None:
        return
    if isinstance(value, str):
        cell.set("t", "inlineStr")
        t = etree.SubElement(etree.SubElement(cell, _S + "is"), _S + "t")
        t.text = value
        if value != value.strip():
            t.set(_XML_SPACE, "preserve")
        return
    if isinstance(value, dt.date):
        value = _serial(value if not isinstance(value, dt.datetime) else value.date(), date1904)
    etree.SubElement(cell, _S + "v").text = _number_text(value)


# ---------------------------------------------------------------------------------- .docx


def docx_document(data: bytes) -> Any:
    """The root of `word/document.xml`, to edit and give back to `with_docx_document`."""
    return _parse(read_part(data, "word/document.xml"))


def with_docx_document(data: bytes, root: Any) -> bytes:
    return replace_parts(data, {"word/document.xml": _serialize(root)})
