"""Campaign targets: the `[campaign] targets_file` CSV read and validated, and progress against it.

Pure: the file's bytes and the form/units in, `Target`s and problem sentences out;
latest cumulative figures in, `Progress` out. `service.config.loading` does the reading
and reports the problems through `ConfigError`. It knows units only as `NamedUnit`
(code, name, aliases), so it imports nothing else of the configuration.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from parsers.model import FormSpec, MeasureSpec
from parsers.text import did_you_mean, sniff_delimiter
from parsers.vntext import nfc, normalize_label, strip_diacritics

Values = Mapping[str, Mapping[str, Decimal]]

MAX_ROWS = 100_000
# 100,000 rows of codes and a number stay far below this; a bigger file is not a targets table.
MAX_FILE_BYTES = 16 * 1024 * 1024
# Beyond this many problems the rest is counted, not listed: a wrong file (another
# table, a shifted column) would otherwise print one line per row.
MAX_PROBLEMS = 200
# Rows before the header that may hold a title ("KẾ HOẠCH CHỈ TIÊU ...").
MAX_TITLE_ROWS = 10

COLUMNS = ("unit", "indicator", "measure", "target")
# Header names, compared by `_header_key` (case, diacritics, spacing and "_" ignored).
HEADER_NAMES: Mapping[str, tuple[str, ...]] = {
    "unit": ("unit", "unit code", "đơn vị", "mã đơn vị", "mã đv"),
    "indicator": ("indicator", "indicator code", "chỉ tiêu", "mã chỉ tiêu"),
    "measure": ("measure", "measure code", "cột", "mã cột"),
    "target": ("target", "chỉ tiêu kế hoạch", "kế hoạch", "mục tiêu", "plan"),
}
# A unit cell that means the whole campaign (a total target) rather than one unit.
TOTAL_MARKS = ("*", "tổng cộng", "tổng", "toàn bộ", "total", "all")


@dataclass(frozen=True)
class Target:
    """One planned figure: `unit` None is the whole campaign; money `value` is in đồng."""

    unit: str | None
    indicator: str
    measure: str
    value: Decimal


@dataclass(frozen=True)
class ProgressCell:
    """Progress on one indicator × measure: the latest cumulative value against the target.

    `value` is None when no figure counts yet (then the progress is 0).
    """

    indicator: str
    measure: str
    value: Decimal | None
    target: Decimal

    @property
    def ratio(self) -> Decimal:
        """value / target (1 = done); exact to 28 significant digits."""
        return (self.value or Decimal(0)) / self.target

    @property
    def percent(self) -> Decimal:
        """The progress in percent with one decimal, rounded half up (87.5)."""
        return (self.ratio * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class UnitProgress:
    """One unit's cells that have a target, in form order."""

    unit: str
    cells: tuple[ProgressCell, ...]

    @property
    def lowest(self) -> ProgressCell:
        """The cell furthest behind (the first in form order on a tie)."""
        return min(self.cells, key=lambda c: c.ratio)


@dataclass(frozen=True)
class Progress:
    """Progress of the whole campaign (`totals`) and of each unit with a target (`units`)."""

    totals: tuple[ProgressCell, ...]
    units: tuple[UnitProgress, ...]

    def lowest_units(self, limit: int) -> list[UnitProgress]:
        """Up to `limit` units not yet at 100% everywhere, furthest behind first."""
        behind = [u for u in self.units if u.lowest.ratio < 1]
        return sorted(behind, key=lambda u: u.lowest.ratio)[:limit]


