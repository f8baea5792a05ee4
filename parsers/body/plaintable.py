"""A table in the plain text of an email, as mail clients write a pasted Excel range:
Gmail one row per line with tab-separated cells, Outlook one cell per line with a
blank line after each row.

Both lose the merges of the header: a merged heading is written once and the cells
under it shift left. Such a grid would put figures under the wrong heading, so a
plain-text table is taken only when its header is one row as wide as its data rows.
"""

from __future__ import annotations

from parsers.model import ReadLimits
from parsers.readers.common import Cell, Sheet, TextDecoder, make_cell

_MIN_COLUMNS = 3
_MIN_ROWS = 2


def tab_rows(lines: list[str]) -> tuple[int, list[list[str]]] | None:
    """(first line, rows) of the longest run of lines holding tab-separated cells."""
    best: tuple[int, list[list[str]]] = (0, [])
    run: list[list[str]] = []
    for i, line in enumerate([*lines, ""]):
        if "\t" in line:
            run.append(line.split("\t"))
            continue
        if len(run) > len(best[1]):
            best = (i - len(run), run)
        run = []
    return best if len(best[1]) >= _MIN_ROWS else None


def line_cell_rows(lines: list[str]) -> tuple[int, list[list[str]]] | None:
    """(first line, rows) of the longest run of blocks of one cell per line, separated
    by blank lines, all of one width."""
    blocks: list[tuple[int, list[str]]] = []
    block: list[str] = []
    for i, line in enumerate([*lines, ""]):
        if line.strip():
            block.append(line)
        elif block:
            blocks.append((i - len(block), block))
            block = []
    best: tuple[int, list[list[str]]] = (0, [])
    run: tuple[int, list[list[str]]] = (0, [])
    for start, b in [*blocks, (len(lines), [])]:
        if len(b) >= _MIN_COLUMNS and (not run[1] or len(b) == len(run[1][0])):
            run = (run[0] if run[1] else start, [*run[1], b])
            continue
        if len(run[1]) > len(best[1]):
            best = run
        run = (start, [b]) if len(b) >= _MIN_COLUMNS else (start, [])
    return best if len(best[1]) >= _MIN_ROWS else None


def rows_sheet(rows: list[list[str]], limits: ReadLimits, name: str, notes: tuple[str, ...]) -> Sheet | None:
    """A sheet of `rows`, or None when its first row is narrower than a later one: a
    header that lost its merges."""
    rows = [[c.strip() for c in row] for row in rows[: limits.max_rows]]
    widths = [_width(row) for row in rows]
    if not widths or widths[0] < max(widths) or max(widths) < _MIN_COLUMNS:
        return None
    decode = TextDecoder()
    cells: dict[tuple[int, int], Cell] = {}
    for r, row in enumerate(rows, start=1):
        for c, raw in enumerate(row[: limits.max_columns], start=1):
            cell = make_cell(raw, r, c, decode)
            if cell is not None:
                cells[(r, c)] = cell
    return Sheet(name=name, cells=cells, is_active=True, notes=notes)


def _width(row: list[str]) -> int:
    """Cells up to the last non-empty one (a row may end with empty cells)."""
    n = len(row)
    while n and not row[n - 1]:
        n -= 1
    return n
