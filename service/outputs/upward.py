"""The superior's form, filled: the period's figures written into the superior's own
.xlsx or .docx template (`[upward]`), for the coordinator to check and forward.

`fill_upward(template, figures, form)` takes the period's figures as a plain
`PeriodFigures` (totals and each unit's figures, money in đồng; for a form whose columns
are split into "Trong kỳ" / "Lũy kế", the period's and the to-date figures too) and
returns the filled file and what could not be matched. Where the figures go is decided
by `parsers.report.reverse` (the same label and header matching that reads units'
reports, in reverse), for every table of the template that matches; this module only
reads the template and writes into it, in place (service.outputs.ooxml): in an .xlsx
only the sheets' XML and workbook.xml's calcPr change (numbers as numbers in the scale
each header states; pictures, charts, validations, print settings, styles, merged cells
kept byte for byte), in a .docx only word/document.xml (each cell keeps its paragraph
and run formatting). A cell holding a formula (a "Tổng cộng" row's =SUM) is left as it
is. Nothing here sends anything: the digest attaches the form to the coordinator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from parsers.model import FormSpec, IndicatorSpec, ReadLimits
from parsers.readers import Grid, GridError, Sheet, coordinate, read_grid
from parsers.report.reverse import Layout, as_of_label, fill_date_line, find_layout, is_date_blank, unit_specs
from parsers.text import safe_filename
from service.config import Config
from service.day.dayview import DayView
from service.errors import UsageError
from service.outputs.formatting import Numbers
from service.outputs.i18n import fill
from service.outputs.ooxml import CellValue, docx_document, patch_xlsx, with_docx_document
from templates import catalog

Values = Mapping[str, Mapping[str, Decimal]]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CONTENT_TYPES = {"xlsx": XLSX_TYPE, "docx": DOCX_TYPE}
MAX_TEMPLATE_BYTES = 20 * 1024 * 1024
log = logging.getLogger(__name__)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class UpwardFormError(UsageError):
    """The superior's form cannot be filled: unreadable, or no table in it matches (exit 2)."""


@dataclass(frozen=True)
class UnitFigures:
    """One unit's figures for the period ({indicator: {measure: value}}, money in đồng).

    `period_values` are the figures of the period alone and `to_date_values` the running
    totals to the period's end, for the forms that split a measure into "Trong kỳ" and
    "Lũy kế": None when not known (then `values` is whichever of the two the report's
    figures are, `PeriodFigures.cumulative`)."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    group: str | None = None
    values: Values = field(default_factory=dict)
    period_values: Values | None = None
    to_date_values: Values | None = None


@dataclass(frozen=True)
class PeriodFigures:
    """The figures of one period, as the superior's form takes them: the totals and each
    unit's figures (money in đồng), the period's first and last day, and the day the
    form is made ("..., ngày ... tháng ... năm ..."; default the last day).

    `cumulative`: the report's figures are running totals (lũy kế, the default), so
    `totals` are the figures to date and a "Trong kỳ" column takes `period_totals` (the
    change over the period); otherwise `totals` are the period's own and a "Lũy kế"
    column takes `to_date_totals`. A column whose figures are None is listed, not filled."""

    start: dt.date
    end: dt.date
    totals: Values
    units: tuple[UnitFigures, ...] = ()
    signed: dt.date | None = None
    cumulative: bool = True
    period_totals: Values | None = None
    to_date_totals: Values | None = None
    # Units with figures that sent nothing in the period (a cumulative report's figures
    # carried forward): their "Trong kỳ" cells stay empty.
    stale: tuple[str, ...] = ()
    # A report that is not cumulative: each unit's figures to date ({unit: values}),
    # computed only when the form has a "Lũy kế" column (it reads every earlier period).
    to_date_loader: Callable[[], Mapping[str, Values]] | None = field(default=None, compare=False)

    def with_to_date(self) -> PeriodFigures:
        """The figures with `to_date_loader`'s figures to date in place (once asked for)."""
        if self.cumulative or self.to_date_totals is not None or self.to_date_loader is None:
            return self
        by_unit = self.to_date_loader()
        units = tuple(dataclasses.replace(u, to_date_values=by_unit.get(u.code, {})) for u in self.units)
        return dataclasses.replace(self, units=units, to_date_totals=_total(by_unit.values()), to_date_loader=None)


