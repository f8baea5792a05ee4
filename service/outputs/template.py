"""The blank report form units fill in (`baocao template`), optionally pre-filled.

STT | Mã | Nội dung | one column per measure (money with its scale) | Ghi chú; the
reader matches the `Mã` column exactly, so a filled-in template always reads back.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from parsers.numbers import scale_name
from service.config import Config, UnitConfig
from service.config.objects import LAST_DAY, ReportConfig
from service.day.dayview import number
from service.day.periods import ReportPeriod, period_label
from service.outputs.i18n import fill
from templates import catalog

THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
GROUP_FILL = PatternFill("solid", fgColor="F2F2F2")
FONT = "Times New Roman"


def due_text(report: ReportConfig, cfg: Config) -> str:
    """When `report` is due, in words: "16:00 Thứ Sáu hằng tuần", "17:00 ngày 20 hằng tháng"."""
    c = catalog(cfg.service.language)
    t = c["form"]
    time = report.deadline.strftime("%H:%M")
    which = report.deadline_day
    if report.period == "week" and isinstance(which, int):
        return fill(t["due_week"], {"time": time, "weekday": c["digest"]["weekdays"][which]})
    if report.period == "month" and isinstance(which, int):
        if which == LAST_DAY:
            return fill(t["due_month_last"], {"time": time})
        return fill(t["due_month"], {"time": time, "day": str(which)})
    if report.period == "once" and isinstance(which, dt.date):
        return fill(t["due_once"], {"time": time, "date": f"{which:%d/%m/%Y}"})
    return fill(t["due_day"], {"time": time})


def render_form(
    cfg: Config,
    unit: UnitConfig | None = None,
    values: Mapping[str, Mapping[str, Decimal | int | float]] | None = None,
    as_of: dt.date | None = None,
    period: ReportPeriod | None = None,
) -> bytes:
    """The form as .xlsx bytes; `values` ({indicator: {measure: value in đồng}}) pre-fills it;
    `period`, when given, is named under the title ("Kỳ báo cáo: tuần 16/08–22/08/2021")."""
    t = catalog(cfg.service.language)["form"]
    wb = Workbook()
    ws = wb.active
    report = cfg.reports[0] if cfg.reports else None  # a report's form (reportview.report_config)
    # The report's code in the sheet name tells the reader which report a filled-in form is.
    ws.title = f"{t['sheet']} ({report.code})"[-31:] if report else t["sheet"]
    measures = cfg.form.measures
    first_fig, last_col = 4, 4 + len(measures)  # D.. ; the note column after the figures
    regular, bold = Font(name=FONT, size=12), Font(name=FONT, size=12, bold=True)

    def put(
        row: int, col: int, value: object, font: Font = regular, merge_to: int | None = None, align: str = "left"
    ) -> Any:
        cell = ws.cell(row, col, value)
        cell.font = font
        cell.alignment = Alignment(horizontal=align, vertical="center", wrap_text=True)
        if merge_to:
            ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=merge_to)
        return cell

    put(1, 1, cfg.campaign.title or "", bold, merge_to=3, align="center")
    put(1, 4, t["country"], bold, merge_to=last_col, align="center")
    put(2, 4, t["motto"], bold, merge_to=last_col, align="center")
    title = fill(t["report_title"], {"title": report.title}).upper() if report and report.title else t["title"]
    if period is not None:  # in the title's cell: a line of its own could read as a heading of the table
        title += "\n" + fill(t["period"], {"period": period_label(period, cfg.service.language)})
        ws.row_dimensions[4].height = 40
    put(4, 1, title, Font(name=FONT, size=14, bold=True), merge_to=last_col, align="center")
    put(5, 1, fill(t["unit"], {"unit": unit.name}) if unit else t["unit_blank"], bold, merge_to=last_col)
    put(
        6, 1, fill(t["as_of"], {"date": f"{as_of:%d/%m/%Y}"}) if as_of else t["as_of_blank"], regular, merge_to=last_col
    )

    head = 8
    headers = [t["stt"], t["code"], t["label"]]
    for m in measures:
        headers.append(
            f"{m.label} {fill(t['scale'], {'scale': scale_name(m.default_scale)})}" if m.kind == "money" else m.label
        )
    headers.append(t["note"])
    for j, text in enumerate(headers, start=1):
        c = put(head, j, text, bold, align="center")
        c.fill, c.border = HEAD_FILL, BOX
    ws.row_dimensions[head].height = 64

    validation = DataValidation(
        type="decimal",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=t["validation_title"],
        error=t["validation_error"],
    )
    ws.add_data_validation(validation)
    row, stt, group = head + 1, 0, object()
    for ind in cfg.form.indicators:
        if ind.group and ind.group != group:
            c = put(row, 3, ind.group, bold)
            for j in range(1, last_col + 1):
                ws.cell(row, j).fill, ws.cell(row, j).border = GROUP_FILL, BOX
            row += 1
        group = ind.group
        stt += 1
        put(row, 1, stt, align="center").border = BOX
        put(row, 2, ind.code, Font(name=FONT, size=10, color="808080"), align="center").border = BOX
        put(row, 3, ind.label).border = BOX
        for j, m in enumerate(measures, start=first_fig):
            cell = ws.cell(row, j)
            cell.border, cell.font = BOX, regular
            cell.protection = Protection(locked=False)
            cell.number_format = "#,##0" if m.kind == "count" else "#,##0.###"
            v = (values or {}).get(ind.code, {}).get(m.code)
            if v is not None:
                cell.value = number(Decimal(v) / (m.default_scale if m.kind == "money" else 1))
        note = ws.cell(row, last_col)
        note.border, note.protection = BOX, Protection(locked=False)
        row += 1
    if stt:
        validation.add(f"{get_column_letter(first_fig)}{head + 1}:{get_column_letter(last_col - 1)}{row - 1}")
    put(
        row + 1,
        1,
        fill(
            t["instructions_report"],
            {"due": due_text(report, cfg), "cumulative": t["cumulative_note"] if report.cumulative else ""},
        )
        if report
        else fill(t["instructions"], {"deadline": cfg.schedule.deadline.strftime("%H:%M")}),
        Font(name=FONT, size=11, italic=True),
        merge_to=last_col,
    )
    ws.row_dimensions[row + 1].height = 36

    widths = {1: 6, 2: 16, 3: 60}
    for j in range(1, last_col + 1):
        ws.column_dimensions[get_column_letter(j)].width = widths.get(j, 18 if j < last_col else 22)
    ws.freeze_panes = ws.cell(head + 1, first_fig)
    ws.protection.sheet = True  # labels and codes locked; figure and note cells open
    ws.protection.formatCells = False
    ws.protection.formatColumns = False
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{head}:{head}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
