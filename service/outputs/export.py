"""Renderings of stored days: the JSON, CSV and XLSX exports and the terminal status table."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from parsers.model import Values
from parsers.text import clean_text
from service.config import Config
from service.config.objects import ReportConfig
from service.config.targets import ProgressCell, compute_progress
from service.day.bulk import collector_paused, kept
from service.day.dayview import DayView, UnitDay, number
from service.day.periods import period_label
from service.outputs.i18n import Texts, fill, labels
from service.outputs.model import UnitWords, day_words, progress_model
from storage.records import DigestRecord
from storage.records import MessageRecord as Message
from templates import catalog


def values_json(values: Values, numbers: dict[Decimal, int | float] | None = None) -> dict[str, dict[str, int | float]]:
    """`values` as JSON numbers; `numbers`: the JSON number of each Decimal met so far
    (a province's day has 240,000 figures of about a thousand values; equal Decimals give
    the same number)."""
    if numbers is None:
        return {ind: {m: number(v) for m, v in row.items()} for ind, row in values.items()}
    out = {}
    for ind, row in values.items():
        try:
            out[ind] = dict(zip(row, map(numbers.__getitem__, row.values())))
        except KeyError:
            out[ind] = {m: numbers[v] if v in numbers else numbers.setdefault(v, number(v)) for m, v in row.items()}
    return out


def iso(when: dt.datetime | None, cfg: Config) -> str | None:
    return when.astimezone(cfg.service.timezone).isoformat() if when else None


def problem_json(code: str, message: str, params: Mapping[str, object]) -> dict[str, Any]:
    return {"code": code, "message": message, **({"params": dict(params)} if params else {})}


def unit_json(
    u: UnitDay, cfg: Config, words: UnitWords, numbers: dict[Decimal, int | float] | None = None
) -> dict[str, Any]:
    m = u.message
    return {
        "code": u.unit.code,
        "name": u.unit.name,
        "group": u.unit.group,
        "status": u.status,
        "status_text": words.status,
        "received_at": iso(m.received_at, cfg) if m else None,  # of the message whose figures count
        # the first readable report of the day (it decides on_time / late) and a later
        # one that came after the deadline (a correction: noted, the status stands)
        "first_received_at": iso(u.first_received_at, cfg),
        "correction_at": iso(u.correction_at, cfg),
        "notes": list(words.notes),
        "message_id": m.message_id if m else None,
        "subject": m.subject if m else None,
        "as_of": m.as_of.isoformat() if m and m.as_of else None,
        "values": values_json(u.values, numbers),
        "stale": u.stale,
        "latest_day": u.latest_day.isoformat() if u.latest_day else None,
        "latest_values": values_json(u.latest_values, numbers) if u.stale else {},
        "problems": [problem_json(p.code, text, p.params) for p, text in zip(u.problems, words.problems)],
        # figures in `values` / `latest_values` that the totals leave out (a failed format check)
        "excluded_from_totals": [
            {"indicator": x.indicator, "measure": x.measure, "problem": x.problem.code} for x in u.excluded
        ],
        # figures of `values` / `latest_values` read from a scan, a photo or the email's free
        # text: indicator -> measure -> "scan" | "photo" | "body_text" (the rest are a file's own)
        "figure_sources": {ind: dict(row) for ind, row in u.latest_sources.items()},
        "attachments": [
            {
                "filename": a.filename,
                "format": a.detected_format,
                "size": a.size,
                "sha256": a.sha256,
                "outcome": a.outcome,
                "sheet": a.sheet,
            }
            for a in (m.attachments if m is not None else [])
        ],
        "messages": len(u.messages),
    }


def unassigned_json(m: Message, reason: str, cfg: Config) -> dict[str, Any]:
    return {
        "from": m.from_address,
        "from_name": m.from_name,
        "subject": m.subject,
        "received_at": iso(m.received_at, cfg),
        "message_id": m.message_id,
        "kind": m.kind,
        "reason": reason,
        "reason_code": (m.reason or "").partition(":")[0],
    }


def _cell_json(c: ProgressCell) -> dict[str, Any]:
    return {
        "indicator": c.indicator,
        "measure": c.measure,
        "value": number(c.value) if c.value is not None else None,
        "target": number(c.target),
        "percent": float(c.percent),
    }


def progress_json(view: DayView, cfg: Config) -> dict[str, Any] | None:
    """Progress against [campaign] targets_file (money in đồng, percent with one decimal); None without it."""
    if not cfg.campaign.targets:
        return None
    progress = compute_progress(
        cfg.campaign.targets,
        {u.unit.code: u.counted_values for u in view.units},
        view.totals,
        cfg.form,
        [u.code for u in cfg.units],
    )
    end = cfg.campaign.end_date
    return {
        "end_date": end.isoformat() if end else None,
        "days_left": (end - view.day).days if end else None,
        "totals": [_cell_json(c) for c in progress.totals],
        "units": [
            {"code": u.unit, "lowest_percent": float(u.lowest.percent), "cells": [_cell_json(c) for c in u.cells]}
            for u in progress.units
        ],
    }


@collector_paused()
def day_json(view: DayView, cfg: Config) -> dict[str, Any]:
    words = day_words(view, cfg)
    numbers: dict[Decimal, int | float] = {}
    doc = {
        "date": view.day.isoformat(),
        "reporting_day": view.reporting_day,
        # why the day expects no report, as the status table says it; null on a reporting day
        "not_expected_reason": words.not_expected_reason,
        "deadline": view.deadline.isoformat(),
        "counts": view.counts,
        "units": [unit_json(u, cfg, words.units[u.unit.code], numbers) for u in view.units],
        "totals": values_json(view.totals),
        # what `totals` leave out: figures that failed a format check, still in their unit's values
        "totals_exclude": [
            {
                "unit": x.unit.code,
                "indicator": x.indicator,
                "measure": x.measure,
                "value": number(x.value) if x.value is not None else None,
                "problem": x.problem.code,
            }
            for x in view.excluded
        ],
        "unassigned": [unassigned_json(m, reason, cfg) for m, reason in zip(view.unassigned, words.reasons)],
    }
    if view.period is not None:  # with [[reports]]: the report and its period (`date` is its first day)
        doc["report"] = view.period.report
        doc["period"] = {"start": view.period.start.isoformat(), "end": view.period.end.isoformat()}
    progress = progress_json(view, cfg)
    if progress is not None:
        doc["progress"] = progress
    return kept(doc)


# -- terminal table --------------------------------------------------------------------------


# Latin letters, Vietnamese ones included (U+1E00-1EFF), and controls: one column each,
# none combining or wide.
_NARROW = re.compile("[\x00-\u02ff\u1e00-\u1eff]*")


def _display_width(text: str) -> int:
    if _NARROW.fullmatch(text):
        return len(text)
    return sum(0 if unicodedata.combining(c) else (2 if unicodedata.east_asian_width(c) in "WF" else 1) for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _display_width(text))


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(_display_width(h), *(_display_width(r[i]) for r in rows)) if rows else _display_width(h)
        for i, h in enumerate(headers)
    ]
    line = "  ".join(_pad(h, w) for h, w in zip(headers, widths)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(out)


@collector_paused()
def report_heading(view: DayView, report: ReportConfig, cfg: Config) -> str:
    """ "Báo cáo tuần — tuần 16/08–22/08/2021": the report and period a status table is of."""
    label = period_label(view.period, cfg.service.language) if view.period is not None else ""
    return " — ".join(part for part in (report.title or report.code, label) if part)


def status_text(view: DayView, cfg: Config) -> str:
    words = kept(day_words(view, cfg))
    t = catalog(cfg.service.language)["status_table"]
    tz = cfg.service.timezone
    # A week, a month or a one-off: its deadline's day, and the day beside each arrival time.
    span = view.period is not None and view.period.start != view.period.end
    if span:
        head = fill(t["heading_period"], {"deadline": f"{view.deadline:%H:%M %d/%m/%Y}"})
    else:
        head = fill(t["heading"], {"date": f"{view.day:%d/%m/%Y}", "deadline": f"{view.deadline:%H:%M}"})
    if not view.reporting_day:
        head += fill(t["not_reporting_day"], {"reason": words.day_off or ""})
    expected = sum(1 for u in view.units if u.status != "not_expected")
    reported = sum(1 for u in view.units if u.status in ("on_time", "late", "unreadable"))
    head += "\n" + fill(t["reported"], {"reported": reported, "expected": expected})
    rows = []
    notes = {code: "; ".join(w.notes) for code, w in words.units.items()}
    any_note = any(notes.values())
    for u in view.units:
        m = u.message
        # the time beside the status is the arrival that decides it (the first readable report)
        shown_at = u.first_received_at or (m.received_at if m else None)
        rows.append(
            [
                u.unit.code,
                u.unit.name,
                words.units[u.unit.code].status,
                shown_at.astimezone(tz).strftime("%H:%M %d/%m" if span else "%H:%M") if shown_at else "",
                str(sum(len(r) for r in u.values.values())) if u.values else "",
                clean_text(words.units[u.unit.code].problems[0], 70, ellipsis=True)
                + (f" (+{len(u.problems) - 1})" if len(u.problems) > 1 else "")
                if u.problems
                else "",
                *([notes[u.unit.code]] if any_note else []),
            ]
        )
    headers = list(t["headers"])
    if any_note:
        headers.append(labels(cfg.service.language)["workbook"]["note"])
    text = head + "\n\n" + render_table(headers, rows)
    if words.excluded:
        text += "\n\n" + words.excluded_heading + ":\n" + "\n".join(f"  {line}" for line in words.excluded)
    progress = progress_lines(view, cfg)
    if progress:
        text += "\n\n" + "\n".join(progress)
    if view.unassigned:
        text += "\n\n" + t["unassigned"]
        text += "".join(
            f"\n  {m.received_at.astimezone(tz):%H:%M}  {m.from_address or '?'}  {m.subject[:60]}  — {reason}"
            for m, reason in zip(view.unassigned, words.reasons)
        )
    return text


def progress_lines(view: DayView, cfg: Config) -> list[str]:
    """The status command's progress section (campaign totals, the units furthest behind); [] without targets."""
    p = progress_model(view, cfg)
    if p is None:
        return []
    t = labels(cfg.service.language)["progress"]

    def line(template: str, c: dict[str, Any], **extra: str) -> str:
        return fill(
            template,
            {
                "indicator": c["indicator_label"],
                "measure": c["measure_label"],
                "value": c["value_text"],
                "target": c["target_text"],
                "percent": c["percent_text"],
                **extra,
            },
        )

    out = [t["status_heading"] + (f" ({p['countdown']})" if p["countdown"] else "") + ":"]
    out += ["  " + line(t["status_line"], c) for c in p["totals"]]
    if p["lowest"]:
        out.append(t["status_lowest"])
        out += ["  " + line(t["status_unit"], u["lowest"], name=f"{u['code']} {u['name']}") for u in p["lowest"]]
    if p["unit_count"]:
        out.append(fill(t["status_done"], {"done": p["done_count"], "count": p["unit_count"]}))
    return out