class NamedUnit(Protocol):
    """What the file's unit column is resolved against (a `UnitConfig`)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...


# -- reading the file -------------------------------------------------------------------------


def parse_targets(data: bytes, form: FormSpec, units: Sequence[NamedUnit]) -> tuple[tuple[Target, ...], list[str]]:
    """The targets in a CSV file, and every problem found ("line 7, column 'indicator': ...").

    The file is UTF-8 (with or without BOM), UTF-16 with BOM or windows-1258 text,
    separated by ',' ';' or tab (sniffed from the header; Excel's "sep=;" line is
    honoured). A header row names the columns unit, indicator, measure and target (in
    any order, English or Vietnamese); other columns are ignored, as are title rows
    above the header and blank rows. Targets are returned only when there is no problem.
    """
    problems = _Problems()
    if len(data) > MAX_FILE_BYTES:
        # The caller may read only MAX_FILE_BYTES + 1 bytes: the size is "over", not exact.
        problems.add(
            f"the file is larger than {MAX_FILE_BYTES:,} bytes, too large for a targets "
            f"table (at most {MAX_ROWS:,} rows)"
        )
        return (), problems.lines()
    text = _decode(data, problems)
    if text is None:
        return (), problems.lines()
    rows = _rows(text, problems)
    header = _find_header(rows, problems)
    if header is None:
        return (), problems.lines()
    header_line, columns = header
    targets = _read_rows(rows, header_line, columns, form, units, problems)
    if not targets and not problems:
        problems.add(f"line {header_line}: the file has a header row but no targets below it")
    return (() if problems else tuple(targets)), problems.lines()


class _Problems:
    """Problem sentences, listed up to MAX_PROBLEMS and counted beyond."""

    def __init__(self) -> None:
        self.listed: list[str] = []
        self.more = 0

    def add(self, text: str) -> None:
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(text)
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.listed)

    def lines(self) -> list[str]:
        if self.more:
            return [*self.listed, f"... and {self.more:,} more problems in the file"]
        return list(self.listed)


def _decode(data: bytes, problems: _Problems) -> str | None:
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        problems.add("is an Excel workbook, not CSV text; in Excel use Save As > 'CSV UTF-8 (Comma delimited)'")
        return None
    from parsers.sniff import decode_text  # (the file's reader only: the outputs import this module)

    decoded = decode_text(data)
    if decoded is None:
        problems.add("is not a text (CSV) file; save the table as 'CSV UTF-8 (Comma delimited)'")
        return None
    return nfc(decoded[0].lstrip("\ufeff"))


def _rows(text: str, problems: _Problems) -> list[tuple[int, list[str]]]:
    """(line number, fields) for every record; a quoted field may span lines."""
    delimiter, body = sniff_delimiter(text, known_column=lambda field: _column_of(field) is not None)
    offset = 0 if body is text else 1  # Excel's "sep=;" line was dropped
    text = body
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    out: list[tuple[int, list[str]]] = []
    filled = 0
    start = 1
    try:
        for fields in reader:
            out.append((start + offset, [f.strip() for f in fields]))
            start = reader.line_num + 1
            filled += any(fields)
            if filled > MAX_ROWS + MAX_TITLE_ROWS + 1:
                break  # enough for _read_rows to report the cap
    except csv.Error as exc:  # a field over the csv module's size limit, a NUL
        problems.add(f"line {start + offset}: cannot be read as CSV ({exc}); the lines from here on were not read")
    return out


def _header_key(text: str) -> str:
    """A header as compared: no trailing "(...)" note, case/diacritics/spacing/'_' ignored."""
    text = re.sub(r"\([^()]*\)\s*$", "", text.replace("_", " ")).strip()
    return strip_diacritics(normalize_label(text)) if text else ""


_HEADER_KEYS = {_header_key(name): column for column, names in HEADER_NAMES.items() for name in names}


def _column_of(header: str) -> str | None:
    return _HEADER_KEYS.get(_header_key(header))


def _find_header(rows: list[tuple[int, list[str]]], problems: _Problems) -> tuple[int, dict[str, int]] | None:
    """The header row's line and the field index of each column; None after a problem.

    The header is the first row naming at least two of the columns (rows above it are
    a title); when none does, the first non-blank row is taken and its gaps reported.
    """
    candidates = [(line, fields) for line, fields in rows if any(fields)][: MAX_TITLE_ROWS + 1]
    if not candidates:
        problems.add("the file is empty; it needs a header row: unit, indicator, measure, target")
        return None
    chosen = next(
        ((line, fields) for line, fields in candidates if len({_column_of(f) for f in fields} - {None}) >= 2),
        candidates[0],
    )
    line, fields = chosen
    columns: dict[str, int] = {}
    found: list[str] = []
    for index, name in enumerate(fields):
        column = _column_of(name)
        if column is None:
            continue
        if column in columns:
            found.append(
                f"line {line}: columns '{fields[columns[column]]}' and '{name}' both name the {column} column; keep one"
            )
        else:
            columns[column] = index
    unread = [f for f in fields if f and _column_of(f) is None]
    for column in COLUMNS:
        if column not in columns:
            accepted = ", ".join(f"'{n}'" for n in HEADER_NAMES[column])
            keys = [_header_key(n) for n in HEADER_NAMES[column]]
            close = [f for f in unread if difflib.get_close_matches(_header_key(f), keys, n=1, cutoff=0.75)]
            hint = f" (is '{close[0]}' meant to be '{column}'?)" if close else ""
            found.append(f"line {line}: the header row has no '{column}' column{hint}; name it one of {accepted}")
    for text in found:
        problems.add(text)
    if found:
        return None
    return line, columns


class _Lookup:
    """Codes and names from the config, to resolve what the file writes."""

    def __init__(self, form: FormSpec, units: Sequence[NamedUnit]) -> None:
        self.measures: dict[str, MeasureSpec] = {m.code: m for m in form.measures if m.code}
        self.measure_codes = list(self.measures)
        self.indicators = [i.code for i in form.indicators if i.code]
        self.unit_codes = {u.code.casefold(): u.code for u in units if u.code}
        self.unit_names: dict[str, str | None] = {}
        for u in units:
            for name in (u.name, *(u.aliases or ())):
                if u.code and name:
                    key = normalize_label(name)
                    # Two units reading the same would make the row ambiguous: refuse it.
                    self.unit_names[key] = u.code if self.unit_names.get(key, u.code) == u.code else None
        self.total_marks = {normalize_label(m) for m in TOTAL_MARKS}

    def unit(self, text: str) -> tuple[str | None, str | None]:
        """(unit code or None for the whole campaign, None) or (None, what is wrong)."""
        code = self.unit_codes.get(text.casefold())
        if code is not None:
            return code, None
        key = normalize_label(text)
        if key in self.unit_names:
            code = self.unit_names[key]
            return (code, None) if code else (None, f"'{text}' names more than one unit; write the unit code")
        if text == "*" or key in self.total_marks:
            return None, None
        return None, (
            f"'{text}' is not a unit code or name"
            f"{did_you_mean(text, list(self.unit_codes.values()))}; "
            "write * for a target of the whole campaign"
        )

    @staticmethod
    def code(text: str, codes: list[str], what: str) -> tuple[str | None, str | None]:
        """The code `text` names (case ignored), or (None, what is wrong)."""
        candidate = text.casefold()
        if candidate in codes:
            return candidate, None
        return None, f"'{text}' is not {what} code{did_you_mean(candidate, codes)}"


def _read_rows(
    rows: list[tuple[int, list[str]]],
    header_line: int,
    columns: dict[str, int],
    form: FormSpec,
    units: Sequence[NamedUnit],
    problems: _Problems,
) -> list[Target]:
    lookup = _Lookup(form, units)
    header = next(fields for line, fields in rows if line == header_line)
    names = {column: header[index] for column, index in columns.items()}
    seen: dict[tuple[str | None, str, str], int] = {}
    targets: list[Target] = []
    body = [(line, fields) for line, fields in rows if line > header_line and any(fields)]
    if len(body) > MAX_ROWS:
        problems.add(
            f"the file has more than {MAX_ROWS:,} target rows; it is not a targets table "
            f"(rows after line {body[MAX_ROWS - 1][0]} were not read)"
        )
        body = body[:MAX_ROWS]
    for line, fields in body:
        cell = {column: fields[index] if index < len(fields) else "" for column, index in columns.items()}

        def bad(column: str, text: str, line: int = line) -> None:
            problems.add(f"line {line}, column '{names[column]}': {text}")

        unit: str | None = None
        unit_ok = False
        indicator = measure = None
        if not cell["unit"]:
            bad("unit", "is empty; write a unit code, or * for the whole campaign")
        else:
            unit, why = lookup.unit(cell["unit"])
            unit_ok = why is None
            if why:
                bad("unit", why)
        for column, codes, what in (
            ("indicator", lookup.indicators, "an indicator"),
            ("measure", lookup.measure_codes, "a measure"),
        ):
            if not cell[column]:
                bad(column, f"is empty; write {what} code")
                continue
            code, why = lookup.code(cell[column], codes, what)
            if why:
                bad(column, why)
            elif column == "indicator":
                indicator = code
            else:
                measure = code
        spec = lookup.measures.get(measure) if measure else None
        value = _target_value(cell["target"], spec, lambda text: bad("target", text))
        if unit_ok and indicator and measure and value is not None:
            key = (unit, indicator, measure)
            if key in seen:
                who = f"unit {unit}" if unit else "the whole campaign (*)"
                problems.add(
                    f"line {line}: {who}, indicator {indicator}, measure {measure} already "
                    f"has a target on line {seen[key]}; keep one row"
                )
                continue
            seen[key] = line
            targets.append(Target(unit, indicator, measure, value))
    return targets


def _target_value(text: str, spec: MeasureSpec | None, bad: Callable[[str], None]) -> Decimal | None:
    """The target in the measure's unit (money in đồng); None after reporting a problem."""
    if not text:
        bad("is empty; write the planned figure (leave the row out when there is none)")
        return None
    from parsers.numbers import FigureError, parse_figure_with_unit, to_dong

    kind = spec.kind if spec is not None else "count"
    try:
        number, stated_scale = parse_figure_with_unit(text, kind)
    except FigureError:
        bad(f"'{text}' is not a number")
        return None
    if number is None:
        bad(f"'{text}' is not a number; write the planned figure (leave the row out when there is none)")
        return None
    if number < 0:
        bad(f"'{text}' is negative; a target is greater than 0")
        return None
    if number == 0:
        bad(f"'{text}' is zero; progress cannot be measured against 0 (leave the row out)")
        return None
    if spec is None:
        return None  # the measure is wrong: its problem is already listed
    if spec.kind == "money":
        return to_dong(number, stated_scale or spec.default_scale)
    if number != number.to_integral_value():
        bad(f"'{text}' is not a whole number; measure {spec.code} counts")
        return None
    return number


