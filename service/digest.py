"""The coordinator's daily digest, pure: a `DayView` in, plain data, HTML/text and a MIME message out.

Nothing here reads the database, the clock or the network; the sending side (SMTP,
the exactly-once claim) passes `now` and the unit files it could not read.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from email.message import EmailMessage
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

import jinja2

from parsers.model import MeasureSpec, Problem
from parsers.text import clean_text, safe_filename
from service.config import Config, UnitConfig
from service.config.targets import ProgressCell, compute_progress
from service.dayview import DayView, UnitDay
from service.i18n import Texts, _load, fill
from storage.models import Message

# Statuses in the order the digest counts them.
REPORTED = ("on_time", "late", "unreadable")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The digest as sent (headers, bodies and base64-encoded attachments, CRLF line ends) stays
# under this: Postfix refuses messages over 10,240,000 bytes by default, and a server adds
# its own header fields on the way.
DEFAULT_MAX_MESSAGE_BYTES = 10_000_000
# A Message-ID at least as long as a real one, for measuring a digest before it has one.
_PROBE_MESSAGE_ID = "<" + "0" * 100 + "@baocao.invalid>"
# A digest that goes out this long after `digest_at` says it is late.
LATE_AFTER = dt.timedelta(minutes=15)
# Untrusted text (subjects, file names, sentences quoting cells) is cut to this length.
MAX_TEXT = 300
MAX_SUBJECT = 200
# Beyond these the email lists what needs attention and points to the workbook.
EMAIL_MAX_UNIT_ROWS = 50
EMAIL_MAX_PROBLEMS = 150
EMAIL_MAX_MESSAGES = 100
# Units furthest behind their targets named in the email (the workbook has them all).
PROGRESS_LOWEST_UNITS = 5

# The name of an attached file whose own name leaves nothing to show.
ATTACHMENT_FALLBACK_NAME = "tep-dinh-kem"


@dataclass(frozen=True)
class DigestFile:
    """One attachment of the digest."""
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class UnreadFile:
    """A unit's file that could not be read, to attach for the coordinator."""
    filename: str
    content_type: str
    data: bytes
    archived_at: str = ""  # the archived message that holds it (shown when it is not attached)


@dataclass(frozen=True)
class DigestContent:
    """Everything the digest email carries, before MIME composition."""
    subject: str
    html: str
    text: str
    files: tuple[DigestFile, ...]


# -- formatting -----------------------------------------------------------------------------

@lru_cache(maxsize=4)
def labels(language: str) -> dict[str, Any]:
    """The digest/workbook labels of templates/digest.<language>.toml."""
    return _load(f"digest.{language}.toml")


def clean(text: object, limit: int = MAX_TEXT) -> str:
    """Untrusted text on one line, cut to `limit` with "…" (parsers.text.clean_text).

    Escaping is the template's job; this keeps a hostile subject from breaking the
    plain-text layout or spoofing its direction, and a huge one from filling the page.
    """
    return clean_text(text, limit, ellipsis=True)


