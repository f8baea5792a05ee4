"""Readers by format: bytes of a readable attachment in, a `Grid` of sheets out.

`read_grid` is the entry; each format has its module (xlsx, xls, csv, docx, html, ods, pdf), and
`common` holds the grid types they all return.
"""

from __future__ import annotations

from parsers.model import ReadLimits
from parsers.readers.common import Cell, Grid, GridError, Sheet, coordinate
from parsers.readers.csv import read_csv
from parsers.readers.docx import read_docx
from parsers.readers.html import read_html
from parsers.readers.ods import read_fods, read_ods
from parsers.readers.pdf import has_text_layer, read_pdf
from parsers.readers.xls import read_xls
from parsers.readers.xlsx import read_xlsx

__all__ = ["Cell", "Grid", "GridError", "Sheet", "coordinate", "has_text_layer", "read_grid"]


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
    if fmt == "html":
        return read_html(data, limits, filename)
    if fmt == "ods":
        return read_ods(data, limits, filename)
    if fmt == "fods":
        return read_fods(data, limits, filename)
    if fmt == "pdf":
        return read_pdf(data, limits, filename)
    raise GridError("unsupported_format", file=filename, format=fmt)
