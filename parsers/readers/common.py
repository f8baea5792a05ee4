"""The grids every reader returns, and what all readers share.

Every format becomes a tuple of `Sheet`s: cells keyed by (row, column), 1-based,
with their value, their text already converted to Unicode NFC (TCVN3/VNI by font
or by detection), merged ranges and which sheet was active. Caps from `ReadLimits`
bound the work; a fatal problem raises `GridError`, a truncation is reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal

from parsers.model import Problem, ReadLimits
from parsers.vnlegacy import decode_legacy
from parsers.vntext import nfc


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
    # None: text taken from a digital source (certain); 0..1: how sure a recognition was
    confidence: float | None = None
    page: int | None = None  # the page of a PDF or scan the cell is on
    # other readings a recognition saw of an unsure figure (other sizes, binarisations),
    # for the form's 'Tổng cộng' row to choose from (parsers.report.uncertain)
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook, one table of a .docx, or the whole of a .csv."""

    name: str
    cells: Mapping[tuple[int, int], Cell]
    merged: tuple[tuple[int, int, int, int], ...] = ()  # (min_row, min_col, max_row, max_col)
    is_active: bool = False
    is_hidden: bool = False
    notes: tuple[str, ...] = ()  # docx: paragraphs before the table, in order
    # How the document writes numbers in text cells: None, the readers' own rules
    # (spreadsheets, CSV, HTML); "vi" or "en", decided from all the document's figures
    # (parsers.numbers.document_locale); "undecided", a document whose figures prove
    # neither, where a figure that reads differently in the two is flagged.
    number_locale: str | None = None
    # A reason (templates/problems.*.toml, reason_*) every figure of this sheet is flagged
    # with as `uncertain_figure`: "inferred_columns" for a PDF table without ruling lines,
    # whose cells were inferred from the alignment of its words. None: figures are certain.
    uncertain: str | None = None


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


class TextDecoder:
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


def number_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def date_text(value: object) -> str:
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)


_CELL_DEFAULTS = {f.name: f.default for f in fields(Cell)}
_new_object = object.__new__
_set_attribute = object.__setattr__


def _cell(value: object, text: str, font_name: str | None, coord: str) -> Cell:
    """`Cell(value, text, font_name, False, coord)`, built without the frozen dataclass's
    `__init__` (one `object.__setattr__` a field): a workbook makes one a filled cell."""
    cell: Cell = _new_object(Cell)
    _set_attribute(
        cell, "__dict__", {**_CELL_DEFAULTS, "value": value, "text": text, "font_name": font_name, "coordinate": coord}
    )
    return cell


def make_cell(value: object, row: int, col: int, decode: TextDecoder, font_name: str | None = None) -> Cell | None:
    """Build a Cell from a raw library value; None for an empty cell."""
    if value is None:
        return None
    if value.__class__ is str:  # the common case first
        if not value.strip():
            return None
        text = decode(value, font_name)
        return _cell(text, text, font_name, coordinate(row, col))
    coord = coordinate(row, col)
    if isinstance(value, bool):
        return _cell(value, "TRUE" if value else "FALSE", font_name, coord)
    if isinstance(value, int):
        d = Decimal(value)
        return _cell(d, str(value), font_name, coord)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return _cell(str(value), str(value), font_name, coord)
        d = number_from_float(value)
        return _cell(d, number_text(d), font_name, coord)
    if isinstance(value, Decimal):
        return _cell(value, number_text(value), font_name, coord)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return _cell(value, date_text(value), font_name, coord)
    if isinstance(value, dt.timedelta):
        text = str(value)
        return _cell(text, text, font_name, coord)
    text = str(value)
    if not text.strip():
        return None
    text = decode(text, font_name)
    return _cell(text, text, font_name, coord)


def merges_from_cells(origin: Mapping[tuple[int, int], tuple[int, int]]) -> tuple[tuple[int, int, int, int], ...]:
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


def note_truncation(
    problems: list[Problem], filename: str, sheet: str, over_rows: bool, over_cols: bool, limits: ReadLimits
) -> None:
    if over_rows:
        problems.append(
            Problem("over_limit", {"file": filename, "sheet": sheet, "limit": "rows", "detail": str(limits.max_rows)})
        )
    if over_cols:
        problems.append(
            Problem(
                "over_limit", {"file": filename, "sheet": sheet, "limit": "columns", "detail": str(limits.max_columns)}
            )
        )


def as_active(sheet: Sheet) -> Sheet:
    return Sheet(
        sheet.name, sheet.cells, sheet.merged, True, sheet.is_hidden, sheet.notes, sheet.number_locale, sheet.uncertain
    )
