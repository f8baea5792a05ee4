"""The superior's form read in reverse: which of its empty cells take which figure.

The superior's own template (`[upward] template`) is found the way a unit's report is
read (`tables.find_table`: the label column, the merged multi-row header, aliases, the
money scale each header states), with the form's indicators as rows, or with the units
as rows (one row per commune or department, matched by name and aliases). Each cell
to fill is a `Slot`; every row or column that matches nothing, or matches what another
one does, is a `Miss` naming its cell, never a guess. The date lines of the form
("tính đến ngày ...", "từ ngày ... đến ngày ...", "..., ngày ... tháng ... năm ...")
are filled by `fill_date_line`. Pure: cells in, plain data out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from parsers.model import FormSpec, IndicatorSpec
from parsers.readers import Sheet, coordinate
from parsers.report.matching import CONTAINS, EXACT, TOTAL, FormIndex, form_index, match_key
from parsers.report.tables import (
    _UNIT_OF_MEASURE_RE,
    Table,
    _is_column_number,
    _match_stack,
    _scale_of,
    _SheetView,
    _table_scale,
    find_table,
)
from parsers.vntext import nfc, unify_d

_T = TypeVar("_T")
Shape = Literal["indicators", "units"]
MissCode = Literal["row", "column", "duplicate_row", "duplicate_column", "column_indicators"]
# What a column split under a measure holds: the period's own figure ("Trong kỳ", "Kỳ
# này", "Tuần này") or the running total to date ("Lũy kế", "Từ đầu năm", "Cộng dồn").
Span = Literal["period", "to_date"]

# Headings of columns that never hold a figure of the form (not listed as unmatched).
_NOT_FIGURES = frozenset(
    match_key(t)
    for t in (
        "STT",
        "TT",
        "Số TT",
        "Số thứ tự",
        "Ghi chú",
        "Đơn vị tính",
        "ĐVT",
        "Mã",
        "Mã số",
        "Nội dung",
        "Tên đơn vị",
        "Đơn vị",
        "Chỉ tiêu",
    )
)
_ROMAN_OR_LETTER_RE = re.compile(r"^(?:[IVXLC]+|[A-ZĐ])[.)]?$")
_ROMAN_PREFIX_RE = re.compile(r"^(?:[IVXLC]+|[A-ZĐ])[.)]\s")
_END_OF_TABLE_RE = re.compile(
    r"người\s+lập|thủ\s+trưởng|nơi\s+nhận|ngày\s*[.…_\d\s]*tháng|kính\s+gửi|giám\s+đốc|chủ\s+tịch", re.I
)
_MAX_TABLE_ROWS = 2_000


def _terms_re(terms: Iterable[str]) -> re.Pattern[str]:
    keys = sorted({match_key(t) for t in terms}, key=len, reverse=True)
    return re.compile(r"(?:^|\s)(?:" + "|".join(re.escape(k) for k in keys) + r")(?=\s|$)")


# Column headings (compared by match_key) that split a measure into the period's figure
# and the figure to date; a heading that only says this is no part of the measure's name.
_PERIOD_RE = _terms_re(
    (
        "trong kỳ",
        "kỳ này",
        "kỳ báo cáo",
        "phát sinh trong kỳ",
        "số phát sinh trong kỳ",
        "thực hiện trong kỳ",
        "tuần này",
        "trong tuần",
        "thực hiện trong tuần",
        "tháng này",
        "trong tháng",
        "thực hiện trong tháng",
        "quý này",
        "trong quý",
        "trong ngày",
        "ngày này",
        "hôm nay",
    )
)
_TO_DATE_RE = _terms_re(
    (
        "lũy kế",
        "luỹ kế",
        "lũy kế từ đầu năm",
        "lũy kế đến nay",
        "lũy kế từ đầu năm đến nay",
        "cộng dồn",
        "cộng dồn từ đầu năm",
        "từ đầu năm",
        "từ đầu năm đến nay",
        "từ đầu năm đến hết kỳ báo cáo",
        "từ đầu kỳ",
        "từ đầu đợt",
        "từ đầu chiến dịch",
        "tính đến nay",
        "đến nay",
    )
)


def _span_of(text: str) -> tuple[Span | None, str]:
    """Whether a column heading names the period or the figure to date, and what is left
    of it once that is taken out ("Số tiền đã chi lũy kế" is "Số tiền đã chi", to date)."""
    key = match_key(text)
    for span, pattern in (("to_date", _TO_DATE_RE), ("period", _PERIOD_RE)):
        m = pattern.search(key)
        if m:
            rest = " ".join((key[: m.start()] + " " + key[m.end() :]).split())
            return span, rest  # type: ignore[return-value]
    return None, text


def _split_span(stack: Sequence[str]) -> tuple[Span | None, list[str]]:
    """The span the lowest heading of a column names that has one, and the stack without
    those words (a heading that only says it is dropped)."""
    span: Span | None = None
    out: list[str] = []
    for text in stack:
        found, rest = _span_of(text)
        if found is None:
            out.append(text)
            continue
        span = found
        if rest and match_key(rest) not in _BARE_SPAN_LEFTOVERS:
            out.append(text if rest == match_key(text) else rest)
    return span, out


_BARE_SPAN_LEFTOVERS = frozenset(match_key(t) for t in ("số", "số liệu", "thực hiện", "kết quả", "tổng", "tổng số"))
# A total row that says more ("Tổng cộng toàn thành phố", "Cộng các xã", "Toàn huyện"), when it
# names no indicator; not a row that only begins like one ("Cộng đồng dân cư", "Tổng số hộ nghèo").
_TOTAL_START_RE = re.compile(
    r"^(?:(?:tổng cộng|tổng số|tổng|cộng)(?:\s+(?:toàn|chung|các|cả)(?:\s.*)?)?"
    r"|toàn (?:huyện|thành phố|thị xã|quận|tỉnh|xã|phường|thị trấn|ngành))$"
)
_IN_WHICH_RE = re.compile(r"^trong\s+đó\s*:?\s*")


def _in_which(text: str) -> str:
    """What a "Trong đó: đã cấp" heading names after "Trong đó", or "" for any other."""
    key = unify_d(nfc(text)).strip()
    m = _IN_WHICH_RE.match(key.casefold())
    return key[m.end() :].strip() if m else ""


@dataclass(frozen=True)
class Slot:
    """One cell of the form to fill: the row's indicator or unit code (None on a total
    row), the measure, the scale the column states (đồng per unit), and in the units
    shape the indicators the column adds up (None: all of them)."""

    row: int
    col: int
    row_key: str | None
    measure: str
    scale: int
    indicators: tuple[str, ...] | None = None
    span: Span | None = None  # a column split into the period's figure and the figure to date

    @property
    def coordinate(self) -> str:
        return coordinate(self.row, self.col)


@dataclass(frozen=True)
class Miss:
    """A row or column of the form that is not filled, and why (`code`)."""

    code: MissCode
    row: int
    col: int
    text: str

    @property
    def coordinate(self) -> str:
        return coordinate(self.row, self.col)


@dataclass(frozen=True)
class Layout:
    """Where the figures go in one sheet (or one Word table) of the superior's form."""

    sheet: str
    shape: Shape
    slots: tuple[Slot, ...]
    misses: tuple[Miss, ...]
    row_keys: frozenset[str]  # the indicators or units that have a row
    header_rows: tuple[int, int]  # first and last row of the header block
    last_row: int  # the last row of the table
    scope: tuple[str, ...] | None = None  # units shape: the indicators named above the table
    score: int = 0  # rows matched
    # What the lines right above the table say it holds ("I. Số liệu trong tuần", "II. Lũy
    # kế từ đầu năm"): used to tell apart two tables that are otherwise the same.
    title_span: Span | None = None
    # Each filled column's lowest heading cell and its headings (" / "), by column.
    heads: tuple[tuple[int, int, str], ...] = ()

    def head(self, col: int) -> tuple[int, int, str]:
        return next((h for h in self.heads if h[1] == col), (self.header_rows[1], col, ""))

    @property
    def filled_rows(self) -> int:
        return len({s.row for s in self.slots})


