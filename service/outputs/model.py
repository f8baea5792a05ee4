"""The digest's view of a day: every label, number and sentence the digest email, its
workbook and the status command show, built once from a `DayView` as plain data.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import getitem
from typing import Any

from parsers.model import FormSpec, MeasureSpec, Problem
from parsers.text import clean_text
from service.config import Config, UnitConfig, calendar
from service.config.targets import ProgressCell, compute_progress
from service.day.dayview import MARKED_SOURCES, DayView, UnitDay
from service.day.periods import period_label
from service.outputs.formatting import (
    Numbers,
    clock_text,
    day_month_year,
    hour_minute,
    local_time,
    sheet_number,
    value_text,
)
from service.outputs.i18n import Texts, fill, labels, problem_sentences
from storage.records import MessageRecord as Message

# Statuses in the order the digest counts them.
REPORTED = ("on_time", "late", "unreadable")
# Untrusted text (subjects, file names, sentences quoting cells) is cut to this length.
MAX_TEXT = 300
# Beyond these the email lists what needs attention and points to the workbook.
EMAIL_MAX_UNIT_ROWS = 50
EMAIL_MAX_PROBLEMS = 150
EMAIL_MAX_MESSAGES = 100
# Units furthest behind their targets named in the email (the workbook has them all).
PROGRESS_LOWEST_UNITS = 5
STATUSES = ("on_time", "late", "unreadable", "missing", "not_expected")


@dataclass(frozen=True)
class UnitWords:
    """What every output says about one unit's day, in the configured language."""

    status: str  # the status word ("Đúng hạn")
    notes: tuple[str, ...]  # beside the status: a correction after the deadline
    problems: tuple[str, ...]  # one sentence per `UnitDay.problems`, labels and numbers as configured


@dataclass(frozen=True)
class DayWords:
    """Every word the outputs (digest, workbook, export, status) show about a day, built
    once from its view: status words, notes, problem sentences, the figures the totals
    leave out and why each unassigned message is not a report."""

    statuses: Mapping[str, str]  # status code -> word
    units: Mapping[str, UnitWords]  # by unit code
    excluded: tuple[str, ...]  # one sentence per figure `view.totals` leave out
    excluded_heading: str
    reasons: tuple[str, ...]  # one per `view.unassigned`, in order
    # Why the day expects no report (None on a reporting day): the whole reason ("Nghỉ lễ
    # Quốc khánh", "không phải ngày báo cáo (Chủ Nhật)") and the part after "not a reporting
    # day" ("Nghỉ lễ Quốc khánh", "Chủ Nhật"); service/config/calendar.py.
    not_expected_reason: str | None = None
    day_off: str | None = None


def day_words(view: DayView, cfg: Config, num: Numbers | None = None) -> DayWords:
    """The words about `view`'s day (see DayWords)."""
    texts = Texts(cfg.service.language)
    num = num or Numbers.for_language(cfg.service.language)
    describe = _ProblemSentences(cfg, texts, num)
    statuses = {s: texts.status(s) for s in STATUSES}
    units = {
        u.unit.code: UnitWords(
            status=statuses.get(u.status, u.status),
            notes=tuple(unit_notes(u, cfg, texts)),
            problems=tuple(describe(p) for p in u.problems),
        )
        for u in view.units
    }
    excluded = tuple(excluded_lines(view, cfg, texts, num))
    off = None if view.reporting_day else view.day_off or calendar.day_off(cfg.schedule, view.day)
    return DayWords(
        statuses=statuses,
        units=units,
        excluded=excluded,
        excluded_heading=texts.excluded_heading(),
        reasons=tuple(map(functools.cache(texts.reason), [m.reason for m in view.unassigned])),
        not_expected_reason=calendar.describe(off, texts.language) if off else None,
        day_off=calendar.short_reason(off, texts.language) if off else None,
    )