@dataclass(frozen=True)
class Numbers:
    """Numbers written the way the reader's language writes them (vi: 1.234,5; 70 triệu)."""
    decimal: str
    thousands: str
    money_min_decimals: int = 1  # vi: 0, "70" and never "70,0"
    money_amount: str = "{number}"  # an amount on its own: vi "{number} triệu"

    @classmethod
    def for_language(cls, language: str) -> Numbers:
        t = labels(language)
        return cls(t.get("decimal_separator", ","), t.get("thousands_separator", "."),
                   int(t.get("money_min_decimals", 1)), t.get("money_amount", "{number}"))

    def format(self, value: Decimal | int | float, min_decimals: int = 0, max_decimals: int = 0,
               sign: bool = False) -> str:
        q = Decimal(value).quantize(Decimal(1).scaleb(-max_decimals), rounding=ROUND_HALF_UP)
        whole, _, frac = f"{abs(q):,.{max_decimals}f}".partition(".")
        frac = frac.rstrip("0").ljust(min_decimals, "0")
        text = whole.replace(",", self.thousands) + (self.decimal + frac if frac else "")
        if q < 0:
            return "-" + text
        return ("+" + text) if sign and q > 0 else text

    def count(self, value: Decimal, sign: bool = False) -> str:
        integral = value == value.to_integral_value()
        return self.format(value, 0, 0 if integral else 2, sign)

    def money(self, value_dong: Decimal, sign: bool = False) -> str:
        """Money in triệu đồng, at most two decimals (vi: 70; 1.234,5; 3,71), where a heading or
        a label already says "triệu đồng"; the workbook keeps every đồng."""
        return self.format(value_dong / MILLION, self.money_min_decimals, 2, sign)

    def money_words(self, value_dong: Decimal, sign: bool = False) -> str:
        """An amount that stands on its own in a line of text (vi: "70 triệu")."""
        return fill(self.money_amount, {"number": self.money(value_dong, sign)})

    def percent(self, value: float) -> str:
        return self.format(Decimal(str(round(value, 1))), 0, 1)

    def size(self, n_bytes: int) -> str:
        if n_bytes >= 1024 * 1024:
            return self.format(Decimal(n_bytes) / (1024 * 1024), 0, 1) + " MB"
        return self.format(Decimal(max(1, round(n_bytes / 1024))), 0, 0) + " KB"


MILLION = Decimal(1_000_000)


def _local(when: dt.datetime, cfg: Config) -> dt.datetime:
    return when.astimezone(cfg.service.timezone)


def _hm(when: dt.datetime | None, cfg: Config) -> str:
    return _local(when, cfg).strftime("%H:%M") if when else ""


