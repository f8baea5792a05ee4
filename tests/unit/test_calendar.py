"""The reporting calendar (service/config/calendar.py): Vietnam's public holidays from the
`holidays` package, make-up working days, the explicit list, and the reason a day expects
no report as the status table, the JSON, the digest and its workbook say it."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook

from service.config import ScheduleConfig
from service.config.calendar import (
    DayOff,
    day_off,
    day_off_reason,
    describe,
    is_reporting_day,
    make_up_days,
    public_holidays,
    trigger_weekdays,
)
from service.day.dayview import DayView
from service.outputs.digest import render_digest
from service.outputs.export import day_json, status_text
from tests.unit.test_config import load, one_problem, toml
from tests.unit.test_digest import at, make_cfg, model, msg, plain, scenario, view_of

D = dt.date
WEEKDAYS = frozenset(range(5))  # Monday to Friday
VN = ScheduleConfig(report_days=WEEKDAYS, holiday_calendar="VN")
EVERY_DAY_VN = ScheduleConfig(holiday_calendar="VN")


def reason(rules: ScheduleConfig, day: dt.date, language: str = "vi") -> str | None:
    return day_off_reason(rules, day, language)


# ---- the rules ------------------------------------------------------------------------------


def test_without_a_calendar_nothing_changes():
    plain_schedule = ScheduleConfig(report_days=WEEKDAYS, holidays=frozenset({D(2021, 9, 3)}))
    assert is_reporting_day(plain_schedule, D(2021, 9, 2))  # Quốc khánh, but no calendar asked for
    assert not is_reporting_day(plain_schedule, D(2021, 9, 3))
    assert not is_reporting_day(plain_schedule, D(2021, 8, 21))  # a Saturday
    assert is_reporting_day(ScheduleConfig(), D(2022, 2, 1))  # the default: every day, no holiday


def test_tet_2022_by_the_lunar_calendar():
    # Tết Nhâm Dần: 1/2/2022; the days off Monday 31/1 (29 Tết, Giao thừa) to Friday 4/2 (mùng 4).
    for day in (D(2022, 1, 31), D(2022, 2, 1), D(2022, 2, 2), D(2022, 2, 3), D(2022, 2, 4)):
        assert not is_reporting_day(VN, day)
        assert reason(VN, day) == "Nghỉ Tết Nguyên đán"
        assert reason(VN, day, "en") == "Lunar New Year (Tết) holiday"
    assert is_reporting_day(VN, D(2022, 1, 28)) and is_reporting_day(VN, D(2022, 2, 7))
    # The weekend inside the break is no Tết day for the package: with Saturday reporting the
    # administrator lists it (the government's decision of the year), see the guide.
    assert is_reporting_day(EVERY_DAY_VN, D(2022, 1, 29))
    assert not is_reporting_day(replace(EVERY_DAY_VN, holidays=frozenset({D(2022, 1, 29)})), D(2022, 1, 29))
    # Tết 2021 (12/2) took 10/2 to 16/2, a Sunday inside it included.
    assert [d.day for d in _days_off(EVERY_DAY_VN, D(2021, 2, 8), D(2021, 2, 18))] == [10, 11, 12, 13, 14, 15, 16]


def test_national_day_with_its_adjacent_day():
    # Since 2021 (Labour Code 2019) Quốc khánh is two days: 2/9 and the day before or after it.
    for days in ((D(2021, 9, 2), D(2021, 9, 3)), (D(2024, 9, 2), D(2024, 9, 3)), (D(2025, 9, 1), D(2025, 9, 2))):
        for day in days:
            assert reason(VN, day) == "Nghỉ lễ Quốc khánh", day
    assert is_reporting_day(VN, D(2021, 9, 1)) and is_reporting_day(VN, D(2025, 9, 3))
    # 2/9/2023 was a Saturday: 1/9 and 2/9, and Monday 4/9 off in lieu (nghỉ bù).
    assert reason(VN, D(2023, 9, 1)) == "Nghỉ lễ Quốc khánh"
    assert reason(VN, D(2023, 9, 2)) == "Nghỉ lễ Quốc khánh"
    assert reason(VN, D(2023, 9, 4)) == "Nghỉ lễ Quốc khánh (nghỉ bù)"
    assert reason(VN, D(2023, 9, 4), "en") == "National Day holiday (day off in lieu)"


def test_the_other_public_holidays():
    assert reason(VN, D(2021, 4, 21)) == "Giỗ Tổ Hùng Vương"  # 10/3 âm lịch
    assert reason(VN, D(2022, 4, 11)) == "Giỗ Tổ Hùng Vương (nghỉ bù)"  # 10/4/2022 was a Sunday
    assert reason(VN, D(2021, 4, 30)) == "Nghỉ lễ Ngày Giải phóng miền Nam 30/4"
    assert reason(VN, D(2021, 5, 3)) == "Nghỉ lễ Quốc tế Lao động 1/5 (nghỉ bù)"
    assert reason(VN, D(2024, 1, 1)) == "Nghỉ Tết Dương lịch"
    assert reason(VN, D(2026, 11, 24)) == "Ngày Văn hóa Việt Nam"  # from 2026


def test_a_working_day_the_government_swapped_is_a_day_off_and_its_saturday_a_reporting_day():
    # 2024: Monday 29/4 off, worked on Saturday 4/5 instead.
    assert reason(VN, D(2024, 4, 29)) == "Ngày nghỉ hoán đổi (làm bù vào ngày 04/05/2024)"
    assert D(2024, 5, 4) in make_up_days("VN", 2024)
    assert is_reporting_day(VN, D(2024, 5, 4))
    assert not is_reporting_day(ScheduleConfig(report_days=WEEKDAYS), D(2024, 5, 4))  # no calendar, no swap


def test_every_vietnamese_holiday_in_use_has_a_name_in_the_catalog():
    """A holiday the catalog has no key for would be shown by the package's own name: the
    package's names of 2021-2027 are all known (a package update renaming one fails here)."""
    day, seen = D(2021, 1, 1), 0
    while day <= D(2027, 12, 31):
        for h in public_holidays("VN", day):
            seen += 1
            assert h.kind != "other", (day, h.name)
            for language in ("vi", "en"):
                text = describe(DayOff(day, "public_holiday", (h,)), language)
                assert text and "{" not in text
        day += dt.timedelta(days=1)
    assert seen > 80