@dataclass(frozen=True)
class FilledForm:
    """The filled form and what the coordinator should know about it."""

    data: bytes
    format: str  # "xlsx" or "docx"
    filled: int  # cells written
    unmatched: tuple[str, ...]  # every row, column or table not filled, one sentence each
    notes: tuple[str, ...] = ()  # how the columns were read, formulas kept
    tables: int = 1  # the tables (sheets) filled

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def _minus(a: Values, b: Values) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = {}
    for ind, row in a.items():
        for meas, v in row.items():
            if v is not None:
                out.setdefault(ind, {})[meas] = v - b.get(ind, {}).get(meas, Decimal(0))
    return out


def _total(rows: Iterable[Values]) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = {}
    for values in rows:
        for ind, row in values.items():
            for meas, v in row.items():
                if v is not None:
                    cell = out.setdefault(ind, {})
                    cell[meas] = cell.get(meas, Decimal(0)) + v
    return out


def figures_of_day(view: DayView, cumulative: bool = True) -> PeriodFigures:
    """The figures of the day view: each unit's latest counted figures and their totals
    (the digest's own totals: figures that failed a format check left out). A report's
    period view ([[reports]]) gives its period's first and last day.

    A cumulative report's figures of the period alone are each unit's change since its
    report before the period (from nothing for a first report), as the digest's change
    column counts it; a unit that sent nothing in the period has none (its figures are
    carried forward). A report that is not cumulative has no figures to date here."""
    units = []
    stale = []
    for u in view.units:
        period: Values | None = None
        if cumulative:
            if u.latest_day is not None and u.latest_day >= view.day:
                period = _minus(u.counted_values, u.previous_counted_values)
            else:
                period = {}
                if u.counted_values:
                    stale.append(u.unit.name)
        units.append(
            UnitFigures(
                u.unit.code,
                u.unit.name,
                u.unit.aliases,
                u.unit.group,
                u.counted_values,
                period_values=period,
                to_date_values=u.counted_values if cumulative else None,
            )
        )
    start, end = (view.period.start, view.period.end) if view.period is not None else (view.day, view.day)
    return PeriodFigures(
        start=start,
        end=end,
        totals=view.totals,
        units=tuple(units),
        cumulative=cumulative,
        period_totals=_total(u.period_values or {} for u in units) if cumulative else view.totals,
        to_date_totals=view.totals if cumulative else None,
        stale=tuple(stale),
    )


