"""The superior's form, filled: the period's figures written into the superior's own
.xlsx or .docx template (`[upward]`), for the coordinator to check and forward.

`fill_upward(template, figures, form)` takes the period's figures as a plain
`PeriodFigures` (totals and each unit's figures, money in đồng) and returns the filled
file and what could not be matched. Where the figures go is decided by
`parsers.report.reverse` (the same label and header matching that reads units' reports,
in reverse); this module only reads the template and writes into it: openpyxl for an
.xlsx (styles, merged cells, widths and formulas kept; numbers written as numbers in
the scale each header states), python-docx for a .docx (each cell keeps its paragraph
and run formatting). A cell holding a formula (a "Tổng cộng" row's =SUM) is left
as it is. Nothing here sends anything: the digest attaches the form to the coordinator.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from parsers.model import FormSpec, ReadLimits
from parsers.readers import Grid, GridError, coordinate, read_grid
from parsers.report.reverse import Layout, as_of_label, fill_date_line, find_layout, is_date_blank, unit_specs
from parsers.text import safe_filename
from service.config import Config
from service.day.dayview import DayView
from service.errors import UsageError
from service.outputs.formatting import Numbers
from service.outputs.i18n import fill
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
    """One unit's figures for the period ({indicator: {measure: value}}, money in đồng)."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    group: str | None = None
    values: Values = field(default_factory=dict)


@dataclass(frozen=True)
class PeriodFigures:
    """The figures of one period, as the superior's form takes them: the totals and each
    unit's figures (money in đồng), the period's first and last day, and the day the
    form is made ("..., ngày ... tháng ... năm ..."; default the last day)."""

    start: dt.date
    end: dt.date
    totals: Values
    units: tuple[UnitFigures, ...] = ()
    signed: dt.date | None = None


@dataclass(frozen=True)
class FilledForm:
    """The filled form and what the coordinator should know about it."""

    data: bytes
    format: str  # "xlsx" or "docx"
    filled: int  # cells written
    unmatched: tuple[str, ...]  # every row or column not filled, one sentence each
    notes: tuple[str, ...] = ()  # how the columns were read, formulas kept

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def figures_of_day(view: DayView) -> PeriodFigures:
    """The figures of the day view: each unit's latest counted figures and their totals
    (the digest's own totals: figures that failed a format check left out). A report's
    period view ([[reports]]) gives its period's first and last day."""
    units = tuple(
        UnitFigures(u.unit.code, u.unit.name, u.unit.aliases, u.unit.group, u.counted_values) for u in view.units
    )
    start, end = (view.period.start, view.period.end) if view.period is not None else (view.day, view.day)
    return PeriodFigures(start=start, end=end, totals=view.totals, units=units)