_PEOPLES_COMMITTEE_RE = re.compile(r"^(?:ubnd|ủy ban nhân dân|uỷ ban nhân dân)\s+", re.I)
# Kinds of local units as forms abbreviate them ("P. Sông Cầu", "UBND TT. Chợ Mới").
_KIND_ABBREVIATIONS = {
    "phường": ("P.",),
    "xã": ("X.",),
    "thị trấn": ("TT.", "TT"),
    "thị xã": ("TX.", "TX"),
    "thành phố": ("TP.", "TP"),
    "quận": ("Q.",),
    "huyện": ("H.",),
}


def unit_name_variants(name: str) -> tuple[str, ...]:
    """How a form may write a local unit's name: with or without "UBND" ("Ủy ban nhân
    dân"), with its kind abbreviated ("UBND phường Sông Cầu", "Phường Sông Cầu",
    "P. Sông Cầu", "UBND P. Sông Cầu")."""
    core = _PEOPLES_COMMITTEE_RE.sub("", nfc(name).strip())
    lowered = core.casefold()
    local = core != nfc(name).strip() or any(lowered.startswith(k + " ") for k in _KIND_ABBREVIATIONS)
    out = [core, f"UBND {core}", f"Ủy ban nhân dân {core}"] if local else []
    for kind, shorts in _KIND_ABBREVIATIONS.items():
        if lowered.startswith(kind + " "):
            place = core[len(kind) + 1 :].strip()
            for short in shorts:
                out.extend((f"{short} {place}", f"UBND {short} {place}"))
            break
    return tuple(v for v in dict.fromkeys(out) if match_key(v) != match_key(name))