def fill_upward(
    template: Path, figures: PeriodFigures, form: FormSpec, *, sheet: str | None = None, language: str = "vi"
) -> FilledForm:
    """The superior's form `template` (.xlsx or .docx) filled with `figures`: every table
    (sheet) of it whose rows and columns match the form.

    Raises UpwardFormError (one sentence) when the file cannot be read or holds no
    table whose rows and columns match the form."""
    text = _Texts(language)
    fmt = template.suffix.lower().lstrip(".")
    if fmt not in CONTENT_TYPES:
        raise UpwardFormError(text("wrong_format", file=template.name))
    try:
        with open(template, "rb") as f:
            data = f.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        raise UpwardFormError(text("unreadable", file=template.name, detail=exc.strerror or str(exc))) from exc
    grid, layouts, others = _find(data, fmt, template.name, figures, form, sheet, text)
    if any(s.span == "to_date" for lay in layouts for s in lay.slots):
        figures = figures.with_to_date()
    unmatched: list[str] = []
    values: list[dict[tuple[int, int], Decimal]] = []
    for layout in layouts:
        place = _place(fmt, layout.sheet, text)
        vals, gaps = _slot_values(layout, figures, text, place)
        values.append(vals)
        unmatched.extend(text(m.code, place=place(m.row, m.col), text=_short(m.text)) for m in layout.misses)
        unmatched.extend(gaps)
    unmatched.extend(others)
    signed = figures.signed or figures.end

    def dates(line: str) -> str | None:
        return fill_date_line(line, figures.start, figures.end, signed)

    try:
        if fmt == "xlsx":
            out, written, kept = _write_xlsx(data, grid, layouts, values, dates, figures.end)
        else:
            numbers = Numbers.for_language(language)
            out, written, kept = _write_docx(data, layouts, values, dates, numbers, figures.end)
    except Exception as exc:  # noqa: BLE001 - a damaged template is one sentence, not a traceback
        raise UpwardFormError(
            text("unreadable", file=template.name, detail=f"{type(exc).__name__}: {str(exc)[:200]}")
        ) from exc
    unmatched.extend(_without_rows(layouts, figures, form, text))
    notes = []
    labels = {i.code: i.label for i in form.indicators}
    for layout in layouts:
        if layout.shape == "units":
            scopes = {s.indicators for s in layout.slots}
            if None in scopes:
                notes.append(text("scope_all"))
            if layout.scope:
                notes.append(text("scope_one", label=labels.get(layout.scope[0], layout.scope[0])))
    spans = {s.span for lay in layouts for s in lay.slots}
    if "period" in spans and figures.cumulative and figures.stale:
        notes.append(text("period_stale", names=", ".join(figures.stale)))
    if spans - {None}:
        notes.append(text("spans_cumulative" if figures.cumulative else "spans_not_cumulative"))
    several = sum(1 for cells in kept.values() if cells) > 1
    formulas = [(f"'{name}'!" if several else "") + coordinate(r, c) for name, cells in kept.items() for r, c in cells]
    if formulas:
        where = ", ".join(formulas[:10]) + (", …" if len(formulas) > 10 else "")
        notes.append(text("formulas_kept", count=len(formulas), cells=where))
    return FilledForm(out, fmt, written, tuple(dict.fromkeys(unmatched)), tuple(dict.fromkeys(notes)), len(layouts))


@dataclass(frozen=True)
class UpwardAttachment:
    """The filled form as the digest attaches it, or why it could not be filled."""

    title: str
    filename: str
    form: FilledForm | None
    error: str = ""


