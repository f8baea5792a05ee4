"""Who reported on a day, with what figures: the one place status semantics live.

`build_day_view` reads the database; `unit_status`, totals and the decrease check
are pure, so the digest, `status` and `export` all agree by construction.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from parsers.model import Problem
from service.analysis import AUTOMATIC, REPORT, UNASSIGNED
from service.config import Config, UnitConfig
from storage.models import Message

Values = dict[str, dict[str, Decimal]]


@dataclass(frozen=True)
class UnitDay:
    unit: UnitConfig
    status: str  # on_time | late | missing | unreadable | not_expected
    message: Message | None  # the message whose figures count (or the latest unreadable one)
    values: Values  # the day's own figures (empty unless the unit reported readably on the day)
    problems: tuple[Problem, ...]
    latest_values: Values  # the figures that count in totals (maybe from an earlier day)
    latest_day: dt.date | None
    previous_values: Values  # the report before the latest one (daily change, decreases)
    previous_day: dt.date | None
    messages: tuple[Message, ...] = ()  # every report message of the day, oldest first

    @property
    def stale(self) -> bool:
        return self.latest_day is not None and self.status not in ("on_time", "late")


@dataclass(frozen=True)
class DayView:
    day: dt.date
    reporting_day: bool
    deadline: dt.datetime
    units: tuple[UnitDay, ...]
    totals: Values
    previous_totals: Values
    unassigned: tuple[Message, ...]
    until: dt.datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)


def is_reporting_day(cfg: Config, day: dt.date) -> bool:
    sched = cfg.schedule
    return day.weekday() in sched.report_days and day not in sched.holidays


def deadline_of(cfg: Config, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, cfg.schedule.deadline, tzinfo=cfg.service.timezone)


def build_day_view(session: Session, cfg: Config, day: dt.date,
                   until: dt.datetime | None = None) -> DayView:
    """Everything about `day`; messages received after `until` are ignored when given."""
    codes = [u.code for u in cfg.units]
    todays = session.scalars(
        select(Message).where(Message.report_day == day)
        .options(selectinload(Message.figures), selectinload(Message.problems),
                 selectinload(Message.attachments))
        .order_by(Message.received_at, Message.id)).all()
    if until is not None:
        todays = [m for m in todays if m.received_at <= until]

    # The two most recent days with a readable report per unit, up to `day`.
    pairs = session.execute(
        select(Message.unit_code, Message.report_day)
        .where(Message.kind == REPORT, Message.readable.is_(True), Message.report_day <= day,
               Message.unit_code.in_(codes))
        .group_by(Message.unit_code, Message.report_day)).all()
    days_by_unit: dict[str, list[dt.date]] = defaultdict(list)
    for code, d in pairs:
        days_by_unit[code].append(d)
    wanted = {(c, d) for c, ds in days_by_unit.items() for d in sorted(ds, reverse=True)[:2]}
    counting: dict[tuple[str, dt.date], Message] = {}
    if wanted:
        rows = session.scalars(
            select(Message).where(Message.kind == REPORT, Message.readable.is_(True),
                                  or_(*[and_(Message.unit_code == c, Message.report_day == d)
                                        for c, d in wanted]))
            .options(selectinload(Message.figures), selectinload(Message.problems))
            .order_by(Message.received_at, Message.id)).all()
        for m in rows:
            if m.report_day == day and until is not None and m.received_at > until:
                continue
            counting[(m.unit_code, m.report_day)] = m  # later rows overwrite: latest wins

    reporting = is_reporting_day(cfg, day)
    deadline = deadline_of(cfg, day)
    units = []
    for unit in cfg.units:
        own = tuple(m for m in todays if m.kind == REPORT and m.unit_code == unit.code)
        recent = sorted((d for (c, d) in counting if c == unit.code), reverse=True)
        latest_day = recent[0] if recent else None
        prev_day = recent[1] if len(recent) > 1 else None
        if latest_day == day and (unit.code, day) not in counting:
            latest_day, prev_day = prev_day, None
        latest = counting.get((unit.code, latest_day)) if latest_day else None
        previous = counting.get((unit.code, prev_day)) if prev_day else None
        units.append(unit_status(unit, day, reporting, deadline, own, latest, previous))

    totals = sum_values(u.latest_values for u in units)
    previous_totals = sum_values(
        (u.previous_values if u.latest_day == day else u.latest_values) for u in units)
    unassigned = tuple(m for m in todays if m.kind in (UNASSIGNED, AUTOMATIC)
                       or (m.kind == REPORT and m.unit_code not in codes))
    counts = defaultdict(int)
    for u in units:
        counts[u.status] += 1
    return DayView(day, reporting, deadline, tuple(units), totals, previous_totals,
                   unassigned, until, dict(counts))


def unit_status(unit: UnitConfig, day: dt.date, reporting: bool, deadline: dt.datetime,
                own: tuple[Message, ...], latest: Message | None, previous: Message | None) -> UnitDay:
    """A unit's status on `day` from its messages of the day and its counting reports."""
    latest_values = figures_of(latest) if latest else {}
    previous_values = figures_of(previous) if previous else {}
    readable_today = latest if latest is not None and latest.report_day == day else None
    problems: list[Problem] = []
    if readable_today is not None:
        status = "on_time" if readable_today.received_at <= deadline else "late"
        message = readable_today
        values = latest_values
        problems.extend(stored_problems(readable_today))
        problems.extend(decreases(values, previous_values, previous.report_day if previous else None))
    elif own:
        status, message, values = "unreadable", own[-1], {}
        for m in own:
            problems.extend(stored_problems(m))
    else:
        status, message, values = "missing", None, {}
    if not reporting:
        status = "not_expected"
    return UnitDay(unit=unit, status=status, message=message, values=values,
                   problems=tuple(dict.fromkeys(problems)), latest_values=latest_values,
                   latest_day=latest.report_day if latest else None,
                   previous_values=previous_values if readable_today is not None else latest_values,
                   previous_day=(previous.report_day if previous else None) if readable_today is not None
                   else (latest.report_day if latest else None),
                   messages=own)


def figures_of(msg: Message) -> Values:
    out: Values = {}
    for f in msg.figures:
        out.setdefault(f.indicator, {})[f.measure] = f.value
    return out


def stored_problems(msg: Message) -> list[Problem]:
    return [Problem(p.code, dict(p.params or {})) for p in msg.problems]


def decreases(current: Values, previous: Values, previous_day: dt.date | None) -> list[Problem]:
    """Cumulative figures lower than the unit's previous report."""
    out = []
    for ind, row in current.items():
        for meas, val in row.items():
            before = previous.get(ind, {}).get(meas)
            if before is not None and val < before:
                out.append(Problem("cumulative_decrease", {
                    "indicator": ind, "measure": meas, "previous": str(number(before)),
                    "current": str(number(val)),
                    "previous_day": previous_day.strftime("%d/%m/%Y") if previous_day else ""}))
    return out


def sum_values(rows) -> Values:
    total: Values = {}
    for values in rows:
        for ind, row in values.items():
            for meas, val in row.items():
                cell = total.setdefault(ind, {})
                cell[meas] = cell.get(meas, Decimal(0)) + val
    return total


def number(value: Decimal) -> int | float:
    """JSON number for a stored Decimal: an int when whole."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)
