"""Who reported on a day, with what figures: the one place status semantics live.

`build_day_view` reads the database (storage.days, records not rows); `unit_status`,
`day_view` (totals), `on_time` and the decrease check are pure, so the digest, `status` and `export` all agree by
construction. A unit's timeliness comes from its first readable report of the day (or
one whose scan or photo is still being recognised), its figures from the latest; a
figure that failed a format check (`FIGURE_FORMAT_PROBLEMS`) stays in the unit's row,
flagged, and is left out of the totals.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from operator import itemgetter, lt

from parsers.model import FIGURE_FORMAT_PROBLEMS, FormSpec, Problem
from service.config import Config, UnitConfig, calendar
from service.config.calendar import DayOff
from service.day.bulk import collector_paused, kept
from service.day.periods import ReportPeriod
from service.day.periods import on_time as on_time  # the timeliness rule, where its callers find it
from storage.days import (
    Db,
    Sources,
    Values,
    latest_report_days,
    load_figures,
    messages_of_day,
    readable_reports,
)
from storage.kinds import AUTOMATIC, OWN_MAIL, REPORT, UNASSIGNED
from storage.records import MessageRecord as Message

Cell = tuple[str, str]  # (indicator code, measure code)

# Figures read from these sources (parsers.model.AttachmentResult.source) are marked in the
# digest and the workbook, by what they were read from: an image (a scan or a photo) or
# the free text of the email. A spreadsheet, a text PDF or a table pasted in the email
# are the document's own cells.
MARKED_SOURCES: dict[str, str] = {"scan": "image", "photo": "image", "body_text": "email"}


@dataclass(frozen=True)
class Exclusion:
    """A unit's figure the totals leave out: it failed a format check (`problem`)."""

    unit: UnitConfig
    indicator: str
    measure: str
    value: Decimal | None  # as the unit's row shows it; None when no value could be read
    problem: Problem


@dataclass(frozen=True)
class UnitDay:
    unit: UnitConfig
    status: str  # on_time | late | missing | unreadable | not_expected
    # the message whose figures count (or the latest one still being recognised, or the
    # latest unreadable one)
    message: Message | None
    values: Values  # the day's own figures (empty unless the unit reported readably on the day)
    problems: tuple[Problem, ...]
    latest_values: Values  # the unit's latest figures, as read (maybe from an earlier day)
    latest_day: dt.date | None
    previous_values: Values  # the report before the latest one (daily change, decreases)
    previous_day: dt.date | None
    messages: tuple[Message, ...] = ()  # every report message of the day, oldest first

    day: dt.date | None = None
    # The arrival of the first readable report of the day (or of one still being
    # recognised): it decides on_time / late.
    first_received_at: dt.datetime | None = None
    # The arrival of the report whose figures count, when it is a later one than the
    # first and came after the deadline (a correction, noted; the status stands).
    correction_at: dt.datetime | None = None
    # Cells of latest_values / previous_values that failed a format check (not counted).
    excluded: tuple[Exclusion, ...] = ()
    previous_excluded: frozenset[Cell] = frozenset()
    # Where the figures of latest_values were read from, for the ones MARKED_SOURCES marks.
    latest_sources: Sources = field(default_factory=dict)

    def read_from(self, indicator: str, measure: str) -> str | None:
        """ "image" or "email" when latest_values' figure was read from a scan, a photo or the
        email's free text (MARKED_SOURCES), else None."""
        return MARKED_SOURCES.get(self.latest_sources.get(indicator, {}).get(measure, ""))

    @property
    def stale(self) -> bool:
        """The figures that count come from an earlier day than this one."""
        return self.latest_day is not None and self.day is not None and self.latest_day < self.day

    @property
    def counted_values(self) -> Values:
        """latest_values without the figures that failed a format check: what the totals take."""
        return without(self.latest_values, {(x.indicator, x.measure) for x in self.excluded})

    @property
    def previous_counted_values(self) -> Values:
        return without(self.previous_values, self.previous_excluded)


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
    excluded: tuple[Exclusion, ...] = ()  # the figures `totals` leave out, unit by unit
    day_off: DayOff | None = None  # why no report is expected (None on a reporting day)
    # With [[reports]]: the report's period this view is of (`day` is its first day).
    period: ReportPeriod | None = None


