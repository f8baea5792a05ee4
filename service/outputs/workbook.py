"""The consolidated workbook attached to the digest.

Pure: the digest model (service.outputs.model.digest_model) in, .xlsx bytes out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.marker import DataPoint
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from service.config import Config
from service.outputs.i18n import fill, labels
from service.outputs.sheets import (
    BOLD,
    CENTER,
    CHANGE_FONT,
    COUNT_FORMAT,
    DATE_FORMAT,
    DATETIME_FORMAT,
    EXCLUDED_FILL,
    GROUP_FILL,
    HEAD,
    HEAD_FILL,
    LEFT_CENTER,
    MUTED,
    NOTE,
    PERCENT_FORMAT,
    READ_FROM_FILL,
    REGULAR,
    RIGHT,
    STATUS_COLOR,
    STATUS_FILL,
    SUBTITLE,
    TITLE,
    TOTAL_FILL,
    ZEBRA_FILL,
    banner,
    figure_format,
    fit_row,
    freeze,
    header_row,
    merge,
    print_setup,
    put_cell,
    put_cells,
    put_numbers,
    save_fast,
    set_widths,
)

# -- the digest workbook --------------------------------------------------------------------


def render_workbook(model: dict[str, Any], cfg: Config) -> bytes:
    """The consolidated workbook for one day (.xlsx bytes) from `digest_model(...)`."""
    t = labels(cfg.service.language)["workbook"]
    wb = Workbook()
    _totals_sheet(wb.active, model, t)
    if model.get("progress"):
        _progress_sheet(wb.create_sheet(), model, t)
    _status_sheet(wb.create_sheet(), model, t)
    _detail_sheet(wb.create_sheet(), model, t)
    _problems_sheet(wb.create_sheet(), model, t)
    _unassigned_sheet(wb.create_sheet(), model, t)
    wb.properties.title = fill(t["title"], {"date": model["date"]})
    wb.properties.creator = "baocao"
    return save_fast(wb)


def _rate_line(model: Mapping[str, Any], t: Mapping[str, Any]) -> str:
    if not model["reporting_day"]:
        return fill(t["not_reporting_day"], {"date": model["date"], "reason": model.get("day_off") or ""})
    r = model["rate"]
    until = model["until"] + (f" {model['until_date']}" if model["until_date"] else "")
    return fill(t["rate"], {**r, "percent": r["percent_text"], "until": until})


def _totals_sheet(ws: Worksheet, model: Mapping[str, Any], t: Mapping[str, Any]) -> None:
    ws.title = t["totals_sheet"]
    measures = model["measures"]
    widths = [5, 46] + [12, 9.5] * len(measures)
    set_widths(ws, widths)
    money_unit = model["money_unit"]
    if model["campaign"]["title"]:
        banner(ws, 1, model["campaign"]["title"], widths, SUBTITLE, 20)
    banner(ws, 2, fill(t["title"], {"date": model["date"]}), widths, TITLE, 24)
    banner(ws, 3, _rate_line(model, t), widths, NOTE)
    banner(ws, 4, fill(t["units_note"], {"money_unit": money_unit}), widths, NOTE)
    if model["totals"]["stale_units"]:
        banner(
            ws,
            5,
            fill(t["stale_note"], {"count": model["totals"]["stale_units"], "sheet": t["status_sheet"]}),
            widths,
            NOTE,
        )
    head = 7
    for col, text in ((1, t["stt"]), (2, t["indicator"])):
        put_cell(ws, head, col, text, HEAD, fill=HEAD_FILL, align=CENTER)
        put_cell(ws, head + 1, col, None, HEAD, fill=HEAD_FILL, align=CENTER)
        merge(ws, head, col, head + 1, col)
    for k, ms in enumerate(measures):
        col = 3 + 2 * k
        put_cell(ws, head, col, ms["header"], HEAD, fill=HEAD_FILL, align=CENTER)
        put_cell(ws, head, col + 1, None, HEAD, fill=HEAD_FILL, align=CENTER)
        merge(ws, head, col, head, col + 1)
        put_cell(ws, head + 1, col, t["cumulative"], HEAD, fill=HEAD_FILL, align=CENTER)
        put_cell(ws, head + 1, col + 1, t["change"], HEAD, fill=HEAD_FILL, align=CENTER)
    fit_row(ws, head, [(ms["header"], 21) for ms in measures])
    row, number = head + 2, 0
    for item in model["totals"]["rows"]:
        if item["group_start"]:
            for j in range(1, len(widths) + 1):
                put_cell(ws, row, j, item["group"] if j == 2 else None, BOLD, fill=GROUP_FILL)
            fit_row(ws, row, [(item["group"], widths[1])])
            row += 1
        number += 1
        zebra = ZEBRA_FILL if number % 2 == 0 else None
        put_cell(ws, row, 1, number, fill=zebra, align=CENTER)
        put_cell(ws, row, 2, item["label"], fill=zebra)
        _figure_pairs(ws, row, item["cells"], measures, REGULAR, zebra)
        fit_row(ws, row, [(item["label"], widths[1])])
        row += 1
    put_cell(ws, row, 1, None, BOLD, fill=TOTAL_FILL)
    put_cell(ws, row, 2, t["total"], BOLD, fill=TOTAL_FILL)
    _figure_pairs(ws, row, model["totals"]["total"]["cells"], measures, BOLD, TOTAL_FILL)
    fit_row(ws, row, [])
    if model["excluded"]:
        row += 1
        banner(ws, row, f"{model['excluded_heading']}: " + "; ".join(model["excluded"]), widths, NOTE)

    row += 2
    if model["reporting_day"]:
        row = _status_chart(ws, row, model, t, anchor_col=min(5, len(widths)))
    banner(ws, row, fill(t["footer"], model["generated"]), widths, NOTE)
    freeze(ws, head + 2, 3)
    print_setup(ws, f"{head}:{head + 1}")


def _status_chart(ws: Worksheet, row: int, model: Mapping[str, Any], t: Mapping[str, Any], anchor_col: int) -> int:
    """The day's status counts as a small table and a native bar chart drawn from it;
    returns the first free row below both."""
    r = model["rate"]
    statuses = ("on_time", "late", "unreadable", "missing")
    put_cell(ws, row, 2, t["status"], HEAD, fill=HEAD_FILL, align=CENTER)
    put_cell(ws, row, 3, t["count_column"], HEAD, fill=HEAD_FILL, align=CENTER)
    for k, status in enumerate(statuses, start=1):
        put_cell(ws, row + k, 2, model["status_texts"][status], fill=STATUS_FILL[status])
        put_cell(ws, row + k, 3, r[status], fmt=COUNT_FORMAT, align=RIGHT)
    put_cell(ws, row + 5, 2, t["total"], BOLD, fill=TOTAL_FILL)
    put_cell(ws, row + 5, 3, r["expected"], BOLD, fill=TOTAL_FILL, fmt=COUNT_FORMAT, align=RIGHT)
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = fill(t["chart_title"], {"date": model["date"]})
    chart.y_axis.title = t["chart_axis"]
    chart.y_axis.majorGridlines = None
    chart.y_axis.majorUnit = max(1, math.ceil(r["expected"] / 10)) if r["expected"] else 1
    chart.x_axis.scaling.orientation = "maxMin"  # first status on top, as in the table
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    chart.legend = None
    chart.add_data(Reference(ws, min_col=3, min_row=row, max_row=row + len(statuses)), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=row + 1, max_row=row + len(statuses)))
    series = chart.series[0]
    for k, status in enumerate(statuses):
        point = DataPoint(idx=k)
        point.graphicalProperties.solidFill = STATUS_COLOR[status]
        point.graphicalProperties.line.solidFill = STATUS_COLOR[status]
        series.dPt.append(point)
    series.dLbls = DataLabelList()
    series.dLbls.showVal = True
    for flag in ("showCatName", "showSerName", "showLegendKey", "showPercent"):
        setattr(series.dLbls, flag, False)
    chart.gapWidth = 50
    chart.height, chart.width = 6.5, 16
    ws.add_chart(chart, f"{get_column_letter(anchor_col)}{row}")
    return row + 14


def _figure_pairs(
    ws: Worksheet,
    row: int,
    cells: Sequence[Mapping[str, Any]],
    measures: Sequence[Mapping[str, Any]],
    font: Font,
    fill_: PatternFill | None,
) -> None:
    for k, (c, ms) in enumerate(zip(cells, measures)):
        col = 3 + 2 * k
        put_cell(ws, row, col, c["number"], font, fill=fill_, fmt=figure_format(ms, value=c["number"]), align=RIGHT)
        put_cell(
            ws,
            row,
            col + 1,
            c["change_number"],
            CHANGE_FONT[(c["trend"], bool(font.b))],
            fill=fill_,
            fmt=figure_format(ms, True, c["change_number"]),
            align=RIGHT,
        )


def _units_in_order(model: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for g in model["groups"]:
        yield from g["units"]


def _progress_sheet(ws: Worksheet, model: Mapping[str, Any], t: Mapping[str, Any]) -> None:
    """Progress against the campaign's targets: the campaign totals first, then each
    unit's cells; a ratio cell holds value / target (0.875) shown as 87.5%."""
    p = model["progress"]
    ws.title = t["progress_sheet"]
    headers = [
        t["stt"],
        t["unit_code"],
        t["unit"],
        t["indicator"],
        t["measure"],
        t["achieved"],
        t["target"],
        t["percent"],
    ]
    widths = [6, 14, 32, 44, 30, 14, 14, 10]
    set_widths(ws, widths)
    money_unit = model["money_unit"]
    banner(ws, 1, fill(t["progress_title"], {"date": model["date"]}), widths, TITLE, 24)
    row = 2
    if p["countdown"]:
        banner(ws, row, p["countdown"][:1].upper() + p["countdown"][1:] + ".", widths, SUBTITLE)
        row += 1
    banner(ws, row, fill(t["progress_note"], {"money_unit": money_unit, "total": t["total"]}), widths, NOTE)
    head = row + 2
    header_row(ws, head, headers, widths)
    row = head + 1
    lines = [(None, c) for c in p["totals"]] + [(u, c) for u in p["units"] for c in u["cells"]]
    measures = {ms["code"]: ms for ms in model["measures"]}
    for number, (u, c) in enumerate(lines, start=1):
        font = BOLD if u is None else MUTED if u["stale"] else REGULAR
        shade = TOTAL_FILL if u is None else ZEBRA_FILL if number % 2 == 0 else None
        ms = measures[c["measure"]]
        put_cell(ws, row, 1, number, fill=shade, align=CENTER)
        put_cell(ws, row, 2, u["code"] if u else None, font, fill=shade)
        put_cell(ws, row, 3, u["name"] if u else t["total"], font, fill=shade)
        put_cell(ws, row, 4, c["indicator_label"], font, fill=shade)
        put_cell(ws, row, 5, c["measure_label"], font, fill=shade)
        put_cell(
            ws, row, 6, c["value_number"], font, fill=shade, fmt=figure_format(ms, value=c["value_number"]), align=RIGHT
        )
        put_cell(
            ws,
            row,
            7,
            c["target_number"],
            font,
            fill=shade,
            fmt=figure_format(ms, value=c["target_number"]),
            align=RIGHT,
        )
        put_cell(
            ws,
            row,
            8,
            c["ratio"],
            BOLD if u is None else font,
            fill=STATUS_FILL["on_time"] if c["done"] else shade,
            fmt=PERCENT_FORMAT,
            align=RIGHT,
        )
        fit_row(
            ws,
            row,
            [(u["name"] if u else "", widths[2]), (c["indicator_label"], widths[3]), (c["measure_label"], widths[4])],
        )
        row += 1
    ws.auto_filter.ref = f"A{head}:{get_column_letter(len(headers))}{max(row - 1, head)}"
    freeze(ws, head + 1, 4)
    print_setup(ws, f"{head}:{head}")