def digest_model(
    view: DayView,
    cfg: Config,
    *,
    now: dt.datetime,
    previous: DayView | None = None,
    reminded: Mapping[str, list[dt.datetime]] | None = None,
    sent_late: bool = False,
) -> dict[str, Any]:
    """Everything the digest templates and the workbook show, as plain data.

    Numbers come twice: raw (`value`, in đồng for money) for the workbook and as
    text in the configured language for the email. `previous` (the day before's
    view, optional) adds yesterday's reporting rate; `reminded` maps unit codes to
    the times a reminder went to them.
    """
    lang = cfg.service.language
    t = labels(lang)
    num = Numbers.for_language(lang)
    words = day_words(view, cfg, num)
    reminded = reminded or {}
    measures = [_measure_model(m, t) for m in cfg.form.measures]

    sheet_numbers = _SheetNumbers()  # a province's grid: 120,000 figures of ~1,000 distinct values
    units = [
        _unit_row(u, view.day, cfg, num, words.units[u.unit.code], reminded.get(u.unit.code, ()), t, sheet_numbers)
        for u in view.units
    ]
    excluded = list(words.excluded)
    by_group = _by_group(units, t)
    # A mail client clips long messages (Gmail at ~100 KB of HTML): with many units the
    # email's table keeps the units that need attention and the workbook has them all.
    shown = units
    if len(units) > EMAIL_MAX_UNIT_ROWS:
        shown = [u for u in units if u["status"] != "on_time" or u["problems"] or u["stale"] or u["notes"]]
        shown = shown[:EMAIL_MAX_UNIT_ROWS]
    shown_codes = {u["code"] for u in shown}
    table = [{"name": g["name"], "units": [u for u in g["units"] if u["code"] in shown_codes]} for g in by_group]
    problem_units, problem_lines = [], 0
    for u in units:
        if u["problems"] and problem_lines < EMAIL_MAX_PROBLEMS:
            problem_units.append({**u, "problems": u["problems"][: EMAIL_MAX_PROBLEMS - problem_lines]})
            problem_lines += len(problem_units[-1]["problems"])
    missing = [{"name": g["name"], "units": [u for u in g["units"] if u["status"] == "missing"]} for g in by_group]
    missing = [g for g in missing if g["units"]]
    until = view.until or now
    local_now = local_time(now, cfg)
    cleaned = _cleaner()  # the other mail's texts: auto-replies share subjects, reasons repeat
    model: dict[str, Any] = {
        "language": lang,
        "money_unit": t["money_unit"],
        "campaign": _campaign_model(cfg, view.day),
        "sender_name": cfg.smtp.from_name if cfg.smtp and cfg.smtp.from_name else "",
        "day": view.day,
        "date": day_month_year(view.day),
        "iso_date": view.day.isoformat(),
        "weekday": t["weekdays"][view.day.weekday()],
        "reporting_day": view.reporting_day,
        # why the day expects no report (None on a reporting day): whole, and after "not a reporting day"
        "not_expected_reason": words.not_expected_reason,
        "day_off": words.day_off,
        "deadline": view.deadline.astimezone(cfg.service.timezone).strftime(
            "%H:%M %d/%m/%Y" if view.period is not None and view.period.kind != "day" else "%H:%M"
        ),
        # With [[reports]]: the report and period the digest is of (reportview.report_config).
        "report": {"title": cfg.reports[0].title, "period": period_label(view.period, lang)}
        if view.period is not None and cfg.reports
        else None,
        "digest_at": cfg.schedule.digest_at.strftime("%H:%M"),
        "until": hour_minute(until, cfg),
        "until_date": day_month_year(local_time(until, cfg).date())
        if local_time(until, cfg).date() != view.day
        else "",
        "generated": {"time": local_now.strftime("%H:%M"), "date": day_month_year(local_now.date())},
        "sent_late": (
            {
                "time": local_now.strftime("%H:%M"),
                "date": day_month_year(local_now.date()) if local_now.date() != view.day else "",
            }
            if sent_late
            else None
        ),
        "rate": _rate(view, num),
        "status_texts": dict(words.statuses),
        "previous_rate": _rate(previous, num) if previous is not None else None,
        "measures": measures,
        "totals": _totals(view, cfg, num, t),
        # The figures the totals leave out (each stays in its unit's row, flagged).
        "excluded": excluded,
        "excluded_heading": words.excluded_heading if excluded else "",
        "progress": progress_model(view, cfg, num),
        "units": units,
        # What the marks beside figures read from an image or the email's text mean.
        "read_from_legend": read_from_legend(units, t),
        "groups": by_group,
        "table": [g for g in table if g["units"]],  # the email's per-unit table
        "table_hidden": len(units) - len(shown),
        "missing": missing,
        "missing_count": sum(len(g["units"]) for g in missing),
        "unreadable": [u for u in units if u["status"] == "unreadable"],
        "problem_units": [u for u in units if u["problems"]],
        "problem_count": sum(len(u["problems"]) for u in units),
        "email_problem_units": problem_units,  # the same, cut to EMAIL_MAX_PROBLEMS sentences
        "problems_hidden": sum(len(u["problems"]) for u in units) - problem_lines,
        "unassigned": [
            _message_row(m, r, cfg, cleaned) for m, r in zip(view.unassigned, words.reasons) if m.kind != "automatic"
        ],
        "automatic": [
            _message_row(m, r, cfg, cleaned) for m, r in zip(view.unassigned, words.reasons) if m.kind == "automatic"
        ],
        "email_max_messages": EMAIL_MAX_MESSAGES,
        "reminded": [
            {
                "code": u["code"],
                "name": u["name"],
                "times": u["reminded"],
                "status": u["status"],
                "status_text": u["status_text"],
            }
            for u in units
            if u["reminded"]
        ],
        "workbook": "",  # the attached workbook's file name (render_digest)
        "attachments": [],  # the units' unread files attached: {name, size}
        "omitted": [],  # the ones left out by the size cap: {name, size, archived_at}
        "max_message_size": "",  # the size cap, as text
    }
    return model