def is_reporting_day(cfg: Config, day: dt.date) -> bool:
    """Whether a report is expected on `day`: the schedule's calendar (service/config/calendar.py)."""
    return calendar.is_reporting_day(cfg.schedule, day)


def day_off(cfg: Config, day: dt.date) -> DayOff | None:
    """Why `day` expects no report (None on a reporting day); `calendar.describe` words it."""
    return calendar.day_off(cfg.schedule, day)


def deadline_of(cfg: Config, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, cfg.schedule.deadline, tzinfo=cfg.service.timezone)


@collector_paused()
def build_day_view(session: Db, cfg: Config, day: dt.date, until: dt.datetime | None = None) -> DayView:
    """Everything about `day`; messages received after `until` are ignored when given."""
    codes = [u.code for u in cfg.units]
    todays = messages_of_day(session, day)
    if until is not None:
        todays = [m for m in todays if m.received_at <= until]

    # The two most recent days with a readable report per unit, up to `day`.
    days_by_unit = latest_report_days(session, codes, day)
    wanted = {(c, d) for c, ds in days_by_unit.items() for d in ds}
    counting: dict[tuple[str, dt.date], Message] = {}
    # The day's own readable reports are among `todays` already (with their attachments,
    # and without those after `until`); only the earlier days are read again.
    earlier = {(c, d) for c, d in wanted if d != day}
    own_readable = [m for m in todays if m.kind == REPORT and m.readable]
    for m in [*readable_reports(session, {c for c, _ in earlier}, {d for _, d in earlier}), *own_readable]:
        key = (m.unit_code or "", m.report_day)
        if key in wanted:
            counting[key] = m  # later rows overwrite (oldest first): latest wins

    values, sources = load_figures(session, [m.id for m in counting.values()], MARKED_SOURCES)
    own_by_unit: dict[str, list[Message]] = defaultdict(list)
    for m in todays:
        if m.kind == REPORT and m.unit_code is not None:
            own_by_unit[m.unit_code].append(m)
    days_counted: dict[str, list[dt.date]] = defaultdict(list)
    for c, d in counting:
        days_counted[c].append(d)

    off = day_off(cfg, day)
    reporting = off is None
    deadline = deadline_of(cfg, day)
    units = []
    for unit in cfg.units:
        own = tuple(own_by_unit.get(unit.code, ()))
        recent = sorted(days_counted.get(unit.code, ()), reverse=True)
        latest_day = recent[0] if recent else None
        prev_day = recent[1] if len(recent) > 1 else None
        if latest_day == day and (unit.code, day) not in counting:
            latest_day, prev_day = prev_day, None
        latest = counting.get((unit.code, latest_day)) if latest_day else None
        previous = counting.get((unit.code, prev_day)) if prev_day else None
        units.append(
            unit_status(
                unit,
                day,
                reporting,
                deadline,
                own,
                latest,
                previous,
                values_of=lambda m: values.get(m.id, {}),
                form=cfg.form,
                sources_of=lambda m: sources.get(m.id, {}),
            )
        )

    # The service's own mail (the Bcc copy of a digest coming back) is no one's report.
    known = set(codes)
    unassigned = tuple(
        m
        for m in todays
        if m.kind in (UNASSIGNED, AUTOMATIC) and m.reason != OWN_MAIL or (m.kind == REPORT and m.unit_code not in known)
    )
    return kept(day_view(day, reporting, deadline, units, unassigned, until, off))


def day_view(
    day: dt.date,
    reporting: bool,
    deadline: dt.datetime,
    units: Iterable[UnitDay],
    unassigned: Iterable[Message] = (),
    until: dt.datetime | None = None,
    off: DayOff | None = None,
) -> DayView:
    """The day from its units' statuses: totals of the figures that count, the previous
    totals (for the daily change) and the status counts; `off`: why it expects no report."""
    units = tuple(units)
    totals = sum_values(u.counted_values for u in units)
    previous_totals = sum_values(
        (u.previous_counted_values if u.latest_day == day else u.counted_values) for u in units
    )
    counts: dict[str, int] = defaultdict(int)
    for u in units:
        counts[u.status] += 1
    excluded = tuple(x for u in units for x in u.excluded)
    return DayView(
        day, reporting, deadline, units, totals, previous_totals, tuple(unassigned), until, dict(counts), excluded, off
    )