def unit_specs(units: Iterable[tuple[str, str, Sequence[str]]]) -> tuple[IndicatorSpec, ...]:
    """Units (code, name, aliases) as the rows a form may list, each name also as forms
    abbreviate it (`unit_name_variants`)."""
    return tuple(
        IndicatorSpec(code, name, tuple(dict.fromkeys((*aliases, *unit_name_variants(name)))))
        for code, name, aliases in units
    )


def find_layout(
    sheet: Sheet, form: FormSpec, units: Sequence[IndicatorSpec] = (), headings: Iterable[str] = ()
) -> Layout | None:
    """The form's table in `sheet` with the indicators or the units as rows (whichever
    matches more rows), or None when neither is there. `headings` are group names
    (of indicators or units) a row may carry without being a row of figures."""
    candidates: list[tuple[int, int, Shape, Table, FormIndex]] = []
    shapes: list[tuple[Shape, FormSpec]] = [("indicators", form)]
    if units:
        shapes.append(("units", FormSpec(measures=form.measures, indicators=tuple(units), limits=form.limits)))
    for order, (shape, spec) in enumerate(shapes):
        index = form_index(spec)
        table = find_table(sheet, index)
        if table is not None:
            candidates.append((len({code for _, code, _ in table.rows}), -order, shape, table, index))
    if not candidates:
        return None
    score, _, shape, table, index = max(candidates, key=lambda c: (c[0], c[1]))
    return _layout(sheet, shape, table, index, form_index(form), frozenset(match_key(h) for h in headings), score)


# ---------------------------------------------------------------------------------- the table


@dataclass
class _Column:
    col: int
    stack: tuple[str, ...]
    bottom: tuple[int, int]  # the origin of its lowest heading cell
    measure: str | None = None
    quality: int = 0
    scale: int = 1
    indicators: tuple[str, ...] | None = None
    span: Span | None = None