def _measure_model(m: MeasureSpec, t: Mapping[str, Any]) -> dict[str, Any]:
    money = m.kind == "money"
    return {
        "code": m.code,
        "label": m.label,
        "kind": m.kind,
        "money": money,
        "unit": t["money_unit"] if money else "",
        "header": f"{m.label} ({t['money_unit']})" if money else m.label,
        # whole triệu shown without decimals in the workbook too (70, not 70,0)
        "whole_money": money and int(t.get("money_min_decimals", 1)) == 0,
    }


def _campaign_model(cfg: Config, day: dt.date) -> dict[str, Any]:
    c = cfg.campaign
    countdown = None
    if c.end_date is not None:
        left = (c.end_date - day).days
        countdown = {
            "days_left": left,
            "overdue_days": -left if left < 0 else 0,
            "end_date": day_month_year(c.end_date),
            "state": "before" if left > 0 else "today" if left == 0 else "after",
        }
    day_number = (day - c.start_date).days + 1 if c.start_date and day >= c.start_date else None
    return {
        "title": c.title,
        "start_date": day_month_year(c.start_date),
        "countdown": countdown,
        "day_number": day_number,
    }


def countdown_text(cfg: Config, day: dt.date) -> str:
    """ "còn 14 ngày đến hạn 25/08/2021" (or today / overdue), "" without an end_date."""
    c = _campaign_model(cfg, day)["countdown"]
    if c is None:
        return ""
    days = c["days_left"] if c["state"] == "before" else c["overdue_days"]
    template = labels(cfg.service.language)["progress"][f"countdown_{c['state']}"]
    return fill(template, {"days": days, "s": "" if days == 1 else "s", "date": c["end_date"]})


