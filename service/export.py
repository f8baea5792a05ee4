"""Renderings of a `DayView`: the JSON export and the terminal status table."""
from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from service.config import Config
from service.config.targets import ProgressCell, compute_progress
from service.dayview import DayView, UnitDay, number
from service.digest import excluded_lines, labels, progress_model, unit_notes
from service.i18n import Texts, fill
from storage.models import Message


def values_json(values) -> dict[str, dict[str, int | float]]:
    return {ind: {m: number(v) for m, v in row.items()} for ind, row in values.items()}


def iso(when: dt.datetime | None, cfg: Config) -> str | None:
    return when.astimezone(cfg.service.timezone).isoformat() if when else None


def problem_json(texts: Texts, code: str, params) -> dict[str, Any]:
    return {"code": code, "message": texts.problem(code, params), **({"params": dict(params)} if params else {})}


def unit_json(u: UnitDay, cfg: Config, texts: Texts) -> dict[str, Any]:
    m = u.message
    return {
        "code": u.unit.code,
        "name": u.unit.name,
        "group": u.unit.group,
        "status": u.status,
        "status_text": texts.status(u.status),
        "received_at": iso(m.received_at, cfg) if m else None,  # of the message whose figures count
        # the first readable report of the day (it decides on_time / late) and a later
        # one that came after the deadline (a correction: noted, the status stands)
        "first_received_at": iso(u.first_received_at, cfg),
        "correction_at": iso(u.correction_at, cfg),
        "notes": unit_notes(u, cfg, texts),
        "message_id": m.message_id if m else None,
        "subject": m.subject if m else None,
        "as_of": m.as_of.isoformat() if m and m.as_of else None,
        "values": values_json(u.values),
        "stale": u.stale,
        "latest_day": u.latest_day.isoformat() if u.latest_day else None,
        "latest_values": values_json(u.latest_values) if u.stale else {},
        "problems": [problem_json(texts, p.code, p.params) for p in u.problems],
        # figures in `values` / `latest_values` that the totals leave out (a failed format check)
        "excluded_from_totals": [{"indicator": x.indicator, "measure": x.measure, "problem": x.problem.code}
                                 for x in u.excluded],
        "attachments": [
            {"filename": a.filename, "format": a.detected_format, "size": a.size, "sha256": a.sha256,
             "outcome": a.outcome, "sheet": a.sheet}
            for a in (m.attachments if m is not None else [])
        ],
        "messages": len(u.messages),
    }


def unassigned_json(m: Message, cfg: Config, texts: Texts) -> dict[str, Any]:
    return {
        "from": m.from_address,
        "from_name": m.from_name,
        "subject": m.subject,
        "received_at": iso(m.received_at, cfg),
        "message_id": m.message_id,
        "kind": m.kind,
        "reason": texts.reason(m.reason),
        "reason_code": (m.reason or "").partition(":")[0],
    }


def _cell_json(c: ProgressCell) -> dict[str, Any]:
    return {"indicator": c.indicator, "measure": c.measure,
            "value": number(c.value) if c.value is not None else None,
            "target": number(c.target), "percent": float(c.percent)}


def progress_json(view: DayView, cfg: Config) -> dict[str, Any] | None:
    """Progress against [campaign] targets_file (money in đồng, percent with one decimal); None without it."""
    if not cfg.campaign.targets:
        return None
    progress = compute_progress(cfg.campaign.targets, {u.unit.code: u.counted_values for u in view.units},
                                view.totals, cfg.form, [u.code for u in cfg.units])
    end = cfg.campaign.end_date
    return {
        "end_date": end.isoformat() if end else None,
        "days_left": (end - view.day).days if end else None,
        "totals": [_cell_json(c) for c in progress.totals],
        "units": [{"code": u.unit, "lowest_percent": float(u.lowest.percent),
                   "cells": [_cell_json(c) for c in u.cells]} for u in progress.units],
    }


def day_json(view: DayView, cfg: Config) -> dict[str, Any]:
    texts = Texts(cfg.service.language)
    doc = {
        "date": view.day.isoformat(),
        "reporting_day": view.reporting_day,
        "deadline": view.deadline.isoformat(),
        "counts": view.counts,
        "units": [unit_json(u, cfg, texts) for u in view.units],
        "totals": values_json(view.totals),
        # what `totals` leave out: figures that failed a format check, still in their unit's values
        "totals_exclude": [{"unit": x.unit.code, "indicator": x.indicator, "measure": x.measure,
                            "value": number(x.value) if x.value is not None else None, "problem": x.problem.code}
                           for x in view.excluded],
        "unassigned": [unassigned_json(m, cfg, texts) for m in view.unassigned],
    }
    progress = progress_json(view, cfg)
    if progress is not None:
        doc["progress"] = progress
    return doc


# -- terminal table --------------------------------------------------------------------------

