"""The reads behind the day view (service/day/dayview.py): a day's messages, the reports
that count for each unit, and their figures in bulk. Records, never rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import fields
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, Select, String, Table, func, select
from sqlalchemy.orm import Session

from storage.kinds import REPORT
from storage.models import Attachment, Figure, Message, ProblemRow
from storage.records import AttachmentRecord, MessageRecord, ProblemRecord

Values = dict[str, dict[str, Decimal]]
Sources = dict[str, dict[str, str]]  # indicator -> measure -> source (storage.models.Figure.source)
CHUNK = 500  # ids or codes per IN (...): an OR of thousands of pairs is beyond SQLite's expression depth


def messages_of_day(session: Session, day: dt.date) -> list[MessageRecord]:
    """Every message of `day` (its problems and attachments), oldest first."""
    table = cast(Table, Message.__table__)
    conn = session.connection()
    rows = conn.execute(
        _select_messages().where(table.c.report_day == day).order_by(table.c.received_at, table.c.id)
    ).all()
    # the children of the day's messages by a join on the day, not by thousands of ids
    problems = _children_of_day(conn, ProblemRow, day, ("code", "params"), "id")
    files = _children_of_day(conn, Attachment, day, _ATTACHMENT_COLUMNS, "position")
    return _build(rows, problems, files)


def _records(session: Session, stmt: Select[Any], *, attachments: bool) -> list[MessageRecord]:
    """MessageRecords of the message rows `stmt` selects (every column of messages, in
    order), with their problems (and attachments), by columns and in bulk: a province's
    day holds 20,000 messages, too many to go through ORM objects."""
    conn = session.connection()
    rows = conn.execute(stmt).all()
    ids = [r.id for r in rows]
    problems = _children(conn, ProblemRow, ids, ("code", "params"), "id")
    files = _children(conn, Attachment, ids, _ATTACHMENT_COLUMNS, "position") if attachments else {}
    return _build(rows, problems, files)


def _build(
    rows: Sequence[Any], problems: dict[int, list[tuple[Any, ...]]], files: dict[int, list[tuple[Any, ...]]]
) -> list[MessageRecord]:
    out = []
    no_files: tuple[AttachmentRecord, ...] = ()
    no_problems: tuple[ProblemRecord, ...] = ()
    record = cast(Any, MessageRecord)  # the row's columns are the record's first fields, in order
    for r in rows:
        columns = tuple(r)
        if type(columns[_READABLE]) is not bool:
            columns = (*columns[:_READABLE], bool(columns[_READABLE]), *columns[_READABLE + 1 :])
        pk = columns[_ID]
        found = files.get(pk)
        stated = problems.get(pk)
        out.append(
            record(
                *columns,
                attachments=tuple(AttachmentRecord(*a) for a in found) if found else no_files,
                problems=tuple(ProblemRecord(code, dict(params or {})) for code, params in stated)
                if stated
                else no_problems,
            )
        )
    return out


def _children_of_day(
    conn: Connection, model: type[Any], day: dt.date, columns: Sequence[str], order: str
) -> dict[int, list[tuple[Any, ...]]]:
    """`columns` of the child rows of `model` belonging to the messages of `day`, by message, in `order`."""
    table = model.__table__
    messages = cast(Table, Message.__table__)
    stmt = (
        select(table.c.message_pk, *(table.c[c] for c in columns))
        .join(messages, messages.c.id == table.c.message_pk)
        .where(messages.c.report_day == day)
        .order_by(table.c.message_pk, table.c[order])
    )
    out: dict[int, list[tuple[Any, ...]]] = {}
    for pk, *rest in conn.execute(stmt).tuples():
        out.setdefault(pk, []).append(tuple(rest))
    return out


_ATTACHMENT_COLUMNS = tuple(f.name for f in fields(AttachmentRecord))
_MESSAGE_COLUMNS = tuple(f.name for f in fields(MessageRecord) if f.name not in ("attachments", "problems", "figures"))
_READABLE = _MESSAGE_COLUMNS.index("readable")
_ID = _MESSAGE_COLUMNS.index("id")


def _select_messages() -> Select[Any]:
    """The columns of messages a MessageRecord copies, in its order."""
    table = cast(Table, Message.__table__)
    return select(*(table.c[name] for name in _MESSAGE_COLUMNS))


def _children(
    conn: Connection, model: type[Any], ids: list[int], columns: Sequence[str], order: str
) -> dict[int, list[tuple[Any, ...]]]:
    """`columns` of the child rows of `model` belonging to the messages `ids`, by message, in `order`."""
    table = model.__table__
    out: dict[int, list[tuple[Any, ...]]] = {}
    for first in range(0, len(ids), CHUNK):
        stmt = (
            select(table.c.message_pk, *(table.c[c] for c in columns))
            .where(table.c.message_pk.in_(ids[first : first + CHUNK]))
            .order_by(table.c.message_pk, table.c[order])
        )
        for pk, *rest in conn.execute(stmt).tuples():
            out.setdefault(pk, []).append(tuple(rest))
    return out


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
    table = cast(Table, Message.__table__)
    out: list[MessageRecord] = []
    for first in range(0, len(units), CHUNK):
        stmt = (
            _select_messages()
            .where(
                table.c.kind == REPORT,
                table.c.readable.is_(True),
                table.c.unit_code.in_(units[first : first + CHUNK]),
                table.c.report_day.in_(wanted_days),
            )
            .order_by(table.c.received_at, table.c.id)
        )
        out.extend(_records(session, stmt, attachments=False))
    return out


def load_values(session: Session, message_ids: list[int]) -> dict[int, Values]:
    """Figures of many messages as plain dicts: a digest reads ~100,000 of them, so this
    goes through the driver's cursor, not ORM objects or result-row processing."""
    out: dict[int, Values] = {}
    numbers: dict[str, Decimal] = {}
    conn = session.connection()
    table = Figure.__table__
    for first in range(0, len(message_ids), CHUNK):
        chunk = message_ids[first : first + CHUNK]
        stmt = select(table.c.message_pk, table.c.indicator, table.c.measure, table.c.value.cast(String)).where(
            table.c.message_pk.in_(chunk)
        )
        result = conn.execute(stmt)
        try:  # the driver's rows as they are: four plain columns, nothing to convert but the text
            rows = result.cursor.fetchall() if result.cursor is not None else []
        finally:
            result.close()
        for pk, ind, meas, val in rows:
            try:
                by_indicator = out[pk]
            except KeyError:
                by_indicator = out[pk] = {}
            try:
                row = by_indicator[ind]
            except KeyError:
                row = by_indicator[ind] = {}
            try:  # the same texts come back (counts, round sums): one Decimal each, shared (immutable)
                row[meas] = numbers[val]
            except KeyError:
                row[meas] = numbers[val] = Decimal(val)
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
