"""Find the report table in a sheet: its label column, its header block and which
measure each column holds (with its money scale), the unit and the as-of date
written around it; and choose between the tables of several sheets.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from parsers.numbers import parse_day_month, parse_vn_date, scale_from_header
from parsers.readers import Cell, Sheet
from parsers.report.matching import CONTAINS, EXACT, TOTAL, FormIndex, match_key, memo_short_texts
from parsers.report.ocrlabels import heading_similarities
from parsers.vntext import fold_spaces, unify_d

_LETTERS_RE = re.compile(r"[^\W\d_]+")
_MONEY_HINTS = (" kinh phí ", " số tiền ", " tiền ", " giá trị ", " ngân sách ")
_COUNT_HINTS = (" đối tượng ", " số người ", " số lượng ", " số hồ sơ ", " người ", " lượt ")
_CODE_HEADERS = frozenset({"mã", "mã số", "mã chỉ tiêu", "code", "ma", "mã cs", "mã chính sách"})
_UNIT_RE = re.compile(
    r"^\s*(?:tên\s+)?(?:đơn\s*vị|cơ\s+quan)(?:\s+báo\s+cáo|\s+thực\s+hiện)?\s*[:：]\s*(.*)$",
    re.I | re.S,
)
_AS_OF_RE = re.compile(r"(?:tính\s+đến|đến\s+(?:hết\s+)?ngày)\s*(.*)$", re.I | re.S)
_UNIT_OF_MEASURE_RE = re.compile(r"đơn\s*vị\s*tính", re.I)
_HEADER_BLOCK_MAX_ROWS = 6
_LABEL_SCAN_ROWS = 300  # non-empty rows from the top scored to find the label column
_SCALE_NOTES = 3  # lines of text right before a document's table searched for "Đơn vị tính"
_CONTEXT_ROWS_BELOW = 30  # rows after the table searched for "Đơn vị"/"tính đến ngày"


@dataclass
class MeasureColumn:
    measure: str
    col: int
    quality: int
    scale: int  # đồng per unit for money; 1 for counts
    headers: tuple[str, ...]
    # False: a money column whose scale neither its header nor a "Đơn vị tính" line
    # states; `scale` is then the measure's configured default_scale, an assumption
    scale_stated: bool = True
    # a recognised heading matched only approximately (`_approximate_columns`): its
    # figures are flagged (parsers.report.uncertain)
    approximate: bool = False


@dataclass
class Table:
    """A recognised report table inside one sheet."""

    sheet: Sheet
    label_col: int
    code_col: int | None
    header_top: int
    first_data_row: int
    rows: list[tuple[int, str, int]]  # (row, indicator code, match quality)
    columns: dict[str, MeasureColumn]
    unit_text: str | None = None
    as_of: dt.date | None = None


class _SheetView:
    """Lookups over one sheet: cells by row, merged-cell origins."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self.cells = sheet.cells
        self.origin: dict[tuple[int, int], tuple[int, int]] = {}
        for r1, c1, r2, c2 in sheet.merged:
            if (r2 - r1 + 1) * (c2 - c1 + 1) > 10_000:
                r2 = min(r2, r1 + 200)
                c2 = min(c2, c1 + 50)
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    if (r, c) != (r1, c1):
                        self.origin[(r, c)] = (r1, c1)
        self.rows: dict[int, dict[int, Cell]] = {}
        for (r, c), cell in sheet.cells.items():
            self.rows.setdefault(r, {})[c] = cell
        self.max_col = max((c for _, c in sheet.cells), default=0)

    def text(self, r: int, c: int) -> str:
        cell = self.cells.get(self.origin.get((r, c), (r, c)))
        if cell is None or cell.is_formula_without_value:
            return ""
        return cell.text.strip()

    def origin_of(self, r: int, c: int) -> tuple[int, int]:
        return self.origin.get((r, c), (r, c))

    def row_text_cells(self, r: int) -> list[Cell]:
        return [self.rows[r][c] for c in sorted(self.rows.get(r, {}))]