def upward_for_day(
    view: DayView, cfg: Config, to_date: Callable[[], Mapping[str, Values]] | None = None
) -> UpwardAttachment | None:
    """The `[upward]` form filled with the day's figures (None when none is configured);
    a form that cannot be filled is an `error` sentence for the digest, never a failure.
    `to_date`: a report that is not cumulative, each unit's figures to date (when asked)."""
    if cfg.upward is None:
        return None
    up = cfg.upward
    name = upward_filename(cfg, view.day)
    try:
        figures = dataclasses.replace(figures_of_day(view, _cumulative(cfg)), to_date_loader=to_date)
        form = fill_upward(up.template, figures, cfg.form, sheet=up.sheet, language=cfg.service.language)
    except UpwardFormError as exc:
        log.warning("the superior's form was not filled: %s", exc)
        return UpwardAttachment(up.title, name, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - the digest goes out all the same, saying why
        log.exception("the superior's form %s could not be filled", up.template)
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        error = _Texts(cfg.service.language)("unreadable", file=up.template.name, detail=detail)
        return UpwardAttachment(up.title, name, None, error)
    return UpwardAttachment(up.title, name, form)


def _cumulative(cfg: Config) -> bool:
    """Whether the report the config is about (`report_config`'s one, or the one daily
    report of a config without [[reports]]) has running totals."""
    try:
        return cfg.report(None).cumulative
    except KeyError:
        return True


def upward_filename(cfg: Config, day: dt.date) -> str:
    assert cfg.upward is not None
    stem = fill(cfg.upward.filename, {"date": day.isoformat()})
    return safe_filename(stem, "bieu-mau-cap-tren", 120) + cfg.upward.template.suffix.lower()


# ---------------------------------------------------------------------------------- finding


class _Texts:
    def __init__(self, language: str) -> None:
        self.table: dict[str, str] = catalog(language)["upward"]

    def __call__(self, key: str, **params: object) -> str:
        return fill(self.table[key], params)


def _find(
    data: bytes,
    fmt: str,
    filename: str,
    figures: PeriodFigures,
    form: FormSpec,
    sheet: str | None,
    text: _Texts,
) -> tuple[Grid, list[Layout], list[str]]:
    """The template read, the layout of each table (sheet) to fill, and a sentence for
    each table that looks like one (three rows or more) but matches nothing, or that is
    the same as another and not told apart (`_tell_apart`)."""
    if len(data) > MAX_TEMPLATE_BYTES:
        raise UpwardFormError(text("unreadable", file=filename, detail=f"> {MAX_TEMPLATE_BYTES} bytes"))
    try:
        grid: Grid = read_grid(data, fmt, ReadLimits(), filename)
    except GridError as exc:
        detail = exc.problem.params.get("detail") or exc.problem.params.get("error") or exc.problem.code
        raise UpwardFormError(text("unreadable", file=filename, detail=detail)) from exc
    except Exception as exc:  # noqa: BLE001 - a damaged template: one sentence
        raise UpwardFormError(text("unreadable", file=filename, detail=type(exc).__name__)) from exc
    sheets = [s for s in grid.sheets if sheet is None or s.name.strip().casefold() == sheet.strip().casefold()]
    if not sheets:
        raise UpwardFormError(text("no_sheet", file=filename, sheet=sheet))
    units = unit_specs((u.code, u.name, u.aliases) for u in figures.units)
    headings = {i.group for i in form.indicators if i.group} | {u.group for u in figures.units if u.group}
    layouts: list[Layout] = []
    others: list[str] = []
    for s in sheets:
        if s.is_hidden and sheet is None:
            continue
        found = _sheet_layouts(s, form, units, headings)
        layouts.extend(found)
        if not found and len({r for r, _ in s.cells}) >= 3 and len({c for _, c in s.cells}) >= 2:
            others.append(s.name)
    if not layouts:
        raise UpwardFormError(text("no_table", file=filename))
    layouts, repeated, other_days = _tell_apart(layouts, figures.end)
    kind = "docx" if fmt == "docx" else "xlsx"
    lines = [text(f"table_{kind}", sheet=name) for name in others]
    lines.extend(text(f"repeated_{kind}", sheet=name) for name in repeated)
    lines.extend(text("other_day", sheet=name) for name in other_days)
    if not layouts:
        raise UpwardFormError(text("no_table_chosen", file=filename, sheets=", ".join(repeated)))
    return grid, layouts, lines


_DAY_IN_NAME = "(?<!\\d)0?{d}\\s*[./-]\\s*0?{m}(?!\\d)"


def _names_day(name: str, day: dt.date) -> bool:
    """Whether a sheet's name is the day's ("11.8", "11-08", "Ngày 11/8/2021")."""
    return re.search(_DAY_IN_NAME.format(d=day.day, m=day.month), name) is not None


def _signature(layout: Layout) -> Hashable:
    return (layout.shape, layout.row_keys, frozenset((s.measure, s.span, s.indicators) for s in layout.slots))


def _tell_apart(layouts: list[Layout], day: dt.date) -> tuple[list[Layout], list[str], list[str]]:
    """Tables that would take the very same figures (the same rows and columns): told apart
    by the line above each ("Trong tuần" / "Lũy kế": its columns take that span), else by
    a sheet named by the period's last day ("11.8" of sheets "9.8", "10.8", "11.8"); else
    none of them is filled, each listed: which one is the period's is not known. Returns
    the tables to fill, the sheets not told apart and the sheets of other days."""
    groups: dict[Hashable, list[Layout]] = {}
    for layout in layouts:
        groups.setdefault(_signature(layout), []).append(layout)
    chosen: dict[int, Layout] = {}
    repeated: list[str] = []
    other_days: list[str] = []
    for group in groups.values():
        spans = [lay.title_span for lay in group]
        named = [_names_day(lay.sheet, day) for lay in group]
        if len(group) == 1:
            chosen[id(group[0])] = group[0]
        elif None not in spans and len(set(spans)) == len(group):
            for lay in group:
                slots = tuple(s if s.span else dataclasses.replace(s, span=lay.title_span) for s in lay.slots)
                chosen[id(lay)] = dataclasses.replace(lay, slots=slots)
        elif len({lay.sheet for lay in group}) == len(group) and named.count(True) == 1:
            chosen.update((id(lay), lay) for lay, hit in zip(group, named, strict=True) if hit)
            other_days.extend(lay.sheet for lay, hit in zip(group, named, strict=True) if not hit)
        else:
            repeated.extend(lay.sheet for lay in group)
    kept = [chosen[id(lay)] for lay in layouts if id(lay) in chosen]
    return kept, list(dict.fromkeys(repeated)), other_days


_MAX_TABLES_PER_SHEET = 8


def _sheet_layouts(
    sheet: Sheet, form: FormSpec, units: Sequence[IndicatorSpec], headings: Iterable[str]
) -> list[Layout]:
    """Every table of one sheet that matches, top to bottom: a sheet may hold a table of
    indicators and, below it, one of units. Each table found is taken out of the sheet
    (its rows, and the merged ranges that reach into them) before the next is looked for."""
    out: list[Layout] = []
    rest = sheet
    headings = tuple(headings)
    for _ in range(_MAX_TABLES_PER_SHEET):
        layout = find_layout(rest, form, units, headings)
        if layout is None or out and not layout.slots:
            break
        out.append(layout)
        top, bottom = layout.header_rows[0], layout.last_row
        cells = {rc: cell for rc, cell in rest.cells.items() if not top <= rc[0] <= bottom}
        if len(cells) == len(rest.cells):
            break
        merged = tuple(m for m in rest.merged if m[2] < top or m[0] > bottom)
        rest = dataclasses.replace(rest, cells=cells, merged=merged)
    return sorted(out, key=lambda lay: lay.header_rows[0])


def _source(figures: PeriodFigures, span: str | None) -> tuple[Values | None, Callable[[UnitFigures], Values | None]]:
    """The totals and the unit's figures a column takes: the report's own figures, or
    for a split column the period's or the to-date ones (None: not known)."""
    if span == "period" and figures.cumulative:
        return figures.period_totals, lambda u: u.period_values
    if span == "to_date" and not figures.cumulative:
        return figures.to_date_totals, lambda u: u.to_date_values
    return figures.totals, lambda u: u.values


def _slot_values(
    layout: Layout, figures: PeriodFigures, text: _Texts, place: Callable[[int, int], str]
) -> tuple[dict[tuple[int, int], Decimal], list[str]]:
    """The value of each slot in the scale its column states (None values left out), and
    a sentence for each split column whose figures are not known."""
    out: dict[tuple[int, int], Decimal] = {}
    gaps: dict[int, str] = {}
    decreases: list[str] = []
    units = {u.code: u for u in figures.units}
    for slot in layout.slots:
        totals, of_unit = _source(figures, slot.span)
        if layout.shape == "indicators":
            rows: list[Values | None] = [totals]
            indicators: Iterable[str] | None = [slot.row_key] if slot.row_key else None
        else:
            chosen = [units[slot.row_key]] if slot.row_key else list(figures.units)
            rows = [of_unit(u) for u in chosen]
            if not slot.row_key and totals is None:
                rows = [None]
            indicators = slot.indicators
        if any(r is None for r in rows):
            if slot.col not in gaps:
                row, col, head = layout.head(slot.col)
                key = "span_no_period" if slot.span == "period" else "span_no_to_date"
                gaps[slot.col] = text(key, place=place(row, col), text=_short(head))
            continue
        known = [r for r in rows if r is not None]
        value = _sum(known, indicators, slot.measure)
        if slot.span == "period" and figures.cumulative and _any_negative(known, indicators, slot.measure):
            # A running total that went down (flagged in the digest): no figure of the period.
            decreases.append(text("span_decrease", place=place(slot.row, slot.col)))
            continue
        if value is not None:
            out[(slot.row, slot.col)] = value / Decimal(slot.scale)
    return out, [*gaps.values(), *decreases]


def _any_negative(rows: Iterable[Values], indicators: Iterable[str] | None, measure: str) -> bool:
    wanted = None if indicators is None else set(indicators)
    return any(
        (v := row.get(measure)) is not None and v < 0
        for values in rows
        for ind, row in values.items()
        if wanted is None or ind in wanted
    )


def _sum(rows: Iterable[Values], indicators: Iterable[str] | None, measure: str) -> Decimal | None:
    total: Decimal | None = None
    wanted = None if indicators is None else set(indicators)
    for values in rows:
        for ind, row in values.items():
            if wanted is not None and ind not in wanted:
                continue
            v = row.get(measure)
            if v is not None:
                total = v if total is None else total + v
    return total


def _without_rows(layouts: list[Layout], figures: PeriodFigures, form: FormSpec, text: _Texts) -> Iterator[str]:
    """The indicators (or units) with figures that no table of the form has a row for."""
    shapes = {lay.shape for lay in layouts}
    keys = {key for lay in layouts for key in lay.row_keys}
    if "indicators" in shapes:
        for ind in form.indicators:
            if ind.code not in keys and any(v is not None for v in figures.totals.get(ind.code, {}).values()):
                yield text("indicator_without_row", label=ind.label)
    if "units" in shapes:
        for u in figures.units:
            if u.code not in keys and any(row for row in u.values.values()):
                yield text("unit_without_row", name=u.name)


def _place(fmt: str, sheet: str, text: _Texts) -> Callable[[int, int], str]:
    if fmt == "docx":
        return lambda r, c: text("cell_docx", sheet=sheet, row=r, col=c)
    return lambda r, c: text("cell_xlsx", sheet=sheet, cell=coordinate(r, c))


def _short(value: str) -> str:
    one = " ".join(value.split())
    return one if len(one) <= 120 else one[:119] + "…"


def _number(value: Decimal) -> int | float:
    """The value as a spreadsheet number: an int when whole."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


# ---------------------------------------------------------------------------------- .xlsx


def _merged_away(sheet: Sheet, r: int, c: int) -> bool:
    """Whether (r, c) is covered by a merged range it is not the first cell of."""
    return any(r1 <= r <= r2 and c1 <= c <= c2 and (r, c) != (r1, c1) for r1, c1, r2, c2 in sheet.merged)


def _next_date(sheet: Sheet, row: int, col: int, day: dt.date) -> tuple[tuple[int, int], CellValue] | None:
    """ "Tính đến ngày:" | "....../....../......": the date for the cell after the label."""
    free = [c for c in range(col + 1, col + 4) if not _merged_away(sheet, row, c)]
    filled = [c for c in free if (cell := sheet.cells.get((row, c))) is not None and cell.text.strip()]
    if not free:
        return None
    c = filled[0] if filled else free[0]  # the first cell holding something, else the one beside the label
    cell = sheet.cells.get((row, c))
    value = cell.value if cell is not None else None
    if isinstance(value, dt.date):
        return (row, c), CellValue(day)  # a date cell stays a date, in its own format
    if value is None or isinstance(value, str) and is_date_blank(value):
        return (row, c), CellValue(day.strftime("%d/%m/%Y"))
    return None


def _write_xlsx(
    data: bytes,
    grid: Grid,
    layouts: list[Layout],
    values: Sequence[Mapping[tuple[int, int], Decimal]],
    dates: Callable[[str], str | None],
    as_of: dt.date,
) -> tuple[bytes, int, dict[str, list[tuple[int, int]]]]:
    """The workbook with its tables filled, edited in place (service.outputs.ooxml): the
    sheets' XML and workbook.xml's calcPr change, every other part is kept byte for byte."""
    sheets = {s.name: s for s in grid.sheets}
    edits: dict[str, dict[tuple[int, int], CellValue]] = {}
    slots: dict[str, set[tuple[int, int]]] = {}
    written = 0
    filled: dict[str, set[tuple[int, int]]] = {}
    for layout, cells in zip(layouts, values, strict=True):
        sheet = sheets[layout.sheet]
        mine = edits.setdefault(layout.sheet, {})
        filled.setdefault(layout.sheet, set()).update(cells)
        for slot in layout.slots:
            key = (slot.row, slot.col)
            slots.setdefault(layout.sheet, set()).add(key)
            old = sheet.cells.get(key)
            if key in cells:
                mine[key] = CellValue(_number(cells[key]))
                written += 1
            elif old is not None and (isinstance(old.value, Decimal) or old.is_formula_without_value):
                mine[key] = CellValue(None)  # a figure left in the template is no figure of this period
    for name in dict.fromkeys(lay.sheet for lay in layouts):
        sheet = sheets[name]
        tables = [(lay.header_rows[0], lay.last_row) for lay in layouts if lay.sheet == name]
        mine = edits.setdefault(name, {})
        for (r, c), cell in sorted(sheet.cells.items()):
            if not isinstance(cell.value, str) or any(top <= r <= bottom for top, bottom in tables):
                continue  # the tables' own headings and labels stay as written
            new = dates(cell.value)
            if new is not None:
                mine[(r, c)] = CellValue(new)
            elif as_of_label(cell.value):
                found = _next_date(sheet, r, c, as_of)
                if found is not None:
                    mine.setdefault(*found)
    out, kept = patch_xlsx(data, edits)
    formulas = {name: [rc for rc in cells if rc in slots.get(name, set())] for name, cells in kept.items()}
    written -= sum(1 for name, cells in formulas.items() for rc in cells if rc in filled.get(name, set()))
    return out, written, formulas


# ---------------------------------------------------------------------------------- .docx


def _block_tables(parent: Any) -> Iterator[Any]:
    """The tables of a document body in order, looking inside content controls: the
    tables parsers.readers.docx numbers as sheets 1, 2, ..."""
    for child in parent.iterchildren():
        if child.tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _block_tables(content)
        elif child.tag == _W + "tbl":
            yield child


def _grid(tbl: Any) -> dict[tuple[int, int], Any]:
    """Each (row, column) of the table's grid to its <w:tc>, as parsers.readers.docx counts them."""
    out: dict[tuple[int, int], Any] = {}
    for r, tr in enumerate(tbl.findall(_W + "tr"), start=1):
        col = 1
        trpr = tr.find(_W + "trPr")
        before = trpr.find(_W + "gridBefore") if trpr is not None else None
        if before is not None:
            col += int(before.get(_W + "val") or 0)
        for tc in tr.findall(_W + "tc"):
            span = 1
            tcpr = tc.find(_W + "tcPr")
            gs = tcpr.find(_W + "gridSpan") if tcpr is not None else None
            if gs is not None:
                span = max(1, int(gs.get(_W + "val") or 1))
            for c in range(col, col + span):
                out[(r, c)] = tc
            col += span
    return out


_NUMBER_TEXT_RE = re.compile(r"-?\d[\d.,\s]*")


def _has_formula(el: Any) -> bool:
    for node in el.iter(_W + "instrText"):
        if (node.text or "").strip().startswith("="):
            return True
    return any((node.get(_W + "instr") or "").strip().startswith("=") for node in el.iter(_W + "fldSimple"))


def _set_text(p: Any, text: str) -> None:
    """The paragraph's text replaced, keeping its first run's formatting."""
    from lxml import etree

    texts = list(p.iter(_W + "t"))
    if texts:
        texts[0].text = text
        texts[0].set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        for t in texts[1:]:
            t.text = ""
        return
    run = etree.SubElement(p, _W + "r")
    ppr = p.find(_W + "pPr")
    mark = ppr.find(_W + "rPr") if ppr is not None else None
    if mark is not None:
        run.append(_copy(mark))
    etree.SubElement(run, _W + "t").text = text


def _copy(el: Any) -> Any:
    import copy

    return copy.deepcopy(el)


def _paragraph_text(p: Any) -> str:
    return "".join(t.text or "" for t in p.iter(_W + "t"))


def _number_text(value: Decimal, numbers: Numbers) -> str:
    exponent = value.normalize().as_tuple().exponent
    decimals = min(6, -exponent) if isinstance(exponent, int) and exponent < 0 else 0
    return numbers.format(value, decimals, decimals)


def _write_docx(
    data: bytes,
    layouts: list[Layout],
    values: Sequence[Mapping[tuple[int, int], Decimal]],
    dates: Callable[[str], str | None],
    numbers: Numbers,
    as_of: dt.date,
) -> tuple[bytes, int, dict[str, list[tuple[int, int]]]]:
    """The document with its tables filled and its date lines written: only
    word/document.xml changes (pictures, headers and footers, styles kept as they are)."""
    root = docx_document(data)
    body = root.find(_W + "body")
    tables = list(_block_tables(body))
    written = 0
    kept: dict[str, list[tuple[int, int]]] = {}
    inside: set[Any] = set()
    for layout, cells in zip(layouts, values, strict=True):
        tbl = tables[int(layout.sheet) - 1]
        inside.update(tbl.iter(_W + "p"))
        grid = _grid(tbl)
        for slot in layout.slots:
            tc = grid.get((slot.row, slot.col))
            if tc is None:
                continue
            if _has_formula(tc):
                kept.setdefault(layout.sheet, []).append((slot.row, slot.col))
                continue
            value = cells.get((slot.row, slot.col))
            if value is None:
                if _NUMBER_TEXT_RE.fullmatch(_paragraph_text(tc).strip()):
                    for t in tc.iter(_W + "t"):
                        t.text = ""  # a figure left in the template is no figure of this period
                continue
            paragraphs = tc.findall(_W + "p")
            if not paragraphs:
                from lxml import etree

                paragraphs = [etree.SubElement(tc, _W + "p")]
            _set_text(paragraphs[0], _number_text(value, numbers))
            for extra in paragraphs[1:]:
                for t in extra.iter(_W + "t"):
                    t.text = ""
            written += 1
    for p in list(body.iter(_W + "p")):
        if p in inside:
            continue
        line = _paragraph_text(p)
        new = dates(line)
        if new is not None:
            _set_text(p, new)
        elif as_of_label(line):
            _as_of_after(p, line, as_of)
    return with_docx_document(data, root), written, kept


def _as_of_after(p: Any, line: str, day: dt.date) -> None:
    """ "Tính đến ngày:" with nothing after it: the date in the next cell of its table row
    when that one is blank, else at the end of the line."""
    text = day.strftime("%d/%m/%Y")
    tc = p.getparent()
    if tc is not None and tc.tag == _W + "tc":
        following = next(tc.itersiblings(_W + "tc"), None)
        if following is not None:
            paragraphs = following.findall(_W + "p")
            if paragraphs and is_date_blank("".join(_paragraph_text(q) for q in paragraphs)):
                _set_text(paragraphs[0], text)
                return
    _set_text(p, line.rstrip() + " " + text)