# -- progress ---------------------------------------------------------------------------------


def compute_progress(
    targets: Sequence[Target], latest: Mapping[str, Values], totals: Values, form: FormSpec, unit_order: Sequence[str]
) -> Progress:
    """Progress against `targets` from each unit's latest cumulative figures.

    `latest` maps unit codes to the figures that count in the totals (money in đồng),
    `totals` is their sum over every unit. A unit's cell is its value / its target. A
    campaign cell is the total value / the `*` target when the file gives one, else
    the sum of the values / the sum of the targets of the units that have one.
    Cells are in form order (indicators, then measures); units in `unit_order`.
    """
    order = {(i.code, m.code): k for k, (i, m) in enumerate((i, m) for i in form.indicators for m in form.measures)}
    explicit: dict[tuple[str, str], Decimal] = {}
    summed: dict[tuple[str, str], tuple[Decimal, Decimal | None]] = {}
    by_unit: dict[str, list[ProgressCell]] = {}
    for t in targets:
        key = (t.indicator, t.measure)
        if t.unit is None:
            explicit[key] = t.value
            continue
        value = latest.get(t.unit, {}).get(t.indicator, {}).get(t.measure)
        by_unit.setdefault(t.unit, []).append(ProgressCell(t.indicator, t.measure, value, t.value))
        target_sum, value_sum = summed.get(key, (Decimal(0), None))
        if value is not None:
            value_sum = (value_sum or Decimal(0)) + value
        summed[key] = (target_sum + t.value, value_sum)
    campaign = []
    for key in set(explicit) | set(summed):
        if key in explicit:
            campaign.append(ProgressCell(*key, totals.get(key[0], {}).get(key[1]), explicit[key]))
        else:
            target_sum, value_sum = summed[key]
            campaign.append(ProgressCell(*key, value_sum, target_sum))

    def in_form_order(cells: Iterable[ProgressCell]) -> tuple[ProgressCell, ...]:
        return tuple(sorted(cells, key=lambda c: order.get((c.indicator, c.measure), len(order))))

    rank = {code: k for k, code in enumerate(unit_order)}
    units = sorted(by_unit, key=lambda code: (rank.get(code, len(rank)), code))
    return Progress(
        totals=in_form_order(campaign), units=tuple(UnitProgress(code, in_form_order(by_unit[code])) for code in units)
    )