def test_make_up_saturday_counts_and_the_sunday_does_not():
    rules = ScheduleConfig(report_days=WEEKDAYS, working_days=frozenset({D(2021, 8, 21)}))
    assert is_reporting_day(rules, D(2021, 8, 21))
    assert day_off(rules, D(2021, 8, 21)) is None
    assert not is_reporting_day(rules, D(2021, 8, 22))
    assert reason(rules, D(2021, 8, 22)) == "không phải ngày báo cáo (Chủ Nhật)"
    assert reason(rules, D(2021, 8, 22), "en") == "not a reporting day (Sunday)"


def test_explicit_lists_combine_with_the_calendar():
    rules = replace(
        VN,
        holidays=frozenset({D(2021, 8, 25), D(2021, 9, 6)}),
        working_days=frozenset({D(2021, 8, 21), D(2021, 9, 3)}),
    )
    assert reason(rules, D(2021, 8, 25)) == "ngày nghỉ theo cấu hình"  # the explicit list
    assert reason(rules, D(2021, 8, 25), "en") == "a day off in the configuration"
    assert reason(rules, D(2021, 9, 6)) == "ngày nghỉ theo cấu hình"  # a Monday the calendar knows nothing of
    assert reason(rules, D(2021, 9, 2)) == "Nghỉ lễ Quốc khánh"  # the calendar
    # A make-up working day beats the calendar: the administrator's explicit word.
    assert is_reporting_day(rules, D(2021, 9, 3))
    assert is_reporting_day(rules, D(2021, 8, 21))
    assert [d.day for d in _days_off(rules, D(2021, 8, 20), D(2021, 8, 31))] == [22, 25, 28, 29]


