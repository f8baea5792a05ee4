"""Read delimited text (.csv) into a one-sheet `Grid`."""

from __future__ import annotations

import csv

from parsers.model import Problem, ReadLimits
from parsers.readers.common import Cell, Grid, GridError, Sheet, TextDecoder, make_cell, note_truncation
from parsers.readers.ooxml import damaged_file
from parsers.sniff import decode_text
from parsers.text import sniff_delimiter, split_delimited
from parsers.vntext import nfc


def read_csv(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Read delimited text in UTF-8 (BOM or not), UTF-16 or windows-1258."""
    decoded = decode_text(data)
    if decoded is None:
        raise GridError("file_unreadable", file=filename, error="UnicodeDecodeError", detail="not text")
    text = nfc(decoded[0].lstrip("\ufeff"))
    delimiter, text = sniff_delimiter(text)
    decode = TextDecoder()
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
            delimiter.join(line.split(delimiter, widest)[:widest]) + "\n" if line.count(delimiter) > widest else line
            for line in lines
        )
    try:
        for r_idx, fields in enumerate(split_delimited(text, delimiter), start=1):
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
                cell = make_cell(raw.strip(), r_idx, c_idx, decode)
                if cell is not None:
                    cells[(r_idx, c_idx)] = cell
    except csv.Error as exc:
        raise damaged_file(exc, filename) from exc
    note_truncation(problems, filename, "1", over_rows, over_cols, limits)
    if over_cells:
        problems.append(
            Problem("over_limit", {"file": filename, "limit": "csv_cells", "detail": str(limits.max_csv_cells)})
        )
    return Grid((Sheet(name="1", cells=cells, is_active=True),), tuple(problems))