def _status_sheet(ws: Worksheet, model: Mapping[str, Any], t: Mapping[str, Any]) -> None:
    ws.title = t["status_sheet"]
    measures = model["measures"]
    headers = [
        t["stt"],
        t["unit_code"],
        t["unit"],
        t["group"],
        t["status"],
        t["received"],
        t["figures_day"],
        *(m["header"] for m in measures),
        t["problem_count"],
        t["note"],
    ]
    widths = [6, 14, 36, 16, 15, 9, 12] + [12] * len(measures) + [8, 26]
    set_widths(ws, widths)
    banner(ws, 1, fill(t["status_title"], {"date": model["date"]}), widths, TITLE, 24)
    banner(ws, 2, _rate_line(model, t), widths, NOTE)
    head = 4
    header_row(ws, head, headers, widths)
    row = head + 1
    first_fig = 8
    last = len(headers)
    sum_formats = tuple((figure_format(ms, value=0.5), figure_format(ms, value=1)) for ms in measures)
    for number, u in enumerate(_units_in_order(model), start=1):
        zebra = ZEBRA_FILL if number % 2 == 0 else None
        font = MUTED if u["stale"] else REGULAR
        notes = []
        if u["stale"]:
            notes.append(fill(t["stale"], {"date": u["figures_day_text"]}))
        elif not u["has_figures"]:
            notes.append(t["never"])
        if u["message_count"] > 1:
            notes.append(fill(t["messages"], {"count": u["message_count"]}))
        notes.extend(u["notes"])
        note = "; ".join(notes)
        put_cell(ws, row, 1, number, fill=zebra, align=CENTER)
        put_cell(ws, row, 2, u["code"], fill=zebra)
        put_cell(ws, row, 3, u["name"], fill=zebra)
        put_cell(ws, row, 4, u["group"], fill=zebra)
        put_cell(ws, row, 5, u["status_text"], BOLD, fill=STATUS_FILL.get(u["status"]), align=CENTER)
        put_cell(ws, row, 6, u["status_time"], fill=zebra, align=CENTER)
        put_cell(ws, row, 7, u["figures_day"], fill=zebra, fmt=DATE_FORMAT, align=CENTER)
        if any(c["read_from"] for c in u["sums"]):
            for k, (c, ms) in enumerate(zip(u["sums"], measures)):
                put_cell(
                    ws,
                    row,
                    first_fig + k,
                    c["number"],
                    font,
                    fill=READ_FROM_FILL if c["read_from"] and c["number"] is not None else zebra,
                    fmt=figure_format(ms, value=c["number"]),
                    align=RIGHT,
                )
        else:  # (most units: no figure read from an image or the text) figure_format by whether it is whole
            put_numbers(ws, row, first_fig, [c["number"] for c in u["sums"]], font, zebra, sum_formats, align=RIGHT)
        put_cell(
            ws,
            row,
            first_fig + len(measures),
            len(u["problems"]) or None,
            BOLD if u["problems"] else REGULAR,
            fill=zebra,
            fmt=COUNT_FORMAT,
            align=CENTER,
        )
        put_cell(ws, row, last, note, MUTED if notes else REGULAR, fill=zebra)
        fit_row(ws, row, [(u["name"], widths[2]), (u["group"], widths[3]), (note, widths[-1])])
        row += 1
    row = _read_from_legend(ws, row, model, widths)
    ws.auto_filter.ref = f"A{head}:{get_column_letter(last)}{max(row - 1, head)}"
    freeze(ws, head + 1, 4)
    print_setup(ws, f"{head}:{head}")


