"""Read scans and photos of the report form: bytes of a PDF without a text layer or
of an image in, a `Grid` of recognised cells out (each with Tesseract's confidence and
its page), for the same table finding as spreadsheets.

Per page: coloured ink dropped (a red stamp, a blue signature), light flattened, the
page turned upright (EXIF, then Tesseract's orientation detection), skew and
perspective undone from the table's rules, the ruled grid found, and each cell
recognised on its own: a dash is nothing stated, dust and the remnant of a rule are
cleared, and a figure not plainly sure is read again from the cell binarised at two
sizes (and, its print blurred, darkened in grey), readings that differ leaving it
unsure (flagged downstream); only readings with a figure's shape are chosen from
(`figures`). Then, over the page's cells: a few
letters read in a column of figures (a stamp's ring text) are read again as a figure,
a cell merged over figures whose rule was lost is read cell by cell of the grid, and a
decimal point read for a comma is mended by its column; each such figure unsure. The
lines just above the table ("Đơn vị: ...", "Số liệu tính đến ngày ...") are read as notes.
Nothing is written and nothing leaves the process; the caps of `ReadLimits` (pages,
megapixels, seconds by the injected clock) raise `GridError(over_limit)`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from parsers.model import ReadLimits
from parsers.ocr import figures, geometry
from parsers.ocr.pages import iter_pages, release_memory
from parsers.ocr.recognise import (
    OcrUnavailable,
    Reading,
    digit_choices,
    end_engines,
    looks_numeric,
    orientation,
    recognise,
    shape_readings,
)
from parsers.readers.common import Cell, Grid, GridError, Sheet, coordinate
from parsers.vntext import nfc

__all__ = ["OcrUnavailable", "read_scan"]

Clock = Callable[[], float]
Gray = np.ndarray[Any, np.dtype[np.uint8]]

_OSD_MIN_CONFIDENCE = 2.0
_RETRY_BELOW = 0.6  # a cell read line by line less surely than this is read again as a block
_MIN_TABLE_WIDTH = 2800  # pixels: an A4 table at 300 dpi is ~2200 (portrait) to ~3200 wide
_INSET = 5  # pixels kept off a cell's other rules
_RULE_BAND = 8  # pixels from a cell's edge where what is left of its rule may lie
_RULE_SHARE = 0.95  # of a cell's height (width) inked along its edge: a rule, not a digit
_REMNANT_LEVEL = 220  # a faint rule's remnant is darker than paper, if barely
_SPECK_AREA = 6  # pixels: dust, not a stroke
_DIGIT_DISAGREEMENT_CONFIDENCE = 0.3  # the readings of a figure differ: never certain
_SURE = 0.8  # a figure read at least this surely by the digits model is read once
_MORE_SIZES = (1.5, 2.5)  # read too when no reading of a figure has a figure's shape
_VOTE_WEIGHT = 0.5  # a reading's vote for its figure besides its confidence (0..1)


class _Deadline:
    def __init__(self, limits: ReadLimits, clock: Clock, filename: str) -> None:
        self.clock = clock
        self.end = clock() + limits.max_document_seconds
        self.limits = limits
        self.filename = filename

    def check(self) -> None:
        if self.clock() > self.end:
            raise GridError(
                "over_limit", file=self.filename, limit="seconds", detail=str(self.limits.max_document_seconds)
            )


def read_scan(data: bytes, fmt: str, limits: ReadLimits, filename: str = "", clock: Clock = time.monotonic) -> Grid:
    """The recognised cells of each page of a scanned PDF (`fmt` "pdf") or an image
    (`fmt` "image"), one sheet a page. Raises GridError past a cap.

    One page at a time: a page's pixels are handed to `_read_page` and freed with its
    intermediates before the next page is decoded, and Tesseract's engines are ended
    after each page, so a page is rendered and its table found without them."""
    deadline = _Deadline(limits, clock, filename)
    sheets: list[Sheet] = []
    number = 0
    try:
        # (no enumerate: it keeps its last (number, page) tuple for reuse, and so the
        # page's first grey array, alive while the page is read)
        for gray in iter_pages(data, fmt, limits, filename, geometry.ColouredInkDropped()):
            number += 1
            deadline.check()
            page = [gray]
            del gray  # `_read_page` holds the only reference and lets go of it once turned
            sheets.append(_read_page(page, number, deadline))
            # the next page is rendered and its table found without the engines (memory)
            end_engines()
            release_memory()
    finally:
        end_engines()
    return Grid(tuple(sheets))


def _read_page(page: list[Gray], number: int, deadline: _Deadline) -> Sheet:
    """One page's cells; `page` holds its grey pixels (coloured ink dropped) and is
    emptied, so each full-page array is freed as soon as the next one is made."""
    name = f"Trang {number}"
    gray = _upright(geometry.flatten_light(page.pop()))
    deadline.check()
    gray = geometry.rotate(gray, geometry.skew_angle(geometry.binarize(gray)))
    release_memory()  # the small blocks the steps so far freed (~20 MiB of heap on 12 megapixels)
    quad = geometry.table_quad(geometry.binarize(gray), gray)
    if quad is None:
        return Sheet(name, {})
    top = int(min(quad[0][1], quad[1][1]))
    above = _band_above(gray, top)  # read once the grid is found (no engine loaded before: memory)
    table_height = float(max(quad[3][1] - quad[0][1], quad[2][1] - quad[1][1]))
    table = geometry.warp_quad(gray, quad, 10, int(0.12 * table_height))
    del gray
    if table.shape[1] < _MIN_TABLE_WIDTH:  # a photo's small print: Tesseract wants ~30 px letters
        f = min(2.5, _MIN_TABLE_WIDTH / table.shape[1])
        table = np.asarray(cv2.resize(table, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)
    table = geometry.straighten(table)
    table_ink = geometry.binarize(table)
    cells, rules = geometry.find_cells(table_ink)
    clean = table
    del table
    cv2.bitwise_or(clean, rules, dst=clean)  # the rules (255) made paper, in place
    del rules
    cells, guessed = _lost_rules_split(cells, table_ink, clean)
    notes = _lines_above(above, deadline)
    del above
    grid: dict[tuple[int, int], Cell] = {}
    merged: list[tuple[int, int, int, int]] = []
    boxes: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for gc in cells:
        deadline.check()
        row, col = gc.row + 1, gc.col + 1
        if gc.row_end > gc.row or gc.col_end > gc.col:
            merged.append((row, col, gc.row_end + 1, gc.col_end + 1))
        got = _read_cell(clean, table_ink, gc.box)
        if got is None:
            continue
        text, conf, alternatives = got
        if gc.col in guessed:  # a column split at a rule the grid lost: never certain
            conf = min(conf, _DIGIT_DISAGREEMENT_CONFIDENCE)
        boxes[(row, col)] = gc.box
        grid[(row, col)] = Cell(
            text, text, None, False, coordinate(row, col), confidence=conf, page=number, alternatives=alternatives
        )
    for gc, parts in _split_merged(cells, grid):
        # a rule between figures lost under a stamp or in a photo: each figure read in
        # its own cell of the grid, never certain; kept merged unless every part is one
        read = [(key, _read_cell(clean, table_ink, box)) for key, box in parts]
        if any(got is None or not _digits_of(got[0]) or not _figure_like(got[0]) for _, got in read):
            continue
        merged.remove((gc.row + 1, gc.col + 1, gc.row_end + 1, gc.col_end + 1))
        grid.pop((gc.row + 1, gc.col + 1), None)
        for key, got in read:
            assert got is not None
            text, conf = got[0], min(got[1], _DIGIT_DISAGREEMENT_CONFIDENCE)
            boxes[key] = dict(parts)[key]
            grid[key] = Cell(
                text, text, None, False, coordinate(*key), confidence=conf, page=number, alternatives=got[2]
            )
    for gc, parts in _split_headings(cells, grid):
        # a rule between two measures' headings lost in the header only: each read in its
        # own cell of the grid; kept merged unless every part reads as words
        read = [(key, _read_cell(clean, table_ink, box)) for key, box in parts]
        if any(got is None or _figure_like(got[0]) or not _LETTERS.search(got[0]) for _, got in read):
            continue
        merged.remove((gc.row + 1, gc.col + 1, gc.row_end + 1, gc.col_end + 1))
        grid.pop((gc.row + 1, gc.col + 1), None)
        for key, got in read:
            assert got is not None
            boxes[key] = dict(parts)[key]
            grid[key] = Cell(got[0], got[0], None, False, coordinate(*key), confidence=got[1], page=number)
    for key in _figures_read_as_words(grid):
        # the Vietnamese model read letters where the column holds figures (a stamp's
        # ring over them): read as a figure, never certain
        deadline.check()
        again = _read_cell(clean, table_ink, boxes[key], as_figure=True)
        if again is not None and _digits_of(again[0]):
            text, conf = again[0], min(again[1], _DIGIT_DISAGREEMENT_CONFIDENCE)
            grid[key] = Cell(
                text, text, None, False, coordinate(*key), confidence=conf, page=number, alternatives=again[2]
            )
    _mend_decimal_marks(grid)
    return Sheet(name, grid, tuple(merged), is_active=number == 1, notes=tuple(notes))


_LOST_RULE_HEIGHT = 0.9  # of a cell's height (inset): a piece of rule, not a letter or digit
_LOST_RULE_ROWS = 0.6  # of the column's cells with a piece of rule at the same place
_LOST_RULE_SPREAD = 0.6  # of a row's height: how far a rule's pieces may lie from the first (a lean)
_LOST_RULE_PASSES = 6  # columns split at most (a table that lost every rule down)


def _lost_rules_split(
    cells: list[geometry.GridCell], ink: Gray, clean: Gray
) -> tuple[list[geometry.GridCell], set[int]]:
    """`cells` with each column that holds a rule down the grid did not find (thin
    and leaning in a photo whose table was not squared up: each cell of two columns
    read as one, '1236| 3.090.100.000', its header as both headings) split in two
    at it, repeatedly: a column is split where most of its cells (`_LOST_RULE_ROWS`)
    have a thin blot of ink from their top to their bottom at about the same place
    (`_lost_rule`). The rule's pieces are made paper in `clean`, in place. A
    figure of such a cell is never certain (the rule's place is a guess: two figures
    side by side could be read as one). Also the (grid) columns split so."""
    guessed: set[int] = set()
    for _ in range(_LOST_RULE_PASSES):
        split = _lost_rule(cells, ink)
        if split is None:
            break
        col, at, pieces = split
        guessed = {c + 1 if c > col else c for c in guessed} | {col, col + 1}
        for x0, y0, x1, y1 in pieces:
            clean[y0:y1, x0:x1][ink[y0:y1, x0:x1] > 0] = 255
        out = []
        for gc in cells:
            if gc.col > col:
                out.append(geometry.GridCell(gc.row, gc.col + 1, gc.row_end, gc.col_end + 1, gc.box))
            elif gc.col_end > col:
                out.append(geometry.GridCell(gc.row, gc.col, gc.row_end, gc.col_end + 1, gc.box))
            elif gc.col == col and gc.col_end == col:
                x0, y0, x1, y1 = gc.box
                x = at.get(gc.row, int(np.median(list(at.values()))))
                out.append(geometry.GridCell(gc.row, col, gc.row_end, col, (x0, y0, x, y1)))
                out.append(geometry.GridCell(gc.row, col + 1, gc.row_end, col + 1, (x, y0, x1, y1)))
            else:
                out.append(gc)
        cells = sorted(out, key=lambda c: (c.row, c.col))
    return cells, guessed


def _lost_rule(
    cells: list[geometry.GridCell], ink: Gray
) -> tuple[int, dict[int, int], list[tuple[int, int, int, int]]] | None:
    """The first column of `cells` with a rule down it the grid lost (`_lost_rules_split`):
    (column, row -> x of the rule in that row's cell, boxes of the rule's pieces), or
    None. The rule is the leftmost place where pieces of most of the column's cells
    lie within `_LOST_RULE_SPREAD` of a row's height of each other."""
    by_col: dict[int, list[geometry.GridCell]] = {}
    for gc in cells:
        if gc.col == gc.col_end and gc.row == gc.row_end:
            by_col.setdefault(gc.col, []).append(gc)
    for col, column in sorted(by_col.items()):
        if len(column) < 3:
            continue
        pieces = {gc.row: _rule_pieces(ink, gc.box) for gc in column}
        tol = _LOST_RULE_SPREAD * float(np.median([gc.box[3] - gc.box[1] for gc in column]))
        for x, _ in sorted(p for found in pieces.values() for p in found):
            near = {r: min(found, key=lambda p: abs(p[0] - x)) for r, found in pieces.items() if found}
            near = {r: p for r, p in near.items() if abs(p[0] - x) <= tol}
            if len(near) >= max(3, _LOST_RULE_ROWS * len(column)):
                return col, {r: p[0] for r, p in near.items()}, [p[1] for p in near.values()]
    return None