def progress_model(view: DayView, cfg: Config, num: Numbers | None = None) -> dict[str, Any] | None:
    """Progress against the campaign's targets for the digest, workbook and status; None without targets.

    `totals` holds one cell per indicator × measure with a target, `units` every unit
    with a target (config order) with its cells and the one furthest behind
    (`lowest`), and `lowest` up to PROGRESS_LOWEST_UNITS units below 100%, furthest
    behind first. Each cell has raw values (money in đồng), workbook numbers (money in
    triệu đồng, `ratio` 0.875) and text in the configured language ("87,5").
    """
    targets = cfg.campaign.targets
    if not targets:
        return None
    lang = cfg.service.language
    t = labels(lang)
    num = num or Numbers.for_language(lang)
    progress = compute_progress(
        targets, {u.unit.code: u.counted_values for u in view.units}, view.totals, cfg.form, [u.code for u in cfg.units]
    )
    indicators = {i.code: i.label for i in cfg.form.indicators}
    measures = {m.code: m for m in cfg.form.measures}

    def cell(c: ProgressCell) -> dict[str, Any]:
        spec = measures[c.measure]
        money = spec.kind == "money"
        return {
            "indicator": c.indicator,
            "indicator_label": indicators.get(c.indicator, c.indicator),
            "measure": c.measure,
            "measure_label": f"{spec.label} ({t['money_unit']})" if money else spec.label,
            "money": money,
            "value": c.value,
            "target": c.target,
            "value_number": sheet_number(c.value or Decimal(0), money),
            "target_number": sheet_number(c.target, money),
            "value_text": value_text(c.value or Decimal(0), money, num),
            "target_text": value_text(c.target, money, num),
            "ratio": float(c.ratio),
            "percent": float(c.percent),
            "percent_text": num.format(c.percent, 1, 1),
            "bar": max(0, min(100, round(c.ratio * 100))),
            "done": c.ratio >= 1,
        }

    days = {u.unit.code: u for u in view.units}
    units = []
    for up in progress.units:
        u = days.get(up.unit)
        units.append(
            {
                "code": up.unit,
                "name": u.unit.name if u else up.unit,
                "group": (u.unit.group or "") if u else "",
                "stale": bool(u and _stale(u, view.day)),
                "figures_day_text": day_month_year(u.latest_day) if u else "",
                "cells": [cell(c) for c in up.cells],
                "lowest": cell(up.lowest),
                "done": up.lowest.ratio >= 1,
            }
        )
    by_code = {u["code"]: u for u in units}
    return {
        "countdown": countdown_text(cfg, view.day),
        "totals": [cell(c) for c in progress.totals],
        "units": units,
        "lowest": [by_code[u.unit] for u in progress.lowest_units(PROGRESS_LOWEST_UNITS)],
        "unit_count": len(units),
        "done_count": sum(1 for u in units if u["done"]),
    }


def _rate(view: DayView, num: Numbers) -> dict[str, Any]:
    counts = {s: 0 for s in ("on_time", "late", "unreadable", "missing", "not_expected")}
    for u in view.units:
        counts[u.status] = counts.get(u.status, 0) + 1
    expected = len(view.units) - counts["not_expected"]
    reported = sum(counts[s] for s in REPORTED)
    percent = 100.0 * reported / expected if expected else 0.0
    return {
        **counts,
        "expected": expected,
        "reported": reported,
        "percent": percent,
        "percent_text": num.percent(percent),
        "total_units": len(view.units),
        # Whole percentages for the HTML progress bar (two cells that always add to 100).
        "bar": round(percent) if expected else 0,
        "date": day_month_year(view.day),
    }


def _cell(
    value: Decimal | None, before: Decimal | None, has_previous: bool, money: bool, num: Numbers
) -> dict[str, Any]:
    change = None
    if value is not None and has_previous:
        change = value - (before if before is not None else Decimal(0))
    elif value is None and before is not None:
        change = -before
    trend = "none" if change is None else "up" if change > 0 else "down" if change < 0 else "same"
    return {
        "value": value,
        "number": sheet_number(value, money),
        "text": value_text(value, money, num),
        "change": change,
        "change_number": sheet_number(change, money),
        "change_text": value_text(change, money, num, sign=True) if change else ("0" if change is not None else ""),
        # The same on a line of their own (plain-text digest): "670 triệu (+12,5 triệu)".
        "words": value_text(value, money, num, words=True),
        "change_words": value_text(change, money, num, sign=True, words=True)
        if change
        else ("0" if change is not None else ""),
        "trend": trend,
    }


def _totals(view: DayView, cfg: Config, num: Numbers, t: Mapping[str, Any]) -> dict[str, Any]:
    has_previous = bool(view.previous_totals)
    rows = []
    group: object = object()
    for ind in cfg.form.indicators:
        now_row, before_row = view.totals.get(ind.code, {}), view.previous_totals.get(ind.code, {})
        rows.append(
            {
                "code": ind.code,
                "label": ind.label,
                "group": ind.group or "",
                "group_start": bool(ind.group) and ind.group != group,
                "cells": [
                    _cell(now_row.get(m.code), before_row.get(m.code), has_previous, m.kind == "money", num)
                    for m in cfg.form.measures
                ],
            }
        )
        group = ind.group
    total_cells = []
    for m in cfg.form.measures:
        value = _sum(r.get(m.code) for r in view.totals.values())
        before = _sum(r.get(m.code) for r in view.previous_totals.values())
        total_cells.append(_cell(value, before, has_previous, m.kind == "money", num))
    stale = [u for u in view.units if _stale(u, view.day)]
    return {
        "rows": rows,
        "total": {"cells": total_cells},
        "has_previous": has_previous,
        "stale_units": len(stale),
        "empty": not view.totals,
    }


