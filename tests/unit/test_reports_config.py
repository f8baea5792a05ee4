"""Tests for [[reports]] in the config: defaults, the example's four reports, every validation rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from service.config import Config
from service.config.objects import DEFAULT_REPORT_CODE, LAST_DAY
from tests.unit.test_config import EXAMPLE, SAMPLE_ENV, load, problems, toml, uncomment

REPORTS = """
[[reports]]
code = "ngay"
title = "Báo cáo ngày"

[[reports]]
code = "tuan"
title = "Báo cáo tuần"
period = "week"
deadline_day = "t6"
deadline = "16:00"
units = ["xã, phường"]
indicators = ["ngung_viec"]
subject_keywords = ["báo cáo tuần"]
[reports.digest]
to = ["lanhdao@example.gov.vn"]
subject = "Tuần {period} ({date})"

[[reports]]
code = "thang"
title = "Báo cáo tháng"
period = "month"
deadline_day = "last"
digest_day = "last"
digest_at = "18:00"
cumulative = false
measures = []
[[reports.own_measures]]
code = "so_ho"
label = "Số hộ được hỗ trợ"

[[reports]]
code = "nhanh"
title = "Báo cáo nhanh"
period = "once"
start_date = 2021-08-18
deadline_day = 2021-08-20
deadline = "17:00"
units = ["BHXH"]
"""
UNITS = """
[[units]]
code = "BHXH"
name = "Bảo hiểm xã hội thành phố"
group = "Phòng, ban"
senders = ["bhxh@example.gov.vn"]