def unit_status(
    unit: UnitConfig,
    day: dt.date,
    reporting: bool,
    deadline: dt.datetime,
    own: tuple[Message, ...],
    latest: Message | None,
    previous: Message | None,
    values_of: Callable[[Message], Values] | None = None,
    form: FormSpec | None = None,
    sources_of: Callable[[Message], Sources] | None = None,
) -> UnitDay:
    """A unit's status on `day` from its messages of the day (`own`, oldest first) and its
    counting reports (`latest`, the one before it `previous`)."""
    values_of = values_of or figures_of
    sources_of = sources_of or marked_sources_of
    latest_values = values_of(latest) if latest else {}
    previous_values = values_of(previous) if previous else {}
    readable_today = latest if latest is not None and latest.report_day == day else None
    # A scan or photo still being recognised: the unit has reported (nothing in it is
    # found unreadable yet), so it counts for timeliness; its figures come once it is read.
    pending = [m for m in own if not m.readable and recognition_pending(m)]
    problems: list[Problem] = []
    first_at = correction_at = None
    if readable_today is not None:
        first = next((m for m in own if m.readable or m in pending), readable_today)
        first_at = min(first.received_at, readable_today.received_at)
        status = "on_time" if on_time(first_at, deadline) else "late"
        if readable_today.received_at > first_at and not on_time(readable_today.received_at, deadline):
            correction_at = readable_today.received_at
        message = readable_today
        values = latest_values
        problems.extend(stored_problems(readable_today))
        problems.extend(decreases(values, previous_values, previous.report_day if previous else None, form))
        # a later message still being read may yet give the day's figures: said
        for m in pending:
            if m.received_at >= readable_today.received_at:
                problems.extend(p for p in stored_problems(m) if p.code == RECOGNITION_PENDING)
    elif pending:
        first_at = pending[0].received_at
        status = "on_time" if on_time(first_at, deadline) else "late"
        message, values = pending[-1], {}
        for m in pending:
            problems.extend(stored_problems(m))
    elif own:
        status, message, values = "unreadable", own[-1], {}
        for m in own:
            problems.extend(stored_problems(m))
    else:
        status, message, values = "missing", None, {}
    if not reporting:
        status = "not_expected"
    excluded = excluded_cells(stored_problems(latest), latest_values, form) if latest else {}
    if readable_today is not None:
        shown_previous = previous_values
        previous_excluded = excluded_cells(stored_problems(previous), previous_values, form) if previous else {}
    else:
        shown_previous, previous_excluded = latest_values, excluded
    return UnitDay(
        unit=unit,
        status=status,
        message=message,
        values=values,
        problems=tuple(dict.fromkeys(problems)),
        latest_values=latest_values,
        latest_day=latest.report_day if latest else None,
        previous_values=shown_previous,
        previous_day=(previous.report_day if previous else None)
        if readable_today is not None
        else (latest.report_day if latest else None),
        messages=own,
        day=day,
        first_received_at=first_at,
        correction_at=correction_at,
        excluded=tuple(
            Exclusion(unit, ind, meas, latest_values.get(ind, {}).get(meas), p) for (ind, meas), p in excluded.items()
        ),
        previous_excluded=frozenset(previous_excluded),
        latest_sources=sources_of(latest) if latest else {},
    )


def excluded_cells(problems: Iterable[Problem], values: Values, form: FormSpec | None = None) -> dict[Cell, Problem]:
    """The cells that failed a format check (a count not whole, a negative, no number),
    by the codes the reader puts in the problem; problems stored before it did are
    placed by their indicator and measure labels (`form`). The first problem per cell."""
    ind_by_label = {i.label: i.code for i in form.indicators} if form else {}
    meas_by_label = {m.label: m.code for m in form.measures} if form else {}
    out: dict[Cell, Problem] = {}
    for p in problems:
        if p.code not in FIGURE_FORMAT_PROBLEMS:
            continue
        params = p.params or {}
        ind = params.get("indicator_code") or ind_by_label.get(str(params.get("indicator", "")))
        meas = params.get("measure_code") or meas_by_label.get(str(params.get("measure", "")))
        if ind and meas:
            out.setdefault((str(ind), str(meas)), p)
    return out