def _detail_sheet(ws: Worksheet, model: Mapping[str, Any], t: Mapping[str, Any]) -> None:
    """One row per unit, one column per indicator × measure: the layout of the
    consolidated forms sent upward, with every unit's figures that count in the totals."""
    ws.title = t["detail_sheet"]
    measures = model["measures"]
    indicators = model["totals"]["rows"]
    fixed = [t["stt"], t["unit"], t["status"], t["figures_day"]]
    fixed_widths = [5, 30, 13, 10.5]
    figure_width = 10.5
    widths = fixed_widths + [figure_width] * (len(indicators) * len(measures))
    set_widths(ws, widths)
    first = len(fixed) + 1
    last = len(widths)
    money_unit = model["money_unit"]
    # The title spans the first printed page only: a merged cell across a page break is cut.
    page_one = widths[
        : first - 1 + _blocks_per_page(fixed_widths, figure_width, len(measures), len(indicators)) * len(measures)
    ]
    banner(ws, 1, fill(t["detail_title"], {"date": model["date"]}), page_one, TITLE, 24)
    banner(ws, 2, fill(t["units_note"], {"money_unit": money_unit}), page_one, NOTE)
    head = 4
    for j, text in enumerate(fixed, start=1):
        put_cell(ws, head, j, text, HEAD, fill=HEAD_FILL, align=CENTER)
        put_cell(ws, head + 1, j, None, HEAD, fill=HEAD_FILL, align=CENTER)
        merge(ws, head, j, head + 1, j)
    for k, ind in enumerate(indicators):
        col = first + k * len(measures)
        for j, ms in enumerate(measures):
            put_cell(ws, head, col + j, ind["label"] if j == 0 else None, HEAD, fill=HEAD_FILL, align=CENTER)
            put_cell(ws, head + 1, col + j, ms["header"], HEAD, fill=HEAD_FILL, align=CENTER)
        if len(measures) > 1:
            merge(ws, head, col, head, col + len(measures) - 1)
    fit_row(ws, head, [(ind["label"], figure_width * len(measures)) for ind in indicators])
    fit_row(ws, head + 1, [(ms["header"], figure_width) for ms in measures])
    row, number = head + 2, 0
    by_column = list(measures) * len(indicators)
    formats = tuple((figure_format(ms, value=0.5), figure_format(ms, value=1)) for ms in by_column)
    for g in model["groups"]:
        if g["name"]:
            for j in range(1, last + 1):
                put_cell(ws, row, j, g["name"] if j == 2 else None, BOLD, fill=GROUP_FILL)
            fit_row(ws, row, [])
            row += 1
        for u in g["units"]:
            number += 1
            zebra = ZEBRA_FILL if number % 2 == 0 else None
            font = MUTED if u["stale"] else REGULAR
            put_cell(ws, row, 1, number, fill=zebra, align=CENTER)
            put_cell(ws, row, 2, u["name"], fill=zebra)
            put_cell(ws, row, 3, u["status_text"], fill=STATUS_FILL.get(u["status"]) or zebra, align=CENTER)
            put_cell(ws, row, 4, u["figures_day"], font, fill=zebra, fmt=DATE_FORMAT, align=CENTER)
            values = [v for cells in u["grid"] for v in cells]
            if u["read_from"] or any(map(any, u["grid_excluded"])):
                fills = [
                    EXCLUDED_FILL if excluded else READ_FROM_FILL if read_from else zebra
                    for left_out, read in zip(u["grid_excluded"], u["grid_read_from"])
                    for excluded, read_from in zip(left_out, read)
                ]
                # figure_format(column's measure, value): by whether the value is whole
                fmts = [formats[k][v.__class__ is int] for k, v in enumerate(values)]
                put_cells(ws, row, first, values, font, fills, fmts, align=RIGHT)
            else:  # (most units: no figure left out of the totals or read from an image or the text)
                put_numbers(ws, row, first, values, font, zebra, formats, align=RIGHT)
            fit_row(ws, row, [(u["name"], fixed_widths[1])])
            row += 1
    for j in range(1, first):
        put_cell(ws, row, j, t["total"] if j == 2 else None, BOLD, fill=TOTAL_FILL)
    col = first
    for ind in indicators:
        for c in ind["cells"]:
            put_cell(
                ws,
                row,
                col,
                c["number"],
                BOLD,
                fill=TOTAL_FILL,
                fmt=figure_format(by_column[col - first], value=c["number"]),
                align=RIGHT,
            )
            col += 1
    fit_row(ws, row, [])
    if model["excluded"]:
        row += 1
        banner(ws, row, f"{model['excluded_heading']}: " + "; ".join(model["excluded"]), page_one, NOTE)
    _read_from_legend(ws, row + 1, model, page_one)
    freeze(ws, head + 2, 3)
    print_setup(ws, f"{head}:{head + 1}", f"A:{get_column_letter(first - 1)}")
    _pages_across(ws, fixed_widths, figure_width, len(measures), len(indicators), first)


