"""What the mails to the units say: the models the acknowledgement, notice and reminder
templates render, their subjects and attachment names, and the MIME message itself.
Deciding and sending them is service/schedule/outbox.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from parsers.model import FormSpec
from parsers.text import clean_text
from parsers.vntext import strip_diacritics
from service.config import Config, UnitConfig, calendar
from service.day.dayview import day_off, deadline_of, decreases, figures_of, on_time, stored_problems
from service.day.periods import period_label, period_of
from service.mail.compose import address, compose
from service.outputs.formatting import Numbers, value_text
from service.outputs.i18n import Texts, fill, labels
from service.outputs.model import MAX_TEXT, problem_text
from storage.records import MessageRecord as Message
from templates import catalog

if TYPE_CHECKING:
    from service.config.objects import ReportConfig

_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|tl|tr[ảa] l[ờo]i)\s*(\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)


def report_address(cfg: Config) -> str:
    """The address units send reports to (the mailbox polled), as told to them."""
    if cfg.imap is not None and "@" in cfg.imap.username:
        return cfg.imap.username
    return cfg.smtp.from_address if cfg.smtp else ""


def words(language: str) -> dict[str, Any]:
    """Subjects and file names of the mails to units ([replies] of the catalog)."""
    table: dict[str, Any] = catalog(language)["replies"]
    return table


def _when(when: dt.datetime, cfg: Config) -> dict[str, str]:
    local = when.astimezone(cfg.service.timezone)
    return {"time": local.strftime("%H:%M"), "date": local.strftime("%d/%m/%Y")}


def _common(cfg: Config, msg: Message | None) -> dict[str, Any]:
    return {
        "title": clean_text(cfg.campaign.title, MAX_TEXT, ellipsis=True),
        "report_address": report_address(cfg),
        "received": _when(msg.received_at, cfg) if msg is not None else None,
        "subject": clean_text(msg.subject, 200, ellipsis=True) if msg is not None else "",
        "from": clean_text(msg.from_address or "", 320, ellipsis=True) if msg is not None else "",
    }


def ack_model(
    cfg: Config,
    msg: Message,
    unit: UnitConfig,
    *,
    earlier: Sequence[Message] = (),
    previous: Message | None = None,
    carried: Mapping[str, bool] | None = None,
    first_at: Mapping[str, dt.datetime] | None = None,
    history: Mapping[str, ReportHistory] | None = None,
) -> dict[str, Any]:
    """What an acknowledgement of the report `msg` says.

    `earlier` are the unit's report messages of the same day received before it;
    `previous` its latest readable report of an earlier day. With [[reports]], `carried`
    are the reports `msg` carries (code -> readable): the reply names each with its period
    and shows its figures in its own form; `first_at` when the unit first sent each readable
    in that period (its timeliness; `msg`'s own time when not given); `history` each report's
    figures in `msg` and the unit's earlier ones (`earlier` and `previous` then go unused).
    """
    if cfg.reports:
        return _reports_ack_model(cfg, msg, unit, carried or {}, first_at or {}, history or {})
    lang = cfg.service.language
    texts, num = Texts(lang), Numbers.for_language(lang)
    deadline = deadline_of(cfg, msg.report_day)
    off = day_off(cfg, msg.report_day)
    reporting = off is None
    values = figures_of(msg) if msg.readable else {}
    problems = list(stored_problems(msg))
    if previous is not None and values:
        problems += decreases(values, figures_of(previous), previous.report_day)
    replaces = still_counts = None
    # The unit's timeliness for the day: its first readable report's (a correction after
    # the deadline does not make an on-time unit late).
    first = next((m for m in earlier if m.readable), msg) if msg.readable else msg
    if earlier and msg.readable:
        replaces = _when(earlier[-1].received_at, cfg)["time"]
    elif not msg.readable:
        readable = [m for m in earlier if m.readable]
        still_counts = _when(readable[-1].received_at, cfg)["time"] if readable else None
    return {
        **_common(cfg, msg),
        "variant": "report",
        "unit": {"code": unit.code, "name": unit.name},
        "day": f"{msg.report_day:%d/%m/%Y}",
        "reporting_day": reporting,
        "day_off": calendar.short_reason(off, lang) if off is not None else "",  # why no report is due
        "timing": ("on_time" if on_time(first.received_at, deadline) else "late") if reporting else "not_expected",
        "deadline": cfg.schedule.deadline.strftime("%H:%M"),
        "as_of": f"{msg.as_of:%d/%m/%Y}" if msg.as_of else "",
        "readable": msg.readable,
        "replaces": replaces,
        "still_counts": still_counts,
        "files": _files(msg),
        "tables": [figure_table(cfg, values, num)],
        "problems": [problem_text(p, cfg, texts, num) for p in dict.fromkeys(problems)],
        "form_file": "" if msg.readable else form_filename(cfg, unit),
        "form_report": None,
        "reports": [],
        "no_report": False,
    }


@dataclass(frozen=True)
class ReportHistory:
    """One report a message carries, from the database: its figures in the message, when
    the unit last sent a readable one earlier in the same period (replaced, or still
    counting when this one is unreadable), and the unit's latest readable figures of an
    earlier period (a cumulative report's decreases)."""

    values: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    earlier_at: dt.datetime | None = None
    previous: tuple[dt.date, dict[str, dict[str, Decimal]]] | None = None


def _reports_ack_model(
    cfg: Config,
    msg: Message,
    unit: UnitConfig,
    carried: Mapping[str, bool],
    first_at: Mapping[str, dt.datetime],
    history: Mapping[str, ReportHistory],
) -> dict[str, Any]:
    """The acknowledgement with [[reports]]: a line and a figure table per report carried,
    each in the report's own form and period; a message carrying none says so and why."""
    lang = cfg.service.language
    texts, num = Texts(lang), Numbers.for_language(lang)
    by_code = {r.code: r for r in cfg.reports}
    reports = carried_reports(cfg, msg, carried, first_at)
    problems = list(stored_problems(msg))
    tables = []
    for entry in reports:
        report = by_code[entry["code"]]
        seen = history.get(report.code)
        if seen is not None and seen.earlier_at is not None:
            entry["earlier"] = _when(seen.earlier_at, cfg)
        if not carried[report.code]:
            continue
        values = seen.values if seen is not None else _form_values(figures_of(msg), report.form)
        if report.cumulative and seen is not None and seen.previous is not None and values:
            day, before = seen.previous
            problems += decreases(values, before, day, report.form)
        table = figure_table(cfg, values, num, report.form)
        table["report"] = {"title": entry["title"], "period": entry["period"]}
        table["cumulative"] = report.cumulative
        tables.append(table)
    # The blank form sent back with an unreadable message: the report's it carries, else the
    # unit's default report, else the first the unit must send.
    mine = [r for r in cfg.reports if unit.code in r.units]
    form_report = reports[0]["code"] if reports else None
    if form_report is None and mine:
        default = cfg.report(None) if _has_default(cfg) else None
        form_report = default.code if default is not None and default in mine else mine[0].code
    return {
        **_common(cfg, msg),
        "variant": "report",
        "unit": {"code": unit.code, "name": unit.name},
        "day": f"{msg.report_day:%d/%m/%Y}",
        "reporting_day": True,
        "day_off": "",
        "timing": "",
        "deadline": "",
        "as_of": f"{msg.as_of:%d/%m/%Y}" if msg.as_of else "",
        "readable": msg.readable,
        "replaces": None,
        "still_counts": None,
        "files": _files(msg),
        "tables": tables,
        "problems": [problem_text(p, cfg, texts, num) for p in dict.fromkeys(problems)],
        "form_file": "" if msg.readable else form_filename(cfg, unit),
        "form_report": form_report,
        "reports": reports,
        # the message carries no report: its documents matched none of the unit's, or two alike
        "no_report": not reports,
    }


def _has_default(cfg: Config) -> bool:
    try:
        cfg.report(None)
    except KeyError:
        return False
    return True


def _form_values(values: Mapping[str, Mapping[str, Decimal]], form: FormSpec) -> dict[str, dict[str, Decimal]]:
    """The figures of `values` that `form` has a cell for."""
    measures = {m.code for m in form.measures}
    out: dict[str, dict[str, Decimal]] = {}
    for ind in form.indicators:
        row = {k: v for k, v in values.get(ind.code, {}).items() if k in measures}
        if row:
            out[ind.code] = row
    return out


def _files(msg: Message) -> list[dict[str, str]]:
    return [
        {
            "name": clean_text(a.filename, 150, ellipsis=True),
            "outcome": a.outcome,
            "sheet": clean_text(a.sheet or "", 100, ellipsis=True),
        }
        for a in msg.attachments
    ]


def carried_reports(
    cfg: Config, msg: Message, carried: Mapping[str, bool], first_at: Mapping[str, dt.datetime]
) -> list[dict[str, Any]]:
    """Each report `msg` carries, in config order: its title, the period it counts for, and
    whether the unit's first readable one of that period came by its deadline (a correction
    after the deadline does not make an on-time unit late), or that this one could not be read."""
    out: list[dict[str, Any]] = []
    lang = cfg.service.language
    for report in cfg.reports:
        if report.code not in carried:
            continue
        period = period_of(report, msg.report_day, cfg.service.timezone)
        readable = carried[report.code]
        first = first_at.get(report.code, msg.received_at)
        timing = ("on_time" if on_time(first, period.deadline) else "late") if readable else "unreadable"
        # a daily report on a day that expects none (as the status table says): neither on time nor late
        off = day_off(cfg, msg.report_day) if report.period == "day" else None
        if off is not None and readable:
            timing = "not_expected"
        out.append(
            {
                "code": report.code,
                "title": clean_text(report.title, MAX_TEXT, ellipsis=True),
                "period": period_label(period, lang),
                "timing": timing,
                "deadline": f"{period.deadline:%H:%M %d/%m/%Y}",
                "day_off": calendar.short_reason(off, lang) if off is not None else "",
                "earlier": None,  # when the unit last sent a readable one in the period ({time, date})
            }
        )
    return out


def figure_table(
    cfg: Config, values: Mapping[str, Mapping[str, Any]], num: Numbers, form: FormSpec | None = None
) -> dict[str, Any]:
    """The figures read, indicator × measure of `form` (the top-level one when not given), as
    text in the reader's language (money in triệu đồng)."""
    form = form or cfg.form
    money_unit = labels(cfg.service.language)["money_unit"]
    measures: list[dict[str, Any]] = [
        {
            "code": m.code,
            "money": m.kind == "money",
            "label": f"{m.label} ({money_unit})" if m.kind == "money" else m.label,
        }
        for m in form.measures
    ]
    rows: list[dict[str, Any]] = []
    for ind in form.indicators:
        row = values.get(ind.code, {})
        if not row:
            continue
        cells: list[dict[str, str]] = []
        for m in measures:
            value = row.get(m["code"])
            text = value_text(value, m["money"], num)
            cells.append({"label": m["label"], "text": text})
        rows.append({"code": ind.code, "label": ind.label, "cells": cells})
    width = max((len(c["label"]) for r in rows for c in r["cells"] if c["text"]), default=0)
    return {
        "measures": measures,
        "rows": rows,
        "label_width": width + 4,
        "missing_indicators": len(form.indicators) - len(rows),
        "report": None,  # with [[reports]]: the report's title and period the table is of
        "cumulative": True,
    }


def unresolved_model(cfg: Config, msg: Message) -> dict[str, Any]:
    """A reply to a sender shared by several units whose message did not say which unit."""
    codes = [c.strip() for c in (msg.reason or "").partition(":")[2].split(",") if c.strip()]
    names = []
    for code in codes:
        try:
            names.append(cfg.unit(code).name)
        except KeyError:
            continue
    return {**_common(cfg, msg), "variant": "unresolved", "units": names, "form_file": ""}


def notice_model(cfg: Config, msg: Message) -> dict[str, Any]:
    """The one notice a day to an address that is not registered for any unit."""
    return {**_common(cfg, msg), "variant": "unknown", "form_file": ""}


def reminder_model(
    cfg: Config, unit: UnitConfig, day: dt.date, now: dt.datetime, report: ReportConfig | None = None
) -> dict[str, Any]:
    """What a reminder sent on `day` says; with [[reports]], `report` is the one it is about
    (its title, the period containing `day` and that period's deadline)."""
    deadline = deadline_of(cfg, day)
    about = None
    if report is not None:
        period = period_of(report, day, cfg.service.timezone)
        deadline = period.deadline
        about = {
            "code": report.code,
            "title": clean_text(report.title, MAX_TEXT, ellipsis=True),
            "period": period_label(period, cfg.service.language),
            "deadline": f"{period.deadline:%H:%M %d/%m/%Y}",
        }
    return {
        **_common(cfg, None),
        "unit": {"code": unit.code, "name": unit.name},
        "day": f"{day:%d/%m/%Y}",
        "now": _when(now, cfg),
        "deadline": cfg.schedule.deadline.strftime("%H:%M"),
        "before_deadline": on_time(now, deadline),
        "senders": [a for a in unit.senders],
        "form_file": form_filename(cfg, unit),
        "report": about,
        "cumulative": report.cumulative if report is not None else True,
    }


def form_filename(cfg: Config, unit: UnitConfig) -> str:
    # ASCII only: some mail clients still mangle non-ASCII attachment names.
    code = re.sub(r"[^a-z0-9_.-]+", "-", strip_diacritics(unit.code).lower()).strip("-.") or "don-vi"
    return fill(words(cfg.service.language)["form_filename"], {"unit": code})


def reply_subject(original: str | None, language: str) -> str:
    """ "Re: <original>", without stacking "Re: Re:" (nor "AW:", "TL:", "Trả lời:")."""
    w = words(language)
    base = _REPLY_PREFIX.sub("", clean_text(original or "", 200, ellipsis=True)).strip()
    return f"{w['reply_prefix']}{base or w['ack_subject_fallback']}"


def compose_mail(
    cfg: Config,
    *,
    to: str,
    subject: str,
    message_id: str,
    now: dt.datetime,
    text: str,
    html: str | None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    files: Sequence[tuple[str, str, bytes]] = (),
    auto_submitted: str = "auto-replied",
) -> EmailMessage:
    """A mail to a unit (service/mail/compose.py), marked automatic so that no auto-responder answers it (RFC 3834)."""
    assert cfg.smtp is not None
    return compose(
        sender=address(cfg.smtp.from_name, cfg.smtp.from_address),
        to=to,
        date=now.astimezone(cfg.service.timezone),
        message_id=message_id,
        subject=subject,
        in_reply_to=in_reply_to,
        references=references,
        text=text,
        html=html,
        files=files,
        auto_submitted=auto_submitted,
    )
