"""Read a BIFF .xls workbook (Excel 97-2003) into a `Grid` with xlrd."""

from __future__ import annotations

import io
from typing import Any

from parsers.model import Problem, ReadLimits
from parsers.readers.common import Cell, Grid, GridError, Sheet, TextDecoder, as_active, make_cell, note_truncation


def read_xls(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Read a BIFF .xls with xlrd (formatting info gives merges and font names)."""
    import xlrd

    log = io.StringIO()  # xlrd chats on stdout by default
    try:
        try:
            book = xlrd.open_workbook(
                file_contents=data, formatting_info=True, on_demand=True, logfile=log, verbosity=0
            )
        except NotImplementedError:
            book = xlrd.open_workbook(
                file_contents=data, formatting_info=False, on_demand=True, logfile=log, verbosity=0
            )
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise GridError("encrypted_file", file=filename) from exc
        raise
    problems: list[Problem] = []
    decode = TextDecoder()
    try:
        n_sheets = book.nsheets
        if n_sheets > limits.max_sheets:
            problems.append(
                Problem("over_limit", {"file": filename, "limit": "sheets", "detail": str(limits.max_sheets)})
            )
        sheets = []
        for idx in range(min(n_sheets, limits.max_sheets)):
            sh = book.sheet_by_index(idx)
            sheets.append(_read_xls_sheet(book, sh, limits, filename, decode, problems))
            book.unload_sheet(idx)
    finally:
        book.release_resources()
    if sheets and not any(s.is_active for s in sheets):
        sheets[0] = as_active(sheets[0])
    return Grid(tuple(sheets), tuple(problems))


def _read_xls_sheet(
    book: Any, sh: Any, limits: ReadLimits, filename: str, decode: TextDecoder, problems: list[Problem]
) -> Sheet:
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
            cell = make_cell(value, r + 1, c + 1, decode, font_name)
            if cell is not None:
                cells[(r + 1, c + 1)] = cell
    note_truncation(problems, filename, sh.name, sh.nrows > limits.max_rows, sh.ncols > limits.max_columns, limits)
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