def _read_from_legend(ws: Worksheet, row: int, model: Mapping[str, Any], widths: Sequence[float]) -> int:
    """Below a table: a shaded sample cell saying what the shading marks (figures read from
    a scan, a photo or the email's text), when some are; returns the next free row."""
    lines = model["read_from_legend"]
    if not lines:
        return row
    put_cell(ws, row + 1, 1, None, fill=READ_FROM_FILL)
    banner_widths = widths[1:] or widths
    text = " ".join(lines)
    put_cell(ws, row + 1, 2, text, NOTE, align=LEFT_CENTER, border=None)
    if len(widths) > 2:
        merge(ws, row + 1, 2, row + 1, len(widths))
    fit_row(ws, row + 1, [(text, sum(banner_widths))])
    return row + 2


def _column_cm(width: float) -> float:
    # Excel draws a width unit as ~0.19 cm, LibreOffice wider; estimating wide keeps every
    # page within the paper in both, so pages break only where _pages_across says.
    return 0.26 * width


USABLE_CM = 29.7 - 2 * 2.54 * 0.4  # A4 landscape minus the margins of _print_setup
MIN_SCALE = 0.6  # smaller print is hard to read


def _blocks_per_page(fixed_widths: Sequence[float], block_width: float, block_size: int, blocks: int) -> int:
    fixed_cm = sum(_column_cm(w) for w in fixed_widths)
    block_cm = block_size * _column_cm(block_width)
    return max(1, min(blocks, int((USABLE_CM / MIN_SCALE - fixed_cm) // block_cm)))


def _pages_across(
    ws: Worksheet, fixed_widths: Sequence[float], block_width: float, block_size: int, blocks: int, first_block_col: int
) -> None:
    """Print a wide sheet as pages across that each start at a block (an indicator with its
    measures) and repeat the fixed columns, at the largest scale that keeps MIN_SCALE."""
    usable_cm = USABLE_CM
    fixed_cm = sum(_column_cm(w) for w in fixed_widths)
    block_cm = block_size * _column_cm(block_width)
    per_page = _blocks_per_page(fixed_widths, block_width, block_size, blocks)
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_setup.scale = max(10, min(100, int(100 * usable_cm / (fixed_cm + per_page * block_cm)) - 1))
    for k in range(per_page, blocks, per_page):
        # A break id is the first column of the next page (as LibreOffice and Excel read it).
        ws.col_breaks.append(Break(id=first_block_col - 1 + k * block_size))


def _problems_sheet(ws: Worksheet, model: Mapping[str, Any], t: Mapping[str, Any]) -> None:
    ws.title = t["problems_sheet"]
    headers = [t["stt"], t["unit_code"], t["unit"], t["status"], t["problem_code"], t["problem"]]
    widths = [6, 14, 32, 15, 22, 90]
    set_widths(ws, widths)
    banner(ws, 1, fill(t["problems_title"], {"date": model["date"]}), widths, TITLE, 24)
    head = 3
    header_row(ws, head, headers, widths)
    row = head + 1
    for u in model["problem_units"]:
        for p in u["problems"]:
            zebra = ZEBRA_FILL if (row - head) % 2 == 0 else None
            put_cell(ws, row, 1, row - head, fill=zebra, align=CENTER)
            put_cell(ws, row, 2, u["code"], fill=zebra)
            put_cell(ws, row, 3, u["name"], fill=zebra)
            put_cell(ws, row, 4, u["status_text"], fill=STATUS_FILL.get(u["status"]) or zebra, align=CENTER)
            put_cell(ws, row, 5, p["code"], MUTED, fill=zebra)
            put_cell(ws, row, 6, p["text"], fill=zebra)
            fit_row(ws, row, [(u["name"], widths[2]), (p["text"], widths[5])])
            row += 1
    if row == head + 1:
        put_cell(ws, row, 1, t["none"], MUTED, border=None, align=Alignment())
    freeze(ws, head + 1, 1)
    print_setup(ws, f"{head}:{head}")


def _unassigned_sheet(ws: Worksheet, model: Mapping[str, Any], t: Mapping[str, Any]) -> None:
    ws.title = t["unassigned_sheet"]
    headers = [t["stt"], t["time"], t["sender"], t["sender_name"], t["subject"], t["reason"], t["kind"]]
    widths = [6, 19, 32, 24, 44, 58, 16]
    set_widths(ws, widths)
    banner(ws, 1, fill(t["unassigned_title"], {"date": model["date"]}), widths, TITLE, 24)
    head = 3
    header_row(ws, head, headers, widths)
    row = head + 1
    no_fmt = [None] * 5
    for x in [*model["unassigned"], *model["automatic"]]:
        zebra = ZEBRA_FILL if (row - head) % 2 == 0 else None
        put_cell(ws, row, 1, row - head, fill=zebra, align=CENTER)
        put_cell(ws, row, 2, x["received_at"].replace(tzinfo=None), fill=zebra, fmt=DATETIME_FORMAT, align=CENTER)
        kind = t["kind_automatic"] if x["kind"] == "automatic" else t["kind_unassigned"]
        put_cells(
            ws, row, 3, [x["from"], x["from_name"], x["subject"], x["reason"], kind], REGULAR, [zebra] * 5, no_fmt
        )
        fit_row(
            ws,
            row,
            [(x["from"], widths[2]), (x["from_name"], widths[3]), (x["subject"], widths[4]), (x["reason"], widths[5])],
        )
        row += 1
    if row == head + 1:
        put_cell(ws, row, 1, t["none"], MUTED, border=None, align=Alignment())
    freeze(ws, head + 1, 1)
    print_setup(ws, f"{head}:{head}")
