"""Read the report out of one attachment: find the table, its figures and problems.

`read_attachment` never raises: whatever the bytes, it returns an AttachmentResult
whose problems say, with stable codes, what could not be read and where.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import operator
import re
import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Iterable, Mapping, TypeVar

from parsers.grid import Cell, Grid, GridError, Sheet, coordinate, read_grid
from parsers.model import (
    AttachmentResult,
    FormSpec,
    IndicatorSpec,
    MeasureSpec,
    Problem,
)
from parsers.numbers import (
    FigureError,
    parse_day_month,
    parse_figure_with_unit,
    parse_vn_date,
    scale_from_header,
    to_dong,
)
from parsers.sniff import READABLE_FORMATS, sniff_format
from parsers.vntext import fold_spaces, normalize_label, unify_d

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_NON_WORD_RE = re.compile(r"[\W_]+")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_PARENS_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_TOTAL_RE = re.compile(
    r"^(?:tổng cộng|tổng số|tổng|cộng|total|sum)(?: chung| toàn bộ| các| toàn)?"
    r"(?: [ivxlcdm]+| \d+| [a-zđ])*$"
)
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
_CONTEXT_ROWS_BELOW = 30  # rows after the table searched for "Đơn vị"/"tính đến ngày"
_MATCH_CACHE_MAX = 20_000

# Every problem code the attachment reader emits (sentences: templates/problems.*.toml).
PROBLEM_CODES = (
    "file_unreadable", "unsupported_format", "html_disguised", "encrypted_file", "empty_file",
    "unsafe_file", "no_table_found", "not_a_number", "formula_no_value", "fractional_count",
    "negative_value", "check_failed", "duplicate_indicator", "over_limit",
)

# The problems that say one figure is no valid value: a count that is not whole, a
# negative, text or a formula with no value. Such a figure stays in the unit's row,
# flagged, and is left out of the totals (service.dayview); each names its cell by
# `indicator_code` and `measure_code`. A failed check between measures (check_failed)
# flags figures that are each valid: they count.
FIGURE_FORMAT_PROBLEMS = frozenset({"not_a_number", "formula_no_value", "fractional_count", "negative_value"})

EXACT, CONTAINS, CONTAINED = 3, 2, 1
_TOTAL = ("__total__", 0)


def _memo_short_texts(fn: Callable[[str], _T]) -> Callable[[str], _T]:
    """Memoise `fn` for texts of label size: the same header and label texts come back
    in every report of a campaign, and table finding asks about each many times over.
    Long texts are not kept, so a hostile sheet cannot fill the memory."""
    cached = functools.lru_cache(maxsize=8192)(fn)

    @functools.wraps(fn)
    def call(text: str) -> _T:
        return cached(text) if len(text) <= 300 else fn(text)
    return call


@_memo_short_texts
def match_key(text: str) -> str:
    """The key two labels are compared by: normalize_label, then punctuation as spaces."""
    return " ".join(_NON_WORD_RE.sub(" ", normalize_label(text)).split())


@_memo_short_texts
def _key_variants(text: str) -> tuple[str, ...]:
    """The label's key, and its key with parenthesised asides removed
    ("Số tiền đã chi (đồng)" is "Số tiền đã chi")."""
    full = match_key(text)
    if "(" not in text and "[" not in text:
        return (full,) if full else ()
    bare = match_key(_PARENS_RE.sub(" ", text))
    if bare and bare != full:
        return (full, bare)
    return (full,) if full else ()


def _contains_words(haystack: str, needle: str) -> bool:
    return f" {needle} " in f" {haystack} "


# --------------------------------------------------------------------------- index


class FormIndex:
    """Normalised keys of one FormSpec, built once (cached per FormSpec)."""

    def __init__(self, form: FormSpec) -> None:
        self.form = form
        self.indicators: dict[str, IndicatorSpec] = {i.code: i for i in form.indicators}
        self.measures: dict[str, MeasureSpec] = {m.code: m for m in form.measures}
        self.ind_exact: dict[str, set[str]] = {}
        ind_keys: set[tuple[str, str]] = set()
        for ind in form.indicators:
            for text in (ind.label, *ind.aliases):
                for k in _key_variants(text):
                    self.ind_exact.setdefault(k, set()).add(ind.code)
                    ind_keys.add((k, ind.code))
        self.ind_keys = tuple(sorted(ind_keys, key=lambda kc: (-len(kc[0]), kc[0], kc[1])))
        self.meas_exact: dict[str, set[str]] = {}
        meas_keys: set[tuple[str, str]] = set()
        for m in form.measures:
            for text in (m.label, *m.aliases):
                for k in _key_variants(text):
                    self.meas_exact.setdefault(k, set()).add(m.code)
                    meas_keys.add((k, m.code))
        self.meas_keys = tuple(sorted(meas_keys, key=lambda kc: (-len(kc[0]), kc[0], kc[1])))
        self.codes: dict[str, str] = {i.code.strip().casefold(): i.code for i in form.indicators}
        self._ind_cache: dict[str, tuple[str, int] | None] = {}
        self._meas_cache: dict[str, tuple[str, int] | None] = {}
        self._containing_cache: dict[tuple[str, str | None], tuple[str, ...]] = {}

    # -- indicators

    def match_indicator(self, text: str) -> tuple[str, int] | None:
        """(code, quality) for a label cell, `_TOTAL` for a total row, None otherwise."""
        got = self._ind_cache.get(text, False)
        if got is not False:
            return got  # type: ignore[return-value]
        got = self._match_indicator(text)
        if len(self._ind_cache) < _MATCH_CACHE_MAX:
            self._ind_cache[text] = got
        return got

    def _match_indicator(self, text: str) -> tuple[str, int] | None:
        variants = _key_variants(text)
        if not variants:
            return None
        for v in variants:
            codes = self.ind_exact.get(v)
            if codes:
                return (next(iter(codes)), EXACT) if len(codes) == 1 else None
        if any(_TOTAL_RE.match(v) for v in variants):
            return _TOTAL
        # The cell says more than a known label: the most specific (longest) key wins.
        for v in variants:
            hit = _longest_contained(v, self.ind_keys)
            if hit is not None:
                return (hit, CONTAINS) if hit else None
        # The cell is a shortened label: only when one indicator fits and it is not a
        # generic fragment ("Hỗ trợ người lao động" fits several: no match).
        for v in variants:
            if len(v) < 8 or " " not in v:
                continue
            hits = {code for key, code in self.ind_keys
                    if len(key) > len(v) and _contains_words(key, v)}
            if len(hits) == 1:
                return (hits.pop(), CONTAINED)
            if hits:
                return None
        return None

    def match_code(self, text: str) -> str | None:
        return self.codes.get(text.strip().casefold())

    # -- measures

    def match_measure(self, text: str) -> tuple[str, int] | None:
        """(code, quality) for one header text: EXACT or CONTAINS, None if none/ambiguous."""
        got = self._meas_cache.get(text, False)
        if got is not False:
            return got  # type: ignore[return-value]
        got = None
        variants = _key_variants(text)
        for v in variants:
            codes = self.meas_exact.get(v)
            if codes:
                got = (next(iter(codes)), EXACT) if len(codes) == 1 else None
                break
        else:
            for v in variants:
                hit = _longest_contained(v, self.meas_keys)
                if hit is not None:
                    got = (hit, CONTAINS) if hit else None
                    break
        if len(self._meas_cache) < _MATCH_CACHE_MAX:
            self._meas_cache[text] = got
        return got

    def measures_containing(self, text: str, kind: str | None = None) -> list[str]:
        """Measures (of `kind`, if given) one of whose labels holds the words of `text`
        in order: "Số đối tượng phê duyệt" fits "Số đối tượng được phê duyệt"."""
        got = self._containing_cache.get((text, kind))
        if got is None:
            got = self._measures_containing(text, kind)
            if len(self._containing_cache) < _MATCH_CACHE_MAX:
                self._containing_cache[(text, kind)] = got
        return list(got)

    def _measures_containing(self, text: str, kind: str | None) -> tuple[str, ...]:
        out: set[str] = set()
        for v in _key_variants(text):
            if len(v) < 6:
                continue
            words = v.split()
            for key, code in self.meas_keys:
                if kind is not None and self.measures[code].kind != kind:
                    continue
                if _words_in_order(words, key.split()):
                    out.add(code)
        return tuple(sorted(out))


def _words_in_order(words: list[str], key_words: list[str]) -> bool:
    it = iter(key_words)
    return all(any(w == k for k in it) for w in words)


def _longest_contained(v: str, keys: tuple[tuple[str, str], ...]) -> str | None:
    """Code of the longest key contained (as whole words) in v; "" when the longest
    length is shared by different codes (ambiguous); None when nothing is contained."""
    padded = f" {v} "
    best_len, best_codes = 0, set()
    for key, code in keys:  # longest first
        if len(key) > len(v) or (best_len and len(key) < best_len):
            if best_len and len(key) < best_len:
                break
            continue
        if f" {key} " in padded:
            best_len = len(key)
            best_codes.add(code)
    if not best_codes:
        return None
    return best_codes.pop() if len(best_codes) == 1 else ""


@functools.lru_cache(maxsize=16)
def form_index(form: FormSpec) -> FormIndex:
    return FormIndex(form)


# --------------------------------------------------------------------------- table


@dataclass
class MeasureColumn:
    measure: str
    col: int
    quality: int
    scale: int  # đồng per unit for money; 1 for counts
    headers: tuple[str, ...]


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


def _find_tables(sheet: Sheet, index: FormIndex) -> Table | None:
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
        if m is None or m is _TOTAL:
            continue
        ind_matches[(r, c)] = m
        col_score[c] = col_score.get(c, 0) + m[1]
    code_col = _pick_code_column(code_hits, view)
    if not col_score and code_col is None:
        return None
    if col_score:
        label_col = min(col_score, key=lambda c: (-col_score[c], c))
    else:
        label_col = code_col  # type: ignore[assignment]
    by_row: dict[int, tuple[str, int]] = {}
    for r, row in view.rows.items():
        cell = row.get(label_col)
        if cell is None or not isinstance(cell.value, str):
            continue
        m = ind_matches.get((r, label_col)) or index.match_indicator(cell.text)
        if m is not None and m is not _TOTAL:
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
        table.unit_text, table.as_of = _find_unit_and_date(view, table)
        return table
    return None


def _pick_code_column(code_hits: dict[int, dict[int, str]], view: _SheetView) -> int | None:
    best, best_n = None, 0
    for c, hits in code_hits.items():
        codes_have_letters = all(not code.isdigit() for code in hits.values())
        first = min(hits)
        header_says_code = any(
            match_key(view.text(r, c)) in _CODE_HEADERS for r in range(max(1, first - 4), first)
        )
        if not (codes_have_letters or header_says_code):
            continue
        if len(hits) > best_n:
            best, best_n = c, len(hits)
    return best


def _read_header(view: _SheetView, index: FormIndex, first_data_row: int, label_col: int,
                 code_col: int | None) -> tuple[int, dict[str, MeasureColumn]] | None:
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
    fill_right = not any(
        r1 <= block[-1] and r2 >= block[0] for r1, _, r2, _ in view.sheet.merged
    )
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
        scale = 1
        if spec.kind == "money":
            scale = _scale_of(stack) or table_scale or spec.default_scale or 1
        prev = best.get(code)
        if prev is None or quality > prev.quality:
            best[code] = MeasureColumn(code, c, quality, scale, tuple(stack))
    if not best:
        return None
    return block[0], best


def _is_column_number(text: str) -> bool:
    """A column-number cell ("(1)", "5", "C", "(4)=(2)x(3)"), not a heading."""
    return all(len(w) <= 1 for w in _LETTERS_RE.findall(text))


def _parent_to_the_left(view: _SheetView, r: int, c: int, below: int, label_col: int
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


_header_scale = _memo_short_texts(scale_from_header)


def _scale_of(stack: list[str]) -> int | None:
    for text in reversed(stack):
        s = _header_scale(text)
        if s:
            return s
    return None


def _table_scale(view: _SheetView, header_top: int) -> int | None:
    """A table-wide "Đơn vị tính: triệu đồng" line above the header, if any."""
    for r in range(max(1, header_top - 6), header_top):
        for cell in view.row_text_cells(r):
            if isinstance(cell.value, str) and _UNIT_OF_MEASURE_RE.search(cell.text):
                s = scale_from_header(cell.text)
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


@_memo_short_texts
def _text_kind(text: str) -> str | None:
    """"money" when a header text speaks of money, "count" of people or files."""
    k = f" {match_key(text)} "
    if _header_scale(text) or any(h in k for h in _MONEY_HINTS):
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
    """"Đơn vị: ..." and "... tính đến ngày dd/mm/yyyy", above the table first."""
    unit: str | None = None
    as_of: dt.date | None = None
    texts: list[tuple[str, list[Cell]]] = [(n, []) for n in view.sheet.notes]
    table_rows = {r for r, _, _ in table.rows}
    last = max(table_rows, default=table.first_data_row)
    ordered = sorted(r for r in view.rows
                     if r < table.header_top or last < r <= last + _CONTEXT_ROWS_BELOW)
    for r in ordered:
        cells = view.row_text_cells(r)
        for i, cell in enumerate(cells):
            if isinstance(cell.value, str):
                texts.append((cell.text, cells[i + 1:]))
    for text, right in texts:
        for line in unify_d(text).splitlines() or [text]:
            if unit is None:
                m = _UNIT_RE.match(line)
                if m:
                    value = m.group(1).strip() or _next_text(right)
                    if value and not scale_from_header(value) and not _is_measure_unit(value):
                        unit = _tidy_unit(value)
            if as_of is None:
                if _AS_OF_RE.search(line):
                    as_of = _date_from(line, right)
        if unit is not None and as_of is not None:
            break
    return unit, as_of


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


def _date_from(line: str, right: list[Cell]) -> dt.date | None:
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
    return None


# --------------------------------------------------------------------------- figures


_OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
    "==": operator.eq, "!=": operator.ne,
}


def _tidy(value: Decimal) -> Decimal:
    if value.is_finite() and value == value.to_integral_value():
        return Decimal(int(value))
    return value


@dataclass
class _Reading:
    filename: str
    sheet: str
    values: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    cells: dict[tuple[str, str], str] = field(default_factory=dict)  # (ind, measure) -> coord
    problems: list[Problem] = field(default_factory=list)

    def problem(self, code: str, **params: str | None) -> None:
        p = {"file": self.filename, "sheet": self.sheet}
        p.update({k: str(v) for k, v in params.items() if v is not None})
        self.problems.append(Problem(code, p))


def _read_figure(cell: Cell, kind: str, reading: _Reading, ind: IndicatorSpec,
                 measure: MeasureSpec) -> tuple[Decimal | None, int | None]:
    """The figure in `cell` and the money scale the cell itself states ("500 triệu"),
    or (None, None) for no value; a problem is recorded for anything unreadable."""
    common = {"cell": cell.coordinate, "indicator": ind.label, "measure": measure.label,
              "indicator_code": ind.code, "measure_code": measure.code}
    if cell.is_formula_without_value:
        reading.problem("formula_no_value", **common)
        return None, None
    value = cell.value
    if isinstance(value, Decimal):
        return value, None
    if isinstance(value, str):
        try:
            return parse_figure_with_unit(value, kind)  # type: ignore[arg-type]
        except FigureError as exc:
            reading.problem("not_a_number", text=cell.text, detail=getattr(exc, "reason", ""),
                            **common)
            return None, None
    reading.problem("not_a_number", text=cell.text, detail="wrong_type", **common)
    return None, None


@dataclass
class _Row:
    row: int
    quality: int
    values: dict[str, Decimal]
    cells: dict[str, str]
    problems: list[Problem]


def _read_values(table: Table, index: FormIndex, reading: _Reading) -> None:
    """Fill reading.values/cells/problems from the table's indicator rows."""
    covered = set()
    for r1, c1, r2, c2 in table.sheet.merged:
        if (r2 - r1 + 1) * (c2 - c1 + 1) <= 10_000:
            covered.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                           if (r, c) != (r1, c1))
    chosen: dict[str, _Row] = {}
    duplicates: list[Problem] = []
    for row, code, quality in table.rows:
        ind = index.indicators[code]
        sub = _Reading(reading.filename, reading.sheet)
        values: dict[str, Decimal] = {}
        cells: dict[str, str] = {}
        for mcode, mcol in table.columns.items():
            if (row, mcol.col) in covered:
                continue
            cell = table.sheet.cells.get((row, mcol.col))
            if cell is None:
                continue
            spec = index.measures[mcode]
            value, cell_scale = _read_figure(cell, spec.kind, sub, ind, spec)
            if value is None:
                continue
            common = {"cell": cell.coordinate, "indicator": ind.label, "measure": spec.label,
                      "indicator_code": ind.code, "measure_code": spec.code, "text": cell.text}
            if value < 0:
                sub.problem("negative_value", **common)
            if spec.kind == "count":
                if value != value.to_integral_value():
                    sub.problem("fractional_count", **common)
                value = _tidy(value)
            else:
                value = _tidy(to_dong(value, cell_scale or mcol.scale))
            values[mcode] = value
            cells[mcode] = cell.coordinate
        if not values and not sub.problems:
            continue  # an empty row, or a group heading that merely mentions an indicator
        prev = chosen.get(code)
        if prev is None or quality > prev.quality:
            # a weaker earlier match (a heading with subtotals) gives way to the real row
            chosen[code] = _Row(row, quality, values, cells, sub.problems)
        elif quality == prev.quality:
            duplicates.append(Problem("duplicate_indicator", {
                "file": reading.filename, "sheet": reading.sheet, "indicator": ind.label,
                "cell": coordinate(row, table.label_col),
                "detail": coordinate(prev.row, table.label_col)}))
    for code, r in sorted(chosen.items(), key=lambda kv: kv[1].row):
        reading.problems.extend(r.problems)
        if r.values:
            reading.values[code] = r.values
            for mcode, coord in r.cells.items():
                reading.cells[(code, mcode)] = coord
    reading.problems.extend(duplicates)


