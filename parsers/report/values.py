"""Read the figures of a found table: each indicator row's measure cells as exact
đồng or counts, the problems of each figure, and the form's checks between measures.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from parsers.model import FormSpec, IndicatorSpec, MeasureSpec, Problem
from parsers.numbers import FigureError, is_locale_ambiguous, parse_figure_with_unit, tidy_decimal, to_dong
from parsers.readers import Cell, coordinate
from parsers.report.matching import FormIndex
from parsers.report.tables import Table

# The uncertain_figure reason of a recognised cell under a measure whose text is no figure.
NOT_A_FIGURE = "not_a_figure"
# The uncertain_figure reason of a money figure read in the measure's default scale.
SCALE_NOT_STATED = "scale_not_stated"

_OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass
class Reading:
    filename: str
    sheet: str
    values: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    cells: dict[tuple[str, str], str] = field(default_factory=dict)  # (ind, measure) -> coord
    # (ind, measure) -> the reading of a recognised cell chosen over the first one
    # because it alone makes its column add up to the 'Tổng cộng' row (always flagged)
    chosen: dict[tuple[str, str], str] = field(default_factory=dict)
    # (ind, measure) -> why a reading in `chosen` was chosen, when not for the column's
    # total or the row's checks (parsers.report.uncertain: ROUND_CHOSEN, SIGN_CHOSEN)
    chosen_why: dict[tuple[str, str], str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, code: str, **params: str | None) -> None:
        p = {"file": self.filename, "sheet": self.sheet}
        p.update({k: str(v) for k, v in params.items() if v is not None})
        self.problems.append(Problem(code, p))


def _read_figure(
    cell: Cell, kind: str, reading: Reading, ind: IndicatorSpec, measure: MeasureSpec, locale: str | None = None
) -> tuple[Decimal | None, int | None]:
    """The figure in `cell` and the money scale the cell itself states ("500 triệu"),
    or (None, None) for no value; a problem is recorded for anything unreadable.
    `locale` is the sheet's `number_locale`: a figure of an "undecided" document that
    reads differently in the two locales is kept as `parse_figure` reads it, flagged."""
    common = {
        "cell": cell.coordinate,
        "indicator": ind.label,
        "measure": measure.label,
        "indicator_code": ind.code,
        "measure_code": measure.code,
    }
    if cell.is_formula_without_value:
        reading.problem("formula_no_value", **common)
        return None, None
    value = cell.value
    if isinstance(value, Decimal):
        return value, None
    if isinstance(value, str):
        try:
            if locale == "vi" or locale == "en":
                return parse_figure_with_unit(value, kind, locale)  # type: ignore[arg-type]
            got = parse_figure_with_unit(value, kind)  # type: ignore[arg-type]
            if locale == "undecided" and got[0] is not None and is_locale_ambiguous(value):
                reading.problem(
                    "uncertain_figure",
                    row=ind.label,
                    column=measure.label,
                    text=cell.text,
                    reason="ambiguous_locale",
                    **common,
                )
            return got
        except FigureError as exc:
            if cell.confidence is not None:
                # recognised from a scan or photo: named by its row and column (a photo
                # has no cell coordinates), and the original attached for the coordinator
                reading.problem(
                    "uncertain_figure",
                    row=ind.label,
                    column=measure.label,
                    text=cell.text,
                    reason=NOT_A_FIGURE,
                    **common,
                )
                return None, None
            reading.problem("not_a_number", text=cell.text, detail=getattr(exc, "reason", ""), **common)
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


def read_values(table: Table, index: FormIndex, reading: Reading, flag_unstated_scale: bool = False) -> None:
    """Fill reading.values/cells/problems from the table's indicator rows. With
    `flag_unstated_scale` (a document, not a spreadsheet form), a money figure whose scale
    neither its cell, its column's header nor a "Đơn vị tính" line states is flagged: it
    is read in the measure's default scale, which the document does not confirm."""
    covered: set[tuple[int, int]] = set()
    for r1, c1, r2, c2 in table.sheet.merged:
        if (r2 - r1 + 1) * (c2 - c1 + 1) <= 10_000:
            covered.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1) if (r, c) != (r1, c1))
    chosen: dict[str, _Row] = {}
    duplicates: list[Problem] = []
    for row, code, quality in table.rows:
        ind = index.indicators[code]
        sub = Reading(reading.filename, reading.sheet)
        values: dict[str, Decimal] = {}
        cells: dict[str, str] = {}
        for mcode, mcol in table.columns.items():
            if (row, mcol.col) in covered:
                continue
            cell = table.sheet.cells.get((row, mcol.col))
            if cell is None:
                continue
            spec = index.measures[mcode]
            value, cell_scale = _read_figure(cell, spec.kind, sub, ind, spec, table.sheet.number_locale)
            if value is None:
                continue
            common = {
                "cell": cell.coordinate,
                "indicator": ind.label,
                "measure": spec.label,
                "indicator_code": ind.code,
                "measure_code": spec.code,
                "text": cell.text,
            }
            if value < 0:
                sub.problem("negative_value", **common)
            if spec.kind == "count":
                if value != value.to_integral_value():
                    sub.problem("fractional_count", **common)
                value = tidy_decimal(value)
            else:
                value = to_dong(value, cell_scale or mcol.scale)
                if flag_unstated_scale and not cell_scale and not mcol.scale_stated:
                    sub.problem("uncertain_figure", row=ind.label, column=spec.label, reason=SCALE_NOT_STATED, **common)
            if table.sheet.uncertain:
                sub.problem(
                    "uncertain_figure", row=ind.label, column=spec.label, reason=table.sheet.uncertain, **common
                )
            values[mcode] = value
            cells[mcode] = cell.coordinate
        if not values and not sub.problems:
            continue  # an empty row, or a group heading that merely mentions an indicator
        prev = chosen.get(code)
        if prev is None or quality > prev.quality:
            # a weaker earlier match (a heading with subtotals) gives way to the real row
            chosen[code] = _Row(row, quality, values, cells, sub.problems)
        elif quality == prev.quality:
            duplicates.append(
                Problem(
                    "duplicate_indicator",
                    {
                        "file": reading.filename,
                        "sheet": reading.sheet,
                        "indicator": ind.label,
                        "cell": coordinate(row, table.label_col),
                        "detail": coordinate(prev.row, table.label_col),
                    },
                )
            )
    for code, r in sorted(chosen.items(), key=lambda kv: kv[1].row):
        reading.problems.extend(r.problems)
        if r.values:
            reading.values[code] = r.values
            for mcode, coord in r.cells.items():
                reading.cells[(code, mcode)] = coord
    reading.problems.extend(duplicates)


def run_checks(form: FormSpec, index: FormIndex, reading: Reading) -> None:
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