[[units]]
code = "XA"
name = "UBND xã A"
group = "Xã, phường"
senders = ["xa@example.gov.vn"]
"""
CHECKS = """
[[checks]]
rule = "phe_duyet <= de_nghi"
message = "Số phê duyệt lớn hơn số đề nghị"
"""


def test_each_report_has_its_reminder_day_and_times(tmp_path: Path) -> None:
    text = toml(
        units=UNITS, reminders="enabled = true", schedule='reminders_at = ["14:00", "10:00"]'
    ) + REPORTS.replace(
        'deadline = "16:00"\n', 'deadline = "16:00"\nreminder_day = "thu"\nreminders_at = ["09:30"]\n'
    ).replace('digest_at = "18:00"\n', 'digest_at = "18:00"\nreminders_at = []\n')
    cfg = load(tmp_path, text)
    assert cfg.reminders.enabled
    ngay, tuan, thang, nhanh = cfg.all_reports()
    # default: [schedule] reminders_at on the deadline day (a daily report: every reporting day)
    assert (ngay.reminder_day, ngay.reminders_at) == (None, (dt.time(10), dt.time(14)))
    assert (tuan.reminder_day, tuan.reminders_at) == (3, (dt.time(9, 30),))  # Thursday, its own time
    assert (thang.reminder_day, thang.reminders_at) == (LAST_DAY, ())  # none for it
    assert (nhanh.reminder_day, nhanh.reminders_at) == (dt.date(2021, 8, 20), (dt.time(10), dt.time(14)))
    assert cfg.default_report().reminders_at == cfg.schedule.reminders_at


def test_a_reminder_day_is_read_as_the_periods_deadline_day(tmp_path: Path) -> None:
    daily = toml(units=UNITS) + '[[reports]]\ncode = "ngay"\ntitle = "Ngày"\nreminder_day = "fri"\n'
    assert any(
        p.startswith("reports[0].reminder_day: a daily report is due every reporting day")
        for p in problems(tmp_path, daily)
    )
    early = REPORTS.replace("deadline_day = 2021-08-20\n", "deadline_day = 2021-08-20\nreminder_day = 2021-08-17\n")
    assert any(
        "reminder_day: 2021-08-17 is before start_date 2021-08-18" in p
        for p in problems(tmp_path, toml(units=UNITS) + early)
    )
    assert any(
        p.startswith("reports[1].reminder_day: expected a string")
        for p in problems(
            tmp_path,
            toml(units=UNITS) + REPORTS.replace('deadline_day = "t6"', 'deadline_day = "t6"\nreminder_day = 5'),
        )
    )


def test_a_config_without_reports_is_one_daily_report_from_the_top_level_keys(tmp_path: Path) -> None:
    cfg = load(tmp_path, toml())
    assert cfg.reports == ()
    (report,) = cfg.all_reports()
    assert report is not None and cfg.report() == report == cfg.report(DEFAULT_REPORT_CODE)
    assert report.period == "day" and report.form == cfg.form and report.digest == cfg.digest
    assert report.units == ("BHXH",)
    assert (report.deadline, report.digest_at) == (cfg.schedule.deadline, cfg.schedule.digest_at)


def test_each_report_gets_its_form_units_deadline_and_digest(tmp_path: Path) -> None:
    cfg = load(tmp_path, toml(units=UNITS, checks=CHECKS) + REPORTS)
    ngay, tuan, thang, nhanh = cfg.all_reports()
    assert ngay.form == cfg.form and ngay.units == ("BHXH", "XA") and ngay.digest == cfg.digest
    assert (ngay.deadline, ngay.digest_at, ngay.deadline_day) == (dt.time(15), dt.time(15), None)

    assert tuan.period == "week" and tuan.deadline_day == 4 and tuan.digest_day == 4
    assert (tuan.deadline, tuan.digest_at) == (dt.time(16), dt.time(16))
    assert tuan.units == ("XA",)  # by group, case ignored
    assert [i.code for i in tuan.form.indicators] == ["ngung_viec"]
    assert [m.code for m in tuan.form.measures] == ["de_nghi", "phe_duyet", "kinh_phi"]
    assert [c.rule for c in tuan.form.checks] == ["phe_duyet <= de_nghi"]
    assert tuan.subject_keywords == ("báo cáo tuần",) and tuan.cumulative
    assert tuan.digest is not None
    assert tuan.digest.to == ("lanhdao@example.gov.vn",) and tuan.digest.subject == "Tuần {period} ({date})"

    assert thang.deadline_day == LAST_DAY and thang.digest_at == dt.time(18) and not thang.cumulative
    assert [m.code for m in thang.form.measures] == ["so_ho"] and thang.form.checks == ()  # its checks' measures
    assert thang.digest is not None and thang.digest.subject == "Tổng hợp: Báo cáo tháng — {period}"
    assert thang.digest.to == cfg.digest.to

    assert (nhanh.start_date, nhanh.deadline_day, nhanh.deadline) == (
        dt.date(2021, 8, 18),
        dt.date(2021, 8, 20),
        dt.time(17),
    )
    assert nhanh.units == ("BHXH",)
    assert cfg.report() == ngay  # the only daily one
    assert cfg.report("thang") == thang
    with pytest.raises(KeyError, match="no report 'quy'; the reports are: ngay, tuan, thang, nhanh"):
        cfg.report("quy")


def test_without_a_daily_report_one_must_be_chosen(tmp_path: Path) -> None:
    week = REPORTS.split("[[reports]]")[2]
    month = REPORTS.split("[[reports]]")[3]
    cfg = load(tmp_path, toml(units=UNITS) + "[[reports]]" + week + "[[reports]]" + month)
    with pytest.raises(KeyError, match="choose a report with --report: tuan, thang"):
        cfg.report()


def test_the_example_shows_a_daily_a_weekly_a_monthly_and_a_one_off_report(tmp_path: Path) -> None:
    assert "\n[[reports]]" not in EXAMPLE.read_text(encoding="utf-8")  # shown commented out: one daily report
    cfg: Config = load(tmp_path, example_with_reports(), env=SAMPLE_ENV)
    assert [(r.code, r.period) for r in cfg.all_reports()] == [
        ("ngay", "day"),
        ("tuan", "week"),
        ("thang", "month"),
        ("nhanh_2008", "once"),
    ]
    ngay, tuan, thang, nhanh = cfg.all_reports()
    assert ngay.form == cfg.form and ngay.units == tuple(u.code for u in cfg.units)
    assert tuan.units == tuple(u.code for u in cfg.units if u.group == "Xã, phường") and tuan.deadline_day == 4
    assert thang.deadline_day == 20 and thang.form.measure("kinh_phi_con_lai").default_scale == 1_000_000
    assert nhanh.units == ("BHXH", "THUE") and not nhanh.cumulative


def example_with_reports(upward: bool = False) -> str:
    """config.example.toml with its reports written in (and what they do not follow yet off);
    the weekly report's [reports.upward] only when `upward` (its template must then exist)."""
    head, marker, block = EXAMPLE.read_text(encoding="utf-8").partition("# ---- Several reports")
    assert marker
    head = re.sub(r"^(\[acknowledgements\]\n(?:#.*\n)*)enabled = true", r"\1enabled = false", head, flags=re.M)
    text = uncomment(block)
    if not upward:
        text = re.sub(r"^\[reports\.upward\]\n(?:[a-z_]+ = .*\n)*", "", text, flags=re.M)
    return head + marker + text