def test_the_daemon_triggers_fire_on_the_weekdays_a_reporting_day_can_fall_on():
    assert trigger_weekdays(ScheduleConfig(report_days=WEEKDAYS)) == WEEKDAYS
    made_up = ScheduleConfig(report_days=WEEKDAYS, working_days=frozenset({D(2021, 8, 21)}))
    assert trigger_weekdays(made_up) == WEEKDAYS | {5}
    assert trigger_weekdays(VN) == frozenset(range(7))  # the calendar's swaps fall on its weekend


def _days_off(rules: ScheduleConfig, first: dt.date, last: dt.date) -> list[dt.date]:
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [d for d in days if not is_reporting_day(rules, d)]


# ---- the config keys ------------------------------------------------------------------------


def test_schedule_calendar_keys_load(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        toml(
            schedule='report_days = ["mon", "tue", "wed", "thu", "fri"]\nholiday_calendar = "vn"\n'
            'holidays = ["2021-08-25"]\nworking_days = [2021-08-21, "2021-08-28"]'
        ),
    )
    s = cfg.schedule
    assert s.holiday_calendar == "VN"
    assert s.working_days == {D(2021, 8, 21), D(2021, 8, 28)}
    assert is_reporting_day(s, D(2021, 8, 28)) and not is_reporting_day(s, D(2021, 9, 2))
    default = load(tmp_path, toml()).schedule
    assert default.holiday_calendar is None and default.working_days == frozenset()


@pytest.mark.parametrize(
    "body, want",
    [
        (
            'holiday_calendar = "VNM"',
            "schedule.holiday_calendar: 'VNM' is not a holiday calendar baocao knows (VN) (line 38)",
        ),
        ("holiday_calendar = true", "schedule.holiday_calendar: expected a string, got a boolean (line 38)"),
        ('working_days = ["21/08/2021"]', "schedule.working_days[0]: '21/08/2021' is not a date YYYY-MM-DD (line 38)"),
        ('working_days = "2021-08-21"', "schedule.working_days: expected an array, got a string (line 38)"),
        (
            'holidays = ["2021-08-21"]\nworking_days = ["2021-08-28", 2021-08-21]',
            "schedule.working_days[1]: 2021-08-21 is also in holidays: a date is either a day off or a make-up "
            "working day (line 39)",
        ),
    ],
)
def test_schedule_calendar_keys_refused(tmp_path: Path, body: str, want: str) -> None:
    assert one_problem(tmp_path, toml(schedule=body)) == want


# ---- what the outputs say -------------------------------------------------------------------

HOLIDAY = D(2021, 9, 2)  # a Thursday: Quốc khánh
CAL_CFG = replace(make_cfg(), schedule=ScheduleConfig(report_days=frozenset(range(6)), holiday_calendar="VN"))


def _view(cfg=CAL_CFG, day: dt.date = HOLIDAY) -> DayView:
    return view_of(cfg, day, [msg("BHXH", at(day, 9), {("ngung_viec", "de_nghi"): 120})])


def test_the_day_view_carries_why():
    view = _view()
    assert not view.reporting_day and view.day_off is not None and view.day_off.kind == "public_holiday"
    assert {u.status for u in view.units} == {"not_expected"}
    assert _view(day=D(2021, 9, 1)).day_off is None


def test_status_table_and_json_say_why_a_day_expects_nothing():
    view = _view()
    head = status_text(view, CAL_CFG).splitlines()[0]
    assert head == "Ngày 02/09/2021 — hạn nộp 15:00 (không phải ngày báo cáo: Nghỉ lễ Quốc khánh)"
    doc = day_json(view, CAL_CFG)
    assert doc["reporting_day"] is False and doc["not_expected_reason"] == "Nghỉ lễ Quốc khánh"
    assert [u["status"] for u in doc["units"]] == ["not_expected"] * 5
    sunday = _view(day=D(2021, 8, 15))
    assert day_json(sunday, CAL_CFG)["not_expected_reason"] == "không phải ngày báo cáo (Chủ Nhật)"
    assert "(không phải ngày báo cáo: Chủ Nhật)" in status_text(sunday, CAL_CFG).splitlines()[0]
    working = day_json(_view(day=D(2021, 9, 1)), CAL_CFG)
    assert working["reporting_day"] is True and working["not_expected_reason"] is None
    en = replace(CAL_CFG, service=replace(CAL_CFG.service, language="en"))
    assert day_json(_view(en), en)["not_expected_reason"] == "National Day holiday"
    assert status_text(_view(en), en).splitlines()[0].endswith("(not a reporting day: National Day holiday)")


