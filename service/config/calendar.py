"""The reporting calendar: which dates expect a report, and why a date expects none.

One rule for every caller (the day view, reminders, the digest, acknowledgements, the
daemon's triggers), on a schedule's calendar keys: `report_days`, `holidays`,
`working_days` and `holiday_calendar` ([schedule], or any object with those four
attributes: `CalendarRules`). For a date, the first rule that applies decides:

1. `working_days` (make-up working days, "ngày làm bù"): a reporting day, whatever its
   weekday and even on a calendar holiday: the administrator's explicit word wins over
   the package's (a government decision it does not know yet). A date cannot be listed
   in both `working_days` and `holidays` (the config refuses it).
2. `holidays` (the explicit list): no report ("ngày nghỉ theo cấu hình").
3. the public holidays of `holiday_calendar` (the `holidays` package): no report, with
   the holiday's name.
4. the calendar's own make-up working days (the package's `weekend_workdays`: for VN
   the Saturdays the government moved a working day to): a reporting day.
5. otherwise the weekday decides (`report_days`).

Supported calendars: "VN" (Vietnam: New Year's Day, Tết Nguyên đán by the lunar
calendar with the days off around it, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh 2/9
with its adjacent day, from 2026 Ngày Văn hóa Việt Nam 24/11, the days off in lieu of
those falling on a weekend, and the swaps of a working day the government decided and
the package lists). The text of a reason comes from the catalog ([day_off] of
templates/lang/<language>.toml). The package ships its data: nothing is fetched.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol

from templates import catalog

# The calendars `holiday_calendar` accepts: name -> the `holidays` package's country code.
CALENDARS: Mapping[str, str] = {"VN": "VN"}

# The package's (en_US) holiday names -> the catalog's keys ([day_off]); the first
# fragment found in the name decides. A name none matches is shown as the package gives it
# (`other`): a test checks that every VN holiday of the years in use has a key.
_KINDS: tuple[tuple[str, str], ...] = (
    ("lunar new year", "tet"),
    ("new year's day", "new_year"),
    ("hung kings", "hung_kings"),
    ("liberation day", "reunification"),
    ("reunification", "reunification"),
    ("labor day", "labour_day"),
    ("labour day", "labour_day"),
    ("national day", "national_day"),
    ("cultural day", "culture_day"),
    ("substituted", "swap"),
)
# The package's languages for the catalog's: the name of a holiday the catalog has no key for.
_PACKAGE_LANGUAGE = {"vi": "vi", "en": "en_US"}
# "Day off (substituted from 08/22/2026)" (en_US): the date the working day moved to.
_SWAPPED_FROM = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")

DayOffKind = Literal["weekday", "configured", "public_holiday"]


class CalendarRules(Protocol):
    """What the calendar needs of a schedule ([schedule]'s ScheduleConfig, or a report's own)."""

    @property
    def report_days(self) -> Collection[int]: ...  # Monday = 0

    @property
    def holidays(self) -> Collection[dt.date]: ...

    @property
    def working_days(self) -> Collection[dt.date]: ...

    @property
    def holiday_calendar(self) -> str | None: ...


@dataclass(frozen=True)
class PublicHoliday:
    """One public holiday of a calendar on a date."""

    calendar: str  # the calendar it is of ("VN")
    kind: str  # a key of the catalog's [day_off] ("tet", "national_day", ...) or "other"
    observed: bool  # a day off in lieu of a holiday falling on a weekend (nghỉ bù)
    name: str  # the package's own (en_US) name, e.g. "National Day (observed)"
    swapped_with: dt.date | None = None  # kind "swap": the (weekend) day worked instead


@dataclass(frozen=True)
class DayOff:
    """Why a date expects no report."""

    day: dt.date
    kind: DayOffKind  # its weekday is not in report_days | the explicit holidays | a public holiday
    holidays: tuple[PublicHoliday, ...] = ()  # kind "public_holiday": the calendar's, one or more


def is_reporting_day(rules: CalendarRules, day: dt.date) -> bool:
    """Whether a report is expected on `day` (the module's rules 1-5)."""
    return day_off(rules, day) is None


def day_off(rules: CalendarRules, day: dt.date) -> DayOff | None:
    """Why `day` expects no report, or None when it is a reporting day."""
    if day in rules.working_days:
        return None
    if day in rules.holidays:
        return DayOff(day, "configured")
    if rules.holiday_calendar:
        found = public_holidays(rules.holiday_calendar, day)
        if found:
            return DayOff(day, "public_holiday", found)
        if day in make_up_days(rules.holiday_calendar, day.year) | make_up_days(rules.holiday_calendar, day.year + 1):
            return None  # a swap decided with next year's days off (27/12/2014 for 2/1/2015)
    if day.weekday() not in rules.report_days:
        return DayOff(day, "weekday")
    return None


def day_off_reason(rules: CalendarRules, day: dt.date, language: str) -> str | None:
    """The reason `day` expects no report, as a person reads it ("Nghỉ lễ Quốc khánh",
    "không phải ngày báo cáo (Chủ Nhật)", "ngày nghỉ theo cấu hình"); None on a reporting day."""
    off = day_off(rules, day)
    return describe(off, language) if off is not None else None


def describe(off: DayOff, language: str) -> str:
    """The whole reason, standing alone (the JSON's `not_expected_reason`)."""
    t = _texts(language)
    if off.kind == "weekday":
        return str(t["weekday"]).format(weekday=_weekday(off.day, language))
    return short_reason(off, language)


def short_reason(off: DayOff, language: str) -> str:
    """The reason after "not a reporting day": the weekday's name, the holiday's name or
    "ngày nghỉ theo cấu hình" ("Ngày 02/09/2021 không phải ngày báo cáo (Nghỉ lễ Quốc khánh)")."""
    t = _texts(language)
    if off.kind == "weekday":
        return _weekday(off.day, language)
    if off.kind == "configured":
        return str(t["configured"])
    names = dict.fromkeys(_holiday_text(h, off.day, language) for h in off.holidays)
    return "; ".join(names)


def trigger_weekdays(rules: CalendarRules) -> frozenset[int]:
    """The weekdays on which a reporting day can fall: the daemon's cron triggers fire on
    them (and each job checks `is_reporting_day`): report_days, the weekdays of the
    listed make-up days and, with a calendar, its weekend (where its make-up days fall)."""
    days = set(rules.report_days) | {d.weekday() for d in rules.working_days}
    if rules.holiday_calendar:
        days |= {5, 6}
    return frozenset(days)


def check_calendar_name(name: str) -> str:
    """The calendar's name as `CALENDARS` spells it; ValueError naming the known ones."""
    key = name.strip().upper()
    if key not in CALENDARS:
        raise ValueError(f"'{name}' is not a holiday calendar baocao knows ({', '.join(sorted(CALENDARS))})")
    return key


# -- the holidays package ------------------------------------------------------------------


def public_holidays(calendar: str, day: dt.date) -> tuple[PublicHoliday, ...]:
    """The public holidays of `calendar` on `day` (several when two fall on one date)."""
    return _year(calendar, day.year)[0].get(day, ())


def make_up_days(calendar: str, year: int) -> frozenset[dt.date]:
    """The weekend days that `calendar` makes working days in exchange for a day off in
    `year` (a swap); one may fall in the year before."""
    return _year(calendar, year)[1]


@lru_cache(maxsize=64)
def _year(calendar: str, year: int) -> tuple[dict[dt.date, tuple[PublicHoliday, ...]], frozenset[dt.date]]:
    import holidays  # imported on first use: ~0.1 s, and only configs with a calendar need it

    table = holidays.country_holidays(CALENDARS[calendar], years=year, language="en_US")
    workdays = frozenset(getattr(table, "weekend_workdays", ()))
    by_day: dict[dt.date, tuple[PublicHoliday, ...]] = {}
    for day in sorted(table):
        by_day[day] = tuple(_holiday(calendar, name, workdays) for name in table.get_list(day))
    return by_day, workdays


@lru_cache(maxsize=64)
def _package_names(calendar: str, year: int, language: str) -> dict[dt.date, list[str]]:
    import holidays

    table = holidays.country_holidays(CALENDARS[calendar], years=year, language=language)
    return {day: table.get_list(day) for day in table}


def _holiday(calendar: str, name: str, workdays: frozenset[dt.date]) -> PublicHoliday:
    lowered = name.lower()
    kind = next((k for fragment, k in _KINDS if fragment in lowered), "other")
    swapped_with = None
    if kind == "swap":
        # The day worked instead: one of the calendar's make-up days, written in the name
        # (month first in en_US); a name that names none is shown as the package gives it.
        m = _SWAPPED_FROM.search(name)
        written = {(int(m[1]), int(m[2]), int(m[3])), (int(m[2]), int(m[1]), int(m[3]))} if m else set()
        swapped_with = next((d for d in sorted(workdays) if (d.month, d.day, d.year) in written), None)
        if swapped_with is None:
            kind = "other"
    observed = kind != "swap" and "observed" in lowered
    return PublicHoliday(calendar, kind, observed, name, swapped_with)


def _holiday_text(h: PublicHoliday, day: dt.date, language: str) -> str:
    t = _texts(language)
    if h.kind == "swap" and h.swapped_with is not None:
        return str(t["swap"]).format(date=f"{h.swapped_with:%d/%m/%Y}")
    if h.kind in t:
        text = str(t[h.kind])
    else:
        text = str(t["other"]).format(name=_package_name(h, day, language))
    return str(t["observed"]).format(name=text) if h.observed else text


def _package_name(h: PublicHoliday, day: dt.date, language: str) -> str:
    """The package's own name of a holiday the catalog has no key for, in `language` when the
    package has it (its English one otherwise)."""
    package_language = _PACKAGE_LANGUAGE.get(language)
    if package_language is None:
        return h.name
    english = _package_names(h.calendar, day.year, "en_US").get(day, [])
    local = _package_names(h.calendar, day.year, package_language).get(day, [])
    if h.name in english and len(local) == len(english):
        return local[english.index(h.name)]
    return h.name


def _texts(language: str) -> dict[str, Any]:
    table: dict[str, Any] = catalog(language)["day_off"]
    return table


def _weekday(day: dt.date, language: str) -> str:
    return str(catalog(language)["digest"]["weekdays"][day.weekday()])
