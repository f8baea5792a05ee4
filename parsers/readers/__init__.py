"""Readers by format: bytes of a readable attachment in, a `Grid` of sheets out.

`read_grid` is the entry; each format has its module (xlsx, xls, csv, docx, html, ods, pdf), and
`common` holds the grid types they all return. A format's module (and its library:
openpyxl, xlrd, pdfplumber, lxml) is imported when a file of that format is read, so
importing the grid types costs nothing.
"""

from __future__ import annotations

from parsers.model import ReadLimits
from parsers.readers.common import Cell, Grid, GridError, Sheet, coordinate

__all__ = ["Cell", "Grid", "GridError", "Sheet", "coordinate", "has_text_layer", "read_grid"]


def read_grid(data: bytes, fmt: str, limits: ReadLimits, filename: str = "") -> Grid:
    """Read `data` of sniffed format `fmt` into sheets. Raises GridError (named
    problem) or a library exception for a damaged file; the caller maps the latter."""
    if fmt in ("xlsx", "xlsm"):
        from parsers.readers.xlsx import read_xlsx

        return read_xlsx(data, limits, filename)
    if fmt == "xls":
        from parsers.readers.xls import read_xls

        return read_xls(data, limits, filename)
    if fmt == "csv":
        from parsers.readers.csv import read_csv

        return read_csv(data, limits, filename)
    if fmt == "docx":
        from parsers.readers.docx import read_docx

        return read_docx(data, limits, filename)
    if fmt == "html":
        from parsers.readers.html import read_html

        return read_html(data, limits, filename)
    if fmt == "ods":
        from parsers.readers.ods import read_ods

        return read_ods(data, limits, filename)
    if fmt == "fods":
        from parsers.readers.ods import read_fods

        return read_fods(data, limits, filename)
    if fmt == "pdf":
        from parsers.readers.pdf import read_pdf

        return read_pdf(data, limits, filename)
    raise GridError("unsupported_format", file=filename, format=fmt)


def has_text_layer(data: bytes, limits: ReadLimits, filename: str = "") -> bool:
    """parsers.readers.pdf.has_text_layer, importing the PDF libraries only when asked."""
    from parsers.readers.pdf import has_text_layer as pdf_has_text_layer

    return pdf_has_text_layer(data, limits, filename)