def _layout(
    sheet: Sheet,
    shape: Shape,
    table: Table,
    index: FormIndex,
    indicators: FormIndex,
    headings: frozenset[str],
    score: int,
) -> Layout:
    view = _SheetView(sheet)
    label_col = table.label_col
    skip_cols = {label_col} | ({table.code_col} if table.code_col is not None else set())
    header_top, header_bottom = _header_span(view, table, skip_cols)
    block = list(range(header_top, header_bottom + 1))
    misses: list[Miss] = []
    scope = _title_scope(view, header_top, indicators) if shape == "units" else None
    # "Đơn vị tính: người, triệu đồng" above the table or inside its header block
    table_scale = _table_scale(view, header_bottom + 1)

    columns: list[_Column] = []
    for c in range(label_col + 1, view.max_col + 1):
        if c in skip_cols:
            continue
        col = _column(view, block, c, label_col)
        if col is None:
            continue
        named: tuple[str, ...] = ()
        span, bare = _split_span(col.stack)
        stack = list(bare) if bare else list(col.stack)
        if shape == "units" and stack:
            # A heading naming an indicator over its measures ("Hỗ trợ hộ kinh doanh" over
            # "Số đề nghị", "Kinh phí"): it scopes the column and is no part of the measure's name.
            named = _named_indicators(stack, indicators)
            stack = [t for t in stack[:-1] if not _named_indicators([t], indicators)] + [stack[-1]]
        found = _match_stack(stack, index) if bare else None
        if stack and len(stack) > 1 and (part := _in_which(stack[-1])):
            # "Kinh phí được duyệt" over "Tổng số" and "Trong đó: đã cấp": the part is a
            # measure of its own when its words name one, not its parent's measure again.
            found = _match_stack([part], index) or found
        if found is None and span is not None:
            found = _match_stack(list(col.stack), index)  # the words were the measure's own
            span = None if found is not None else span
        if found is None:
            if match_key(col.stack[-1]) not in _NOT_FIGURES:
                misses.append(Miss("column", *col.bottom, " / ".join(col.stack)))
            continue
        col.measure, col.quality = found
        col.span = span
        spec = index.measures[col.measure]
        if spec.kind == "money":
            col.scale = _scale_of(list(col.stack)) or table_scale or spec.default_scale or 1
        if shape == "units":
            if len(named) > 1:
                misses.append(Miss("column_indicators", *col.bottom, " / ".join(col.stack)))
                continue
            col.indicators = named or scope
        columns.append(col)
    filled_columns = _unique_best(
        columns,
        key=lambda k: (k.measure, k.indicators, k.span),
        quality=lambda k: k.quality,
        miss=lambda k: Miss("duplicate_column", *k.bottom, " / ".join(k.stack)),
        misses=misses,
    )

    rows: list[tuple[int, str | None, int]] = []  # (row, code or None for a total row, quality)
    matched = {r: (code, q) for r, code, q in table.rows}
    last_row = header_bottom
    max_row = max(view.rows, default=header_bottom)
    for r in range(header_bottom + 1, min(max_row, header_bottom + _MAX_TABLE_ROWS) + 1):
        texts = _row_texts(view, r, filled_columns, label_col)
        if not texts:
            if r >= table.first_data_row:
                break
            continue
        if any(_END_OF_TABLE_RE.search(t) for t in texts):
            break
        last_row = r
        if view.origin_of(r, label_col)[0] < r:
            continue  # the lower part of a label merged over several rows
        label = view.text(r, label_col)
        hit: tuple[str | None, int] | None = matched.get(r)
        if hit is None and label:
            m = index.match_indicator(label)
            hit = (None, 0) if m is TOTAL or m is None and _TOTAL_START_RE.match(match_key(label)) else m
        if hit is not None:
            rows.append((r, hit[0], hit[1]))
            continue
        if not label or _is_column_number(label) or _is_heading(view, r, label_col, label, headings):
            continue
        misses.append(Miss("row", r, label_col, label))
    totals = [r for r, code, _ in rows if code is None]
    data_rows = _unique_best(
        [(r, code, q) for r, code, q in rows if code is not None],
        key=lambda x: x[1],
        quality=lambda x: x[2],
        miss=lambda x: Miss("duplicate_row", x[0], label_col, view.text(x[0], label_col)),
        misses=misses,
    )
    slots: list[Slot] = []
    seen: set[tuple[int, int]] = set()
    for r, code in sorted([(r, code) for r, code, _ in data_rows] + [(r, None) for r in totals]):
        for col in filled_columns:
            assert col.measure is not None
            origin = view.origin_of(r, col.col)
            if origin in seen or origin[0] != r:
                continue  # a value cell merged with another row's
            seen.add(origin)
            slots.append(Slot(origin[0], origin[1], code, col.measure, col.scale, col.indicators, col.span))
    misses.sort(key=lambda m: (m.row, m.col))
    return Layout(
        sheet=sheet.name,
        shape=shape,
        slots=tuple(slots),
        misses=tuple(misses),
        row_keys=frozenset(code for _, code, _ in data_rows if code is not None),
        header_rows=(header_top, header_bottom),
        last_row=last_row,
        scope=scope,
        score=score,
        heads=tuple((*c.bottom, " / ".join(c.stack)) for c in filled_columns),
        title_span=_title_span(view, header_top),
    )


