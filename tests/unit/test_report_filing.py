"""A message's documents filed under the [[reports]] they carry (service.ingest.analysis with reports)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from service.config import Config
from service.ingest.analysis import analyse_message
from service.ingest.pipeline import analysis_rows, report_rows, routing_for
from storage.kinds import REPORT
from tests.mailbuilders import XLSX, email_bytes, report_workbook
from tests.unit.test_config import EXAMPLE, SAMPLE_ENV, load
from tests.unit.test_reports_config import example_with_reports

DAY = dt.date(2021, 8, 18)
DAILY_COLUMNS = ("Số đối tượng đề nghị hỗ trợ", "Số đối tượng được phê duyệt", "Kinh phí được phê duyệt (triệu đồng)")
MONTHLY_COLUMNS = (
    "Số đối tượng đề nghị hỗ trợ",
    "Số đối tượng đã chi trả",
    "Số tiền đã chi trả (triệu đồng)",
    "Kinh phí còn lại (triệu đồng)",
)
WEEKLY_ROWS = ("Hỗ trợ hộ kinh doanh", "Hỗ trợ người lao động không có giao kết hợp đồng lao động (lao động tự do)")


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    """config.example.toml with its four reports written in."""
    return load(tmp_path, example_with_reports(), env=SAMPLE_ENV)


def book(rows: tuple[str, ...], columns: tuple[str, ...], value: int = 5) -> bytes:
    return report_workbook({row: {c: value for c in columns} for row in rows}, measures=columns)


def test_two_attachments_of_one_message_are_two_reports(cfg: Config) -> None:
    rows = ("Hỗ trợ đào tạo, bồi dưỡng, nâng cao trình độ kỹ năng nghề để duy trì việc làm", "Hỗ trợ hộ kinh doanh")
    raw = email_bytes(
        attachments=[
            ("ngay.xlsx", XLSX, book(rows, DAILY_COLUMNS, 7)),
            ("thang.xlsx", XLSX, book(rows, MONTHLY_COLUMNS, 9)),
        ]
    )
    a = analyse_message(raw, routing_for(cfg), DAY)
    assert a.kind == REPORT and a.unit_code == "BHXH" and a.readable
    daily, monthly = a.readings
    assert (daily.code, monthly.code) == ("ngay", "thang") and daily.readable and monthly.readable
    assert daily.values["ho_kinh_doanh"] == {"de_nghi": 7, "phe_duyet": 7, "kinh_phi": 7_000_000}
    assert monthly.values["ho_kinh_doanh"] == {
        "de_nghi": 9,
        "da_chi": 9,
        "tien_da_chi": 9_000_000,
        "kinh_phi_con_lai": 9_000_000,
    }
    _, _, figures, _ = analysis_rows(a, dt.datetime(2021, 8, 18, tzinfo=dt.UTC))
    by_report = {(f["report_code"], f["indicator"], f["measure"]): f["value"] for f in figures}
    assert by_report[("ngay", "ho_kinh_doanh", "de_nghi")] == 7
    assert by_report[("thang", "ho_kinh_doanh", "de_nghi")] == 9  # the same cell, once per report
    assert report_rows(a) == [{"report_code": "ngay", "readable": True}, {"report_code": "thang", "readable": True}]


def test_a_communes_weekly_form_is_the_weekly_report(cfg: Config) -> None:
    columns = (*DAILY_COLUMNS, "Số đối tượng đã chi trả", "Số tiền đã chi trả (triệu đồng)")
    raw = email_bytes(sender="duongquang@example.gov.vn", attachments=[("bc.xlsx", XLSX, book(WEEKLY_ROWS, columns))])
    a = analyse_message(raw, routing_for(cfg), DAY)
    assert a.unit_code == "DUONG_QUANG"
    assert [r.code for r in a.readings] == ["tuan"]
    # the same table from a department, which does not send the weekly report: its daily one
    raw = email_bytes(attachments=[("bc.xlsx", XLSX, book(WEEKLY_ROWS, columns))])
    assert [r.code for r in analyse_message(raw, routing_for(cfg), DAY).readings] == ["ngay"]


def test_an_unreadable_file_goes_by_the_subject_and_counts_as_unreadable_for_that_report(cfg: Config) -> None:
    raw = email_bytes(subject="Báo cáo tháng 8/2021", attachments=[("thang.xlsx", XLSX, b"not a workbook")])
    a = analyse_message(raw, routing_for(cfg), DAY)
    assert a.kind == REPORT and not a.readable
    assert [(r.code, r.readable) for r in a.readings] == [("thang", False)]
    assert a.values == {} and a.problems


def test_without_reports_a_message_carries_no_report_rows(tmp_path: Path) -> None:
    cfg = load(tmp_path, EXAMPLE.read_text(encoding="utf-8"), env=SAMPLE_ENV)
    raw = email_bytes(attachments=[("bc.xlsx", XLSX, book(WEEKLY_ROWS, DAILY_COLUMNS))])
    a = analyse_message(raw, routing_for(cfg), DAY)
    assert a.readings == () and report_rows(a) == []
    _, _, figures, _ = analysis_rows(a, dt.datetime(2021, 8, 18, tzinfo=dt.UTC))
    assert figures and all("report_code" not in f for f in figures)
    assert a.values["ho_kinh_doanh"]["de_nghi"] == Decimal(5)


def two_sheets(first: bytes, second: bytes) -> bytes:
    """The sheets of two one-sheet workbooks as one workbook ("Báo cáo", "Báo cáo 2")."""
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(first))
    ws = book.create_sheet("Báo cáo 2")
    for row in openpyxl.load_workbook(io.BytesIO(second)).active.iter_rows(values_only=True):
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_two_reports_as_two_sheets_of_one_workbook(cfg: Config) -> None:
    rows = ("Hỗ trợ đào tạo, bồi dưỡng, nâng cao trình độ kỹ năng nghề để duy trì việc làm", "Hỗ trợ hộ kinh doanh")
    data = two_sheets(book(rows, DAILY_COLUMNS, 7), book(rows, MONTHLY_COLUMNS, 9))
    a = analyse_message(email_bytes(attachments=[("bc.xlsx", XLSX, data)]), routing_for(cfg), DAY)
    assert [(r.code, r.readable) for r in a.readings] == [("ngay", True), ("thang", True)]
    assert a.readings[0].values["ho_kinh_doanh"] == {"de_nghi": 7, "phe_duyet": 7, "kinh_phi": 7_000_000}
    assert a.readings[1].values["ho_kinh_doanh"]["kinh_phi_con_lai"] == 9_000_000
    assert [i.filename for i in a.attachments] == ["bc.xlsx"]  # one file stored, read for two reports


def test_a_workbook_of_two_daily_sheets_is_one_daily_report(cfg: Config) -> None:
    # the other sheet holds the daily form again (yesterday's): no cell the daily report lacks
    rows = ("Hỗ trợ đào tạo, bồi dưỡng, nâng cao trình độ kỹ năng nghề để duy trì việc làm", "Hỗ trợ hộ kinh doanh")
    data = two_sheets(book(rows, DAILY_COLUMNS, 7), book(rows, DAILY_COLUMNS, 5))
    a = analyse_message(email_bytes(attachments=[("bc.xlsx", XLSX, data)]), routing_for(cfg), DAY)
    assert [r.code for r in a.readings] == ["ngay"]
    assert a.readings[0].values["ho_kinh_doanh"]["de_nghi"] == 7
