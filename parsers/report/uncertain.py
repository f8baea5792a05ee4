"""Figures recognised from a scan or photo that are not certain, flagged.

A figure is kept and named with `uncertain_figure` (file, row, column, text, page,
reason) when its recognition was unsure, when its column does not add up to the
form's "Tổng cộng" row, when it has two more whole digits than most of its column
(a dropped decimal comma), when it breaks one of the form's checks (approved above
requested), or when its money column states no scale the recognition could read. A
column whose figures add up exactly to its readable total is taken as confirmed: a
somewhat unsure recognition there is not flagged, since a misread would not sum; a
very unsure one still is (an unread cell and a misread can cancel out).

Before that, a column that does not add up may be put right from the other readings
its unsure cells carry (`choose_by_totals`): only when exactly one combination of
readings makes it add up to its total, and every figure of such a column stays
flagged, the chosen ones with their own reason.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Final

from parsers.model import CheckSpec, FormSpec, Problem
from parsers.numbers import FigureError, parse_figure_with_unit, scale_from_header, tidy_decimal, to_dong
from parsers.readers import Cell
from parsers.readers.common import column_index, column_letter, coordinate
from parsers.report.matching import TOTAL, FormIndex
from parsers.report.tables import Table
from parsers.report.values import Reading

CONFIDENCE_THRESHOLD: Final = 0.80
MERGED_CELLS: Final = "merged_cells"  # reason: the cell spans two rows or two measures
UNCLAIMED_COLUMN: Final = "unclaimed_column"  # reason: a figure in a column no measure claims
UNMATCHED_ROW: Final = "unmatched_row"  # reason: a figure in a row whose label matches no indicator
# reason: a figure in a row whose label as read only resembles its indicator's
# (parsers.report.ocrlabels: the label cell keeps the label as read as its alternative)
APPROXIMATE_LABEL: Final = "approximate_label"
APPROXIMATE_HEADING: Final = "approximate_heading"
# Below this a figure stays flagged even in a column that adds up: a cell left unread
# (missing from the sum) and a misread can make the total come out by chance.
CONFIRMABLE: Final = 0.5
TOTAL_CHOSEN: Final = "total_chosen"  # reason: a reading chosen because it alone adds up
CHECK_CHOSEN: Final = "check_chosen"  # reason: a reading chosen because it alone passes the row's checks
# reason: a reading chosen because it alone ends in zeros like the rest of its column's figures
ROUND_CHOSEN: Final = "round_chosen"
SIGN_CHOSEN: Final = "sign_chosen"  # reason: the unsigned reading of a figure read negative
# A total read less surely than this (its own readings disagreeing, or Tesseract
# unsure of it at all: '4.678.710.006' for ...000, a stamp's dot read as a digit)
# chooses no reading: it would choose the misread that matches its own.
TOTAL_MIN_CONFIDENCE: Final = 0.3
# a figure as a cell holds it, digits and separators only ('1.234', '155,82', '-')
_BARE_FIGURE: Final = re.compile(r"[\d.,\s-]*\d[\d.,\s-]*")
# a table's money figures are taken as round ('600.310.000') when more than half of
# the others, and at least this many, end with this many zeros or more (in đồng)
_ZERO_NEIGHBOURS: Final = 2
_MIN_ROUND_ZEROS: Final = 3
# a whole figure in thousands groups ('65.130.900', '1,275,396,000', '557230009')
_THOUSANDS: Final = re.compile(r"\d{1,3}(?:([.,])\d{3})?(?:\1\d{3})*|\d+")
# partial sums of readings kept for one column at most (a photo's unsure cells, each
# with its readings and Tesseract's per-symbol choices)
_MAX_PARTIAL_SUMS: Final = 50_000

_OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _split(coord: str) -> tuple[int, int]:
    letters = "".join(ch for ch in coord if ch.isalpha())
    return int(coord[len(letters) :]), column_index(letters)


def _figure(cell: Cell, kind: str, scale: int) -> Decimal | None:
    try:
        value, own = parse_figure_with_unit(cell.value, kind)  # type: ignore[arg-type]
    except FigureError:
        return None
    if value is None:
        return None
    return to_dong(value, own or scale) if kind == "money" else value


def choose_by_totals(table: Table, index: FormIndex, reading: Reading) -> None:
    """Put right, from the other readings its recognised cells carry
    (`Cell.alternatives`), a column that does not add up to its 'Tổng cộng' row: only
    when exactly one combination of readings (each cell's own or one of its others)
    adds up to the total as read, and only in a column with no figure left unread
    and a total read at least `TOTAL_MIN_CONFIDENCE` surely; of a total read less
    surely, over its reading and its other readings (`_choose_with_total_readings`).
    The readings chosen are recorded in `reading.chosen`; `flag_uncertain` keeps every
    figure of that column flagged (a total misread too could have chosen them).
    Then a row that breaks a check of the form may be put right likewise
    (`_choose_by_checks`), a negative reading by its unsigned other reading
    (`_choose_unsigned`), and a money figure whose last digits break the round
    figures of the rest of its column by the one other reading that keeps them
    (`_choose_by_zeros`)."""
    _choose_unsigned(table, index, reading)
    _choose_by_zeros(table, index, reading)
    _choose_by_totals(table, index, reading)
    _choose_by_checks(table, index, reading)


def _choose_by_checks(table: Table, index: FormIndex, reading: Reading) -> None:
    """Put right, from the other readings its recognised cells carry, a row that
    breaks a check of the form ('4.118' households eligible of 1.133 registered: the
    '1' read '4', its other reading '1.118'): only when the row's own readings break
    one, every cell a broken check names either has other readings or was read
    surely (an unsure cell with no other reading may be the misread one: '548' for
    948 breaks 'received <= eligible' with a right '890'), and exactly one
    combination of the readings of the cells the broken checks name (the row's other
    cells as read) passes every check of the row (of several, the one closest to the
    cells as read, `_fewest_edits`). Checks that share no measure are taken apart
    (`_linked_checks`): a money figure misread with no other reading leaves the row's
    counts to be put right by theirs. Recorded in `reading.chosen` (flagged, reason
    `check_chosen`)."""
    checks = [c for c in index.form.checks if c.op in _OPS]
    for ind, row in reading.values.items():
        for named in _linked_checks([c for c in checks if c.left in row and c.right in row]):
            _choose_in_row(table, index, reading, ind, named)


def _linked_checks(checks: list[CheckSpec]) -> list[list[CheckSpec]]:
    """`checks` in groups linked by the measures they name ('eligible <= registered'
    and 'received <= eligible' together, 'disbursed <= allocated' apart)."""
    groups: list[tuple[set[str], list[CheckSpec]]] = []
    for check in checks:
        measures, members = {check.left, check.right}, [check]
        for group in [g for g in groups if g[0] & measures]:
            measures |= group[0]
            members = group[1] + members
            groups.remove(group)
        groups.append((measures, members))
    return [members for _, members in groups]


def _choose_in_row(table: Table, index: FormIndex, reading: Reading, ind: str, named: list[CheckSpec]) -> None:
    """`_choose_by_checks` for the row of `ind` and one group of linked checks (`named`)."""
    cells = table.sheet.cells
    row = reading.values[ind]
    if all(_OPS[c.op](row[c.left], row[c.right]) for c in named):
        return
    broken = {m for c in named if not _OPS[c.op](row[c.left], row[c.right]) for m in (c.left, c.right)}
    if any(_unsure_alone(table, reading, ind, mcode) for mcode in broken):
        return
    mcodes = sorted({m for c in named for m in (c.left, c.right)})
    options: list[list[tuple[Decimal, str | None]]] = []
    for mcode in mcodes:
        own = row[mcode]
        choices: list[tuple[Decimal, str | None]] = [(own, None)]
        coord = reading.cells.get((ind, mcode))
        cell = cells.get(_split(coord)) if coord else None
        mcol = table.columns.get(mcode)
        if mcode in broken and cell is not None and mcol is not None and (ind, mcode) not in reading.chosen:
            for text in cell.alternatives:
                value = _alternative(text, index.measures[mcode].kind, mcol.scale, table.sheet.number_locale)
                if value is not None and all(value != v for v, _ in choices):
                    choices.append((value, text))
        options.append(choices)
    fits = [
        combo
        for combo in itertools.product(*options)
        if all(_OPS[c.op](combo[mcodes.index(c.left)][0], combo[mcodes.index(c.right)][0]) for c in named)
    ]
    if len(fits) > 1:
        own_texts = [_own_text(table, reading, ind, mcode) for mcode in mcodes]
        fits = _fewest_edits(fits, own_texts)
        if len(fits) > 1:  # as close: the one keeping each cell's digit count ('467,3': '367,3', not '67,3')
            kept = [
                fit
                for fit in fits
                if all(_digits(o) == _digits(alt or o) for o, (_, alt) in zip(own_texts, fit, strict=True))
            ]
            fits = kept if len(kept) == 1 else fits
    if len(fits) != 1:
        return
    for mcode, (value, alt) in zip(mcodes, fits[0], strict=True):
        if alt is not None:
            row[mcode] = value
            reading.chosen[(ind, mcode)] = alt


def _own_text(table: Table, reading: Reading, ind: str, mcode: str) -> str:
    """The text of the cell read for (`ind`, `mcode`) as recognised ('' for none)."""
    coord = reading.cells.get((ind, mcode))
    cell = table.sheet.cells.get(_split(coord)) if coord else None
    return cell.text if cell is not None else ""


def _digits(text: str) -> int:
    """How many digits a reading has."""
    return sum(ch.isdigit() for ch in text)


def _edits(a: str, b: str) -> int:
    """The edit distance between the digits of two readings (separators ignored)."""
    a, b = "".join(ch for ch in a if ch.isdigit()), "".join(ch for ch in b if ch.isdigit())
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _fewest_edits(
    fits: list[tuple[tuple[Decimal, str | None], ...]], own: list[str]
) -> list[tuple[tuple[Decimal, str | None], ...]]:
    """Of several combinations of readings that pass a row's checks, the one whose
    readings differ least from the cells as read (digits inserted, dropped or read
    otherwise: '49' is rather '491' than '4393'), when one alone does; else all."""
    cost = [sum(_edits(o, alt) for o, (_, alt) in zip(own, fit, strict=True) if alt is not None) for fit in fits]
    best = min(cost)
    return [fit for fit, c in zip(fits, cost, strict=True) if c == best] if cost.count(best) == 1 else fits


def _choose_unsigned(table: Table, index: FormIndex, reading: Reading) -> None:
    """A recognised figure read negative ('-174': a speck or a rule's end before it)
    whose other readings include it unsigned: that reading is chosen (no figure of a
    form is negative). Recorded in `reading.chosen` (flagged), its `negative_value`
    problem dropped (the figure is named as chosen instead)."""
    cells = table.sheet.cells
    for (ind, mcode), coord in reading.cells.items():
        own = reading.values.get(ind, {}).get(mcode)
        cell = cells.get(_split(coord))
        mcol = table.columns.get(mcode)
        if own is None or own >= 0 or cell is None or cell.confidence is None or mcol is None:
            continue
        if (ind, mcode) in reading.chosen:
            continue
        kind = index.measures[mcode].kind
        for text in cell.alternatives:
            if _alternative(text, kind, mcol.scale, table.sheet.number_locale) == -own:
                reading.values[ind][mcode] = -own
                reading.chosen[(ind, mcode)] = text
                reading.chosen_why[(ind, mcode)] = SIGN_CHOSEN
                reading.problems[:] = [
                    p
                    for p in reading.problems
                    if not (
                        p.code == "negative_value"
                        and p.params.get("indicator_code") == ind
                        and p.params.get("measure_code") == mcode
                    )
                ]
                break


def _zeros(value: Decimal) -> int:
    """How many zeros a whole figure ends with (0 for a fraction or zero)."""
    if value == 0 or value != value.to_integral_value():
        return 0
    digits = str(int(value))
    return len(digits) - len(digits.rstrip("0"))


def _choose_by_zeros(table: Table, index: FormIndex, reading: Reading) -> None:
    """A money figure read unsurely whose value in đồng ends with fewer zeros than most
    other figures of its table's money columns of the same scale ('557.230.009' among
    600.310.000, 467.740.000 ...: round figures, a last zero read '9'), when more than
    half of them, and at least `_ZERO_NEIGHBOURS`, end with `_MIN_ROUND_ZEROS` zeros or
    more: the other reading of its cell that ends with as many zeros is chosen, when
    one alone does (of several, the one closest to the reading, `_fewest_edits`, then
    the roundest). The other reading must have as many digits as the reading, unless
    the reading's groups are no thousands groups ('344.40': a digit dropped). Not in a
    column that adds up to its 'Tổng cộng' row as read. Recorded in `reading.chosen`
    (flagged)."""
    cells = table.sheet.cells
    total_row = _total_row(table, index)
    money = {
        key: mcol.scale
        for key in reading.cells
        if (mcol := table.columns.get(key[1])) is not None
        and index.measures[key[1]].kind == "money"
        and key[1] in reading.values.get(key[0], {})
    }
    zeros = {key: _zeros(reading.values[key[0]][key[1]]) for key in money}
    for key, scale in money.items():
        others = sorted((z for k, z in zeros.items() if k != key and money[k] == scale), reverse=True)
        if len(others) < _ZERO_NEIGHBOURS:
            continue
        round_to = others[max(len(others) // 2, _ZERO_NEIGHBOURS - 1)]  # more than half have as many
        cell = cells.get(_split(reading.cells[key]))
        if zeros[key] >= round_to or round_to < _MIN_ROUND_ZEROS or key in reading.chosen:
            continue
        if cell is None or cell.confidence is None or cell.confidence >= CONFIDENCE_THRESHOLD:
            continue
        if _adds_up(table, index, reading, key[1], total_row):
            continue
        width = sum(ch.isdigit() for ch in cell.text)
        grouped = _THOUSANDS.fullmatch(cell.text.strip()) is not None
        found: list[tuple[tuple[Decimal, str | None], ...]] = []
        for text in cell.alternatives:
            value = _alternative(text, "money", scale, table.sheet.number_locale)
            if value is None or _zeros(value) < round_to or any(f[0][0] == value for f in found):
                continue
            if grouped and sum(ch.isdigit() for ch in text) != width:
                continue  # a digit more or fewer: the zeros of the others say nothing of that
            found.append(((value, text),))
        if len(found) > 1:
            found = _fewest_edits(found, [cell.text])
        if len(found) > 1:
            most = max(_zeros(f[0][0]) for f in found)
            roundest = [f for f in found if _zeros(f[0][0]) == most]
            found = roundest if len(roundest) == 1 else found
        if len(found) == 1 and (chosen := found[0][0][1]) is not None:
            reading.values[key[0]][key[1]] = found[0][0][0]
            reading.chosen[key] = chosen
            reading.chosen_why[key] = ROUND_CHOSEN
            zeros[key] = _zeros(found[0][0][0])


def _unsure_alone(table: Table, reading: Reading, ind: str, mcode: str) -> bool:
    """Whether the cell read for (`ind`, `mcode`) was read unsurely and carries no other reading."""
    coord = reading.cells.get((ind, mcode))
    cell = table.sheet.cells.get(_split(coord)) if coord else None
    if cell is None or cell.confidence is None:
        return False
    return not cell.alternatives and cell.confidence < CONFIDENCE_THRESHOLD


def _choose_by_totals(table: Table, index: FormIndex, reading: Reading) -> None:
    total_row = _total_row(table, index)
    if total_row is None:
        return
    cells = table.sheet.cells
    unread = {
        p.params.get("measure_code", "")
        for p in reading.problems
        if (p.params.get("indicator_code", ""), p.params.get("measure_code", "")) not in reading.cells
    }
    for mcode, mcol in table.columns.items():
        keys = [key for key in reading.cells if key[1] == mcode]
        total_cell = cells.get((total_row, mcol.col))
        if not keys or mcode in unread or total_cell is None or _merged_over(table, mcol.col):
            continue
        spec = index.measures[mcode]
        total = _figure(total_cell, spec.kind, mcol.scale)
        if total is not None and sum((reading.values[ind][mcode] for ind, _ in keys), Decimal(0)) == total:
            continue
        unsure_total = total_cell.confidence is not None and total_cell.confidence < TOTAL_MIN_CONFIDENCE
        if (total is None or unsure_total) and not (unsure_total and total_cell.alternatives):
            continue  # no total, or one read blind (it would choose the misread matching its own)
        options: list[list[tuple[Decimal, str | None]]] = []
        for ind, _ in keys:
            cell = cells.get(_split(reading.cells[(ind, mcode)]))
            own = reading.values[ind][mcode]
            choices: list[tuple[Decimal, str | None]] = [(own, None)]
            # a reading chosen before (a sign, round figures) may yet give way to the cell as read
            texts = (
                () if cell is None else (*([cell.text] if (ind, mcode) in reading.chosen else []), *cell.alternatives)
            )
            for text in texts:
                value = _alternative(text, spec.kind, mcol.scale, table.sheet.number_locale)
                if value is not None and all(value != v for v, _ in choices):
                    choices.append((value, text))
            options.append(choices)
        if unsure_total:
            _choose_with_total_readings(
                table, reading, mcode, keys, options, _readings_of(table, spec.kind, mcol.scale, total_cell)
            )
            continue
        assert total is not None
        fits = _sums_to(options, total) if any(len(choices) > 1 for choices in options) else []
        if len(fits) == 1:
            for (ind, _), (value, alt) in zip(keys, fits[0], strict=True):
                if alt is not None:
                    reading.values[ind][mcode] = value
                    reading.chosen[(ind, mcode)] = alt
        elif not fits:  # none (several: which is right the total cannot tell, nothing changes)
            _choose_one_digit(table, index, reading, mcode, keys, total, total_cell)


def _readings_of(table: Table, kind: str, scale: int, cell: Cell) -> list[Decimal]:
    """The values of a recognised cell's reading and of its other readings (`Cell.alternatives`)."""
    out: list[Decimal] = []
    for text in (cell.text, *cell.alternatives):
        value = _alternative(text, kind, scale, table.sheet.number_locale)
        if value is not None and value not in out:
            out.append(value)
    return out


def _choose_with_total_readings(
    table: Table,
    reading: Reading,
    mcode: str,
    keys: list[tuple[str, str]],
    options: list[list[tuple[Decimal, str | None]]],
    totals: list[Decimal],
) -> None:
    """A column whose 'Tổng cộng' was read unsurely ('2.780.430.001', its last zeros
    misread like its cells'): put right from its cells' other readings only when,
    over the total's reading and each of its other readings, exactly one combination
    of the cells' readings adds up to one of them, and it is not the cells as read
    (the total's readings are no evidence for those: an unsure total confirms nothing).
    Cells read right add up to the total's right reading, when it is among its
    readings: then a misread cell's reading matching the total's misread is a second
    fit, and nothing is chosen.
    Recorded in `reading.chosen` like a choice by a total read surely (flagged)."""
    found: list[tuple[tuple[Decimal, str | None], ...]] = []
    for total in totals:
        found += _sums_to(options, total)
        if len(found) > 1:
            return
    if len(found) == 1 and any(alt is not None for _, alt in found[0]):
        for (ind, _), (value, alt) in zip(keys, found[0], strict=True):
            if alt is not None:
                reading.values[ind][mcode] = value
                reading.chosen[(ind, mcode)] = alt


def _sums_to(
    options: list[list[tuple[Decimal, str | None]]], total: Decimal
) -> list[tuple[tuple[Decimal, str | None], ...]]:
    """The combinations of one choice per cell (`options`) that add up to `total`: none,
    the one, or two of them (there are more than one: which is right, the total cannot
    tell). Partial sums are merged as they are made (many readings of each of a
    column's cells: a product of them would be too many to try), and a partial sum
    past the total dropped when no figure is negative; none past `_MAX_PARTIAL_SUMS`."""
    signed = any(v < 0 for choices in options for v, _ in choices)
    # partial sum -> how many combinations make it (counted to 2) and the first of them
    partial: dict[Decimal, tuple[int, tuple[tuple[Decimal, str | None], ...]]] = {Decimal(0): (1, ())}
    for choices in options:
        grown: dict[Decimal, tuple[int, tuple[tuple[Decimal, str | None], ...]]] = {}
        for so_far, (count, combo) in partial.items():
            for choice in choices:
                at = so_far + choice[0]
                if at > total and not signed:
                    continue
                seen = grown.get(at)
                grown[at] = (min(2, count + seen[0]), seen[1]) if seen else (count, (*combo, choice))
        if len(grown) > _MAX_PARTIAL_SUMS:
            return []
        partial = grown
    count, combo = partial.get(total, (0, ()))
    return [combo] * count


def _adds_up(table: Table, index: FormIndex, reading: Reading, mcode: str, total_row: int | None) -> bool:
    """Whether the figures taken in column `mcode` add up to its 'Tổng cộng' row (to
    one of its readings, when it was read unsurely)."""
    mcol = table.columns.get(mcode)
    total_cell = table.sheet.cells.get((total_row, mcol.col)) if total_row is not None and mcol is not None else None
    if total_cell is None or mcol is None:
        return False
    kind = index.measures[mcode].kind
    total = _figure(total_cell, kind, mcol.scale)
    values = [reading.values[ind][m] for ind, m in reading.cells if m == mcode and m in reading.values.get(ind, {})]
    whole = sum(values, Decimal(0))
    if total is not None and whole == total:
        return True
    unsure = total_cell.confidence is not None and total_cell.confidence < TOTAL_MIN_CONFIDENCE
    return unsure and whole in _readings_of(table, kind, mcol.scale, total_cell)  # one of an unsure total's readings


def _choose_one_digit(
    table: Table,
    index: FormIndex,
    reading: Reading,
    mcode: str,
    keys: list[tuple[str, str]],
    total: Decimal,
    total_cell: Cell,
) -> None:
    """A column that no reading of its cells makes add up: the one cell whose reading,
    with one digit read otherwise, makes the column add up to its total, taken (a digit
    misread the same way at every size: '965' for 365, '174.699' for 174.690). Only
    when exactly one cell of the column can be mended so, and the total was read at
    least as surely as that cell: a total misread by one digit mends no cell or
    several (nothing changes then), and of a one-row column, whose total is the same
    figure written twice, the surer reading wins. Flagged like any chosen reading."""
    spec = index.measures[mcode]
    cells = table.sheet.cells
    mcol = table.columns[mcode]
    values = [reading.values[ind][mcode] for ind, _ in keys]
    whole = sum(values, Decimal(0))
    found: list[tuple[str, Decimal, str]] = []
    for (ind, _), own in zip(keys, values, strict=True):
        cell = cells.get(_split(reading.cells[(ind, mcode)]))
        wanted = total - (whole - own)
        if cell is None or wanted < 0 or (cell.confidence or 0.0) > (total_cell.confidence or 0.0):
            continue
        for text in _one_digit_off(cell.text):
            if _alternative(text, spec.kind, mcol.scale, table.sheet.number_locale) == wanted:
                found.append((ind, wanted, text))
                break
        if len(found) > 1:
            return
    if len(found) == 1:
        ind, value, text = found[0]
        reading.values[ind][mcode] = value
        reading.chosen[(ind, mcode)] = text


def _one_digit_off(text: str) -> list[str]:
    """`text` with one of its digits replaced by another (the first never by 0)."""
    out = []
    positions = [i for i, ch in enumerate(text) if ch.isdigit()]
    for i in positions:
        for digit in "0123456789":
            if digit == text[i] or (digit == "0" and i == positions[0] and len(positions) > 1):
                continue
            out.append(text[:i] + digit + text[i + 1 :])
    return out


def _merged_over(table: Table, col: int) -> bool:
    """Whether a merged cell of the data rows covers column `col` (a figure it hid is
    missing from the column's sum)."""
    return any(c1 <= col <= c2 and r2 >= table.first_data_row for r1, c1, r2, c2 in table.sheet.merged)


def _alternative(text: str, kind: str, scale: int, locale: str | None) -> Decimal | None:
    """The value of another reading of a recognised cell, as `read_values` would
    have taken it (the sheet's number locale, the column's money scale)."""
    try:
        if locale == "vi" or locale == "en":
            value, own = parse_figure_with_unit(text, kind, locale)  # type: ignore[arg-type]
        else:
            value, own = parse_figure_with_unit(text, kind)  # type: ignore[arg-type]
    except FigureError:
        return None
    if value is None or value < 0:
        return None
    if kind == "count":
        return tidy_decimal(value) if value == value.to_integral_value() else None
    return to_dong(value, own or scale)


def flag_uncertain(table: Table, index: FormIndex, form: FormSpec, reading: Reading) -> list[Problem]:
    """The `uncertain_figure` problems of a table read from recognised cells."""
    cells = table.sheet.cells
    reasons: dict[tuple[str, str], str] = {}
    layout = _misplaced(table, index, reading, reasons)
    layout.extend(_unmatched_rows(table, index, reading))
    _above_a_row_without_label(table, index, reading, reasons)
    _label_over_the_number(table, reading, reasons)
    as_read = _approximate_rows(table, reading, reasons)
    headings = _approximate_columns(table, reading, reasons)
    by_measure: dict[str, list[tuple[str, Decimal]]] = {}
    for ind, mcode in reading.cells:
        value = reading.values.get(ind, {}).get(mcode)
        if value is not None:
            by_measure.setdefault(mcode, []).append((ind, value))
    total_row = _total_row(table, index)
    for key in reading.chosen:
        if _adds_up(table, index, reading, key[1], total_row):
            reasons[key] = TOTAL_CHOSEN
        else:
            reasons[key] = reading.chosen_why.get(key, CHECK_CHOSEN)
    confirmed = set()
    for mcode, mcol in table.columns.items():
        figures = by_measure.get(mcode, [])
        if not figures:
            continue
        spec = index.measures[mcode]
        if spec.kind == "money" and not any(scale_from_header(h) for h in mcol.headers):
            for ind, _ in figures:
                reasons.setdefault((ind, mcode), "scale_not_stated")
        if total_row is None:
            continue
        total_cell = cells.get((total_row, mcol.col))
        total = _figure(total_cell, spec.kind, mcol.scale) if total_cell is not None else None
        if any(key[1] == mcode for key in reading.chosen):
            # added up only by the readings chosen for it (to its total as read or, read
            # unsurely, to another reading of it): every figure stays flagged
            for ind, _ in figures:
                reasons.setdefault((ind, mcode), "total_mismatch")
        elif total is None:
            continue
        elif sum((v for _, v in figures), Decimal(0)) == total:
            confirmed.add(mcode)
        else:
            for ind, _ in figures:
                reasons.setdefault((ind, mcode), "total_mismatch")
    for mcode, figures in by_measure.items():
        # a figure with two more whole digits than its column's usual: a dropped
        # decimal comma (155,82 read 15582) or a digit too many
        widths = {ind: _whole_digits(cells.get(_split(reading.cells[(ind, mcode)]))) for ind, _ in figures}
        known = sorted(w for w in widths.values() if w)
        if len(known) >= 3:
            usual = known[len(known) // 2]
            for ind, width in widths.items():
                if width >= usual + 2:
                    reasons.setdefault((ind, mcode), "digits_unlike_column")
    for ind, row in reading.values.items():
        for check in form.checks:
            left, right, op = row.get(check.left), row.get(check.right), _OPS.get(check.op)
            if left is not None and right is not None and op is not None and not op(left, right):
                reasons.setdefault((ind, check.left), "check_failed")
                reasons.setdefault((ind, check.right), "check_failed")
    for key, coord in reading.cells.items():
        cell = cells.get(_split(coord))
        if cell is None or cell.confidence is None:
            continue
        unsure = cell.confidence < CONFIDENCE_THRESHOLD
        if unsure and (key[1] not in confirmed or cell.confidence < CONFIRMABLE):
            reasons.setdefault(key, "low_confidence")
    problems: list[Problem] = layout
    for (ind, mcode), reason in reasons.items():
        coord = reading.cells.get((ind, mcode), "")
        cell = cells.get(_split(coord)) if coord else None
        if cell is not None and (ind, mcode) in reading.chosen:
            cell = replace(cell, text=reading.chosen[(ind, mcode)])  # the reading presented
        label = index.indicators[ind].label if ind in index.indicators else ind
        problems.append(
            _named(
                reading,
                as_read[ind] if reason == APPROXIMATE_LABEL else label,
                headings.get(mcode) or (index.measures[mcode].label if mcode in index.measures else mcode),
                cell.text if cell is not None else "",
                cell,
                coord,
                reason,
                ind,
                mcode,
            )
        )
    return problems


def _named(
    reading: Reading, row: str, column: str, text: str, cell: Cell | None, coord: str, reason: str, ind: str, mcode: str
) -> Problem:
    """The `uncertain_figure` problem naming one figure: its file, row, column, text as
    read, page and cell, and why."""
    return Problem(
        "uncertain_figure",
        {
            "file": reading.filename,
            "row": row,
            "column": column,
            "text": text,
            "page": str(cell.page) if cell is not None and cell.page is not None else "",
            "cell": coord,
            "reason": reason,
            "indicator_code": ind,
            "measure_code": mcode,
        },
    )


def _misplaced(table: Table, index: FormIndex, reading: Reading, reasons: dict[tuple[str, str], str]) -> list[Problem]:
    """What the grid's shape may have lost in the data rows, each named by its row and
    column: a cell spanning two rows or two measures (a rule hidden by a stamp or lost
    in a photo) flags the figure read from it and names the measures it hid; a figure in
    a column no measure claims (a rule too many split a column) is named, with the
    measure whose heading spans it when there is one. Fills `reasons` for figures read."""
    sheet = table.sheet
    first = table.first_data_row
    columns = {m.col: code for code, m in table.columns.items()}
    owner = dict(columns)  # column -> the measure whose heading spans it
    for r1, c1, r2, c2 in sheet.merged:
        spans = [c for c in range(c1, c2 + 1) if c in columns]
        if table.header_top <= r1 and r2 < first and len(spans) == 1:  # one measure's heading
            for c in range(c1, c2 + 1):
                owner.setdefault(c, columns[spans[0]])
    labels = {r: code for r, code, _ in reversed(table.rows)}  # a row's first match
    named = {
        (p.params.get("indicator_code", ""), p.params.get("measure_code", ""))
        for p in reading.problems
        if p.params.get("measure_code")
    }
    problems: list[Problem] = []

    def name(ind: str, mcode: str, column: str, text: str, coord: str, reason: str) -> None:
        if mcode and ((ind, mcode) in named or (ind, mcode) in reading.cells):
            if (ind, mcode) in reading.cells:
                reasons.setdefault((ind, mcode), reason)
            return
        named.add((ind, mcode))
        cell = sheet.cells.get(_split(coord))
        problems.append(_named(reading, index.indicators[ind].label, column, text, cell, coord, reason, ind, mcode))

    spanned: set[tuple[int, int]] = set()
    for r1, c1, r2, c2 in sheet.merged:
        if c1 <= table.label_col or r2 < first:
            continue  # a heading across the row, a label's own cell, the table's header
        origin = sheet.cells.get((r1, c1))
        text = origin.text if origin is not None else ""
        hidden = [c for c in range(c1, c2 + 1) if c in columns]
        if r1 == r2 and len(hidden) < 2:
            continue  # one measure's cell widened over a column of nothing
        for r in range(r1, r2 + 1):
            ind = labels.get(r)
            if ind is None:
                continue
            for c in range(c1, c2 + 1):
                spanned.add((r, c))
            for c in hidden:
                name(ind, columns[c], index.measures[columns[c]].label, text, coordinate(r1, c1), MERGED_CELLS)
    for (r, c), cell in sorted(sheet.cells.items()):
        ind = labels.get(r)
        if ind is None or c <= table.label_col or c in columns or c == table.code_col or (r, c) in spanned:
            continue
        if not any(ch.isdigit() for ch in cell.text):
            continue
        mcode = owner.get(c, "")
        column = index.measures[mcode].label if mcode else (_heading(table, c) or column_letter(c))
        name(ind, mcode, column, cell.text, cell.coordinate, UNCLAIMED_COLUMN)
    return problems


def _unmatched_rows(table: Table, index: FormIndex, reading: Reading) -> list[Problem]:
    """Name each figure of a data row whose label was read but matches no indicator of
    the form ('Sạo cứu đéi' for 'Gạo cứu đói', a label a stamp or a blurred photo
    garbled): the row is not taken, and its figures are named by the label as read and
    their column, never dropped unnamed. A row with no label at all is
    `_above_a_row_without_label`'s; a subtotal ('Cộng') names nothing."""
    cells = table.sheet.cells
    labels = {r for r, _, _ in table.rows}
    total_row = _total_row(table, index)
    columns = {m.col: code for code, m in table.columns.items()}
    # a row above the first matched one was taken into the header block: it is a data
    # row only when every cell it has under a measure is a bare figure (no heading words)
    above = {
        r
        for r in range(table.header_top + 1, table.first_data_row)
        if (under := [cells[(r, c)].text for c in columns if (r, c) in cells])
        and all(_BARE_FIGURE.fullmatch(t.strip()) for t in under)
    }
    problems: list[Problem] = []
    for (r, c), cell in sorted(cells.items()):
        mcode = columns.get(c)
        if mcode is None or r in labels or r == total_row:
            continue
        if r < table.first_data_row and r not in above:
            continue
        if not any(ch.isdigit() for ch in cell.text):
            continue
        label = cells.get((r, table.label_col))
        text = " ".join(label.text.split()) if label is not None else ""
        if sum(ch.isalpha() for ch in text) < 2 or index.match_indicator(text) is TOTAL:
            continue
        column = index.measures[mcode].label
        problems.append(_named(reading, text, column, cell.text, cell, cell.coordinate, UNMATCHED_ROW, "", mcode))
    return problems


def _approximate_rows(table: Table, reading: Reading, reasons: dict[tuple[str, str], str]) -> dict[str, str]:
    """Flag every figure of a row whose label cell was given its indicator's label
    only approximately (it keeps the label as read as its one alternative,
    parsers.report.ocrlabels): the row may be another indicator's, or none. The
    reason is this one whatever else flags the figure; the indicator code -> the
    label as read, which names the row in the problem."""
    cells = table.sheet.cells
    as_read: dict[str, str] = {}
    for r, code, _ in table.rows:
        label = cells.get((r, table.label_col))
        if label is None or label.confidence is None or not label.alternatives:
            continue
        as_read[code] = " ".join(label.alternatives[0].split())
        for ind, mcode in reading.cells:
            if ind == code:
                reasons[(ind, mcode)] = APPROXIMATE_LABEL
    return as_read


def _approximate_columns(table: Table, reading: Reading, reasons: dict[tuple[str, str], str]) -> dict[str, str]:
    """Flag every figure of a column whose recognised heading was matched to its
    measure only approximately (parsers.report.tables): the column may be another
    measure's. The reason is this one unless the row's label is approximate too; the
    measure code -> the heading as read, which names the column in the problem."""
    out: dict[str, str] = {}
    for mcode, column in table.columns.items():
        if not column.approximate:
            continue
        out[mcode] = " ".join(column.headers[-1].split())
        for ind, m in reading.cells:
            if m == mcode and reasons.get((ind, m)) != APPROXIMATE_LABEL:
                reasons[(ind, m)] = APPROXIMATE_HEADING
    return out


def _label_over_the_number(table: Table, reading: Reading, reasons: dict[tuple[str, str], str]) -> None:
    """Flag the figures of a row whose label was read from a cell merged over the label
    column from the number column (parsers.report.tables: a rule lost in a photo): the
    row's other rules may be lost too."""
    labelled = {r: code for r, code, _ in table.rows if (r, table.label_col) not in table.sheet.cells}
    for r1, c1, r2, c2 in table.sheet.merged:
        code = labelled.get(r1)
        if code is None or r1 != r2 or not c1 < table.label_col <= c2:
            continue
        for ind, mcode in reading.cells:
            if ind == code:
                reasons.setdefault((ind, mcode), MERGED_CELLS)


def _above_a_row_without_label(
    table: Table, index: FormIndex, reading: Reading, reasons: dict[tuple[str, str], str]
) -> None:
    """Flag the figures of a labelled row right above a row of figures with no label
    cell at all: the rule between the two rows was lost in the label column only (a
    photo), so the one label cell holds both rows' labels and may have been matched to
    the lower row's indicator ('Nuôi trồng thủy sản Hỗ trợ gạo cứu đói ...' taken for
    'cứu đói' with the 'thủy sản' row's figures). Nothing is certain of that row."""
    cells = table.sheet.cells
    labels = {r: code for r, code, _ in table.rows}
    measure_cols = {m.col for m in table.columns.values()}
    total_row = _total_row(table, index)
    rows_with_figures = {
        r
        for (r, c), cell in cells.items()
        if r > table.first_data_row and c in measure_cols and any(ch.isdigit() for ch in cell.text)
    }
    for r in sorted(rows_with_figures):
        label = cells.get((r, table.label_col))
        if r in labels or r == total_row or (label is not None and label.text.strip()):
            continue
        above = labels.get(r - 1)
        if above is None:
            continue
        for ind, mcode in reading.cells:
            if ind == above:
                reasons.setdefault((ind, mcode), MERGED_CELLS)


def _heading(table: Table, col: int) -> str:
    """The header texts above `col`, top to bottom."""
    texts = []
    for r in range(table.header_top, table.first_data_row):
        cell = table.sheet.cells.get((r, col))
        if cell is not None and cell.text.strip():
            texts.append(cell.text.strip())
    return " ".join(texts)


def _whole_digits(cell: Cell | None) -> int:
    """Digits before the decimal comma of a figure as written (grouping dots and
    spaces are no digits); 0 for no cell."""
    if cell is None:
        return 0
    whole = cell.text.split(",")[0]
    return sum(ch.isdigit() for ch in whole)


def _total_row(table: Table, index: FormIndex) -> int | None:
    """The row of the table's "Tổng cộng" (below its first data row), if any."""
    for (r, c), cell in sorted(table.sheet.cells.items()):
        if c != table.label_col or r < table.first_data_row or not isinstance(cell.value, str):
            continue
        if index.match_indicator(cell.text) is TOTAL:
            return r
    return None