def _run_checks(form: FormSpec, index: FormIndex, reading: _Reading) -> None:
    for code, row in reading.values.items():
        for check in form.checks:
            left, right = row.get(check.left), row.get(check.right)
            op = _OPS.get(check.op)
            if left is None or right is None or op is None:
                continue
            if not op(left, right):
                ind = index.indicators.get(code)
                cells = [reading.cells.get((code, m), "") for m in (check.left, check.right)]
                reading.problem(
                    "check_failed",
                    indicator=ind.label if ind else code,
                    cell=", ".join(c for c in cells if c),
                    detail=check.message,
                    rule=check.rule or f"{check.left} {check.op} {check.right}",
                    text=f"{_measure_label(index, check.left)}: {_plain(left)}; "
                         f"{_measure_label(index, check.right)}: {_plain(right)}",
                )


def _measure_label(index: FormIndex, code: str) -> str:
    spec = index.measures.get(code)
    return spec.label if spec else code


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --------------------------------------------------------------------------- choice


def _choose(tables: list[Table], report_day: dt.date | None) -> tuple[Table, str]:
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


# --------------------------------------------------------------------------- entry

_EVIDENCE_OUTCOME = "evidence"


def read_attachment(filename: str, content_type: str, data: bytes, form: FormSpec,
                    report_day: dt.date | None) -> AttachmentResult:
    """Read one attachment into figures and problems. Never raises."""
    fmt = "unknown"
    try:
        fmt = sniff_format(data, filename, content_type)
        return _read(filename, fmt, data, form, report_day)
    except Exception as exc:  # the boundary: any failure is a named problem, not a crash
        log.debug("could not read attachment %r (%s)", filename, fmt, exc_info=True)
        return AttachmentResult(
            filename=filename, detected_format=fmt, outcome="unreadable",
            problems=(Problem("file_unreadable", {"file": filename,
                                                  "error": type(exc).__name__,
                                                  "detail": str(exc)[:200]}),),
        )