def test_explicit_holiday_is_named_as_configured():
    cfg = replace(CAL_CFG, schedule=replace(CAL_CFG.schedule, holidays=frozenset({D(2021, 8, 25)})))
    assert day_json(_view(cfg, D(2021, 8, 25)), cfg)["not_expected_reason"] == "ngày nghỉ theo cấu hình"


def test_the_digest_and_its_workbook_say_why():
    m = model(CAL_CFG, messages=scenario(), day=HOLIDAY)
    assert m["not_expected_reason"] == m["day_off"] == "Nghỉ lễ Quốc khánh"
    content = render_digest(_view(), CAL_CFG, now=at(HOLIDAY, 15))
    assert "Ngày 02/09/2021 không phải ngày báo cáo (Nghỉ lễ Quốc khánh)." in plain(content.html)
    assert "Ngày 02/09/2021 không phải ngày báo cáo (Nghỉ lễ Quốc khánh): không đơn vị nào" in content.text
    workbook = next(f for f in content.files if f.filename.endswith(".xlsx"))
    ws = load_workbook(io.BytesIO(workbook.data)).worksheets[0]
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value]
    assert any("Ngày 02/09/2021 không phải ngày báo cáo (Nghỉ lễ Quốc khánh)" in c for c in cells), cells
    # a reporting day reads as before
    assert model(CAL_CFG, messages=scenario(), day=D(2021, 9, 1))["not_expected_reason"] is None


# ---- the daemon -----------------------------------------------------------------------------


def test_the_daemon_plans_the_digest_and_reminders_on_a_make_up_saturday(tmp_path: Path) -> None:
    from service.config import load_config
    from service.ingest.archive import Archive
    from service.schedule.daemon import Daemon
    from storage.db import open_database
    from tests.mailbuilders import write_config

    path = write_config(
        tmp_path / "config.toml",
        imap={"host": "127.0.0.1", "port": 9, "security": "none", "username": "u", "password_env": "PW"},
        smtp=None,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
    )
    loaded = load_config(path, env={"PW": "x"})
    tz = loaded.service.timezone
    friday_evening = dt.datetime(2021, 8, 20, 16, 0, tzinfo=tz)

    def next_runs(schedule: ScheduleConfig) -> dict[str, dt.datetime]:
        cfg = replace(loaded, schedule=schedule)
        sessions = open_database(cfg.service.database_url)
        try:
            daemon = Daemon(cfg, sessions, Archive(cfg.service.archive_dir))
            daemon.add_jobs()
            return {
                job.id: job.trigger.get_next_fire_time(None, friday_evening)
                for job in daemon.scheduler.get_jobs()
                if job.id == "digest" or job.id.startswith("reminders-")
            }
        finally:
            sessions.kw["bind"].dispose()

    weekdays = replace(loaded.schedule, report_days=WEEKDAYS, reminders_at=(dt.time(10),))
    assert {r.date() for r in next_runs(weekdays).values()} == {D(2021, 8, 23)}  # Monday
    made_up = replace(weekdays, working_days=frozenset({D(2021, 8, 21)}))
    runs = next_runs(made_up)
    assert set(runs) == {"digest", "reminders-100000"}
    assert runs["digest"] == dt.datetime(2021, 8, 21, 15, 0, tzinfo=tz)
    assert runs["reminders-100000"] == dt.datetime(2021, 8, 21, 10, 0, tzinfo=tz)


def test_the_acknowledgement_of_a_report_sent_on_a_holiday_says_why():
    from tests.unit.test_replies import ack_text, report

    text = ack_text(CAL_CFG, report(at(HOLIDAY, 9, 0)))
    assert "không phải ngày báo cáo theo lịch: Nghỉ lễ Quốc khánh" in text
    assert "ĐÚNG HẠN" not in text and "MUỘN" not in text
