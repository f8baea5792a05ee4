"""Several reports over two weeks with Vietnam's calendar: Quốc khánh 2/9/2021 and its
adjacent day expect no daily report (the reason shown), a make-up Saturday listed in
`working_days` expects one, and the weekly and monthly periods are unaffected."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from service.cli import main
from tests.integration.test_reports_scenario import (
    ALL_COLUMNS,
    BHXH,
    DAILY_ROWS,
    DUONG_QUANG,
    WEEKLY_ROWS,
    export,
    statuses,
)
from tests.mailbuilders import XLSX, email_bytes
from tests.unit.test_config import SAMPLE_ENV
from tests.unit.test_report_filing import DAILY_COLUMNS, MONTHLY_COLUMNS, book
from tests.unit.test_reports_config import example_with_reports

TZ7 = dt.timezone(dt.timedelta(hours=7))
SATURDAY = "2021-09-04"  # a make-up working day (ngày làm bù) in working_days


def at(month: int, day: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(2021, month, day, hh, mm, tzinfo=TZ7)


@pytest.fixture
def cfg_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    for name, value in SAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    text = example_with_reports()
    text = re.sub(
        r"^report_days\s*=.*$", 'report_days = ["mon", "tue", "wed", "thu", "fri"]', text, count=1, flags=re.M
    )
    text = re.sub(
        r"^holidays\s*=.*$",
        f'holidays = []\nholiday_calendar = "VN"\nworking_days = ["{SATURDAY}"]',
        text,
        count=1,
        flags=re.M,
    )
    text = re.sub(
        r"^database_url\s*=.*$", f'database_url = "sqlite:///{tmp_path / "db.sqlite3"}"', text, count=1, flags=re.M
    )
    text = re.sub(r"^archive_dir\s*=.*$", f'archive_dir = "{tmp_path / "archive"}"', text, count=1, flags=re.M)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    mails = [
        (BHXH, "Báo cáo ngày 1/9", at(9, 1, 10), book(DAILY_ROWS, DAILY_COLUMNS, 10)),
        # on the holiday: kept, but nothing is expected
        (BHXH, "Báo cáo ngày 2/9", at(9, 2, 10), book(DAILY_ROWS, DAILY_COLUMNS, 11)),
        # the make-up Saturday: on time
        (BHXH, "Báo cáo ngày 4/9", at(9, 4, 14), book(DAILY_ROWS, DAILY_COLUMNS, 12)),
        # the weekly report of 30/8-5/9, due Friday 3/9 (a holiday) at 16:00: sent Wednesday
        (DUONG_QUANG, "Báo cáo", at(9, 1, 9), book(WEEKLY_ROWS, ALL_COLUMNS, 3)),
        # the monthly report of September, due the 20th
        (BHXH, "Gửi số liệu", at(9, 3, 8), book(DAILY_ROWS, MONTHLY_COLUMNS, 20)),
    ]
    files = []
    for i, (sender, subject, when, data) in enumerate(mails):
        f = tmp_path / f"m{i}.eml"
        f.write_bytes(email_bytes(sender=sender, subject=subject, date=when, attachments=[("bc.xlsx", XLSX, data)]))
        files.append(str(f))
    assert main(["import", "--config", str(path), *files]) == 0
    capsys.readouterr()
    return path


def reasons(doc: dict[str, Any]) -> set[str | None]:
    return {doc.get("not_expected_reason")}


def test_the_holiday_expects_no_daily_report_and_says_why(cfg_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert statuses(export(cfg_file, capsys, "--report", "ngay", "--date", "2021-09-01"))["BHXH"] == "on_time"
    for day in ("2021-09-02", "2021-09-03"):
        doc = export(cfg_file, capsys, "--report", "ngay", "--date", day)
        assert set(statuses(doc).values()) == {"not_expected"}, day
        assert reasons(doc) == {"Nghỉ lễ Quốc khánh"}, day
    sunday = export(cfg_file, capsys, "--report", "ngay", "--date", "2021-09-05")
    assert set(statuses(sunday).values()) == {"not_expected"}
    assert main(["status", "--config", str(cfg_file), "--report", "ngay", "--date", "2021-09-02"]) == 0
    assert "Quốc khánh" in capsys.readouterr().out


def test_the_make_up_saturday_expects_the_daily_report(cfg_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = export(cfg_file, capsys, "--report", "ngay", "--date", SATURDAY)
    assert statuses(doc)["BHXH"] == "on_time" and statuses(doc)["THUE"] == "missing"
    assert reasons(doc) == {None}
    assert doc["totals"]["ho_kinh_doanh"]["de_nghi"] == 12


def test_the_weekly_and_monthly_periods_are_unaffected(cfg_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    week = export(cfg_file, capsys, "--report", "tuan", "--date", "2021-09-02")
    assert week["period"] == {"start": "2021-08-30", "end": "2021-09-05"}
    assert week["deadline"] == "2021-09-03T16:00:00+07:00"
    assert statuses(week)["DUONG_QUANG"] == "on_time" and statuses(week)["XUAT_HOA"] == "missing"
    assert reasons(week) == {None}
    month = export(cfg_file, capsys, "--report", "thang", "--date", "2021-09-02")
    assert month["period"] == {"start": "2021-09-01", "end": "2021-09-30"}
    assert statuses(month)["BHXH"] == "on_time" and statuses(month)["THUE"] == "missing"
    assert reasons(month) == {None}
