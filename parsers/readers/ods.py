"""Read an OpenDocument spreadsheet (.ods, and the flat XML .fods) into a `Grid`.

Both hold the same `table:table` elements: in content.xml of a zip package (.ods) or
in the one XML file (.fods). They are streamed by defusedxml (a DTD is refused) and
each row is cleared once read. Repeated rows and columns (LibreOffice writes the
empty rest of a sheet as one row repeated a million times) are skipped without
being expanded; spanned cells become merged ranges.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as defused

from parsers.model import Problem, ReadLimits
from parsers.readers.common import Cell, Grid, GridError, Sheet, TextDecoder, as_active, make_cell, note_truncation
from parsers.readers.ooxml import check_zip_container, damaged_file, open_zip

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_CONFIG = "{urn:oasis:names:tc:opendocument:xmlns:config:1.0}"
_CELL_TAGS = (_TABLE + "table-cell", _TABLE + "covered-table-cell")
_NUMBER_RE = re.compile(r"-?\d{1,30}(?:\.\d{1,30})?(?:[eE][-+]?\d{1,3})?")
_MAX_REPEAT = 1_048_576


@dataclass
class _Table:
    name: str
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    rows: int = 0
    over_rows: bool = False
    over_cols: bool = False


def read_ods(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """An .ods package: its content.xml, the active sheet from settings.xml."""
    zf = open_zip(data, filename)
    check_zip_container(zf, limits, filename)
    names = set(zf.namelist())
    if "META-INF/manifest.xml" in names and b"encryption-data" in zf.read("META-INF/manifest.xml"):
        raise GridError("encrypted_file", file=filename)
    if "content.xml" not in names:
        raise GridError("file_unreadable", file=filename, error="missing part", detail="content.xml")
    with zf.open("content.xml") as fh:
        tables, _ = _read_document(fh, limits, filename)
    active = None
    if "settings.xml" in names:
        with zf.open("settings.xml") as fh:
            _, active = _read_document(fh, limits, filename)
    return _grid(tables, active, limits, filename)


def read_fods(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """A flat OpenDocument spreadsheet: one XML file with the tables and the settings."""
    if len(data) > limits.max_decompressed_bytes:
        raise GridError(
            "over_limit", file=filename, limit="decompressed_bytes", detail=str(limits.max_decompressed_bytes)
        )
    tables, active = _read_document(io.BytesIO(data), limits, filename)
    return _grid(tables, active, limits, filename)


def _grid(tables: list[_Table], active: str | None, limits: ReadLimits, filename: str) -> Grid:
    problems: list[Problem] = []
    if len(tables) > limits.max_sheets:
        problems.append(Problem("over_limit", {"file": filename, "limit": "sheets", "detail": str(limits.max_sheets)}))
    sheets = []
    for t in tables[: limits.max_sheets]:
        note_truncation(problems, filename, t.name, t.over_rows, t.over_cols, limits)
        sheet = Sheet(name=t.name, cells=t.cells, merged=tuple(t.merged))
        sheets.append(as_active(sheet) if t.name == active else sheet)
    if sheets and not any(s.is_active for s in sheets):
        sheets[0] = as_active(sheets[0])
    return Grid(tuple(sheets), tuple(problems))


def _read_document(fh: IO[bytes], limits: ReadLimits, filename: str) -> tuple[list[_Table], str | None]:
    tables: list[_Table] = []
    active: str | None = None
    decode = TextDecoder()
    try:
        for event, el in defused.iterparse(fh, events=("start", "end"), forbid_dtd=True):
            tag = el.tag
            if event == "start":
                if tag == _TABLE + "table":
                    tables.append(_Table(name=el.get(_TABLE + "name") or str(len(tables) + 1)))
                continue
            if tag == _TABLE + "table-row" and tables:
                if len(tables) <= limits.max_sheets:
                    _read_row(el, tables[-1], limits, decode)
                el.clear()
            elif tag == _CONFIG + "config-item" and el.get(_CONFIG + "name") == "ActiveTable":
                active = (el.text or "").strip() or active
    except DefusedXmlException as exc:
        raise GridError("unsafe_file", file=filename, detail="DTD") from exc
    except ET.ParseError as exc:
        raise damaged_file(exc, filename) from exc
    return tables, active


def _repeat(el: ET.Element, name: str) -> int:
    raw = el.get(_TABLE + name) or "1"
    return max(1, min(int(raw), _MAX_REPEAT)) if raw.isdigit() else 1


def _read_row(row: ET.Element, table: _Table, limits: ReadLimits, decode: TextDecoder) -> None:
    repeat = _repeat(row, "number-rows-repeated")
    first = table.rows + 1
    table.rows += repeat
    if first > limits.max_rows:
        table.over_rows = table.over_rows or any(c.get(_OFFICE + "value-type") or _texts(c) for c in _cells(row))
        return
    placed: list[tuple[int, object]] = []
    col = 1
    for cell in _cells(row):
        span = _repeat(cell, "number-columns-repeated")
        value = _value(cell) if cell.tag == _TABLE + "table-cell" else None
        if value is not None:
            for c in range(col, min(col + span, limits.max_columns + 1)):
                placed.append((c, value))
            if col + span - 1 > limits.max_columns:
                table.over_cols = True
            cols = _repeat(cell, "number-columns-spanned")
            rows = _repeat(cell, "number-rows-spanned")
            if cols > 1 or rows > 1:
                table.merged.append(
                    (first, col, min(first + rows - 1, limits.max_rows), min(col + cols - 1, limits.max_columns))
                )
        col += span
    if not placed:
        return
    last = min(first + repeat - 1, limits.max_rows)
    table.over_rows = table.over_rows or first + repeat - 1 > limits.max_rows
    for r in range(first, last + 1):
        for c, value in placed:
            made = make_cell(value, r, c, decode)
            if made is not None:
                table.cells[(r, c)] = made


def _cells(row: ET.Element) -> Iterator[ET.Element]:
    return (child for child in row if child.tag in _CELL_TAGS)


def _texts(cell: ET.Element) -> str:
    """A cell's text: its paragraphs on separate lines (spans, links and spaces inside)."""
    return "\n".join(_inline(p) for p in cell.iter(_TEXT + "p"))


def _inline(el: ET.Element) -> str:
    parts = [el.text or ""]
    for child in el:
        if child.tag == _TEXT + "s":
            parts.append(" " * _repeat_text(child))
        elif child.tag in (_TEXT + "tab", _TEXT + "line-break"):
            parts.append(" ")
        else:
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _repeat_text(node: ET.Element) -> int:
    raw = node.get(_TEXT + "c") or "1"
    return min(int(raw), 100) if raw.isdigit() else 1


def _value(cell: ET.Element) -> object:
    """The cell's value as the other readers give it: Decimal, bool, date, or text."""
    kind = cell.get(_OFFICE + "value-type")
    text = _texts(cell)
    if kind in ("float", "percentage", "currency"):
        raw = (cell.get(_OFFICE + "value") or "").strip()
        if _NUMBER_RE.fullmatch(raw):
            try:
                return Decimal(raw)
            except InvalidOperation:
                pass
        return text
    if kind == "boolean":
        return (cell.get(_OFFICE + "boolean-value") or "").strip().lower() == "true"
    if kind == "date":
        raw = (cell.get(_OFFICE + "date-value") or "").strip()
        try:
            when = dt.datetime.fromisoformat(raw)
        except ValueError:
            return text
        return when.date() if "T" not in raw else when
    return text or None