def _stale(u: UnitDay, day: dt.date) -> bool:
    # Figures from before the day. (UnitDay.stale also calls a report sent on a
    # non-reporting day stale; its figures are that day's.)
    return bool(u.latest_values) and u.latest_day is not None and u.latest_day < day


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def _by_group(units: list[dict[str, Any]], t: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Units by group in config order of first appearance; units without a group last."""
    order: dict[str, list[dict[str, Any]]] = {}
    for u in units:
        order.setdefault(u["group"], []).append(u)
    named = [{"name": g, "units": us} for g, us in order.items() if g]
    if "" in order:
        named.append({"name": t["other_group"] if named else "", "units": order[""]})
    return named


def _kinds(found: Iterable[str | None]) -> list[str]:
    """The marked kinds among `found`, in the order of MARKED_SOURCES."""
    present = set(found)
    return [k for k in dict.fromkeys(MARKED_SOURCES.values()) if k in present]


def read_from_legend(units: Iterable[Mapping[str, Any]], t: Mapping[str, Any]) -> list[str]:
    """One line per kind of mark the units' figures carry: what the mark means."""
    kinds = _kinds(k for u in units for k in u["read_from"])
    r = t["read_from"]
    return [fill(r["legend"], {"mark": r[f"{k}_mark"], "text": r[k]}) for k in kinds]


class _SheetNumbers:
    """`sheet_number` of a unit's figures, each distinct value converted once (a province's
    grid has 120,000 figures and about a thousand distinct values)."""

    def __init__(self) -> None:
        self._money: dict[Decimal, int | float | None] = {}
        self._count: dict[Decimal, int | float | None] = {}
        self._money_cells: dict[Decimal | None, int | float | None] = {None: None}
        self._count_cells: dict[Decimal | None, int | float | None] = {None: None}
        self._sums: dict[tuple[Decimal | None, bool], tuple[int | float | None, str]] = {}

    def grid(self, values: Mapping[str, Mapping[str, Decimal]], form: FormSpec) -> list[list[int | float | None]]:
        """`values` as the workbook's indicator × measure grid (None where no figure)."""
        codes = [m.code for m in form.measures]
        # by measure: the converted values met so far (None stays None), looked up in C
        known = [self._money_cells if m.kind == "money" else self._count_cells for m in form.measures]
        no_figures: dict[str, Decimal] = {}
        grid = []
        for ind in form.indicators:
            found = list(map(values.get(ind.code, no_figures).get, codes))
            try:
                grid.append(list(map(getitem, known, found)))
            except KeyError:
                for cells, value in zip(known, found):
                    if value not in cells:
                        cells[value] = self.money(value) if cells is self._money_cells else self.count(value)
                grid.append(list(map(getitem, known, found)))
        return grid

    def sum_cell(self, value: Decimal | None, money: bool, num: Numbers) -> tuple[int | float | None, str]:
        """(`sheet_number`, `value_text`) of a unit's sum, each distinct one made once (`num`:
        the digest's one Numbers; equal Decimals give the same number and text)."""
        key = (value, money)
        found = self._sums.get(key)
        if found is None:
            found = self._sums[key] = (sheet_number(value, money), value_text(value, money, num))
        return found

    def money(self, value: Decimal | None) -> int | float | None:
        if value is None:
            return None
        found = self._money.get(value)
        if found is None:
            found = self._money[value] = sheet_number(value, True)
        return found

    def count(self, value: Decimal | None) -> int | float | None:
        if value is None:
            return None
        found = self._count.get(value)
        if found is None:
            found = self._count[value] = sheet_number(value, False)
        return found


def _unit_row(
    u: UnitDay,
    day: dt.date,
    cfg: Config,
    num: Numbers,
    words: UnitWords,
    reminded: Sequence[dt.datetime],
    t: Mapping[str, Any],
    sheet_numbers: _SheetNumbers | None = None,
) -> dict[str, Any]:
    m = u.message
    as_sheet = sheet_numbers or _SheetNumbers()
    read_from = t["read_from"]
    marked = bool(u.latest_sources)  # most units: every figure from a file, nothing to mark
    sums = []
    rows = list(u.latest_values.values())
    for spec in cfg.form.measures:
        code = spec.code
        given = [row[code] for row in rows if code in row]
        value = sum(given, Decimal(0)) if given else None
        kinds = (
            _kinds(u.read_from(ind, spec.code) for ind, row in u.latest_values.items() if spec.code in row)
            if marked
            else []
        )
        as_number, as_text = as_sheet.sum_cell(value, spec.kind == "money", num)
        sums.append(
            {
                "value": value,
                "number": as_number,
                "text": as_text,
                # a mark when a figure in the sum was read from an image or the email's text
                "read_from": kinds,
                "mark": " ".join(read_from[f"{k}_mark"] for k in kinds),
            }
        )
    files = []
    if m is not None:
        files = [
            {
                "name": clean_text(a.filename, MAX_TEXT, ellipsis=True),
                "outcome": a.outcome,
                "format": a.detected_format,
                "size": a.size,
            }
            for a in m.attachments
        ]
    # indicator × measure, as the workbook shows them (None where the unit gave no figure)
    grid = as_sheet.grid(u.latest_values, cfg.form)
    # "image" / "email" where the grid's figure was read from one (MARKED_SOURCES), else None
    grid_read_from: list[list[str | None]] = (
        [
            [u.read_from(ind.code, s.code) if grid[i][j] is not None else None for j, s in enumerate(cfg.form.measures)]
            for i, ind in enumerate(cfg.form.indicators)
        ]
        if marked
        else [[None] * len(cfg.form.measures) for _ in cfg.form.indicators]
    )
    kinds = _kinds(k for row in grid_read_from for k in row) if marked else []
    left_out = {(x.indicator, x.measure) for x in u.excluded}
    grid_excluded = (
        [[(ind.code, s.code) in left_out for s in cfg.form.measures] for ind in cfg.form.indicators]
        if left_out
        else [[False] * len(cfg.form.measures) for _ in cfg.form.indicators]
    )
    return {
        "code": u.unit.code,
        "name": u.unit.name,
        "group": u.unit.group or "",
        "status": u.status,
        "status_text": words.status,
        "received_at": local_time(m.received_at, cfg) if m else None,
        "received": hour_minute(m.received_at, cfg) if m else "",
        # The time beside the status: the first readable report's, which decides it.
        "status_time": hour_minute(u.first_received_at or (m.received_at if m else None), cfg),
        "notes": list(words.notes),
        "subject": clean_text(m.subject, MAX_TEXT, ellipsis=True) if m else "",
        "as_of": day_month_year(m.as_of) if m and m.as_of else "",
        "message_count": len(u.messages),
        "stale": _stale(u, day),
        "figures_day": u.latest_day,
        "figures_day_text": day_month_year(u.latest_day),
        "has_figures": bool(u.latest_values),
        "sums": sums,
        "grid": grid,
        "grid_excluded": grid_excluded,  # True where the grid's figure is not in the totals
        "grid_read_from": grid_read_from,
        "read_from": kinds,  # what some of its figures were read from: "image", "email"
        "read_from_text": ", ".join(read_from[k] for k in kinds),
        "files": files,
        "problems": [{"code": p.code, "text": text} for p, text in zip(u.problems, words.problems)],
        "reminded": [hour_minute(w, cfg) for w in sorted(reminded)],
        "contact": _contact(u.unit),
    }


def unit_notes(u: UnitDay, cfg: Config, texts: Texts) -> list[str]:
    """The notes beside a unit's status: a correction sent after the deadline."""
    if u.correction_at is None:
        return []
    return [texts.note("correction_after_deadline", {"time": hour_minute(u.correction_at, cfg)})]


def excluded_lines(view: DayView, cfg: Config, texts: Texts, num: Numbers | None = None) -> list[str]:
    """The figures `view.totals` leave out, one sentence each: "UBND phường Sông Cầu — Hỗ trợ
    người lao động ngừng việc, Số đối tượng đề nghị: 1.234,5 (không phải số nguyên)"."""
    num = num or Numbers.for_language(cfg.service.language)
    money_unit = labels(cfg.service.language)["money_unit"]
    indicators = {i.code: i.label for i in cfg.form.indicators}
    measures = {m.code: m for m in cfg.form.measures}
    lines = []
    for x in view.excluded:
        spec = measures.get(x.measure)
        money = spec is not None and spec.kind == "money"
        if x.value is not None:
            value = value_text(x.value, money, num)
        else:  # nothing could be read: the cell as written
            written = clean_text((x.problem.params or {}).get("text", ""), 60, ellipsis=True)
            value = f"'{written}'" if written else ""
        measure = (f"{spec.label} ({money_unit})" if money else spec.label) if spec else x.measure
        lines.append(
            clean_text(
                texts.excluded(x.unit.name, indicators.get(x.indicator, x.indicator), measure, value, x.problem.code),
                1000,
                ellipsis=True,
            )
        )
    return lines


def _contact(unit: UnitConfig) -> str:
    """An address the coordinator can write to: the reminder address, else a sender."""
    for a in (*unit.reminder_to, *unit.senders):
        if not a.startswith("*@"):
            return a
    return ""


def problem_text(p: Problem, cfg: Config, texts: Texts, num: Numbers | None = None) -> str:
    """A problem's sentence, with codes turned into labels and stored numbers formatted."""
    return _ProblemSentences(cfg, texts, num)(p)


class _ProblemSentences:
    """Renders problem sentences for one digest (lookups built once: a day can have thousands)."""

    def __init__(self, cfg: Config, texts: Texts, num: Numbers | None) -> None:
        self.texts = texts
        self.num = num
        self.sentences = problem_sentences(cfg.service.language)
        money_unit = labels(cfg.service.language)["money_unit"]
        self.indicators = {i.code: i.label for i in cfg.form.indicators}
        self.measures = {
            m.code: (f"{m.label} ({money_unit})" if m.kind == "money" else m.label, m.kind == "money")
            for m in cfg.form.measures
        }

    def __call__(self, p: Problem) -> str:
        params = {}
        for key, value in (p.params or {}).items():
            # "<param>_<value>" entries translate a value (format_pdf = "PDF"), as the readers do.
            translated = self.sentences.get(f"{key}_{value}") if value not in (None, "") else None
            params[key] = translated if isinstance(translated, str) else value
        indicator = params.get("indicator_code") or params.get("indicator")
        if indicator in self.indicators:
            params["indicator"] = self.indicators[indicator]
        measure = self.measures.get(params.get("measure_code") or params.get("measure"))  # type: ignore[arg-type]
        if measure is not None:
            params["measure"], money = measure
            if self.num is not None:
                # Stored figures (e.g. a cumulative decrease) are raw numbers, money in đồng.
                for key in ("previous", "current"):
                    try:
                        raw = params.get(f"{key}_value", params[key])
                        params[key] = value_text(Decimal(str(raw)), money, self.num)
                    except (KeyError, ArithmeticError, ValueError):
                        continue
        return clean_text(self.texts.problem(p.code, params), 1000, ellipsis=True)


def _cleaner() -> Callable[[str | None, int], str]:
    """`clean_text(text or "", max_chars, ellipsis=True)`, each distinct text cleaned once."""
    return functools.cache(lambda text, max_chars: clean_text(text or "", max_chars, ellipsis=True))


def _message_row(
    m: Message, reason: str, cfg: Config, cleaned: Callable[[str | None, int], str] | None = None
) -> dict[str, Any]:
    clean = cleaned or _cleaner()
    at = local_time(m.received_at, cfg)
    return {
        "from": clean(m.from_address, 320),
        "from_name": clean(m.from_name, 120),
        "subject": clean(m.subject, MAX_TEXT),
        "received": clock_text(at),
        "received_at": at,
        "reason": clean(reason, 1000),
        "kind": m.kind,
        "files": [clean(a.filename, MAX_TEXT) for a in m.attachments],
    }
