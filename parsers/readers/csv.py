"""Read delimited text (.csv) into a one-sheet `Grid`."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from parsers.model import Problem, ReadLimits
from parsers.readers.common import Cell, Grid, GridError, Sheet, TextDecoder, make_cell, note_truncation
from parsers.readers.ooxml import damaged_file
from parsers.sniff import decode_text
from parsers.vntext import nfc


def _split_delimited(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits most lines consistently: ',', ';' or tab."""
    sample_lines = text.splitlines()[:50]
    sample = "\n".join(sample_lines)
    best, best_score = ",", (-1, -1)
    for delim in (",", ";", "\t"):
        try:
            rows = list(_split_delimited(sample, delim))
        except csv.Error:
            continue
        widths = [len(r) for r in rows if any(f.strip() for f in r)]
        split_rows = sum(1 for w in widths if w > 1)
        common = max((widths.count(w) for w in set(widths) if w > 1), default=0)
        score = (split_rows, common)
        if score > best_score:
            best, best_score = delim, score
    return best


def read_csv(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Read delimited text in UTF-8 (BOM or not), UTF-16 or windows-1258."""
    decoded = decode_text(data)
    if decoded is None:
        raise GridError("file_unreadable", file=filename, error="UnicodeDecodeError", detail="not text")
    text = nfc(decoded[0].lstrip("\ufeff"))
    delimiter = None
    first_line, _, rest = text.partition("\n")
    m = re.fullmatch(r"\s*sep=(.)\s*", first_line)
    if m:  # Excel's explicit delimiter line
        delimiter, text = m.group(1), rest
    if delimiter is None:
        delimiter = sniff_delimiter(text)
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
        for r_idx, fields in enumerate(_split_delimited(text, delimiter), start=1):
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