def _rule_pieces(ink: Gray, box: tuple[int, int, int, int]) -> list[tuple[int, tuple[int, int, int, int]]]:
    """(x, box) of each blot of ink inside a cell (away from its own rules) that runs
    from its top to its bottom and is thin: a rule's piece."""
    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    m = max(_INSET, h // 10)
    edge = 2 * m  # the cell's own rules and what is left of them
    if h - 2 * m < 20 or w < 4 * edge:
        return []
    crop = ink[y0 + m : y1 - m, x0 + edge : x1 - edge]
    n, _, stats, _ = cv2.connectedComponentsWithStats((crop > 0).astype(np.uint8), connectivity=8)
    out = []
    for i in range(1, n):
        left, _, width, height = (int(v) for v in stats[i, :4])
        if height >= _LOST_RULE_HEIGHT * crop.shape[0] and width <= max(6, crop.shape[0] // 3):
            bx0 = x0 + edge + left
            out.append((bx0 + width // 2, (max(0, bx0 - 2), y0, bx0 + width + 2, y1)))
    return out


def _upright(gray: np.ndarray[Any, np.dtype[np.uint8]]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The page turned by a quarter turn when its lines of text run down rather than
    across (ink profile), the direction from Tesseract's orientation detection."""
    h, w = gray.shape
    scale = 1600 / max(h, w)
    small = cv2.resize(gray, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else gray
    small = np.asarray(small, dtype=np.uint8)
    if not geometry.runs_sideways(geometry.binarize(small)):
        return gray
    degrees, conf = orientation(small)
    release_memory()  # the orientation engine (~45 MiB) is ended: its heap given back
    if degrees % 180 == 0 or conf < _OSD_MIN_CONFIDENCE:
        degrees = 270  # sideways but OSD unsure: the usual phone turn (top to the left)
    return geometry.rotate90(gray, degrees)


def _band_above(gray: np.ndarray[Any, np.dtype[np.uint8]], top: int) -> np.ndarray[Any, np.dtype[np.uint8]] | None:
    """A copy of the band of the page right above the table (unit, as-of date), or None."""
    h = gray.shape[0]
    y0 = max(0, top - int(h * 0.09))
    if top - y0 < 20:
        return None
    return np.array(gray[y0 : max(y0, top - 4), :], dtype=np.uint8)


def _lines_above(band: np.ndarray[Any, np.dtype[np.uint8]] | None, deadline: _Deadline) -> list[str]:
    """The text lines of the band above the table (`_band_above`)."""
    if band is None:
        return []
    deadline.check()
    got = recognise(band, "text")
    return [nfc(line.strip()) for line in got.text.splitlines() if line.strip()]


def _read_cell(
    clean: np.ndarray[Any, np.dtype[np.uint8]],
    ink: np.ndarray[Any, np.dtype[np.uint8]],
    box: tuple[int, int, int, int],
    as_figure: bool = False,
) -> tuple[str, float, tuple[str, ...]] | None:
    """A cell's text, confidence and the other readings of an unsure figure
    (`_read_figure`), or None when nothing is printed in it (or a dash); `as_figure`:
    read by the digits model only, with the text model's reading left aside."""
    x0, y0, x1, y1 = box
    if x1 - x0 <= 2 * _INSET + 4 or y1 - y0 <= 2 * _INSET + 4:
        return None
    # figures are right-aligned and may touch the rule: read up to a rule found whole
    # (its remnant is cleared below); a rule broken (by a stamp) may leave a piece
    # that reads as a "1", so the cell is kept off it as off its other rules
    along = ink[y0 + _INSET : y1 - _INSET, max(0, x1 - 3) : x1 + 4]
    whole = along.size > 0 and float((along.max(axis=1) > 0).mean()) >= _RULE_SHARE
    inset = 1 if whole else _INSET
    crop = _clear_rule_remnants(clean[y0 + _INSET : y1 - _INSET, x0 + _INSET : x1 - inset])
    if crop.size == 0 or int(crop.min()) > 200:
        return None  # nothing printed: paper, faint specks
    # grey print of a blurred photo stretched to black on white
    crop = np.asarray(cv2.normalize(crop, None, 0, 255, cv2.NORM_MINMAX), dtype=np.uint8)
    dark = crop < 128
    if int(dark.sum()) < 25:
        return None  # blank (specks only)
    stray = _stray_specks(dark)
    if _is_dash(dark & ~stray, y1 - y0):
        return None  # a lone dash: nothing stated
    if as_figure:
        despeckled = crop.copy()
        despeckled[stray] = 255
        return _read_figure(_ink_box(despeckled, dark & ~stray), "", 0.0, min_votes=2)
    if stray.any():
        # dust above or below a figure is no part of it; a label keeps it (its
        # diacritics lie above its letters), so it is read without only as a figure
        despeckled = crop.copy()
        despeckled[stray] = 255
        figure_crop = _ink_box(despeckled, dark & ~stray)
        again = _recognise_lines(figure_crop)
        if not again.text.strip():  # a label in a blurred photo, or a figure
            again = _words_enlarged(figure_crop) or again
        again_text = nfc(" ".join(again.text.split()))
        if _figure_like(again_text):
            return _read_figure(figure_crop, again_text, again.confidence)
    text_crop = _ink_box(crop, dark)
    text_reading = _recognise_lines(text_crop)
    if not text_reading.text.strip():
        text_reading = _words_enlarged(text_crop) or text_reading
    text = nfc(" ".join(text_reading.text.split()))
    if _figure_like(text):
        return _read_figure(text_crop, text, text_reading.confidence)
    return _fix_words(text), text_reading.confidence, ()


_WORD_SIZES = (2, 3)


def _words_enlarged(crop: np.ndarray[Any, np.dtype[np.uint8]]) -> Reading | None:
    """A cell with ink that the Vietnamese model read as nothing (the blurred, speckled
    print of a photo: a row's label 'Cứu đói'), read again enlarged by each of
    `_WORD_SIZES` and binarised: the surest reading with words (two letters together,
    not a figure's), or None. Without it the cell went to the digits model, which read the label as a
    figure ('36'): the row's label lost, its figures with it."""
    best: Reading | None = None
    for factor in _WORD_SIZES:
        big = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        _, bw = cv2.threshold(big, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        got = recognise(np.ascontiguousarray(bw, dtype=np.uint8), "line")
        words = nfc(" ".join(got.text.split()))
        lettered = re.search(r"[^\W\d_]{2}", words) is not None
        if lettered and not _figure_like(words) and (best is None or got.confidence > best.confidence):
            best = Reading(words, got.confidence)
    return best


def _figures_and_first_data_row(grid: dict[tuple[int, int], Cell]) -> tuple[set[tuple[int, int]], int | None]:
    """The cells read as figures, and the first data row: the first row with two of them
    (None: no such row)."""
    numeric = {key for key, cell in grid.items() if looks_numeric(cell.text)}
    per_row: dict[int, int] = {}
    for r, _ in numeric:
        per_row[r] = per_row.get(r, 0) + 1
    data_rows = [r for r, n in per_row.items() if n >= 2]
    return numeric, min(data_rows) if data_rows else None


def _split_merged(
    cells: list[geometry.GridCell], grid: dict[tuple[int, int], Cell]
) -> list[tuple[geometry.GridCell, list[tuple[tuple[int, int], tuple[int, int, int, int]]]]]:
    """Merged cells of the data rows that span only columns of figures (each with two
    figures in rows outside it): each with the (row, column) keys and boxes of the
    cells of the grid it covers, its rules taken from the cells around. Nothing for a
    merged cell whose own reading is words (a label, a heading, a note); one whose
    reading is figures with a rule's remnant between them is split (`_figures_apart`)."""
    numeric, first = _figures_and_first_data_row(grid)
    if first is None:
        return []
    lefts = {gc.col: gc.box[0] for gc in cells}
    rights = {gc.col_end: gc.box[2] for gc in cells}
    tops = {gc.row: gc.box[1] for gc in cells}
    bottoms = {gc.row_end: gc.box[3] for gc in cells}
    out = []
    for gc in cells:
        if (gc.row_end == gc.row and gc.col_end == gc.col) or gc.col == 0 or gc.row + 1 < first:
            continue
        own = grid.get((gc.row + 1, gc.col + 1))
        if own is not None and not _figure_like(own.text) and not _figures_apart(own.text):
            continue
        rows = range(gc.row, gc.row_end + 1)
        cols = range(gc.col, gc.col_end + 1)
        if any(sum(1 for r, c in numeric if c == j + 1 and r >= first and r - 1 not in rows) < 2 for j in cols):
            continue
        if any(i not in tops or i not in bottoms for i in rows) or any(j not in lefts or j not in rights for j in cols):
            continue
        parts = [((i + 1, j + 1), (lefts[j], tops[i], rights[j], bottoms[i])) for i in rows for j in cols]
        out.append((gc, parts))
    return out


_RULE_MARKS = re.compile(r"[|\\/¦\[\]]")  # what a rule's remnant between two figures is read as


def _figures_apart(text: str) -> bool:
    """Whether a merged cell's reading is figures with a rule's remnant read between
    them ('437.630.000 | 945', '240,02 | 2154,19'): the rule the grid lost is still
    there between the figures of two cells."""
    parts = [p.strip() for p in _RULE_MARKS.split(text)]
    return len(parts) > 1 and all(p and _digits_of(p) and _figure_like(p) for p in parts)


_LETTERS = re.compile(r"[^\W\d_]{2}")  # two letters together: words, not a figure


def _split_headings(
    cells: list[geometry.GridCell], grid: dict[tuple[int, int], Cell]
) -> list[tuple[geometry.GridCell, list[tuple[tuple[int, int], tuple[int, int, int, int]]]]]:
    """Merged cells of one row above the data rows ('Số hộ được xét duyệt' and 'Đã
    giải ngân (triệu đồng)' read as one: the rule between them lost in the header)
    over columns that each hold figures in two data rows and have no heading of
    their own below it (a heading over a group of measures has theirs): each with the
    (row, column) keys and boxes of the cells of the grid it covers."""
    numeric, first = _figures_and_first_data_row(grid)
    if first is None:
        return []
    lefts = {gc.col: gc.box[0] for gc in cells}
    rights = {gc.col_end: gc.box[2] for gc in cells}
    out = []
    for gc in cells:
        if gc.row != gc.row_end or gc.col_end == gc.col or gc.col == 0 or gc.row + 1 >= first:
            continue
        cols = range(gc.col, gc.col_end + 1)
        below = range(gc.row + 2, first)
        if any(sum(1 for r, c in numeric if c == j + 1 and r >= first) < 2 for j in cols):
            continue
        if any((r, j + 1) in grid and _LETTERS.search(grid[(r, j + 1)].text) for r in below for j in cols):
            continue
        if any(j not in lefts or j not in rights for j in cols):
            continue
        y0, y1 = gc.box[1], gc.box[3]
        out.append((gc, [((gc.row + 1, j + 1), (lefts[j], y0, rights[j], y1)) for j in cols]))
    return out


def _figures_read_as_words(grid: dict[tuple[int, int], Cell]) -> list[tuple[int, int]]:
    """Cells of the data rows whose reading is a few letters (no word of four) in a
    column of figures: a figure under a stamp's ring, whose ring text the Vietnamese
    model read. The data rows start at the first row with two figures; the first
    column (numbers of the rows, sections 'I', 'II') and any cell read as a figure
    are left as they are, and so is a column with fewer than two figures besides,
    unless (a table of two or three rows) every other cell of its data rows is one."""
    numeric, first = _figures_and_first_data_row(grid)
    if first is None:
        return []
    out = []
    for (r, c), cell in sorted(grid.items()):
        if r < first or c == 1 or (r, c) in numeric or _figure_like(cell.text) or not _garbled(cell.text):
            continue
        others = [key for key in grid if key[1] == c and key[0] >= first and key[0] != r]
        besides = sum(1 for key in others if key in numeric)
        if besides >= 2 or (besides == 1 and len(others) == 1):
            out.append((r, c))
    return out


_ROMAN = re.compile(r"^[IVXLivxl]+[.)]?$")


def _garbled(text: str) -> bool:
    """A short reading with no word of four letters or more but in capitals, and not a
    section number: what the Vietnamese model makes of a stamp's ring text ('lể', 'LÊN
    NỈ', 'kỂn Đo,', 'LIÊN E.ự': the ring is printed in capitals, a form's words are not)."""
    compact = text.replace(" ", "")
    if not compact or len(compact) > 12 or _ROMAN.match(compact):
        return False
    return not any(not word.isupper() for word in re.findall(r"[^\W\d_]{4,}", text))


def _mend_decimal_marks(grid: dict[tuple[int, int], Cell]) -> None:
    """A figure read as groups of three and a short tail behind the same mark
    ('3.876.36') written with the decimal mark its column's other figures write
    before their decimals ('440,32' above it: '3.876,36'), and left unsure (flagged).
    Nothing in a column of whole figures: there the tail is a group that lost a digit."""
    for key, cell in list(grid.items()):
        if not looks_numeric(cell.text) or figures.well_formed(cell.text):
            continue
        column = [c.text for (r, col), c in grid.items() if col == key[1] and r != key[0] and looks_numeric(c.text)]
        mark = figures.decimal_mark(column)
        mended = figures.with_decimal_mark(cell.text, mark) if mark is not None else None
        if mended is not None:
            conf = min(cell.confidence or 0.0, _DIGIT_DISAGREEMENT_CONFIDENCE)
            grid[key] = Cell(mended, mended, None, False, cell.coordinate, confidence=conf, page=cell.page)


# Tesseract's Vietnamese model reads a few words of the form wrongly, the same way in
# every scan: put them right before the labels are matched.
_KNOWN_MISREADS = (("chỉ trả", "chi trả"), ("Chỉ trả", "Chi trả"), ("đã chỉ", "đã chi"))


def _fix_words(text: str) -> str:
    for wrong, right in _KNOWN_MISREADS:
        text = text.replace(wrong, right)
    return text


def _text_lines(crop: np.ndarray[Any, np.dtype[np.uint8]]) -> list[tuple[int, int]]:
    """(top, bottom) of each line of text in a cell: bands of rows with ink, a band
    too thin to be a line (diacritics above a capital) joined to its neighbour."""
    profile = (crop < 128).sum(axis=1)
    rows = np.flatnonzero(profile > 0)
    bands: list[list[int]] = []
    for r in rows.tolist():
        if bands and r - bands[-1][1] <= 2:
            bands[-1][1] = r
        else:
            bands.append([r, r])
    if len(bands) <= 1:
        return [(0, crop.shape[0])]
    tallest = max(b - a for a, b in bands)
    merged: list[list[int]] = []
    for band in bands:
        if merged and (band[1] - band[0] < tallest * 0.45 or merged[-1][1] - merged[-1][0] < tallest * 0.45):
            merged[-1][1] = band[1]
        else:
            merged.append(band)
    return [(max(0, a - 3), min(crop.shape[0], b + 4)) for a, b in merged]


def _recognise_lines(crop: np.ndarray[Any, np.dtype[np.uint8]]) -> Reading:
    """A cell's text line by line (a wrapped label or a two-line heading keeps its
    word order), with the least sure line's confidence."""
    lines = _text_lines(crop)
    if len(lines) == 1:
        got = recognise(crop, "line")
    else:
        parts = [recognise(np.ascontiguousarray(crop[a:b]), "line") for a, b in lines]
        texts = [g.text for g in parts if g.text]
        # a line of ink read as nothing is a line lost ('Đã giải ngân' above '(nghìn
        # đồng)': the heading's measure gone): as unsure as can be, so read as a block
        got = Reading(" ".join(texts), min((g.confidence if g.text else 0.0 for g in parts), default=0.0))
    if got.confidence < _RETRY_BELOW:  # lines touching each other: let Tesseract find them
        block = recognise(crop, "text")
        if block.confidence > got.confidence:
            return Reading(" ".join(block.text.split()), block.confidence)
    return got


def _figure_like(text: str) -> bool:
    """Whether a cell's text (or its lack) is to be read as a figure."""
    return not text or looks_numeric(text) or _mostly_digits(text) or _no_word(text)


def _ink_box(
    crop: np.ndarray[Any, np.dtype[np.uint8]], dark: np.ndarray[Any, np.dtype[np.bool_]]
) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """`crop` cut to its ink (`dark`) with a few pixels of paper around."""
    ys, xs = np.nonzero(dark)
    pad = 4
    return np.ascontiguousarray(
        crop[
            max(0, int(ys.min()) - pad) : int(ys.max()) + pad + 1,
            max(0, int(xs.min()) - pad) : int(xs.max()) + pad + 1,
        ]
    )


def _read_figure(
    crop: np.ndarray[Any, np.dtype[np.uint8]], text: str, text_conf: float, min_votes: int = 1
) -> tuple[str, float, tuple[str, ...]] | None:
    """A figure cell read with the digits model; when that is not plainly sure (or the
    text model saw other digits, or nothing, or the reading has no figure's shape) read
    again from the cell binarised at two larger sizes and from the cell smoothed in
    grey (`_smoothed`; not when `min_votes` asks for agreement: a cell whose letters
    are read again as a figure), and, when its print is blurred (`_blurred`: a
    photo), darkened in grey at a set height (`_read_darkened`; one such reading is
    made even for a sure first reading, and must agree with it), and the reading
    most of them agree on kept (votes weighed by their confidence). Readings
    that differ leave the figure unsure (flagged), never silently chosen. Only
    readings with a figure's shape (`figures.well_formed`) are chosen from, when there
    are any: when none has it, two more sizes are read, and then readings mended at
    their ends (a stray mark read as a separator) are taken, unsure.
    None (or `text`) when fewer than `min_votes` readings agree.

    A figure left unsure also carries its other readings with a figure's shape, and
    those of the cell sharpened and binarised by its neighbourhood (`_read_sharpened`):
    never chosen here, only offered to the form's 'Tổng cộng' row (the report's
    `choose_by_totals`)."""
    spaced: list[str] = []  # readings whose space between groups was taken as their mark

    def compact(raw: str) -> str:
        got = figures.compact(raw)
        if got != "".join(raw.split()):
            spaced.append(got)
        return got

    first = recognise(crop, "digits")
    readings = [(compact(first.text), first.confidence)]
    numeric = looks_numeric(text)
    # a blurred print is read darkened too even when the first reading is sure: the
    # two must agree ('36' read surely for a blurred 86); not a cell re-read for its
    # letters (a stamp's grey ring text: the darkened readings agree on its strokes)
    blurred = min_votes == 1 and _blurred(crop)
    darkened = _read_darkened(crop, _DARK_VARIANTS[:1]) if blurred else []
    if (
        not text
        or first.confidence < _SURE
        or _digits_of(readings[0][0]) != _digits_of(text)
        or not figures.well_formed(readings[0][0])
        or any(_digits_of(compact(t)) != _digits_of(readings[0][0]) for t, _ in darkened)
    ):
        readings += [(compact(t), c) for t, c in _read_binarised(crop, (2, 3))]
        # not for a cell re-read for its letters (noise, a stamp's ring: two readings must
        # agree without it), nor alone: a figure no other reading saw is dust (the
        # darkened readings likewise: a stamp's grey remnant in an empty cell of a scan)
        seen = any(_digits_of(f) for f, _ in readings)
        if blurred and (seen or numeric):
            darkened += _read_darkened(crop, _DARK_VARIANTS[1:])
            readings += [(compact(t), c) for t, c in darkened]
        if min_votes == 1 and seen:
            smooth = recognise(_smoothed(crop), "digits")
            readings.append((compact(smooth.text), smooth.confidence))
    if numeric:
        readings.append((compact(text), text_conf))
    found = [(f, c) for f, c in readings if _digits_of(f)]
    if not found and not text:
        raw = _read_raw(crop)  # every read found no line at all: read the line as it is
        if raw is not None:
            return raw
    if not found:
        return (text, 0.0, ()) if text else None
    formed = [(f, c) for f, c in found if figures.well_formed(f)]
    mended = False
    if not formed:  # no reading has a figure's shape: other sizes
        found += [(compact(t), c) for t, c in _read_binarised(crop, _MORE_SIZES) if _digits_of(t)]
        formed = [(f, c) for f, c in found if figures.well_formed(f)]
    if not formed:  # then the readings without a mark at either end
        formed = [(figures.stripped(f), c) for f, c in found if figures.well_formed(figures.stripped(f))]
        mended = bool(formed)
    pool = formed or found
    votes: dict[str, list[float]] = {}
    for f, c in pool:
        votes.setdefault(f, []).append(c)
    # votes weighed by how sure each was: three unsure readings that drop a blurred
    # edge digit the same way ('49' for 491) do not outvote two sure ones of it
    figure = max(votes, key=lambda f: (sum(votes[f]) + _VOTE_WEIGHT * len(votes[f]), max(votes[f])))
    if len(votes[figure]) < min_votes:
        return (text, 0.0, ()) if text else None
    conf = min(votes[figure])
    if not numeric:
        conf *= 0.5  # the text model took it for letters
    mended = mended or figure in spaced  # a space taken for a group mark: mended too
    if len(votes) > 1 or len(pool) < len(found) or mended:
        conf = min(conf, _DIGIT_DISAGREEMENT_CONFIDENCE)
    alternatives: tuple[str, ...] = ()
    if conf < _SURE:  # unsure, so flagged downstream: what else the cell may say
        others = [f for f, _ in found if f != figure] + [compact(t) for t in _read_sharpened(crop)]
        # digits the shapes of its glyphs say otherwise ('0' for a blurred zero read '9')
        others += shape_readings(crop, figure)
        # a digit Tesseract weighed nearly as well as the one it read ('0' for the '9' of
        # a last group read '900'), the most likely first
        others += [compact(t) for t in digit_choices(crop)]
        lookalike = _as_digits(text) if text and not numeric else None
        if lookalike is not None:  # a digit the digits model dropped, the text model read as a sign
            others.append(lookalike)
        marks = _marks_of(figure)  # only digits may differ: a mark read otherwise is no other figure
        if figure.startswith("-"):
            # a stroke of a stamp or of dust left of the figure read as its sign: a form's
            # figure is rarely negative, so the figure without it is one more reading
            others.append(figure.lstrip("-"))
        alternatives = tuple(
            dict.fromkeys(
                f
                for f in others
                if f != figure and figures.well_formed(f) and _marks_of(f).lstrip("-") == marks.lstrip("-")
            )
        )
    return figure, conf, alternatives


def _read_binarised(crop: np.ndarray[Any, np.dtype[np.uint8]], factors: tuple[float, ...]) -> list[tuple[str, float]]:
    """The digits model's readings of `crop` enlarged by each factor and binarised
    (Otsu), as read (`figures.compact` makes them figures)."""
    out = []
    for factor in factors:
        big = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        _, bw = cv2.threshold(big, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        got = recognise(np.ascontiguousarray(bw, dtype=np.uint8), "digits")
        out.append((got.text, got.confidence))
    return out


_BLURRED_SHARE = 0.7  # of a cell's ink (darker than 192) only grey (64..191) at least
_CORE_SHARE = 0.4  # of its dark ink (darker than 128) black (darker than 64) at most


def _blurred(crop: np.ndarray[Any, np.dtype[np.uint8]]) -> bool:
    """Whether a figure's print (`crop` stretched black on white) is blurred: most of
    its ink is grey edge and little of its dark ink is black core (a photo's thin,
    soft strokes). A scan's strokes are black inside: ~60 % of their ink grey edge
    and ~60 % of their dark ink black; grey remnants of a stamp's ink around a
    scan's figure make more of its ink grey, but not its strokes' core."""
    ink = int((crop < 192).sum())
    grey = int(((crop >= 64) & (crop < 192)).sum())
    dark = int((crop < 128).sum())
    core = int((crop < 64).sum())
    return ink > 0 and grey >= _BLURRED_SHARE * ink and core < _CORE_SHARE * dark


_DARK_HEIGHT = 40  # pixels: the figure's ink scaled to this height, well above Tesseract's ~20 px x-height
_DARK_PAD = 24  # pixels of paper around it (a digit at the edge of a tight crop is dropped)
# (gamma, Gaussian sigma before scaling, background divided out): the thin, grey strokes
# of a blurred photo made dark and whole in grey rather than binarised at one level
_DARK_VARIANTS = ((2.0, 0.0, False), (2.0, 0.7, False), (3.0, 0.0, True))


def _read_darkened(
    crop: np.ndarray[Any, np.dtype[np.uint8]], variants: tuple[tuple[float, float, bool], ...] = _DARK_VARIANTS
) -> list[tuple[str, float]]:
    """The digits model's readings of `crop` (an ink box, dark on white) scaled so its
    ink is `_DARK_HEIGHT` high with `_DARK_PAD` of paper around, its greys darkened
    (a gamma curve: a blurred stroke's grey made nearly black, the paper kept white),
    after smoothing it (speckle of a noisy photo) or dividing out its background (a
    shadow's gradient across the cell), per `_DARK_VARIANTS`: votes among a figure's
    readings, each seeing the blurred digits differently from a binarisation."""
    out = []
    for gamma, sigma, flatten in variants:
        image = _background_divided(crop) if flatten else crop
        rows = np.flatnonzero((image < 128).any(axis=1))
        height = int(rows[-1] - rows[0] + 1) if rows.size else image.shape[0]
        if sigma:
            image = np.asarray(cv2.GaussianBlur(image, (0, 0), sigma), dtype=np.uint8)
        f = _DARK_HEIGHT / max(height, 1)
        big = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)
        lut = (np.linspace(0.0, 1.0, 256) ** gamma * 255).astype(np.uint8)
        dark = cv2.copyMakeBorder(cv2.LUT(big, lut), *(4 * (_DARK_PAD,)), cv2.BORDER_CONSTANT, value=255)
        got = recognise(np.ascontiguousarray(dark, dtype=np.uint8), "digits")
        out.append((got.text, got.confidence))
    return out


def _background_divided(crop: np.ndarray[Any, np.dtype[np.uint8]]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """`crop` divided by its paper's level (a grey closing wider than a stroke), stretched
    to black on white: a shadow's edge or a light gradient across the cell taken out."""
    k = max(3, int(crop.shape[0] * 0.6)) | 1
    paper = cv2.morphologyEx(crop, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    ratio = crop.astype(np.float32) / np.maximum(paper.astype(np.float32), 1.0) * 255.0
    flat = np.clip(ratio, 0, 255).astype(np.uint8)
    return np.asarray(cv2.normalize(flat, None, 0, 255, cv2.NORM_MINMAX), dtype=np.uint8)


_RAW_SIZES = (1, 2)
_RAW_CONFIDENCE = 0.5  # a figure only the raw line read: flagged unless its column's total confirms it


def _read_raw(crop: np.ndarray[Any, np.dtype[np.uint8]]) -> tuple[str, float, tuple[str, ...]] | None:
    """A cell with ink that every read of the digits model (and the Vietnamese model)
    took for no line at all (a clear, bold '88' of a grey scan: Tesseract's layout
    analysis found no text line in it), read as a raw line (no layout analysis) as it
    is and binarised at twice its size: the figure when both readings agree and have a
    figure's shape, never certain (`_RAW_CONFIDENCE`: flagged unless its column adds up
    to the total); None otherwise (dust, a stamp's mark)."""
    readings = []
    for factor in _RAW_SIZES:
        image: Any = crop
        if factor != 1:
            big = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
            _, image = cv2.threshold(big, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        got = recognise(np.ascontiguousarray(image, dtype=np.uint8), "raw")
        readings.append((figures.compact(got.text), got.confidence))
    texts = {f for f, _ in readings}
    figure = readings[0][0]
    if len(texts) != 1 or not _digits_of(figure) or not figures.well_formed(figure):
        return None
    return figure, min(_RAW_CONFIDENCE, *(c for _, c in readings)), ()


_SMOOTH_SIGMA = 1.0  # pixels


def _smoothed(crop: np.ndarray[Any, np.dtype[np.uint8]]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The cell in grey, smoothed (Gaussian, `_SMOOTH_SIGMA`): the speckle a noisy,
    blurred photo leaves inside its strokes closed up. Binarised, such strokes break
    into holes ('513' read '313', '1.125.140' read '1.325.140'); in grey, smoothed,
    Tesseract reads them whole. One more vote among a figure's readings."""
    return np.ascontiguousarray(cv2.GaussianBlur(crop, (0, 0), _SMOOTH_SIGMA), dtype=np.uint8)


_SHARPEN_SIZES = (2, 3)


def _read_sharpened(crop: np.ndarray[Any, np.dtype[np.uint8]]) -> list[str]:
    """The digits model's readings of `crop` enlarged by each of `_SHARPEN_SIZES`
    (thin, light strokes of a photo): sharpened (unsharp mask), and binarised by each
    pixel's neighbourhood (adaptive Gaussian threshold) rather than by one level for
    the cell. Readings to choose from by a total, never votes."""
    out = []
    for factor in _SHARPEN_SIZES:
        big = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        blur = cv2.GaussianBlur(big, (0, 0), 1.5 * factor)
        sharp = cv2.addWeighted(big, 1.8, blur, -0.8, 0)
        window = 31 * factor | 1
        local = cv2.adaptiveThreshold(big, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, window, 10)
        for image in (sharp, local):
            out.append(recognise(np.ascontiguousarray(image, dtype=np.uint8), "digits").text)
    return out


def _clear_rule_remnants(crop: np.ndarray[Any, np.dtype[np.uint8]]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The cell with what is left of its right rule made white: from the edge
    inwards, the fewest lines of pixels (at most a few) whose ink together runs along
    the whole cell (a rule, even bent or faint) and those outside them. A digit
    touching the rule keeps its strokes: no digit runs along its whole cell."""
    if crop.size == 0:
        return crop
    norm = cv2.normalize(crop, None, 0, 255, cv2.NORM_MINMAX)
    dark = np.asarray(norm, dtype=np.uint8) < _REMNANT_LEVEL
    out = crop.copy()
    h, w = crop.shape
    right = _rule_depth(dark[:, ::-1][:, : min(_RULE_BAND, w)])
    if right:
        out[:, w - right :] = 255
    return out


def _rule_depth(band: np.ndarray[Any, np.dtype[np.bool_]]) -> int:
    """How many lines of `band` (lines down, the edge first) to clear: up to the first
    where the ink seen so far covers nearly every row, and the inked lines right after
    it (a thick rule); 0 when it never does."""
    if band.size == 0:
        return 0
    seen = np.maximum.accumulate(band, axis=1).mean(axis=0)
    hit = np.flatnonzero(seen >= _RULE_SHARE)
    if not hit.size:
        return 0
    depth = int(hit[0]) + 1
    own = band.mean(axis=0)
    while depth < band.shape[1] and own[depth] >= _RULE_SHARE:  # the rest of a thick rule
        depth += 1
    return depth


def _stray_specks(dark: np.ndarray[Any, np.dtype[np.bool_]]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Small blots lying wholly above or below the band of a cell's text (dust, a dot
    of the stamp): not a decimal point or comma, which sit within the band."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark.astype(np.uint8), connectivity=8)
    if n <= 2:
        return np.zeros_like(dark)
    areas = stats[1:, cv2.CC_STAT_AREA]
    big = float(areas.max())
    main = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 0.25 * big]
    top = min(int(stats[i, cv2.CC_STAT_TOP]) for i in main)
    bottom = max(int(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT]) for i in main)
    stray = [
        i
        for i in range(1, n)
        if stats[i, cv2.CC_STAT_AREA] < 0.15 * big
        and (
            int(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT]) <= top
            or int(stats[i, cv2.CC_STAT_TOP]) >= bottom
        )
    ]
    return np.isin(labels, stray) if stray else np.zeros_like(dark)


def _is_dash(dark: np.ndarray[Any, np.dtype[np.bool_]], cell_height: int) -> bool:
    """Whether a cell's ink (specks left aside) is one short solid bar: a "-" or "–"
    standing for nothing stated. No digit is wider than tall, and a row of digits
    ("100") fills far less of its box than a bar."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(dark.astype(np.uint8), connectivity=8)
    blobs = [stats[i] for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= _SPECK_AREA]
    if len(blobs) != 1:
        return False
    _, _, w, h, area = (int(v) for v in blobs[0])
    return w >= 1.4 * h and h < 0.2 * cell_height and area >= 0.6 * w * h


def _no_word(text: str) -> bool:
    """A short reading with no two letters together: a figure the Vietnamese model
    took for letters ("Ô⁄." for 64)."""
    compact = text.replace(" ", "")
    if not compact.strip("-–—._~"):
        return False  # "-", "—": nothing stated
    return len(compact) <= 6 and re.search(r"[^\W\d_]{2}", compact) is None


def _digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _marks_of(text: str) -> str:
    return "".join(ch for ch in text if not ch.isdigit())


def _mostly_digits(text: str) -> bool:
    """A short reading mostly of digits ('21/09/2021', '1.99C,08U': a figure the
    Vietnamese model read two digits of as letters): the separators left aside, at least
    60 % digits and at most two other characters, no two letters together."""
    compact = text.replace(" ", "")
    digits = sum(ch.isdigit() for ch in compact)
    if len(compact) > 14 or digits < 1:
        return False
    if digits >= len(compact) * 0.6 or len(compact) <= 4:
        return True
    rest = compact.replace(".", "").replace(",", "")
    return digits >= len(rest) * 0.6 and len(rest) - digits <= 2 and re.search(r"[^\W\d_]{2}", rest) is None


# what the Vietnamese model reads a digit of a figure as ('65}' for 651, '1.99C,08U')
_DIGIT_LOOKALIKES = str.maketrans(
    {
        "}": "1",
        "]": "1",
        ")": "1",
        "|": "1",
        "l": "1",
        "I": "1",
        "!": "1",
        "¡": "1",
        "O": "0",
        "o": "0",
        "C": "0",
        "U": "0",
        "D": "0",
        "S": "5",
        "B": "8",
    }
)


def _as_digits(text: str) -> str | None:
    """The text model's reading of a figure with the letters and signs it reads digits
    as ('}' for 1, 'C' for 0) made those digits, when that is a figure's shape; None
    otherwise. Only ever one more reading for the total to choose (never a vote)."""
    mapped = figures.compact(text.translate(_DIGIT_LOOKALIKES))
    return mapped if mapped != text and _digits_of(mapped) and figures.well_formed(mapped) else None