def test_a_report_has_its_own_superiors_form(tmp_path: Path) -> None:
    from service.day.reportview import report_config
    from tests.unit.upward_forms import province_xlsx

    (tmp_path / "bieu-tuan-so-ldtbxh.xlsx").write_bytes(province_xlsx())
    cfg: Config = load(tmp_path, example_with_reports(upward=True), env=SAMPLE_ENV)
    assert cfg.upward is None
    tuan = cfg.report("tuan")
    assert tuan.upward is not None and tuan.upward.template == tmp_path / "bieu-tuan-so-ldtbxh.xlsx"
    assert (tuan.upward.sheet, tuan.upward.filename) == ("Biểu 01", "bieu-tuan-{date}")
    assert report_config(cfg, tuan).upward == tuan.upward  # its digest attaches its own form
    assert report_config(cfg, cfg.report("ngay")).upward is None and cfg.report("thang").upward is None
    # a top-level [upward] goes with the default report (the only daily one), never with another
    top = dataclasses.replace(tuan.upward, filename="bieu-ngay-{date}")
    both = dataclasses.replace(cfg, upward=top)
    assert report_config(both, both.report("ngay")).upward == top
    assert report_config(both, tuan).upward == tuan.upward and report_config(both, both.report("thang")).upward is None
    # the template must exist, named in the report's table
    missing = problems(
        tmp_path, example_with_reports(upward=True).replace("bieu-tuan-so-ldtbxh", "khong-co"), env=SAMPLE_ENV
    )
    assert any("reports" in p and "upward" in p and "khong-co.xlsx" in p and "does not exist" in p for p in missing)


def test_every_problem_of_the_reports_is_listed_at_once(tmp_path: Path) -> None:
    bad = """
[[reports]]
code = "tuan"
title = "A"
period = "week"
units = ["BHXHH", "Xã"]
indicators = ["ngung_viecc"]

[[reports]]
code = "tuan"
title = "B"
period = "monthly"

[[reports]]
code = "thang"
title = "C"
period = "month"
deadline_day = 32
start_date = 2021-01-01
[[reports.own_indicators]]
code = "ngung_viec"
label = "Ngừng việc"
[[reports.checks]]
rule = "de_nghi <= so_ho"
message = "m"

[[reports]]
code = "nhanh"
title = "D"
period = "once"
deadline_day = 2021-08-10
[reports.digest]
subject = "{day}"

[[reports]]
code = "ngay"
title = "E"
deadline_day = "fri"
measures = []
"""
    found = problems(tmp_path, toml(units=UNITS) + bad)
    expected = [
        'reports[0].deadline_day: required for a week report (e.g. deadline_day = "fri")',
        "reports[1].period: 'monthly' is not one of day, week, month, once",
        'reports[2].deadline_day: 32 is not a day of the month: 1..31 or "last"',
        'reports[2].start_date: only applies to period = "once"; other periods start by the calendar',
        "reports[3].digest.subject: unknown field {day}; only {date}, {period} may be used",
        "reports[3].start_date: required for a once report: the first day its figures may be sent",
        "reports[4].deadline_day: a daily report is due every reporting day; leave it out (or set period)",
        "reports[1].code: 'tuan' is already used by reports[0]",
        "reports[0].units[0]: 'BHXHH' is not a unit code, a unit group or \"all\" (did you mean BHXH?)",
        "reports[0].units[1]: 'Xã' is not a unit code, a unit group or \"all\"",
        "reports[0].indicators[0]: 'ngung_viecc' is not a code of [[indicators]] (did you mean ngung_viec?)",
        "reports[2].own_indicators[0].code: 'ngung_viec' is already used by [[indicators]]; "
        "pick it by its code in indicators instead",
        "reports[2].checks[0].rule: 'so_ho' is not a measure code",
        "reports[4].measures: the report has no measures: list some, or add own_measures",
    ]
    assert [p.rsplit(" (line ", 1)[0] for p in found] == expected
    assert all(" (line " in p for p in found)


def test_own_codes_are_unique_across_reports_and_labels_unambiguous_in_a_form(tmp_path: Path) -> None:
    own = """
[[reports]]
code = "a"
title = "A"
[[reports.own_measures]]
code = "so_ho"
label = "Số hộ"

[[reports]]
code = "b"
title = "B"
measures = ["de_nghi"]
[[reports.own_measures]]
code = "so_ho"
label = "Số hộ được hỗ trợ"
[[reports.own_measures]]
code = "so_de_nghi"
label = "Số đề nghị"
"""
    found = [p.rsplit(" (line ", 1)[0] for p in problems(tmp_path, toml() + own)]
    assert found == [
        "reports[1].own_measures[0].code: 'so_ho' is already used by reports[0].own_measures[0]; "
        "pick it by its code in measures instead",
        "reports[1].own_measures[1].label: 'Số đề nghị' is ambiguous: it reads the same as a name of "
        "measure de_nghi (measures[0])",
    ]