def without(values: Values, cells: Iterable[Cell]) -> Values:
    """`values` without `cells` (rows left empty dropped)."""
    cells = set(cells)
    if not cells:
        return values
    out: Values = {}
    for ind, row in values.items():
        left = {m: v for m, v in row.items() if (ind, m) not in cells}
        if left:
            out[ind] = left
    return out


def figures_of(msg: Message) -> Values:
    out: Values = {}
    for f in msg.figures:
        out.setdefault(f.indicator, {})[f.measure] = f.value
    return out


def marked_sources_of(msg: Message) -> Sources:
    """Where `msg`'s figures were read from, for the ones MARKED_SOURCES marks."""
    out: Sources = {}
    for f in msg.figures:
        if f.source in MARKED_SOURCES:
            out.setdefault(f.indicator, {})[f.measure] = f.source
    return out


RECOGNITION_PENDING = "recognition_pending"  # (service.ingest.analysis.pending_result)


def recognition_pending(msg: Message) -> bool:
    """A file of `msg` (a scan or photo) is still to be recognised: the message says so
    with a problem until the recognition worker has read it."""
    return any(p.code == RECOGNITION_PENDING for p in msg.problems)


def stored_problems(msg: Message) -> list[Problem]:
    return [Problem(p.code, dict(p.params or {})) for p in msg.problems]


def decreases(
    current: Values, previous: Values, previous_day: dt.date | None, form: FormSpec | None = None
) -> list[Problem]:
    """Cumulative figures lower than the unit's previous report (labels for the sentence,
    codes kept as indicator_code / measure_code)."""
    out: list[Problem] = []
    for ind, row in current.items():
        before_row = previous.get(ind)
        if not before_row:
            continue
        try:  # most rows: no figure lower than before, found by one pass in C
            if not any(map(lt, row.values(), map(before_row.__getitem__, row))):
                continue
        except KeyError:  # a measure the previous report did not give: cell by cell
            pass
        for code, val in row.items():
            before = before_row.get(code)
            if before is not None and val < before:
                # (the labels only for a unit with a decrease: most have none)
                ind_label = {i.code: i.label for i in form.indicators} if form else {}
                meas = {m.code: m for m in form.measures} if form else {}
                m = meas.get(code)
                unit = " đồng" if m is not None and m.kind == "money" else ""
                when = previous_day.strftime("%d/%m/%Y") if previous_day else ""
                out.append(
                    Problem(
                        "cumulative_decrease",
                        {
                            "indicator": ind_label.get(ind, ind),
                            "measure": m.label if m else code,
                            "indicator_code": ind,
                            "measure_code": code,
                            "previous": grouped(before) + unit,
                            "current": grouped(val) + unit,
                            "previous_value": str(number(before)),
                            "current_value": str(number(val)),
                            "previous_day": when,
                        },
                    )
                )
    return out


def sum_values(rows: Iterable[Values]) -> Values:
    """The figures of `rows` added up cell by cell, in order (each total is 0 + the first
    value + the next ...), the cells in the order they first appear."""
    by_indicator: dict[str, list[dict[str, Decimal]]] = {}
    for ind, row in chain.from_iterable(map(dict.items, rows)):
        found = by_indicator.get(ind)
        if found is None:
            by_indicator[ind] = [row]
        else:
            found.append(row)
    total: Values = {}
    zero = Decimal(0)
    for ind, found in by_indicator.items():
        keys = found[0].keys()
        if all(map(keys.__eq__, map(dict.keys, found))):  # the usual case, one form: measure by measure, in C
            total[ind] = {meas: sum(map(itemgetter(meas), found), zero) for meas in keys}
            continue
        cell: dict[str, Decimal] = {}
        for row in found:
            for meas, val in row.items():
                cell[meas] = cell.get(meas, zero) + val
        total[ind] = cell
    return total


def grouped(value: Decimal) -> str:
    """1234567.5 -> '1.234.567,5' (Vietnamese grouping), for sentences."""
    text = f"{number(value):,}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def number(value: Decimal) -> int | float:
    """JSON number for a stored Decimal: an int when whole."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)
