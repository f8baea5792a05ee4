"""A report's periods: the day, week, month or one-off span a report counts for, pure.

A report counts for the period of its report that contains the day it arrived (in the
config's zone): a weekly report sent on Wednesday counts for that week (Monday to
Sunday), a monthly one for that calendar month, a one-off request for its span
(start_date to its deadline day; one arriving after it is late for it). The period's
deadline and digest time are local datetimes; `on_time` is the one timeliness rule.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from service.config.objects import LAST_DAY, ReportConfig
from templates import catalog


@dataclass(frozen=True)
class ReportPeriod:
    """One period of one report: its days, when it is due and when its digest goes."""

    report: str  # the report's code
    kind: str  # day | week | month | once
    start: dt.date
    end: dt.date  # inclusive
    deadline: dt.datetime  # in the config's zone
    digest_at: dt.datetime

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


def period_of(report: ReportConfig, day: dt.date, zone: ZoneInfo) -> ReportPeriod:
    """The period of `report` that `day` falls in (a one-off's: its one period, whatever the day)."""
    if report.period == "week":
        start = day - dt.timedelta(days=day.weekday())
        end = start + dt.timedelta(days=6)
    elif report.period == "month":
        start = day.replace(day=1)
        end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    elif report.period == "once":
        assert report.start_date is not None and isinstance(report.deadline_day, dt.date)  # models.ReportModel
        start, end = report.start_date, report.deadline_day
    else:
        start = end = day
    deadline_day = _day_in(report, report.deadline_day, start, end)
    digest_day = _day_in(
        report, report.digest_day if report.digest_day is not None else report.deadline_day, start, end
    )
    return ReportPeriod(
        report=report.code,
        kind=report.period,
        start=start,
        end=end,
        deadline=dt.datetime.combine(deadline_day, report.deadline, tzinfo=zone),
        digest_at=dt.datetime.combine(digest_day, report.digest_at, tzinfo=zone),
    )


def reminder_slots(report: ReportConfig, period: ReportPeriod, zone: ZoneInfo) -> tuple[dt.datetime, ...]:
    """When the reminders of `report` go in `period`: its `reminders_at` on its reminder day
    (a daily report: the day itself), in order. Whether that day is a reporting day is the
    caller's rule (service/day/reminders.py)."""
    which = report.reminder_day if report.reminder_day is not None else report.deadline_day
    day = _day_in(report, which, period.start, period.end)
    return tuple(dt.datetime.combine(day, t, tzinfo=zone) for t in sorted(report.reminders_at))


def _day_in(report: ReportConfig, which: int | dt.date | None, start: dt.date, end: dt.date) -> dt.date:
    """The day of the period `which` names: a weekday, a day of the month, a date, or (day) the day itself."""
    if isinstance(which, dt.date):
        return which
    if which is None:
        return end
    if report.period == "week":
        return start + dt.timedelta(days=which)
    # A month: the 31st of a 30-day month is its last day.
    return end if which == LAST_DAY else start.replace(day=min(which, end.day))


def periods_between(report: ReportConfig, first: dt.date, last: dt.date, zone: ZoneInfo) -> list[ReportPeriod]:
    """The periods of `report` that overlap first..last, in order."""
    out: list[ReportPeriod] = []
    day = first
    while day <= last:
        period = period_of(report, day, zone)
        if not out or out[-1].start != period.start:
            out.append(period)
        if report.period == "once":
            break
        day = period.end + dt.timedelta(days=1)
    return out


def period_label(period: ReportPeriod, language: str) -> str:
    """ "ngày 16/08/2021", "tuần 16/08–22/08/2021", "tháng 8/2021", "từ 18/08 đến 20/08/2021"."""
    words = catalog(language)["periods"]
    end = period.end.strftime("%d/%m/%Y")
    start = period.start.strftime("%d/%m" if period.start.year == period.end.year else "%d/%m/%Y")
    if period.kind == "month":
        return str(words["month"]).format(month=period.start.month, year=period.start.year)
    if period.kind == "day":
        return str(words["day"]).format(date=end)
    return str(words[period.kind]).format(start=start, end=end)


def on_time(received_at: dt.datetime, deadline: dt.datetime) -> bool:
    """Whether a report received at `received_at` meets `deadline`: the one rule.

    Times are compared at the precision they are shown in: a deadline given in minutes
    (15:00) covers its whole minute, so 15:00:59 is on time and 15:01:00 is late.
    """
    if deadline.second or deadline.microsecond:  # a deadline given to the second
        return received_at < deadline.replace(microsecond=0) + dt.timedelta(seconds=1)
    return received_at < deadline + dt.timedelta(minutes=1)