def _header_span(view: _SheetView, table: Table, skip_cols: set[int]) -> tuple[int, int]:
    """The first and last rows of the header block: the rows above the first matched row
    with a heading right of the label column (not a column number, not "Đơn vị tính: ...").
    A line such as "Tính đến ngày: | ..../..../...." above it is no part of it."""
    rows = []
    for r in range(table.header_top, table.first_data_row):
        for c in range(table.label_col + 1, view.max_col + 1):
            if c in skip_cols:
                continue
            o = view.origin_of(r, c)
            cell = view.cells.get(o)
            if cell is None or not isinstance(cell.value, str) or not cell.text.strip():
                continue
            if not _is_column_number(cell.text) and not _UNIT_OF_MEASURE_RE.match(cell.text.strip()):
                rows.append(r)
                break
    return (rows[0], rows[-1]) if rows else (table.header_top, table.header_top)


def _column(view: _SheetView, block: list[int], c: int, label_col: int) -> _Column | None:
    stack: list[str] = []
    last = None
    bottom = None
    for r in block:
        o = view.origin_of(r, c)
        if o[1] <= label_col:
            continue  # the label column's heading merged over this one
        cell = view.cells.get(o)
        if cell is None or not isinstance(cell.value, str):
            continue
        text = cell.text.strip()
        if text and o != last and not _is_column_number(text) and not _UNIT_OF_MEASURE_RE.match(text):
            stack.append(text)
            last = bottom = o
    if not stack or bottom is None:
        return None
    return _Column(c, tuple(stack), bottom)


def _row_texts(view: _SheetView, r: int, columns: list[_Column], label_col: int) -> list[str]:
    """The texts (and figures) of row `r` in the table's columns: empty for a blank row."""
    cols = list(range(1, label_col + 1)) + [c.col for c in columns]
    out = []
    for c in cols:
        o = view.origin_of(r, c)
        if o[0] < r and o != (r, c) and c == label_col:
            out.append("\u2191")  # a label merged from above: the row belongs to the table
            continue
        cell = view.cells.get((r, c))
        if cell is not None and (cell.text.strip() or cell.is_formula_without_value):
            out.append(cell.text.strip() or "=")
    return out


def _is_heading(view: _SheetView, r: int, label_col: int, label: str, headings: frozenset[str]) -> bool:
    """A section heading among the rows ("I. Chính sách hỗ trợ người lao động", "Xã, phường",
    "Trong đó:"): numbered with a roman numeral or a capital letter, a group name, or ending in ":"."""
    if label.rstrip().endswith(":") or match_key(label) in headings:
        return True
    if _ROMAN_PREFIX_RE.match(label.strip()):
        return True
    for c in range(label_col - 1, 0, -1):
        number = view.text(r, c)
        if number:
            return bool(_ROMAN_OR_LETTER_RE.match(number))
    return False


def _named_indicators(stack: Sequence[str], indicators: FormIndex) -> tuple[str, ...]:
    """The indicators a column's headings name (a group heading over its measures)."""
    found: list[str] = []
    for text in stack:
        m = indicators.match_indicator(text)
        if m is not None and m is not TOTAL and m[1] in (EXACT, CONTAINS) and m[0] not in found:
            found.append(m[0])
    return tuple(found)


def _title_span(view: _SheetView, header_top: int) -> Span | None:
    """The span the (up to three) lines right above a table name, the nearest first; a
    .docx table's two paragraphs before it."""
    texts = [
        cell.text
        for r in range(max(1, header_top - 3), header_top)
        for cell in view.row_text_cells(r)
        if isinstance(cell.value, str)
    ]
    if not texts:
        texts = list(view.sheet.notes[-2:])
    for text in reversed(texts):
        span, _ = _span_of(text)
        if span is not None:
            return span
    return None


def _title_scope(view: _SheetView, header_top: int, indicators: FormIndex) -> tuple[str, ...] | None:
    """The one indicator the title above a table of units names ("BÁO CÁO KẾT QUẢ HỖ TRỢ
    HỘ KINH DOANH"), else None: the columns then add up every indicator."""
    texts = list(view.sheet.notes[-8:])
    for r in range(max(1, header_top - 8), header_top):
        texts.extend(cell.text for cell in view.row_text_cells(r) if isinstance(cell.value, str))
    named = _named_indicators(texts, indicators)
    return named if len(named) == 1 else None