def find_table(sheet: Sheet, index: FormIndex) -> Table | None:
    view = _SheetView(sheet)
    ind_matches: dict[tuple[int, int], tuple[str, int]] = {}
    code_hits: dict[int, dict[int, str]] = {}
    col_score: dict[int, int] = {}
    # The label column is found from the top of the sheet (a report table starts
    # there); the whole of that one column is matched afterwards. This keeps a sheet
    # of thousands of text cells from costing a label match per cell.
    scan_rows = set(sorted(view.rows)[:_LABEL_SCAN_ROWS])
    for (r, c), cell in sheet.cells.items():
        if not isinstance(cell.value, str):
            continue
        text = cell.text
        code = index.match_code(text)
        if code is not None:
            code_hits.setdefault(c, {})[r] = code
        if r not in scan_rows:
            continue
        m = index.match_indicator(text)
        if m is None or m is TOTAL:
            continue
        ind_matches[(r, c)] = m
        col_score[c] = col_score.get(c, 0) + m[1]
    code_col = _pick_code_column(code_hits, view)
    if col_score:
        label_col = min(col_score, key=lambda c: (-col_score[c], c))
    elif code_col is not None:
        label_col = code_col
    else:
        return None
    by_row: dict[int, tuple[str, int]] = {}
    for r, row in view.rows.items():
        label = row.get(label_col)
        if label is None:
            label = _merged_label(view, r, label_col)
        if label is None or not isinstance(label.value, str):
            continue
        m = ind_matches.get((r, label_col)) or index.match_indicator(label.text)
        if m is not None and m is not TOTAL:
            by_row[r] = m
    if code_col is not None:
        for r, code in code_hits[code_col].items():
            by_row[r] = (code, EXACT + 1)  # the template's code beats any label
    candidates = sorted(by_row)
    for attempt, first in enumerate(candidates):
        if attempt >= 8:
            break
        header = _read_header(view, index, first, label_col, code_col)
        if header is None:
            continue
        header_top, columns = header
        rows = [(r, by_row[r][0], by_row[r][1]) for r in candidates if r >= first]
        table = Table(sheet, label_col, code_col, header_top, first, rows, columns)
        if any(c.confidence is not None for c in sheet.cells.values()):
            _approximate_columns(view, index, table)
        table.unit_text, table.as_of = _find_unit_and_date(view, table)
        return table
    return None


APPROXIMATE_HEADING_RATIO: Final = 0.8  # similarity of a garbled heading to a measure's label
APPROXIMATE_HEADING_MARGIN: Final = 0.15  # over any other measure


def _approximate_columns(view: _SheetView, index: FormIndex, table: Table) -> None:
    """Give a measure to a column of a recognised table whose heading matched none
    ('Số hộ đủ điều ki', 'Sốhộ đăng ký', 'Dự toán được q'): its recognised heading
    cell, folded (diacritics, spaces, OCR's look-alike letters), clearly closest to one
    measure no column holds (`APPROXIMATE_HEADING_RATIO`, `_MARGIN` over every other
    measure), and figures below it on half the table's rows or more. Such a column is
    `approximate`: its figures are flagged, never taken silently."""
    taken = {mc.col for mc in table.columns.values()} | {table.label_col}
    if table.code_col is not None:
        taken.add(table.code_col)
    rows = [r for r, _, _ in table.rows]
    found: dict[str, list[tuple[int, str]]] = {}
    for c in range(table.label_col + 1, view.max_col + 1):
        if c in taken:
            continue
        figures = sum(any(ch.isdigit() for ch in view.text(r, c)) for r in rows)
        if not rows or figures * 2 < len(rows):
            continue
        for r in range(table.header_top, table.first_data_row):
            cell = view.cells.get(view.origin_of(r, c))
            if cell is None or cell.confidence is None or not isinstance(cell.value, str):
                continue
            if view.origin_of(r, c)[1] != c:
                continue  # a heading spanning several columns is a group's
            sims = heading_similarities(cell.text, index)
            ranked = sorted(sims.items(), key=lambda kv: kv[1], reverse=True)
            if not ranked or ranked[0][1] < APPROXIMATE_HEADING_RATIO:
                continue
            if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < APPROXIMATE_HEADING_MARGIN:
                continue
            if ranked[0][0] not in table.columns:
                found.setdefault(ranked[0][0], []).append((c, cell.text))
    for code, cols in found.items():
        if len({c for c, _ in cols}) != 1:
            continue  # two columns could be it
        c, text = cols[0]
        spec = index.measures[code]
        scale, stated = 1, True
        if spec.kind == "money":
            own = header_scale(text) or _table_scale(view, table.header_top)
            scale, stated = own or spec.default_scale or 1, own is not None
        table.columns[code] = MeasureColumn(code, c, 0, scale, (text,), stated, approximate=True)