def _read(filename: str, fmt: str, data: bytes, form: FormSpec,
          report_day: dt.date | None) -> AttachmentResult:
    def unreadable(*problems: Problem) -> AttachmentResult:
        return AttachmentResult(filename=filename, detected_format=fmt, outcome="unreadable",
                                problems=tuple(problems))

    if fmt == "empty":
        return unreadable(Problem("empty_file", {"file": filename}))
    if fmt == "html":
        return unreadable(Problem("html_disguised", {"file": filename}))
    if fmt == "encrypted":
        return unreadable(Problem("encrypted_file", {"file": filename}))
    if fmt not in READABLE_FORMATS:
        return AttachmentResult(
            filename=filename, detected_format=fmt, outcome=_EVIDENCE_OUTCOME,
            problems=(Problem("unsupported_format", {"file": filename, "format": fmt}),),
        )
    limits = form.limits
    if len(data) > limits.max_attachment_bytes:
        return unreadable(Problem("over_limit", {"file": filename, "limit": "attachment_bytes",
                                                 "detail": str(limits.max_attachment_bytes)}))
    try:
        grid: Grid = read_grid(data, fmt, limits, filename)
    except GridError as exc:
        return unreadable(exc.problem)
    index = form_index(form)
    tables = [t for t in (_find_tables(s, index) for s in grid.sheets) if t is not None]
    if not tables:
        return unreadable(*grid.problems, Problem("no_table_found", {"file": filename}))
    table, reason = _choose(tables, report_day)
    reading = _Reading(filename, table.sheet.name)
    _read_values(table, index, reading)
    _run_checks(form, index, reading)
    problems = list(grid.problems) + reading.problems
    return AttachmentResult(
        filename=filename,
        detected_format=fmt,
        outcome="read",
        values={k: dict(v) for k, v in reading.values.items()},
        problems=tuple(problems),
        unit_text=table.unit_text,
        as_of=table.as_of,
        sheet=table.sheet.name,
        sheet_reason=reason,
    )


