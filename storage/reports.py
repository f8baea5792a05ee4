"""The reads of several [[reports]] (issue 15): which reports messages carry, and each
report's figures of them. Rows stored for a config without [[reports]] carry none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from storage.days import CHUNK, Values
from storage.kinds import REPORT
from storage.models import Figure, Message, MessageReport


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
    to `until`: a message carrying it, readable or not, or one carrying no report at all
    (its documents matched none: it stands under every report of its unit, as the report
    view shows it). What a reminder of that report and period spares."""
    carries = exists().where(MessageReport.message_pk == Message.id, MessageReport.report_code == report_code)
    carries_any = exists().where(MessageReport.message_pk == Message.id)
    stmt = (
        select(Message.unit_code)
        .where(
            Message.kind == REPORT,
            Message.report_day >= first,
            Message.report_day <= last,
            Message.received_at <= until,
            Message.unit_code.is_not(None),
            carries | ~carries_any,
        )
        .distinct()
    )
    return {code for code in session.scalars(stmt) if code is not None}


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