def _merged_label(view: _SheetView, r: int, label_col: int) -> Cell | None:
    """A recognised label cell of row `r` merged over the label column from a column
    left of it (the rule between 'STT' and the label lost in a photo: the cell's
    origin is in the number column); None for any other sheet."""
    origin = view.origin_of(r, label_col)
    if origin == (r, label_col) or origin[0] != r:
        return None
    cell = view.cells.get(origin)
    return cell if cell is not None and cell.confidence is not None else None


def _pick_code_column(code_hits: dict[int, dict[int, str]], view: _SheetView) -> int | None:
    best, best_n = None, 0
    for c, hits in code_hits.items():
        codes_have_letters = all(not code.isdigit() for code in hits.values())
        first = min(hits)
        header_says_code = any(match_key(view.text(r, c)) in _CODE_HEADERS for r in range(max(1, first - 4), first))
        if not (codes_have_letters or header_says_code):
            continue
        if len(hits) > best_n:
            best, best_n = c, len(hits)
    return best


def _read_header(
    view: _SheetView, index: FormIndex, first_data_row: int, label_col: int, code_col: int | None
) -> tuple[int, dict[str, MeasureColumn]] | None:
    """Measure columns from the header block right above `first_data_row`."""
    block: list[int] = []
    r = first_data_row - 1
    skipped_blank = False
    skipped_groups = 0
    while r >= 1 and len(block) < _HEADER_BLOCK_MAX_ROWS:
        origins = {view.origin_of(r, c) for c in view.rows.get(r, {})}
        # cells covered by merges starting above (vertical) count for this row too
        for c in range(1, view.max_col + 1):
            o = view.origin.get((r, c))
            if o is not None and view.cells.get(o) is not None:
                origins.add(o)
        origins = {o for o in origins if view.text(*o)}
        if not origins:
            if block or skipped_blank:
                break
            skipped_blank = True
            r -= 1
            continue
        if len(origins) < 2 and all(o[1] <= label_col for o in origins):
            if block or skipped_groups >= 3:
                break  # a title or "Đơn vị: ..." line above the header
            skipped_groups += 1  # a group heading between the header and the data
            r -= 1
            continue
        block.append(r)
        r -= 1
    if not block:
        return None
    block.reverse()  # top to bottom
    excluded = {label_col} | ({code_col} if code_col is not None else set())
    fill_right = not any(r1 <= block[-1] and r2 >= block[0] for r1, _, r2, _ in view.sheet.merged)
    stacks: dict[int, list[str]] = {}
    for c in range(1, view.max_col + 1):
        if c in excluded:
            continue
        stack: list[str] = []
        last_origin = None
        for i, r in enumerate(block):
            o = view.origin_of(r, c)
            text = view.text(r, c)
            if not text and fill_right and i < len(block) - 1 and c > label_col:
                o, text = _parent_to_the_left(view, r, c, block[i + 1], label_col)
            if text and o != last_origin and not _is_column_number(text):
                stack.append(text)
                last_origin = o
        if stack:
            stacks[c] = stack
    table_scale = _table_scale(view, block[0])
    best: dict[str, MeasureColumn] = {}
    for c, stack in stacks.items():
        found = _match_stack(stack, index)
        if found is None:
            continue
        code, quality = found
        spec = index.measures[code]
        scale, stated = 1, True
        if spec.kind == "money":
            own = _scale_of(stack) or table_scale
            scale, stated = own or spec.default_scale or 1, own is not None
        prev = best.get(code)
        if prev is None or quality > prev.quality:
            best[code] = MeasureColumn(code, c, quality, scale, tuple(stack), stated)
    if not best:
        return None
    return block[0], best


def _is_column_number(text: str) -> bool:
    """A column-number cell ("(1)", "5", "C", "(4)=(2)x(3)"), not a heading."""
    return all(len(w) <= 1 for w in _LETTERS_RE.findall(text))


def _parent_to_the_left(
    view: _SheetView, r: int, c: int, below: int, label_col: int
) -> tuple[tuple[int, int] | None, str]:
    """In an unmerged multi-row header (csv, plain tables) a parent is written once,
    above its first child: an empty cell with a child below inherits it."""
    if not view.text(below, c):
        return None, ""
    for cc in range(c - 1, label_col, -1):
        t = view.text(r, cc)
        if t:
            return (r, cc), t
        if not view.text(below, cc):
            break
    return None, ""


header_scale = memo_short_texts(scale_from_header)