def _dmy(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def is_late(cfg: Config, day: dt.date, now: dt.datetime) -> bool:
    """True when a digest for `day` built at `now` is going out well after `digest_at`."""
    due = dt.datetime.combine(day, cfg.schedule.digest_at, tzinfo=cfg.service.timezone)
    return now - due > LATE_AFTER


# -- the model ------------------------------------------------------------------------------

def digest_model(view: DayView, cfg: Config, *, now: dt.datetime, previous: DayView | None = None,
                 reminded: Mapping[str, list[dt.datetime]] | None = None,
                 sent_late: bool = False) -> dict[str, Any]:
    """Everything the digest templates and the workbook show, as plain data.

    Numbers come twice: raw (`value`, in đồng for money) for the workbook and as
    text in the configured language for the email. `previous` (the day before's
    view, optional) adds yesterday's reporting rate; `reminded` maps unit codes to
    the times a reminder went to them.
    """
    lang = cfg.service.language
    t = labels(lang)
    texts = Texts(lang)
    num = Numbers.for_language(lang)
    reminded = reminded or {}
    measures = [_measure(m, t) for m in cfg.form.measures]

    describe = _ProblemSentences(cfg, texts, num)
    units = [_unit_row(u, view.day, cfg, texts, num, describe, reminded.get(u.unit.code, ()))
             for u in view.units]
    excluded = excluded_lines(view, cfg, texts, num)
    by_group = _grouped(units, t)
    # A mail client clips long messages (Gmail at ~100 KB of HTML): with many units the
    # email's table keeps the units that need attention and the workbook has them all.
    shown = units
    if len(units) > EMAIL_MAX_UNIT_ROWS:
        shown = [u for u in units if u["status"] != "on_time" or u["problems"] or u["stale"] or u["notes"]]
        shown = shown[:EMAIL_MAX_UNIT_ROWS]
    shown_codes = {u["code"] for u in shown}
    table = [{"name": g["name"], "units": [u for u in g["units"] if u["code"] in shown_codes]}
             for g in by_group]
    problem_units, problem_lines = [], 0
    for u in units:
        if u["problems"] and problem_lines < EMAIL_MAX_PROBLEMS:
            problem_units.append({**u, "problems": u["problems"][:EMAIL_MAX_PROBLEMS - problem_lines]})
            problem_lines += len(problem_units[-1]["problems"])
    missing = [{"name": g["name"], "units": [u for u in g["units"] if u["status"] == "missing"]}
               for g in by_group]
    missing = [g for g in missing if g["units"]]
    until = view.until or now
    local_now = _local(now, cfg)
    model: dict[str, Any] = {
        "language": lang,
        "campaign": _campaign(cfg, view.day),
        "sender_name": cfg.smtp.from_name if cfg.smtp and cfg.smtp.from_name else "",
        "day": view.day,
        "date": _dmy(view.day),
        "iso_date": view.day.isoformat(),
        "weekday": t["weekdays"][view.day.weekday()],
        "reporting_day": view.reporting_day,
        "deadline": view.deadline.astimezone(cfg.service.timezone).strftime("%H:%M"),
        "digest_at": cfg.schedule.digest_at.strftime("%H:%M"),
        "until": _hm(until, cfg),
        "until_date": _dmy(_local(until, cfg).date()) if _local(until, cfg).date() != view.day else "",
        "generated": {"time": local_now.strftime("%H:%M"), "date": _dmy(local_now.date())},
        "sent_late": ({"time": local_now.strftime("%H:%M"),
                       "date": _dmy(local_now.date()) if local_now.date() != view.day else ""}
                      if sent_late else None),
        "rate": _rate(view, num),
        "previous_rate": _rate(previous, num) if previous is not None else None,
        "measures": measures,
        "totals": _totals(view, cfg, num, t),
        # The figures the totals leave out (each stays in its unit's row, flagged).
        "excluded": excluded,
        "excluded_heading": texts.excluded_heading() if excluded else "",
        "progress": progress_model(view, cfg, num),
        "units": units,
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
        "unassigned": [_message_row(m, cfg, texts) for m in view.unassigned if m.kind != "automatic"],
        "automatic": [_message_row(m, cfg, texts) for m in view.unassigned if m.kind == "automatic"],
        "email_max_messages": EMAIL_MAX_MESSAGES,
        "reminded": [{"code": u["code"], "name": u["name"], "times": u["reminded"],
                      "status": u["status"], "status_text": u["status_text"]}
                     for u in units if u["reminded"]],
        "workbook": "",  # the attached workbook's file name (render_digest)
        "attachments": [],  # the units' unread files attached: {name, size}
        "omitted": [],  # the ones left out by the size cap: {name, size, archived_at}
        "max_message_size": "",  # the size cap, as text
    }
    return model


def _measure(m: MeasureSpec, t: Mapping[str, Any]) -> dict[str, Any]:
    money = m.kind == "money"
    return {"code": m.code, "label": m.label, "kind": m.kind, "money": money,
            "unit": t["money_unit"] if money else "",
            "header": f"{m.label} ({t['money_unit']})" if money else m.label,
            # whole triệu shown without decimals in the workbook too (70, not 70,0)
            "whole_money": money and int(t.get("money_min_decimals", 1)) == 0}


def _campaign(cfg: Config, day: dt.date) -> dict[str, Any]:
    c = cfg.campaign
    countdown = None
    if c.end_date is not None:
        left = (c.end_date - day).days
        countdown = {"days_left": left, "overdue_days": -left if left < 0 else 0,
                     "end_date": _dmy(c.end_date),
                     "state": "before" if left > 0 else "today" if left == 0 else "after"}
    day_number = (day - c.start_date).days + 1 if c.start_date and day >= c.start_date else None
    return {"title": c.title, "start_date": _dmy(c.start_date), "countdown": countdown,
            "day_number": day_number}


def countdown_text(cfg: Config, day: dt.date) -> str:
    """"còn 14 ngày đến hạn 25/08/2021" (or today / overdue), "" without an end_date."""
    c = _campaign(cfg, day)["countdown"]
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
    progress = compute_progress(targets, {u.unit.code: u.counted_values for u in view.units}, view.totals,
                                cfg.form, [u.code for u in cfg.units])
    indicators = {i.code: i.label for i in cfg.form.indicators}
    measures = {m.code: m for m in cfg.form.measures}

    def cell(c: ProgressCell) -> dict[str, Any]:
        spec = measures[c.measure]
        money = spec.kind == "money"
        return {
            "indicator": c.indicator, "indicator_label": indicators.get(c.indicator, c.indicator),
            "measure": c.measure,
            "measure_label": f"{spec.label} ({t['money_unit']})" if money else spec.label,
            "money": money, "value": c.value, "target": c.target,
            "value_number": _number(c.value or Decimal(0), money), "target_number": _number(c.target, money),
            "value_text": _value_text(c.value or Decimal(0), money, num),
            "target_text": _value_text(c.target, money, num),
            "ratio": float(c.ratio), "percent": float(c.percent),
            "percent_text": num.format(c.percent, 1, 1),
            "bar": max(0, min(100, round(c.ratio * 100))), "done": c.ratio >= 1,
        }

    days = {u.unit.code: u for u in view.units}
    units = []
    for up in progress.units:
        u = days.get(up.unit)
        units.append({
            "code": up.unit, "name": u.unit.name if u else up.unit, "group": (u.unit.group or "") if u else "",
            "stale": bool(u and _stale(u, view.day)), "figures_day_text": _dmy(u.latest_day) if u else "",
            "cells": [cell(c) for c in up.cells], "lowest": cell(up.lowest), "done": up.lowest.ratio >= 1,
        })
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
    return {**counts, "expected": expected, "reported": reported, "percent": percent,
            "percent_text": num.percent(percent), "total_units": len(view.units),
            # Whole percentages for the HTML progress bar (two cells that always add to 100).
            "bar": round(percent) if expected else 0, "date": _dmy(view.day)}


def _value_text(value: Decimal | None, money: bool, num: Numbers, sign: bool = False, words: bool = False) -> str:
    if value is None:
        return ""
    if money:
        return num.money_words(value, sign) if words else num.money(value, sign)
    return num.count(value, sign)


def _number(value: Decimal | None, money: bool) -> int | float | None:
    """The value as the workbook shows it: money in triệu đồng, counts as they are."""
    if value is None:
        return None
    v = value / MILLION if money else value
    return int(v) if v == v.to_integral_value() else float(v)


def _cell(value: Decimal | None, before: Decimal | None, has_previous: bool, money: bool,
          num: Numbers) -> dict[str, Any]:
    change = None
    if value is not None and has_previous:
        change = value - (before if before is not None else Decimal(0))
    elif value is None and before is not None:
        change = -before
    trend = "none" if change is None else "up" if change > 0 else "down" if change < 0 else "same"
    return {"value": value, "number": _number(value, money), "text": _value_text(value, money, num),
            "change": change, "change_number": _number(change, money),
            "change_text": _value_text(change, money, num, sign=True) if change else
            ("0" if change is not None else ""),
            # The same on a line of their own (plain-text digest): "670 triệu (+12,5 triệu)".
            "words": _value_text(value, money, num, words=True),
            "change_words": _value_text(change, money, num, sign=True, words=True) if change else
            ("0" if change is not None else ""),
            "trend": trend}


def _totals(view: DayView, cfg: Config, num: Numbers, t: Mapping[str, Any]) -> dict[str, Any]:
    has_previous = bool(view.previous_totals)
    rows = []
    group: object = object()
    for ind in cfg.form.indicators:
        now_row, before_row = view.totals.get(ind.code, {}), view.previous_totals.get(ind.code, {})
        rows.append({
            "code": ind.code, "label": ind.label, "group": ind.group or "",
            "group_start": bool(ind.group) and ind.group != group,
            "cells": [_cell(now_row.get(m.code), before_row.get(m.code), has_previous,
                            m.kind == "money", num) for m in cfg.form.measures],
        })
        group = ind.group
    total_cells = []
    for m in cfg.form.measures:
        value = _sum(r.get(m.code) for r in view.totals.values())
        before = _sum(r.get(m.code) for r in view.previous_totals.values())
        total_cells.append(_cell(value, before, has_previous, m.kind == "money", num))
    stale = [u for u in view.units if _stale(u, view.day)]
    return {"rows": rows, "total": {"cells": total_cells}, "has_previous": has_previous,
            "stale_units": len(stale), "empty": not view.totals}


def _stale(u: UnitDay, day: dt.date) -> bool:
    # Figures from before the day. (UnitDay.stale also calls a report sent on a
    # non-reporting day stale; its figures are that day's.)
    return bool(u.latest_values) and u.latest_day is not None and u.latest_day < day


def _sum(values) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def _grouped(units: list[dict[str, Any]], t: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Units by group in config order of first appearance; units without a group last."""
    order: dict[str, list[dict[str, Any]]] = {}
    for u in units:
        order.setdefault(u["group"], []).append(u)
    named = [{"name": g, "units": us} for g, us in order.items() if g]
    if "" in order:
        named.append({"name": t["other_group"] if named else "", "units": order[""]})
    return named


def _unit_row(u: UnitDay, day: dt.date, cfg: Config, texts: Texts, num: Numbers,
              describe: _ProblemSentences, reminded: Sequence[dt.datetime]) -> dict[str, Any]:
    m = u.message
    sums = []
    for spec in cfg.form.measures:
        value = _sum(row.get(spec.code) for row in u.latest_values.values())
        sums.append({"value": value, "number": _number(value, spec.kind == "money"),
                     "text": _value_text(value, spec.kind == "money", num)})
    files = []
    if m is not None:
        files = [{"name": clean(a.filename), "outcome": a.outcome, "format": a.detected_format,
                  "size": a.size} for a in m.attachments]
    # indicator × measure, as the workbook shows them (None where the unit gave no figure)
    grid = [[_number(u.latest_values.get(ind.code, {}).get(s.code), s.kind == "money")
             for s in cfg.form.measures] for ind in cfg.form.indicators]
    left_out = {(x.indicator, x.measure) for x in u.excluded}
    grid_excluded = [[(ind.code, s.code) in left_out for s in cfg.form.measures] for ind in cfg.form.indicators]
    return {
        "code": u.unit.code,
        "name": u.unit.name,
        "group": u.unit.group or "",
        "status": u.status,
        "status_text": texts.status(u.status),
        "received_at": _local(m.received_at, cfg) if m else None,
        "received": _hm(m.received_at, cfg) if m else "",
        # The time beside the status: the first readable report's, which decides it.
        "status_time": _hm(u.first_received_at or (m.received_at if m else None), cfg),
        "notes": unit_notes(u, cfg, texts),
        "subject": clean(m.subject) if m else "",
        "as_of": _dmy(m.as_of) if m and m.as_of else "",
        "message_count": len(u.messages),
        "stale": _stale(u, day),
        "figures_day": u.latest_day,
        "figures_day_text": _dmy(u.latest_day),
        "has_figures": bool(u.latest_values),
        "sums": sums,
        "grid": grid,
        "grid_excluded": grid_excluded,  # True where the grid's figure is not in the totals
        "files": files,
        "problems": [{"code": p.code, "text": describe(p)} for p in u.problems],
        "reminded": [_hm(w, cfg) for w in sorted(reminded)],
        "contact": _contact(u.unit),
    }


def unit_notes(u: UnitDay, cfg: Config, texts: Texts) -> list[str]:
    """The notes beside a unit's status: a correction sent after the deadline."""
    if u.correction_at is None:
        return []
    return [texts.note("correction_after_deadline", {"time": _hm(u.correction_at, cfg)})]


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
            value = _value_text(x.value, money, num)
        else:  # nothing could be read: the cell as written
            written = clean((x.problem.params or {}).get("text", ""), 60)
            value = f"'{written}'" if written else ""
        measure = (f"{spec.label} ({money_unit})" if money else spec.label) if spec else x.measure
        lines.append(clean(texts.excluded(x.unit.name, indicators.get(x.indicator, x.indicator), measure,
                                          value, x.problem.code), 1000))
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
        self.sentences = _load(f"problems.{cfg.service.language}.toml")
        money_unit = labels(cfg.service.language)["money_unit"]
        self.indicators = {i.code: i.label for i in cfg.form.indicators}
        self.measures = {m.code: (f"{m.label} ({money_unit})" if m.kind == "money" else m.label, m.kind == "money")
                         for m in cfg.form.measures}

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
                        params[key] = _value_text(Decimal(str(raw)), money, self.num)
                    except (KeyError, ArithmeticError, ValueError):
                        continue
        return clean(self.texts.problem(p.code, params), 1000)


def _message_row(m: Message, cfg: Config, texts: Texts) -> dict[str, Any]:
    return {
        "from": clean(m.from_address or "", 320),
        "from_name": clean(m.from_name or "", 120),
        "subject": clean(m.subject),
        "received": _hm(m.received_at, cfg),
        "received_at": _local(m.received_at, cfg),
        "reason": clean(texts.reason(m.reason), 1000),
        "kind": m.kind,
        "files": [clean(a.filename) for a in m.attachments],
    }


# -- rendering ------------------------------------------------------------------------------

@lru_cache(maxsize=2)
def _environment(html: bool) -> jinja2.Environment:
    # HTML is autoescaped; the plain-text part must keep "<" and "&" as typed.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("templates", ""),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_template(name: str, model: Mapping[str, Any], language: str) -> str:
    """Render templates/<name> (autoescaped when .html) with the model `m` and labels `t`."""
    env = _environment(name.endswith(".html"))
    return env.get_template(name).render(m=model, t=labels(language))


def digest_subject(cfg: Config, day: dt.date) -> str:
    return clean(fill(cfg.digest.subject, {"date": _dmy(day)}), MAX_SUBJECT)


def render_digest(view: DayView, cfg: Config, *, now: dt.datetime,
                  unread_files: Sequence[UnreadFile | tuple[str, str, bytes]] = (),
                  previous: DayView | None = None,
                  reminded: Mapping[str, list[dt.datetime]] | None = None,
                  max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                  sent_late: bool | None = None) -> DigestContent:
    """Subject, HTML, text and attachments of the digest for `view.day`.

    `unread_files` are the units' files that could not be read; they are attached after
    the workbook, in order, while the message as it goes out (`wire_size`: base64 and all)
    stays within `max_message_bytes`. The ones left out are named in the email with the
    archived message that holds each and the export command that lists them. `sent_late`
    None means: late when `now` is over 15 minutes past the day's `digest_at`.
    """
    from service.workbook import render_workbook  # the workbook needs this module's model

    if sent_late is None:
        sent_late = is_late(cfg, view.day, now)
    model = digest_model(view, cfg, now=now, previous=previous, reminded=reminded, sent_late=sent_late)
    lang = cfg.service.language
    t = labels(lang)
    num = Numbers.for_language(lang)
    model["max_message_size"] = num.size(max_message_bytes)
    always: list[DigestFile] = []
    names: set[str] = set()
    if cfg.digest.attach_workbook:
        book = render_workbook(model, cfg)
        name = _unique_name(fill(t["workbook_filename"], {"date": view.day.isoformat()}), names, t)
        always.append(DigestFile(name, XLSX_TYPE, book))
        model["workbook"] = name
    candidates: list[tuple[DigestFile, dict[str, str]]] = []
    for item in unread_files:
        f = item if isinstance(item, UnreadFile) else UnreadFile(*item)
        name = _unique_name(safe_filename(f.filename, ATTACHMENT_FALLBACK_NAME, 150), names, t)
        candidates.append((DigestFile(name, _content_type(f.content_type), f.data),
                           {"name": name, "size": num.size(len(f.data)), "archived_at": f.archived_at}))
    subject = digest_subject(cfg, view.day)

    def build(attached: list[int]) -> DigestContent:
        model["attachments"] = [candidates[i][1] for i in attached]
        model["omitted"] = [entry for i, (_, entry) in enumerate(candidates) if i not in attached]
        return DigestContent(subject=subject, html=render_template(f"digest.{lang}.html", model, lang),
                             text=render_template(f"digest.{lang}.txt", model, lang),
                             files=(*always, *(candidates[i][0] for i in attached)))

    if not candidates:
        return build([])
    # Choose by the encoded size of each file against the room the bodies and the workbook
    # leave (measured with every file named as left out, the longer text), then measure
    # the message itself and leave out the last ones while it is still too big.
    room = max_message_bytes - _message_size(build([]), cfg, now)
    attached = []
    for i, (f, _) in enumerate(candidates):
        need = _encoded_part_size(f)
        if need <= room:
            attached.append(i)
            room -= need
    content = build(attached)
    while attached and _message_size(content, cfg, now) > max_message_bytes:
        attached.pop()
        content = build(attached)
    return content


def wire_size(message: EmailMessage) -> int:
    """Bytes of `message` as an SMTP server receives it (CRLF line ends), which its size limit counts."""
    return len(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))


def _message_size(content: DigestContent, cfg: Config, now: dt.datetime) -> int:
    if cfg.smtp is None:  # no From address to compose with: the body and attachments, and room for the rest
        return wire_size(_mime(content)) + 4096
    return wire_size(compose_email(content, cfg, now=now, message_id=_PROBE_MESSAGE_ID))


def _encoded_part_size(f: DigestFile) -> int:
    """A generous estimate of one attachment's bytes in the message: base64 in lines of 76
    characters and CRLF, and its part header (a non-ASCII name is encoded, up to 3 bytes
    a byte, and folded)."""
    encoded = 4 * -(-len(f.data) // 3)
    return encoded + 2 * -(-encoded // 76) + 400 + 4 * len(f.filename.encode("utf-8"))


def _unique_name(name: str, taken: set[str], t: Mapping[str, Any]) -> str:
    candidate, n = name, 1
    p = PurePosixPath(name)
    while candidate.casefold() in taken:
        n += 1
        candidate = fill(t["duplicate_filename"], {"stem": p.stem, "n": n, "suffix": p.suffix})
    taken.add(candidate.casefold())
    return candidate


def _content_type(value: str) -> str:
    main, _, sub = (value or "").strip().lower().partition("/")
    if main and sub and re.fullmatch(r"[a-z0-9.+-]+", main) and re.fullmatch(r"[a-z0-9.+-]+", sub):
        return f"{main}/{sub}"
    return "application/octet-stream"


def compose_email(content: DigestContent, cfg: Config, *, now: dt.datetime, message_id: str) -> EmailMessage:
    """The digest as a MIME message: text + HTML alternatives, then the attachments.

    With attachments it is multipart/mixed holding a multipart/alternative; without
    any it is the multipart/alternative alone.
    """
    if cfg.smtp is None:
        raise ValueError("[smtp] is not configured: the digest has no From address")
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr((cfg.smtp.from_name or "", cfg.smtp.from_address))
    msg["To"] = ", ".join(cfg.digest.to)
    if cfg.digest.cc:
        msg["Cc"] = ", ".join(cfg.digest.cc)
    msg["Date"] = email.utils.format_datetime(_local(now, cfg))
    msg["Message-ID"] = message_id if message_id.startswith("<") else f"<{message_id}>"
    msg["Subject"] = content.subject
    # An automatic message: out-of-office replies must not answer it (RFC 3834).
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    return _mime(content, msg)


def _mime(content: DigestContent, msg: EmailMessage | None = None) -> EmailMessage:
    """`msg` (or a new message) given the digest's parts: text + HTML alternatives, then
    the attachments."""
    msg = msg if msg is not None else EmailMessage()
    msg.set_content(content.text, subtype="plain", charset="utf-8")
    msg.add_alternative(content.html, subtype="html", charset="utf-8")
    for f in content.files:
        main, _, sub = f.content_type.partition("/")
        msg.add_attachment(f.data, maintype=main, subtype=sub, filename=f.filename)
    return msg