def _unique_best(
    items: list[_T],
    *,
    key: Callable[[_T], Hashable],
    quality: Callable[[_T], int],
    miss: Callable[[_T], Miss],
    misses: list[Miss],
) -> list[_T]:
    """Of the items sharing a key, the one of strictly best quality; the others (all of
    them when the best is shared) become misses."""
    groups: dict[Hashable, list[_T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    kept: list[_T] = []
    for group in groups.values():
        group.sort(key=quality, reverse=True)
        if len(group) == 1 or quality(group[0]) > quality(group[1]):
            kept.append(group[0])
            rest = group[1:]
        else:
            rest = group
        misses.extend(miss(item) for item in rest)
    order = {id(item): i for i, item in enumerate(items)}
    return sorted(kept, key=lambda item: order[id(item)])


# ---------------------------------------------------------------------------------- dates

_BLANK = r"[\d.…_/\-\s]*"
_BETWEEN_RE = re.compile(rf"(từ\s+ngày)(\s*)({_BLANK}?)(\s*)(đến\s+(?:hết\s+)?ngày)(\s*)({_BLANK})", re.I)
_AS_OF_RE = re.compile(rf"((?:tính\s+)?đến\s+(?:hết\s+)?ngày(?:\s*:)?)(\s*)({_BLANK})", re.I)
_AS_OF_LABEL_RE = re.compile(r"(?:tính\s+)?đến\s+(?:hết\s+)?ngày\s*:?\s*$", re.I)
_SIGNED_RE = re.compile(r"(ngày)\s*([\d.…_\s]*?)\s*(tháng)\s*([\d.…_\s]*?)\s*(năm)\s*(\d{4}|[.…_\s\d]*)", re.I)


def as_of_label(text: str) -> bool:
    """Whether `text` ends asking for the period's last day ("Số liệu tính đến ngày:"),
    which the next cell then holds."""
    return bool(_AS_OF_LABEL_RE.search(unify_d(nfc(text))))


def is_date_blank(text: str) -> bool:
    """Whether a cell is empty, a blank to write a date in ("....../....../......") or a date."""
    return not text.strip() or _is_blank_or_date(text) and re.fullmatch(_BLANK, text) is not None


def _is_blank_or_date(text: str) -> bool:
    t = text.strip()
    return bool(t) and (any(ch in t for ch in ".…_/") or t.isdigit())


def _dmy(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _trail(text: str) -> str:
    return " " if text[-1:].isspace() else ""


def fill_date_line(text: str, start: dt.date, end: dt.date, signed: dt.date) -> str | None:
    """`text` with its period or date filled in, None when it is no such line:
    "từ ngày ... đến ngày ..." (the period), "tính đến ngày ..." (its last day), and
    "..., ngày ... tháng ... năm ..." (the day the form is made, `signed`; day and
    month written as in official documents: 05, 01 and 02 with a zero)."""
    line = unify_d(nfc(text))
    m = _BETWEEN_RE.search(line)
    if m and _is_blank_or_date(m.group(7)):
        new = f"{m.group(1)} {_dmy(start)} {m.group(5)} {_dmy(end)}{_trail(m.group(7))}"
        return line[: m.start()] + new + line[m.end() :]
    m = _AS_OF_RE.search(line)
    if m and _is_blank_or_date(m.group(3)):
        new = f"{m.group(1)} {_dmy(end)}{_trail(m.group(3))}"
        return line[: m.start()] + new + line[m.end() :]
    m = _SIGNED_RE.search(line)
    if m and any(_is_blank_or_date(m.group(i)) for i in (2, 4, 6)):
        day = f"{signed.day:02d}" if signed.day < 10 else str(signed.day)
        month = f"{signed.month:02d}" if signed.month < 3 else str(signed.month)
        tail = " " if m.group(6)[-1:].isspace() else ""
        new = f"{m.group(1)} {day} {m.group(3)} {month} {m.group(5)} {signed.year}{tail}"
        return line[: m.start()] + new + line[m.end() :]
    return None