def _scale_of(stack: list[str]) -> int | None:
    for text in reversed(stack):
        s = header_scale(text)
        if s:
            return s
    return None


def _table_scale(view: _SheetView, header_top: int) -> int | None:
    """A table-wide "Đơn vị tính: triệu đồng" line above the header, if any: in the rows
    above it, or in the last lines of text before the table of a PDF or Word document
    (its notes: "Đơn vị tính: hộ; tiền: nghìn đồng" printed right above the table)."""
    for r in range(max(1, header_top - 6), header_top):
        for cell in view.row_text_cells(r):
            if isinstance(cell.value, str) and _UNIT_OF_MEASURE_RE.search(cell.text):
                s = scale_from_header(cell.text)
                if s:
                    return s
    for note in reversed(view.sheet.notes[-_SCALE_NOTES:]):
        if _UNIT_OF_MEASURE_RE.search(note):
            s = scale_from_header(note)
            if s:
                return s
    return None


def _kind_hint(texts: Iterable[str]) -> str | None:
    money = count = False
    for t in texts:
        kind = _text_kind(t)
        money = money or kind == "money"
        count = count or kind == "count"
    if money and not count:
        return "money"
    if count and not money:
        return "count"
    return None


@memo_short_texts
def _text_kind(text: str) -> str | None:
    """ "money" when a header text speaks of money, "count" of people or files."""
    k = f" {match_key(text)} "
    if header_scale(text) or any(h in k for h in _MONEY_HINTS):
        return "money"
    if any(h in k for h in _COUNT_HINTS):
        return "count"
    return None


def _match_stack(stack: list[str], index: FormIndex) -> tuple[str, int] | None:
    """The measure a column's header texts (top to bottom) name, with a quality:
    5 parent+child is a label, 4 one cell is a label, 3 parent+child are the words of
    one label, 2 one cell contains a label, 1 one cell is the words of one label."""
    n = len(stack)
    pairs = [(i, j) for j in range(n - 1, 0, -1) for i in range(j - 1, -1, -1)]
    for i, j in pairs:
        m = index.match_measure(stack[i] + " " + stack[j])
        if m is not None and m[1] == EXACT:
            return m[0], 5
    found = _match_single(stack, index, EXACT)
    if found is not None:
        return (found, 4) if found else None
    for i, j in pairs:
        codes = index.measures_containing(stack[i] + " " + stack[j])
        if len(codes) == 1:
            return codes[0], 3
    found = _match_single(stack, index, CONTAINS)
    if found is not None:
        return (found, 2) if found else None
    for j in range(n - 1, -1, -1):
        hint = _kind_hint(stack[:j])
        codes = index.measures_containing(stack[j], hint)
        if len(codes) == 1:
            return codes[0], 1
    return None


def _match_single(stack: list[str], index: FormIndex, quality: int) -> str | None:
    """The code one header cell names (lowest cell first), with the parents' kind
    deciding between a count and a money measure; "" when that is ambiguous."""
    for j in range(len(stack) - 1, -1, -1):
        m = index.match_measure(stack[j])
        if m is None or m[1] != quality:
            continue
        code = m[0]
        hint = _kind_hint(stack[:j])
        if hint is not None and index.measures[code].kind != hint:
            # "Được phê duyệt" under "Kinh phí (triệu đồng)": the parent decides.
            others = index.measures_containing(stack[j], hint)
            return others[0] if len(others) == 1 else ""
        return code
    return None


