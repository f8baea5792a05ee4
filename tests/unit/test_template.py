"""The blank form: official layout, protected labels, and an exact round trip through the reader."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from decimal import Decimal

import openpyxl
import pytest

from parsers.report import read_attachment
from service.config import load_config
from service.outputs.template import render_form
from tests.mailbuilders import EXAMPLE_CONFIG


@pytest.fixture(scope="module")
def cfg():
    return load_config(EXAMPLE_CONFIG, require_secrets=False)


def test_every_cell_reads_back_exactly(cfg):
    values = {}
    for i, ind in enumerate(cfg.form.indicators):
        values[ind.code] = {
            m.code: Decimal(1234567 + i * 1000) if m.kind == "count" else Decimal("126140000") + i * 5_000
            for m in cfg.form.measures
        }
    book = render_form(cfg, cfg.units[0], values, as_of=dt.date(2021, 8, 11))
    result = read_attachment("form.xlsx", "application/octet-stream", book, cfg.form, dt.date(2021, 8, 11))
    assert result.outcome == "read" and result.problems == ()
    assert {i: {m: Decimal(v) for m, v in row.items()} for i, row in result.values.items()} == values
    assert result.as_of == dt.date(2021, 8, 11)
    assert result.unit_text == cfg.units[0].name


def test_money_in_thousands_and_dong_scales(cfg):
    measures = tuple(
        replace(m, default_scale=1000)
        if m.code == "kinh_phi"
        else replace(m, default_scale=1)
        if m.code == "tien_da_chi"
        else m
        for m in cfg.form.measures
    )
    cfg2 = replace(cfg, form=replace(cfg.form, measures=measures))
    values = {"dao_tao": {"kinh_phi": Decimal(49_500_500), "tien_da_chi": Decimal(24_000_001)}}
    book = render_form(cfg2, None, values)
    result = read_attachment("f.xlsx", "", book, cfg2.form, None)
    assert result.values == values


def test_layout_protection_and_print_setup(cfg):
    ws = openpyxl.load_workbook(io.BytesIO(render_form(cfg, cfg.units[3]))).active
    texts = [c.value for row in ws.iter_rows(max_row=8) for c in row if c.value]
    assert "Đơn vị: Phòng Văn hóa và Thông tin" in texts
    assert any(str(t).startswith("Số liệu tính đến ngày") for t in texts)
    header = [c.value for c in ws[8]]
    assert header[:3] == ["STT", "Mã", "Nội dung"] and header[-1] == "Ghi chú"
    assert "Kinh phí được phê duyệt (triệu đồng)" in header
    assert ws.protection.sheet and ws.cell(9, 3).protection.locked and not ws.cell(9, 4).protection.locked
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.data_validations.dataValidation[0].type == "decimal"


@pytest.mark.parametrize("code", ["tuan", "thang", "nhanh_2008"])
def test_a_reports_form_naming_its_period_reads_back_exactly(tmp_path, code):
    from service.day.periods import period_of
    from service.day.reportview import report_config
    from tests.unit.test_config import SAMPLE_ENV, load
    from tests.unit.test_reports_config import example_with_reports

    full = load(tmp_path, example_with_reports(), env=SAMPLE_ENV)
    report = full.report(code)
    rcfg = report_config(full, report)
    period = period_of(report, dt.date(2021, 8, 18), full.service.timezone)
    values = {
        i.code: {m.code: Decimal(7_000_000 + n) for m in report.form.measures}
        for n, i in enumerate(report.form.indicators)
    }
    unit = rcfg.units[0]
    book = render_form(rcfg, unit, values, as_of=dt.date(2021, 8, 19), period=period)
    ws = openpyxl.load_workbook(io.BytesIO(book)).active
    title, line = ws["A4"].value.split("\n")
    assert title == report.title.upper() and line.startswith("Kỳ báo cáo: ") and ws.title == f"Báo cáo ({code})"
    result = read_attachment("form.xlsx", "application/octet-stream", book, report.form, dt.date(2021, 8, 19))
    assert result.outcome == "read" and result.problems == ()
    assert {i: {m: Decimal(v) for m, v in row.items()} for i, row in result.values.items()} == values
    assert result.unit_text == unit.name
    # the as-of date is the unit's own "Số liệu tính đến ngày" line: neither the period's dates
    # nor a date in the title (the one-off's "... SỐ LIỆU ĐẾN NGÀY 20/8/2021") is taken for it
    plain = render_form(rcfg, unit, values, as_of=dt.date(2021, 8, 19))
    without = read_attachment("form.xlsx", "application/octet-stream", plain, report.form, dt.date(2021, 8, 19))
    assert result.as_of == without.as_of == dt.date(2021, 8, 19)
    # left blank, the unit's line still stands: the title's date is not claimed for the unit
    blank = render_form(rcfg, unit, values, period=period)
    unfilled = read_attachment("form.xlsx", "application/octet-stream", blank, report.form, dt.date(2021, 8, 19))
    assert unfilled.outcome == "read" and unfilled.as_of is None
