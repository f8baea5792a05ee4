"""The reads of several [[reports]] (issue 15): which reports messages carry, and each
report's figures of them. Rows stored for a config without [[reports]] carry none.

A document filed under no report (service.ingest.choice) carries nothing, but its message
stands, without figures, under the reports it could be (`could_be`): the report view shows
it there (`unreadable` with its problem when the unit sent nothing else) and the reminders
of those reports spare its unit (`units_with_report`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from storage.days import CHUNK, Values
from storage.kinds import REPORT
from storage.models import Figure, Message, MessageReport, ProblemRow

# The problems of a document filed under no report (service.ingest.choice.choose_report):
# tied between the reports its "report_codes" parameter lists (and its "reports" names),
# or matching none of the unit's.
UNDETERMINED, UNMATCHED = "report_undetermined", "report_unmatched"
ANY_REPORT = "*"  # in `could_be`: any report of the unit whose period contains the message's day
# "Báo cáo tuần (tuan), Báo cáo nhanh (nhanh)" (choice._names): each report's code, last in its name
_NAMED_CODE = re.compile(r"\(([a-z0-9_]+)\)(?=, |$)")


def could_be(carries_any: bool, problems: Iterable[tuple[str, Mapping[str, Any]]]) -> frozenset[str]:
    """The reports a message's documents that count for no report could be, given whether
    the message carries any report and its problems (code, params): those a document was
    tied between; ANY_REPORT for a document matching none of the unit's reports in a
    message that carries none, or a message carrying none at all for no such reason (an unreadable file whose report
    neither the subject nor the day tells). A report the message carries is not among them.
    """
    out: set[str] = set()
    unfiled = False
    for code, params in problems:
        if code == UNDETERMINED:
            params = params or {}
            if "report_codes" in params:
                out.update(str(params["report_codes"]).split())
            else:  # stored before its codes were: they close each name
                out.update(_NAMED_CODE.findall(str(params.get("reports", ""))))
            unfiled = True
        elif code == UNMATCHED:
            # beside a report the message carries, a document of no report (a list, a
            # letter) is shown with that report and spares no other: the unit sent that one
            if not carries_any:
                out.add(ANY_REPORT)
            unfiled = True
    if not carries_any and not unfiled:
        out.add(ANY_REPORT)
    return frozenset(out)


def stands_under(report_code: str, candidates: Collection[str]) -> bool:
    """Whether a message whose unfiled documents `could_be` `candidates` stands under `report_code`."""
    return report_code in candidates or ANY_REPORT in candidates


def reports_of(session: Session, message_ids: Collection[int]) -> dict[int, dict[str, bool]]:
    """The reports each message carries (code -> readable), for the messages that carry any."""
    ids = list(message_ids)
    out: dict[int, dict[str, bool]] = {}
    for first in range(0, len(ids), CHUNK):
        stmt = select(MessageReport.message_pk, MessageReport.report_code, MessageReport.readable).where(
            MessageReport.message_pk.in_(ids[first : first + CHUNK])
        )
        for pk, code, readable in session.execute(stmt).tuples():
            out.setdefault(pk, {})[code] = bool(readable)
    return out


def report_values(session: Session, message_ids: Collection[int], report_code: str) -> dict[int, Values]:
    """The figures of `report_code` in each message ("" for the config's one report)."""
    ids = list(message_ids)
    out: dict[int, Values] = {}
    for first in range(0, len(ids), CHUNK):
        stmt = select(Figure.message_pk, Figure.indicator, Figure.measure, Figure.value).where(
            Figure.message_pk.in_(ids[first : first + CHUNK]), Figure.report_code == report_code
        )
        for pk, ind, meas, value in session.execute(stmt).tuples():
            out.setdefault(pk, {}).setdefault(ind, {})[meas] = Decimal(value)
    return out


def report_days(
    session: Session, report_code: str, unit_codes: Collection[str], before: dt.date
) -> dict[str, list[dt.date]]:
    """The days before `before` on which each unit sent a message whose `report_code` figures could be read."""
    stmt = (
        select(Message.unit_code, Message.report_day)
        .join(MessageReport, MessageReport.message_pk == Message.id)
        .where(
            MessageReport.report_code == report_code,
            MessageReport.readable.is_(True),
            Message.kind == REPORT,
            Message.report_day < before,
            Message.unit_code.in_(list(unit_codes)),
        )
        .group_by(Message.unit_code, Message.report_day)
    )
    out: dict[str, list[dt.date]] = {}
    for code, day in session.execute(stmt).tuples():
        if code is not None:
            out.setdefault(code, []).append(day)
    return out


def first_readable_at(
    session: Session, unit_code: str, report_code: str, first: dt.date, last: dt.date, until: dt.datetime
) -> dt.datetime | None:
    """When `unit_code` first sent a readable `report_code` received on first..last (report
    days), up to `until`: the unit's timeliness for that period."""
    stmt = (
        select(Message.received_at)
        .join(MessageReport, MessageReport.message_pk == Message.id)
        .where(
            Message.kind == REPORT,
            Message.unit_code == unit_code,
            Message.report_day >= first,
            Message.report_day <= last,
            Message.received_at <= until,
            MessageReport.report_code == report_code,
            MessageReport.readable.is_(True),
        )
        .order_by(Message.received_at)
        .limit(1)
    )
    return session.scalar(stmt)


def units_with_report(
    session: Session, report_code: str, first: dt.date, last: dt.date, until: dt.datetime
) -> set[str]:
    """Units that sent anything for `report_code` on first..last (report days), received up
    to `until`: a message carrying it, readable or not, or one with a document of no report
    that `could_be` it, as the report view shows them. What a reminder of that report and
    period spares (the caller keeps the report's units)."""
    carries = exists().where(MessageReport.message_pk == Message.id, MessageReport.report_code == report_code)
    carries_any = exists().where(MessageReport.message_pk == Message.id)
    sent = (
        Message.kind == REPORT,
        Message.report_day >= first,
        Message.report_day <= last,
        Message.received_at <= until,
        Message.unit_code.is_not(None),
    )
    out = {code for code in session.scalars(select(Message.unit_code).where(*sent, carries).distinct()) if code}
    # the others with a document of no report, or carrying no report at all: their problems saying why
    unfiled = (ProblemRow.message_pk == Message.id) & ProblemRow.code.in_((UNDETERMINED, UNMATCHED))
    stmt = (
        select(Message.id, Message.unit_code, carries_any.label("carries_any"), ProblemRow.code, ProblemRow.params)
        .outerjoin(ProblemRow, unfiled)
        .where(*sent, ~carries, ProblemRow.id.is_not(None) | ~carries_any)
    )
    found: dict[int, tuple[str, bool, list[tuple[str, Mapping[str, Any]]]]] = {}
    for pk, unit, any_report, code, params in session.execute(stmt).tuples():
        if unit is None or unit in out:
            continue
        mine = found.setdefault(pk, (unit, bool(any_report), []))
        if code is not None:
            mine[2].append((code, params or {}))
    for unit, any_report, problems in found.values():
        if stands_under(report_code, could_be(any_report, problems)):
            out.add(unit)
    return out


def readable_report_messages(
    session: Session, unit_code: str, report_code: str, first: dt.date | None, last: dt.date, until: dt.datetime
) -> list[tuple[int, dt.datetime, dt.date]]:
    """The messages of `unit_code` received up to `until` on report days first..last (from
    the first when `first` is None) whose `report_code` could be read: (id, received_at,
    report_day), oldest first."""
    stmt = (
        select(Message.id, Message.received_at, Message.report_day)
        .join(MessageReport, MessageReport.message_pk == Message.id)
        .where(
            Message.kind == REPORT,
            Message.unit_code == unit_code,
            Message.report_day <= last,
            Message.received_at <= until,
            MessageReport.report_code == report_code,
            MessageReport.readable.is_(True),
        )
        .order_by(Message.received_at, Message.id)
    )
    if first is not None:
        stmt = stmt.where(Message.report_day >= first)
    return [(pk, at, day) for pk, at, day in session.execute(stmt).tuples()]