def _find_unit_and_date(view: _SheetView, table: Table) -> tuple[str | None, dt.date | None]:
    """ "Đơn vị: ..." and "... tính đến ngày dd/mm/yyyy", above the table first.

    The as-of date is the unit's own line ("Số liệu tính đến ngày ..."); a date inside a
    title ("BÁO CÁO NHANH SỐ LIỆU ĐẾN NGÀY 20/8/2021") is taken only when the sheet has no
    such line at all, filled in or not."""
    unit: str | None = None
    own: dt.date | None = None  # from the first own as-of line that has a date
    has_own = False
    titled: dt.date | None = None  # from the first title-like line that has a date
    texts: list[tuple[str, list[Cell]]] = [(n, []) for n in view.sheet.notes]
    table_rows = {r for r, _, _ in table.rows}
    last = max(table_rows, default=table.first_data_row)
    ordered = sorted(r for r in view.rows if r < table.header_top or last < r <= last + _CONTEXT_ROWS_BELOW)
    for r in ordered:
        cells = view.row_text_cells(r)
        for i, cell in enumerate(cells):
            if isinstance(cell.value, str):
                texts.append((cell.text, cells[i + 1 :]))
    lines = [(line, right) for text, right in texts for line in unify_d(text).splitlines() or [text]]
    for n, (line, right) in enumerate(lines):
        if unit is None:
            m = _UNIT_RE.match(line)
            if m:
                value = m.group(1).strip() or _next_text(right)
                if value and not scale_from_header(value) and not _is_measure_unit(value):
                    unit = _tidy_unit(value)
        if own is not None:
            if unit is not None:
                break
            continue
        m = _AS_OF_RE.search(line)
        if m is None:
            continue
        # a title broken after "đến ngày" (a PDF's wrapped line): its date opens the next line
        after = lines[n + 1][0] if n + 1 < len(lines) and _BROKEN_AS_OF_RE.fullmatch(m.group(1)) else ""
        if _is_own_as_of_line(line, m.start()):
            has_own = True
            own = _date_from(line, right, after)
        elif titled is None:
            titled = _date_from(line, right, after)
    return unit, own if has_own else titled


# Words that may stand before "tính đến" on an as-of line of its own: "Số liệu", and the
# stray letters OCR leaves at the edge of a scan ("ị Số liệu ...", "| __ Sđ liệu ...").
_AS_OF_LEAD_WORDS = frozenset({"số", "liệu", "so", "lieu"})


def _is_own_as_of_line(line: str, start: int) -> bool:
    """Whether the as-of phrase starting at `start` begins its line ("(Số liệu tính đến
    ngày ...)", also after "Đơn vị: ..." on the same line) rather than ending a title
    ("BÁO CÁO NHANH SỐ LIỆU ĐẾN NGÀY 20/8/2021")."""
    if _UNIT_RE.match(line):
        return True
    lead = _LETTERS_RE.findall(line[:start])
    return all(len(w) <= 2 or w.casefold() in _AS_OF_LEAD_WORDS for w in lead)


def _is_measure_unit(value: str) -> bool:
    return match_key(value) in {"người", "đồng", "hộ", "lượt", "người đồng", "hồ sơ"}


_UNIT_END_RE = re.compile(r"\s{3,}|\t|\(?\s*(?:số\s+liệu|tính\s+đến|ngày\s+\d)", re.I)


def _tidy_unit(value: str) -> str:
    """The unit as written, without what follows it on the same line ("Đơn vị: UBND xã
    A      Số liệu tính đến ngày ..." keeps "UBND xã A")."""
    value = _UNIT_END_RE.split(unify_d(value), maxsplit=1)[0]
    return fold_spaces(value).strip(" .;,-–")


def _next_text(cells: list[Cell]) -> str:
    for cell in cells:
        if cell.text.strip():
            return cell.text.strip()
    return ""


# what may end a line broken after its as-of phrase ("... tính đến ngày", "ĐẾN HẾT NGÀY:")
_BROKEN_AS_OF_RE = re.compile(r"\s*(?:hết\s+)?(?:ngày)?\s*:?\s*", re.I)
_DATE_FIRST_RE = re.compile(
    r"\W*\d{1,2}\s*(?:[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{2,4}|tháng\s+\d{1,2}\s+năm\s+\d{4})(?!\d)", re.I
)


def _date_from(line: str, right: list[Cell], after: str = "") -> dt.date | None:
    got = parse_vn_date(line)
    if got is not None:
        return got
    for cell in right:
        if isinstance(cell.value, dt.datetime):
            return cell.value.date()
        if isinstance(cell.value, dt.date):
            return cell.value
        if cell.text.strip():
            return parse_vn_date(cell.text)
    first = _DATE_FIRST_RE.match(after)
    if first:
        return parse_vn_date(first.group(0))
    return None


def choose_table(tables: list[Table], report_day: dt.date | None) -> tuple[Table, str]:
    visible = [t for t in tables if not t.sheet.is_hidden] or tables
    if report_day is not None:
        for t in visible:
            try:
                named = parse_day_month(t.sheet.name, report_day.year)
            except Exception:  # a strange sheet name is no reason to fail the file
                named = None
            if named == report_day:
                return t, "day_name"
        for t in visible:
            if t.as_of == report_day:
                return t, "day_date"
    if len(visible) == 1:
        return visible[0], "only"
    for t in visible:
        if t.sheet.is_active:
            return t, "active"
    return visible[0], "first"
