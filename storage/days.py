"""The reads behind the day view (service/day/dayview.py): a day's messages, the reports
that count for each unit, and their figures in bulk. Records, never rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from decimal import Decimal

from sqlalchemy import String, func, select
from sqlalchemy.orm import Session, selectinload

from storage.kinds import REPORT
from storage.models import Figure, Message
from storage.records import MessageRecord, message_record

Values = dict[str, dict[str, Decimal]]
Sources = dict[str, dict[str, str]]  # indicator -> measure -> source (storage.models.Figure.source)
CHUNK = 500  # ids or codes per IN (...): an OR of thousands of pairs is beyond SQLite's expression depth


def messages_of_day(session: Session, day: dt.date) -> list[MessageRecord]:
    """Every message of `day` (its problems and attachments), oldest first."""
    rows = session.scalars(
        select(Message)
        .where(Message.report_day == day)
        .options(selectinload(Message.problems), selectinload(Message.attachments))
        .order_by(Message.received_at, Message.id)
    ).all()
    return [message_record(m) for m in rows]


def readable_report_days(session: Session, unit_codes: Collection[str], until_day: dt.date) -> dict[str, list[dt.date]]:
    """The days up to `until_day` on which each unit sent a readable report."""
    pairs = session.execute(
        select(Message.unit_code, Message.report_day)
        .where(
            Message.kind == REPORT,
            Message.readable.is_(True),
            Message.report_day <= until_day,
            Message.unit_code.in_(list(unit_codes)),
        )
        .group_by(Message.unit_code, Message.report_day)
    ).all()
    days_by_unit: dict[str, list[dt.date]] = defaultdict(list)
    for code, d in pairs:
        if code is not None:
            days_by_unit[code].append(d)
    return days_by_unit


def readable_reports(session: Session, unit_codes: Iterable[str], days: Iterable[dt.date]) -> list[MessageRecord]:
    """The readable reports of `unit_codes` on `days` (with their problems), oldest first
    within each chunk of units: fetched by (units × days) and filtered by the caller."""
    units, wanted_days = sorted(set(unit_codes)), sorted(set(days))
    out: list[MessageRecord] = []
    for first in range(0, len(units), CHUNK):
        rows = session.scalars(
            select(Message)
            .where(
                Message.kind == REPORT,
                Message.readable.is_(True),
                Message.unit_code.in_(units[first : first + CHUNK]),
                Message.report_day.in_(wanted_days),
            )
            .options(selectinload(Message.problems))
            .order_by(Message.received_at, Message.id)
        ).all()
        out.extend(message_record(m, attachments=False) for m in rows)
    return out


def load_values(session: Session, message_ids: list[int]) -> dict[int, Values]:
    """Figures of many messages as plain dicts: a digest reads ~100,000 of them, so this
    goes through the driver's cursor, not ORM objects or result-row processing."""
    out: dict[int, Values] = {}
    conn = session.connection()
    table = Figure.__table__
    for first in range(0, len(message_ids), CHUNK):
        chunk = message_ids[first : first + CHUNK]
        stmt = select(table.c.message_pk, table.c.indicator, table.c.measure, table.c.value.cast(String)).where(
            table.c.message_pk.in_(chunk)
        )
        for pk, ind, meas, val in conn.execute(stmt).tuples():
            out.setdefault(pk, {}).setdefault(ind, {})[meas] = Decimal(val)
    return out


def load_sources(session: Session, message_ids: list[int], sources: Collection[str]) -> dict[int, Sources]:
    """Where the figures of many messages were read from, for the figures whose source is
    one of `sources` (few: most figures come from spreadsheets and are not asked for)."""
    out: dict[int, Sources] = {}
    if not sources:
        return out
    conn = session.connection()
    table = Figure.__table__
    for first in range(0, len(message_ids), CHUNK):
        chunk = message_ids[first : first + CHUNK]
        stmt = select(table.c.message_pk, table.c.indicator, table.c.measure, table.c.source).where(
            table.c.message_pk.in_(chunk), table.c.source.in_(list(sources))
        )
        for pk, ind, meas, source in conn.execute(stmt).tuples():
            out.setdefault(pk, {}).setdefault(ind, {})[meas] = source
    return out


def first_report_day(session: Session) -> dt.date | None:
    """The earliest day any stored message counts for (None: nothing stored)."""
    return session.scalar(select(func.min(Message.report_day)))