def fill_upward(
    template: Path, figures: PeriodFigures, form: FormSpec, *, sheet: str | None = None, language: str = "vi"
) -> FilledForm:
    """The superior's form `template` (.xlsx or .docx) filled with `figures`.

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
    layout = _find(data, fmt, template.name, figures, form, sheet, text)
    values = _slot_values(layout, figures)
    signed = figures.signed or figures.end

    def dates(line: str) -> str | None:
        return fill_date_line(line, figures.start, figures.end, signed)

    try:
        if fmt == "xlsx":
            out, written, kept = _write_xlsx(data, layout, values, dates, figures.end)
        else:
            out, written, kept = _write_docx(data, layout, values, dates, Numbers.for_language(language))
    except Exception as exc:  # noqa: BLE001 - a damaged template is one sentence, not a traceback
        raise UpwardFormError(
            text("unreadable", file=template.name, detail=f"{type(exc).__name__}: {str(exc)[:200]}")
        ) from exc
    place = _place(fmt, layout.sheet, text)
    unmatched = [text(m.code, place=place(m.row, m.col), text=_short(m.text)) for m in layout.misses]
    unmatched.extend(_without_rows(layout, figures, form, text))
    notes = []
    if layout.shape == "units":
        scopes = {s.indicators for s in layout.slots}
        labels = {i.code: i.label for i in form.indicators}
        if None in scopes:
            notes.append(text("scope_all"))
        if layout.scope:
            notes.append(text("scope_one", label=labels.get(layout.scope[0], layout.scope[0])))
    if kept:
        cells = ", ".join(coordinate(r, c) for r, c in kept[:10]) + (", …" if len(kept) > 10 else "")
        notes.append(text("formulas_kept", count=len(kept), cells=cells))
    return FilledForm(out, fmt, written, tuple(unmatched), tuple(notes))


@dataclass(frozen=True)
class UpwardAttachment:
    """The filled form as the digest attaches it, or why it could not be filled."""

    title: str
    filename: str
    form: FilledForm | None
    error: str = ""


def upward_for_day(view: DayView, cfg: Config) -> UpwardAttachment | None:
    """The `[upward]` form filled with the day's figures (None when none is configured);
    a form that cannot be filled is an `error` sentence for the digest, never a failure."""
    if cfg.upward is None:
        return None
    up = cfg.upward
    name = upward_filename(cfg, view.day)
    try:
        form = fill_upward(up.template, figures_of_day(view), cfg.form, sheet=up.sheet, language=cfg.service.language)
    except UpwardFormError as exc:
        log.warning("the superior's form was not filled: %s", exc)
        return UpwardAttachment(up.title, name, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - the digest goes out all the same, saying why
        log.exception("the superior's form %s could not be filled", up.template)
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        error = _Texts(cfg.service.language)("unreadable", file=up.template.name, detail=detail)
        return UpwardAttachment(up.title, name, None, error)
    return UpwardAttachment(up.title, name, form)


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
) -> Layout:
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
    layouts = [
        layout
        for s in sheets
        if not s.is_hidden or sheet is not None
        if (layout := find_layout(s, form, units, headings))
    ]
    if not layouts:
        raise UpwardFormError(text("no_table", file=filename))
    return max(layouts, key=lambda lay: (lay.score, -len(lay.misses)))


def _slot_values(layout: Layout, figures: PeriodFigures) -> dict[tuple[int, int], Decimal]:
    """The value of each slot in the scale its column states (None values left out)."""
    out: dict[tuple[int, int], Decimal] = {}
    units = {u.code: u for u in figures.units}
    for slot in layout.slots:
        if layout.shape == "indicators":
            rows: Iterable[Values] = [figures.totals]
            indicators: Iterable[str] | None = [slot.row_key] if slot.row_key else None
        else:
            rows = [units[slot.row_key].values] if slot.row_key else [u.values for u in figures.units]
            indicators = slot.indicators
        value = _sum(rows, indicators, slot.measure)
        if value is not None:
            out[(slot.row, slot.col)] = value / Decimal(slot.scale)
    return out


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


def _without_rows(layout: Layout, figures: PeriodFigures, form: FormSpec, text: _Texts) -> Iterator[str]:
    """The indicators (or units) with figures that the form has no row for."""
    if layout.shape == "indicators":
        for ind in form.indicators:
            if ind.code not in layout.row_keys and any(
                v is not None for v in figures.totals.get(ind.code, {}).values()
            ):
                yield text("indicator_without_row", label=ind.label)
    else:
        for u in figures.units:
            if u.code not in layout.row_keys and any(row for row in u.values.values()):
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


def _is_formula(value: object) -> bool:
    if isinstance(value, str):
        return value.startswith("=")
    return type(value).__name__ in ("ArrayFormula", "DataTableFormula")


def _fill_next(ws: Any, row: int, col: int, day: dt.date) -> None:
    """ "Tính đến ngày:" | "....../....../......": the date written in the cell after the label."""
    from openpyxl.cell.cell import MergedCell

    for c in range(col + 1, min(col + 4, ws.max_column) + 1):
        cell = ws.cell(row, c)
        if isinstance(cell, MergedCell):
            continue
        value = cell.value
        if isinstance(value, dt.date):
            cell.value = dt.datetime.combine(day, dt.time()) if isinstance(value, dt.datetime) else day
        elif value is None or isinstance(value, str) and is_date_blank(value):
            cell.value = day.strftime("%d/%m/%Y")
        return


def _write_xlsx(
    data: bytes,
    layout: Layout,
    values: Mapping[tuple[int, int], Decimal],
    dates: Callable[[str], str | None],
    as_of: dt.date,
) -> tuple[bytes, int, list[tuple[int, int]]]:
    import openpyxl
    from openpyxl.cell.cell import MergedCell

    with warnings.catch_warnings():  # "Data Validation extension is not supported": the form is kept as it loads
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(io.BytesIO(data))
    ws = book[layout.sheet]
    written = 0
    kept: list[tuple[int, int]] = []
    for slot in layout.slots:
        cell = ws.cell(slot.row, slot.col)
        if isinstance(cell, MergedCell):
            continue
        if _is_formula(cell.value):
            kept.append((slot.row, slot.col))
            continue
        value = values.get((slot.row, slot.col))
        if value is not None:
            cell.value = _number(value)
            written += 1
        elif isinstance(cell.value, (int, float, Decimal)) and not isinstance(cell.value, bool):
            cell.value = None  # a figure left in the template is no figure of this period
    top, bottom = layout.header_rows[0], layout.last_row
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell, MergedCell) or not isinstance(cell.value, str) or _is_formula(cell.value):
                continue
            if top <= cell.row <= bottom:
                continue  # the table's own headings and labels stay as written
            new = dates(cell.value)
            if new is not None:
                cell.value = new
            elif as_of_label(cell.value):
                _fill_next(ws, cell.row, cell.column, as_of)
    if kept:
        # The formulas' cached results are gone once figures are written: Excel and
        # LibreOffice compute them again when the file is opened.
        book.calculation.fullCalcOnLoad = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), written, kept


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
    layout: Layout,
    values: Mapping[tuple[int, int], Decimal],
    dates: Callable[[str], str | None],
    numbers: Numbers,
) -> tuple[bytes, int, list[tuple[int, int]]]:
    from docx import Document

    doc = Document(io.BytesIO(data))
    body = doc.element.body
    tables = list(_block_tables(body))
    tbl = tables[int(layout.sheet) - 1]
    grid = _grid(tbl)
    written = 0
    kept: list[tuple[int, int]] = []
    for slot in layout.slots:
        tc = grid.get((slot.row, slot.col))
        if tc is None:
            continue
        if _has_formula(tc):
            kept.append((slot.row, slot.col))
            continue
        value = values.get((slot.row, slot.col))
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
    inside = set(tbl.iter(_W + "p"))
    for p in body.iter(_W + "p"):
        if p in inside:
            continue
        new = dates(_paragraph_text(p))
        if new is not None:
            _set_text(p, new)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue(), written, kept