def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(c) else (2 if unicodedata.east_asian_width(c) in "WF" else 1)
               for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(h), *(_width(r[i]) for r in rows)) if rows else _width(h)
              for i, h in enumerate(headers)]
    line = "  ".join(_pad(h, w) for h, w in zip(headers, widths)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(out)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_text(view: DayView, cfg: Config) -> str:
    texts = Texts(cfg.service.language)
    vi = cfg.service.language == "vi"
    tz = cfg.service.timezone
    head = (f"Ngày {view.day:%d/%m/%Y} — hạn nộp {view.deadline:%H:%M}" if vi
            else f"{view.day:%d/%m/%Y} — deadline {view.deadline:%H:%M}")
    if not view.reporting_day:
        head += " (không phải ngày báo cáo)" if vi else " (not a reporting day)"
    expected = sum(1 for u in view.units if u.status != "not_expected")
    reported = sum(1 for u in view.units if u.status in ("on_time", "late", "unreadable"))
    head += (f"\nĐã báo cáo {reported}/{expected} đơn vị" if vi else f"\nReported: {reported}/{expected} units")
    rows = []
    notes = {u.unit.code: "; ".join(unit_notes(u, cfg, texts)) for u in view.units}
    for u in view.units:
        m = u.message
        # the time beside the status is the arrival that decides it (the first readable report)
        shown_at = u.first_received_at or (m.received_at if m else None)
        rows.append([
            u.unit.code, u.unit.name, texts.status(u.status),
            shown_at.astimezone(tz).strftime("%H:%M") if shown_at else "",
            str(sum(len(r) for r in u.values.values())) if u.values else "",
            _short(texts.render(u.problems[0]), 70) + (f" (+{len(u.problems) - 1})" if len(u.problems) > 1 else "")
            if u.problems else "",
            *([notes[u.unit.code]] if any(notes.values()) else []),
        ])
    headers = (["Mã", "Đơn vị", "Trạng thái", "Giờ nhận", "Số ô", "Vấn đề"] if vi
               else ["Code", "Unit", "Status", "Received", "Cells", "Problems"])
    if any(notes.values()):
        headers.append(labels(cfg.service.language)["workbook"]["note"])
    text = head + "\n\n" + render_table(headers, rows)
    excluded = excluded_lines(view, cfg, texts)
    if excluded:
        text += "\n\n" + texts.excluded_heading() + ":\n" + "\n".join(f"  {line}" for line in excluded)
    progress = progress_lines(view, cfg)
    if progress:
        text += "\n\n" + "\n".join(progress)
    if view.unassigned:
        text += "\n\n" + ("Thư chưa gắn với đơn vị nào:" if vi else "Messages not tied to a unit:")
        for m in view.unassigned:
            text += (f"\n  {m.received_at.astimezone(tz):%H:%M}  {m.from_address or '?'}  "
                     f"{m.subject[:60]}  — {texts.reason(m.reason)}")
    return text


def progress_lines(view: DayView, cfg: Config) -> list[str]:
    """The status command's progress section (campaign totals, the units furthest behind); [] without targets."""
    p = progress_model(view, cfg)
    if p is None:
        return []
    t = labels(cfg.service.language)["progress"]

    def line(template: str, c: dict[str, Any], **extra: str) -> str:
        return fill(template, {"indicator": c["indicator_label"], "measure": c["measure_label"],
                               "value": c["value_text"], "target": c["target_text"],
                               "percent": c["percent_text"], **extra})

    out = [t["status_heading"] + (f" ({p['countdown']})" if p["countdown"] else "") + ":"]
    out += ["  " + line(t["status_line"], c) for c in p["totals"]]
    if p["lowest"]:
        out.append(t["status_lowest"])
        out += ["  " + line(t["status_unit"], u["lowest"], name=f"{u['code']} {u['name']}") for u in p["lowest"]]
    if p["unit_count"]:
        out.append(fill(t["status_done"], {"done": p["done_count"], "count": p["unit_count"]}))
    return out


def digest_json(row, cfg: Config) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"state": row.state, "sent_at": iso(row.sent_at, cfg), "attempts": row.attempts,
            "last_error": row.last_error, "next_attempt_at": iso(row.next_attempt_at, cfg),
            "sends": row.sends}


def digest_line(row, view: DayView, cfg: Config) -> str:
    """One line on the day's digest: sent, failing (with the reason), or not yet due."""
    t = Texts(cfg.service.language)._table("digest_state")
    tz = cfg.service.timezone
    if row is None:
        key = "not_sent" if view.reporting_day else "not_due"
        return t.get(key, key)
    if row.state == "sent":
        return fill(t["sent"], {"time": f"{row.sent_at.astimezone(tz):%H:%M %d/%m/%Y}", "sends": row.sends})
    if row.state == "failed":
        return fill(t["failed"], {"attempts": row.attempts, "error": row.last_error or "",
                                  "next": f"{row.next_attempt_at.astimezone(tz):%H:%M}" if row.next_attempt_at else ""})
    return t["sending"]
