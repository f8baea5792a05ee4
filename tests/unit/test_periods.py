"""Tests for service.day.periods: the period of a report containing a day, its deadline, digest time and label."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from parsers.model import FormSpec
from service.config.objects import LAST_DAY, ReportConfig
from service.day.periods import on_time, period_label, period_of, periods_between

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
FORM = FormSpec(measures=(), indicators=())


def report(period: str = "day", **kw: object) -> ReportConfig:
    return ReportConfig(code=period, title="T", form=FORM, units=(), period=period, **kw)  # type: ignore[arg-type]


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=ZONE)


def test_a_day_report_is_due_on_its_day() -> None:
    p = period_of(report(deadline=dt.time(15), digest_at=dt.time(15, 30)), dt.date(2021, 8, 18), ZONE)
    assert (p.start, p.end, p.deadline, p.digest_at) == (
        dt.date(2021, 8, 18),
        dt.date(2021, 8, 18),
        at(2021, 8, 18, 15),
        at(2021, 8, 18, 15, 30),
    )
    assert period_label(p, "vi") == "ngày 18/08/2021"


@pytest.mark.parametrize("day", [dt.date(2021, 8, 16), dt.date(2021, 8, 18), dt.date(2021, 8, 22)])
def test_a_weekly_report_sent_any_day_of_the_week_counts_for_that_week(day: dt.date) -> None:
    weekly = report("week", deadline_day=4, deadline=dt.time(16), digest_day=4, digest_at=dt.time(17))
    p = period_of(weekly, day, ZONE)
    assert (p.start, p.end) == (dt.date(2021, 8, 16), dt.date(2021, 8, 22))
    assert (p.deadline, p.digest_at) == (at(2021, 8, 20, 16), at(2021, 8, 20, 17))
    assert day in p and dt.date(2021, 8, 23) not in p
    assert period_label(p, "vi") == "tuần 16/08–22/08/2021"
    assert period_label(p, "en") == "week 16/08–22/08/2021"


def test_a_week_across_the_new_year_names_both_years() -> None:
    p = period_of(report("week", deadline_day=4), dt.date(2022, 1, 1), ZONE)
    assert period_label(p, "vi") == "tuần 27/12/2021–02/01/2022"


@pytest.mark.parametrize(
    ("deadline_day", "month", "due"),
    [
        (20, (2021, 8), dt.date(2021, 8, 20)),
        (LAST_DAY, (2021, 8), dt.date(2021, 8, 31)),
        (LAST_DAY, (2021, 2), dt.date(2021, 2, 28)),
        (LAST_DAY, (2024, 2), dt.date(2024, 2, 29)),
        (31, (2021, 9), dt.date(2021, 9, 30)),  # the 31st of a 30-day month is its last day
    ],
)
def test_a_monthly_report_is_due_on_its_day_of_the_month(
    deadline_day: int, month: tuple[int, int], due: dt.date
) -> None:
    monthly = report("month", deadline_day=deadline_day, deadline=dt.time(17), digest_at=dt.time(17))
    p = period_of(monthly, dt.date(*month, 5), ZONE)
    assert p.start == dt.date(*month, 1) and p.end.month == month[1] and (p.end + dt.timedelta(days=1)).day == 1
    assert p.deadline == dt.datetime.combine(due, dt.time(17), tzinfo=ZONE)
    assert period_label(p, "vi") == f"tháng {month[1]}/{month[0]}"


def test_a_one_off_request_has_one_period_from_its_start_to_its_deadline() -> None:
    once = report(
        "once",
        start_date=dt.date(2021, 8, 18),
        deadline_day=dt.date(2021, 8, 20),
        deadline=dt.time(17),
        digest_day=dt.date(2021, 8, 21),
        digest_at=dt.time(8),
    )
    for day in (dt.date(2021, 8, 18), dt.date(2021, 8, 25)):
        p = period_of(once, day, ZONE)
        assert (p.start, p.end, p.deadline, p.digest_at) == (
            dt.date(2021, 8, 18),
            dt.date(2021, 8, 20),
            at(2021, 8, 20, 17),
            at(2021, 8, 21, 8),
        )
    assert period_label(p, "vi") == "từ 18/08 đến 20/08/2021"
    assert len(periods_between(once, dt.date(2021, 8, 1), dt.date(2021, 9, 30), ZONE)) == 1


def test_periods_between_lists_each_period_once_in_order() -> None:
    weekly = report("week", deadline_day=4)
    starts = [p.start for p in periods_between(weekly, dt.date(2021, 8, 18), dt.date(2021, 9, 1), ZONE)]
    assert starts == [dt.date(2021, 8, 16), dt.date(2021, 8, 23), dt.date(2021, 8, 30)]
    monthly = report("month", deadline_day=20)
    assert [p.start.month for p in periods_between(monthly, dt.date(2021, 8, 31), dt.date(2021, 10, 1), ZONE)] == [
        8,
        9,
        10,
    ]
    assert len(periods_between(report(), dt.date(2021, 8, 1), dt.date(2021, 8, 14), ZONE)) == 14


def test_timeliness_is_compared_at_the_minute_of_the_period_deadline() -> None:
    p = period_of(report("week", deadline_day=4, deadline=dt.time(16)), dt.date(2021, 8, 17), ZONE)
    assert on_time(at(2021, 8, 17, 9), p.deadline)  # sent on Tuesday for the week
    assert on_time(at(2021, 8, 20, 16, 0, 59), p.deadline)
    assert not on_time(at(2021, 8, 20, 16, 1), p.deadline)
    assert not on_time(at(2021, 8, 21, 9), p.deadline)  # Saturday: late for its week