def digest_json(row: DigestRecord | None, cfg: Config) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "state": row.state,
        "sent_at": iso(row.sent_at, cfg),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "next_attempt_at": iso(row.next_attempt_at, cfg),
        "sends": row.sends,
    }


def digest_line(row: DigestRecord | None, view: DayView, cfg: Config) -> str:
    """One line on the day's digest: sent, failing (with the reason), or not yet due."""
    texts = Texts(cfg.service.language)
    tz = cfg.service.timezone
    if row is None:
        if view.period is not None and view.period.start != view.period.end:
            return texts.sentence("digest_state", "not_sent_period")
        return texts.sentence("digest_state", "not_sent" if view.reporting_day else "not_due")
    if row.state == "sent":
        sent_at = f"{row.sent_at.astimezone(tz):%H:%M %d/%m/%Y}" if row.sent_at else ""
        return texts.sentence("digest_state", "sent", {"time": sent_at, "sends": row.sends})
    if row.state == "failed":
        return texts.sentence(
            "digest_state",
            "failed",
            {
                "attempts": row.attempts,
                "error": row.last_error or "",
                "next": f"{row.next_attempt_at.astimezone(tz):%H:%M}" if row.next_attempt_at else "",
            },
        )
    return texts.sentence("digest_state", "sending")


