"""One report's period as a day view: who sent it, with what figures (issue 15).

With [[reports]], a message counts for the reports it carries (storage.reports): a
unit's timeliness in a period comes from its first readable report of that period
against the period's deadline, its figures from the latest; a cumulative report
carries a unit's figures of an earlier period forward (marked stale). The view is a
`DayView` whose `day` is the period's first day, built by the same `unit_status`, so the
status table, the export and the workbook render it unchanged, from `report_config`:
the config as the report sees it (its form, its units, its deadline, its digest).
A config without [[reports]] is `build_day_view` itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy.orm import Session

from service.config import Config
from service.config.objects import ReportConfig
from service.day.bulk import collector_paused
from service.day.dayview import MARKED_SOURCES, DayView, build_day_view, day_view, is_reporting_day, unit_status
from service.day.periods import ReportPeriod, period_of
from storage.days import load_sources, messages_of_day, readable_reports, report_messages_after
from storage.kinds import AUTOMATIC, OWN_MAIL, REPORT, UNASSIGNED
from storage.records import MessageRecord as Message
from storage.reports import could_be, report_days, report_values, reports_of, stands_under


def report_config(cfg: Config, report: ReportConfig) -> Config:
    """`cfg` as `report` sees it: its form, units, deadline, digest and superior's form in
    place of the top-level ones. A top-level [upward] goes with the default report (the
    only one, or the only daily one) unless that report has its own."""
    if not cfg.reports:
        return cfg
    wanted = set(report.units)
    upward = report.upward
    if upward is None and cfg.upward is not None and _is_default(cfg, report):
        upward = cfg.upward
    return dataclasses.replace(
        cfg,
        form=report.form,
        units=tuple(u for u in cfg.units if u.code in wanted),
        schedule=dataclasses.replace(cfg.schedule, deadline=report.deadline, digest_at=report.digest_at),
        digest=report.digest or cfg.digest,
        reports=(report,),
        upward=upward,
    )


def _is_default(cfg: Config, report: ReportConfig) -> bool:
    try:
        return cfg.report(None).code == report.code
    except KeyError:
        return False


@collector_paused()
def build_report_view(
    session: Session, cfg: Config, report: ReportConfig, day: dt.date, until: dt.datetime | None = None
) -> DayView:
    """The period of `report` containing `day`; messages received after `until` are ignored when given."""
    if not cfg.reports:
        return build_day_view(session, cfg, day, until)
    period = period_of(report, day, cfg.service.timezone)
    rcfg = report_config(cfg, report)
    codes = [u.code for u in rcfg.units]
    in_period = [m for d in _days(period) for m in messages_of_day(session, d)]
    if report.period == "once":  # an answer after its deadline day is late for it, not lost
        in_period += report_messages_after(session, report.code, period.end)
    if until is not None:
        in_period = [m for m in in_period if m.received_at <= until]
    links = reports_of(session, [m.id for m in in_period if m.kind == REPORT])

    # A report message counts for the reports it carries, readable or not for each. A
    # document of no report (storage.reports.could_be) is shown, with its problem and never
    # with figures, under the reports it could be: those it was tied between, or, matching
    # none, any the unit must send in a period containing its day.
    own_by_unit: dict[str, list[Message]] = defaultdict(list)
    for m in in_period:
        if m.kind != REPORT or m.unit_code not in codes:
            continue
        carried = links.get(m.id, {})
        if report.code in carried:
            readable = carried[report.code]
        elif stands_under(report.code, could_be(bool(carried), ((p.code, p.params) for p in m.problems))):
            readable = False
        else:
            continue
        own_by_unit[m.unit_code].append(dataclasses.replace(m, readable=readable, report_day=period.start))

    # Per unit, the reports whose figures count: the latest readable one of an earlier
    # period (a cumulative report: stale figures, decreases), then the period's latest.
    counting: dict[str, list[Message]] = defaultdict(list)
    if report.cumulative:
        earlier_days = report_days(session, report.code, codes, period.start)
        wanted = {(c, max(ds)) for c, ds in earlier_days.items()}
        earlier = readable_reports(session, {c for c, _ in wanted}, {d for _, d in wanted})
        carried_by = reports_of(session, [m.id for m in earlier])
        last: dict[str, Message] = {}
        for m in earlier:  # oldest first: the latest of the day wins
            if (m.unit_code, m.report_day) in wanted and carried_by.get(m.id, {}).get(report.code):
                last[m.unit_code or ""] = m
        for code, m in last.items():
            counting[code].append(m)
    for code, own in own_by_unit.items():
        read = [m for m in own if m.readable]
        if read:
            counting[code].append(read[-1])
    chosen = [m for ms in counting.values() for m in ms]
    values = report_values(session, [m.id for m in chosen], report.code)
    sources = load_sources(session, [m.id for m in chosen], MARKED_SOURCES)

    reporting = is_reporting_day(cfg, day) if report.period == "day" else True
    units = []
    for unit in rcfg.units:
        mine = counting.get(unit.code, [])
        latest = mine[-1] if mine else None
        previous = mine[-2] if len(mine) > 1 else None
        units.append(
            unit_status(
                unit,
                period.start,
                reporting,
                period.deadline,
                tuple(own_by_unit.get(unit.code, ())),
                latest,
                previous,
                values_of=lambda m: values.get(m.id, {}),
                form=report.form,
                sources_of=lambda m: sources.get(m.id, {}),
            )
        )
    known = {u.code for u in cfg.units}
    unassigned = tuple(
        m
        for m in in_period
        if m.kind in (UNASSIGNED, AUTOMATIC) and m.reason != OWN_MAIL or (m.kind == REPORT and m.unit_code not in known)
    )
    view = day_view(period.start, reporting, period.deadline, units, unassigned, until)
    return dataclasses.replace(view, period=period)


def _days(period: ReportPeriod) -> list[dt.date]:
    return [period.start + dt.timedelta(days=i) for i in range((period.end - period.start).days + 1)]


def to_date_values(
    session: Session, cfg: Config, report: ReportConfig, day: dt.date, until: dt.datetime | None = None
) -> dict[str, dict[str, dict[str, Decimal]]]:
    """A report whose figures are each period's own (not cumulative): each unit's figures
    summed over the report's periods from the start of the year (not before the
    campaign's start date) to the period containing `day`, money in đồng; the figures
    that "Lũy kế" / "Từ đầu năm" columns of the superior's form take."""
    from service.day.periods import periods_between

    current = period_of(report, day, cfg.service.timezone)
    first = dt.date(current.end.year, 1, 1)
    if cfg.campaign.start_date is not None and cfg.campaign.start_date > first:
        first = cfg.campaign.start_date
    periods = [current]
    if report.period != "once" and first < current.start:
        periods = periods_between(report, first, current.start - dt.timedelta(days=1), cfg.service.timezone)
        periods.append(current)
    out: dict[str, dict[str, dict[str, Decimal]]] = {}
    for period in periods:
        view = build_report_view(session, cfg, report, period.start, until)
        for u in view.units:
            mine = out.setdefault(u.unit.code, {})
            for ind, row in u.counted_values.items():
                for meas, v in row.items():
                    if v is not None:
                        mine.setdefault(ind, {})[meas] = mine.get(ind, {}).get(meas, Decimal(0)) + v
    return out