# --------------------------------------------------------------------------- sentences


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def render_problem(problem: Problem, sentences: Mapping[str, str]) -> str:
    """The sentence for `problem` in the language of `sentences` (problems.<lang>.toml).

    A parameter whose value has its own entry `<param>_<value>` (e.g. limit_rows,
    format_pdf) is shown translated. Missing parameters render empty; never raises.
    """
    try:
        params = _Blank()
        for k, v in (problem.params or {}).items():
            v = "" if v is None else str(v)
            translated = sentences.get(f"{k}_{v}") if v else None
            params[str(k)] = translated if isinstance(translated, str) else v
        template = sentences.get(problem.code)
        if not isinstance(template, str):
            template = sentences.get("unknown_problem")
        if not isinstance(template, str):
            details = ", ".join(f"{k}={v}" for k, v in params.items() if v)
            return f"{problem.code}: {details}" if details else problem.code
        return _format_safely(template, params)
    except Exception:  # rendering must never take the digest down
        return str(getattr(problem, "code", "problem"))


def _format_safely(template: str, params: Mapping[str, str]) -> str:
    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:  # unbalanced braces in a hand-edited sentence
        return template
    for literal, name, _spec, _conv in parsed:
        out.append(literal)
        if name is not None:
            out.append(params.get(name.strip(), "") if name.strip().isidentifier() else "")
    return "".join(out)