# -- exports --------------------------------------------------------------------------------


def export_rows(views: Sequence[DayView], cfg: Config) -> tuple[list[str], list[list[Any]]]:
    """Stored figures in long format: one row per unit × indicator × measure and day.

    A unit with no figures of its own that day still gets one row (its status), so
    the export also says who reported. Money is in đồng; `received_at` is an aware
    datetime in the configured time zone.
    """
    headers, groups = export_groups(views, cfg)
    return headers, [head + tail for head, tails in groups for tail in tails]


def export_groups(views: Sequence[DayView], cfg: Config) -> tuple[list[str], list[tuple[list[Any], list[list[Any]]]]]:
    """`export_rows` as each unit's day: the six leading values its rows share, and the
    rest of each of its rows in order (the xlsx export writes the leading cells once)."""
    lang = cfg.service.language
    texts = Texts(lang)
    headers = list(labels(lang)["export"]["headers"])
    indicators = {i.code: i.label for i in cfg.form.indicators}
    measures = {m.code: m.label for m in cfg.form.measures}
    groups: list[tuple[list[Any], list[list[Any]]]] = []
    for view in views:
        for u in view.units:
            m = u.message
            head = [
                view.day,
                u.unit.code,
                u.unit.name,
                u.unit.group or "",
                texts.status(u.status),
                m.received_at.astimezone(cfg.service.timezone) if m else None,
            ]
            if not u.values:
                groups.append((head, [[None, None, None, None, None]]))
                continue
            tails = []
            # Config order first; codes no longer in the config (config changed) after.
            for ind in [*indicators, *sorted(set(u.values) - set(indicators))]:
                row = u.values.get(ind, {})
                for meas in [*measures, *sorted(set(row) - set(measures))]:
                    if meas in row:
                        tails.append([ind, indicators.get(ind, ind), meas, measures.get(meas, meas), row[meas]])
            if tails:
                groups.append((head, tails))
    return headers, groups


@collector_paused()
def render_export_csv(views: Sequence[DayView], cfg: Config) -> bytes:
    """The export as CSV for spreadsheets: UTF-8 with BOM, comma-separated, text neutralised."""
    headers, rows = export_rows(views, cfg)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    for r in rows:
        writer.writerow([_csv_value(v) for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (Decimal, int, float)):
        return str(number(Decimal(value)))
    from service.outputs.sheets import neutralize  # openpyxl: not for `status` or JSON

    return neutralize(value)


@collector_paused()
def render_export_xlsx(views: Sequence[DayView], cfg: Config) -> bytes:
    """The export as one .xlsx sheet with a frozen, filterable header row."""
    from service.outputs.xl import import_openpyxl

    import_openpyxl()
    from service.outputs.export_xlsx import render_export_xlsx as render  # openpyxl: only for .xlsx

    return render(views, cfg)
