"""The reads behind the day view (service/day/dayview.py): a day's messages, the reports
that count for each unit, and their figures in bulk. Records, never rows.

Written as plain SQL on the driver's cursor (storage.direct.query) and run either in a
SQLAlchemy Session or on a `DirectReader` without SQLAlchemy (`baocao status` starts
without it): one implementation, so both give the same records. A province's day is
20,000 messages and 240,000 figures, too many to go through ORM objects anyway.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import fields
from decimal import Decimal
from typing import Any

from storage.direct import day as as_day
from storage.direct import dialect, flag, json_value, placeholders, query, utc
from storage.kinds import REMINDER, REPORT, SENT
from storage.records import AttachmentRecord, DigestRecord, MessageRecord, ProblemRecord

Values = dict[str, dict[str, Decimal]]
Sources = dict[str, dict[str, str]]  # indicator -> measure -> source (storage.models.Figure.source)
CHUNK = 500  # ids or codes per IN (...): an OR of thousands of pairs is beyond SQLite's expression depth
Db = Any  # a SQLAlchemy Session or a storage.direct.DirectReader


def messages_of_day(db: Db, day: dt.date) -> list[MessageRecord]:
    """Every message of `day` (its problems and attachments), oldest first."""
    rows = query(db, f"{_SELECT_MESSAGES} WHERE report_day = ? ORDER BY received_at, id", (day,))
    # the children of the day's messages by a join on the day, not by thousands of ids
    problems = _children_of_day(db, "problems", day, ("code", "params"), "id")
    files = _children_of_day(db, "attachments", day, _ATTACHMENT_COLUMNS, "position")
    return _build(rows, problems, files)


def report_messages_after(db: Db, report_code: str, day: dt.date) -> list[MessageRecord]:
    """The messages of the days after `day` that carry the report `report_code` (a one-off
    report's answers after its deadline day), with their problems and attachments, oldest first."""
    where = "report_day > ? AND id IN (SELECT message_pk FROM message_reports WHERE report_code = ?)"
    return _records(db, where, (day, report_code), attachments=True)


def _records(db: Db, where: str, params: Sequence[Any], *, attachments: bool) -> list[MessageRecord]:
    """MessageRecords of the message rows `where` selects, with their problems (and
    attachments), by columns and in bulk."""
    rows = query(db, f"{_SELECT_MESSAGES} WHERE {where} ORDER BY received_at, id", params)
    ids = [r[_ID] for r in rows]
    problems = _children(db, "problems", ids, ("code", "params"), "id")
    files = _children(db, "attachments", ids, _ATTACHMENT_COLUMNS, "position") if attachments else {}
    return _build(rows, problems, files)


def _build(
    rows: Sequence[Any], problems: dict[int, list[tuple[Any, ...]]], files: dict[int, list[tuple[Any, ...]]]
) -> list[MessageRecord]:
    out = []
    no_files: tuple[AttachmentRecord, ...] = ()
    no_problems: tuple[ProblemRecord, ...] = ()
    no_figures: tuple[Any, ...] = ()
    # The row's columns are the record's first fields, in order. A frozen dataclass's
    # __init__ sets each of its 23 fields through object.__setattr__: the record's dict
    # is filled directly instead (20,000 records a province's day).
    new = object.__new__
    days: dict[Any, dt.date | None] = {}
    for r in rows:
        columns = list(r)
        for i in _TIMES:
            columns[i] = utc(columns[i])
        for i in _DAYS:
            stored = columns[i]
            try:  # a day's messages share a handful of days: one date each
                columns[i] = days[stored]
            except KeyError:
                columns[i] = days[stored] = as_day(stored)
        columns[_READABLE] = flag(columns[_READABLE])
        pk = columns[_ID]
        found = files.get(pk)
        stated = problems.get(pk)
        columns.append(tuple(AttachmentRecord(*a) for a in found) if found else no_files)
        columns.append(
            tuple(ProblemRecord(code, dict(json_value(params) or {})) for code, params in stated)
            if stated
            else no_problems
        )
        columns.append(no_figures)
        record = new(MessageRecord)
        record.__dict__.update(zip(_RECORD_FIELDS, columns))
        out.append(record)
    return out


def _children_of_day(
    db: Db, table: str, day: dt.date, columns: Sequence[str], order: str
) -> dict[int, list[tuple[Any, ...]]]:
    """`columns` of the child rows in `table` belonging to the messages of `day`, by message, in `order`."""
    chosen = ", ".join(f"c.{c}" for c in columns)
    rows = query(
        db,
        f"SELECT c.message_pk, {chosen} FROM {table} c JOIN messages m ON m.id = c.message_pk "
        f"WHERE m.report_day = ? ORDER BY c.message_pk, c.{order}",
        (day,),
    )
    out: dict[int, list[tuple[Any, ...]]] = {}
    for pk, *rest in rows:
        out.setdefault(pk, []).append(tuple(rest))
    return out


_ATTACHMENT_COLUMNS = tuple(f.name for f in fields(AttachmentRecord))
_MESSAGE_COLUMNS = tuple(f.name for f in fields(MessageRecord) if f.name not in ("attachments", "problems", "figures"))
_RECORD_FIELDS = (*_MESSAGE_COLUMNS, "attachments", "problems", "figures")
assert _RECORD_FIELDS == tuple(f.name for f in fields(MessageRecord))  # every field set, in order
_READABLE = _MESSAGE_COLUMNS.index("readable")
_ID = _MESSAGE_COLUMNS.index("id")
_TIMES = tuple(_MESSAGE_COLUMNS.index(c) for c in ("received_at", "date_header"))
_DAYS = tuple(_MESSAGE_COLUMNS.index(c) for c in ("report_day", "as_of"))
# The columns of messages a MessageRecord copies, in its order.
_SELECT_MESSAGES = f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM messages"


def _children(
    db: Db, table: str, ids: list[int], columns: Sequence[str], order: str
) -> dict[int, list[tuple[Any, ...]]]:
    """`columns` of the child rows in `table` belonging to the messages `ids`, by message, in `order`."""
    out: dict[int, list[tuple[Any, ...]]] = {}
    chosen = ", ".join(columns)
    for first in range(0, len(ids), CHUNK):
        chunk = ids[first : first + CHUNK]
        rows = query(
            db,
            f"SELECT message_pk, {chosen} FROM {table} WHERE message_pk IN ({placeholders(len(chunk))}) "
            f"ORDER BY message_pk, {order}",
            chunk,
        )
        for pk, *rest in rows:
            out.setdefault(pk, []).append(tuple(rest))
    return out


def latest_report_days(db: Db, unit_codes: Collection[str], until_day: dt.date) -> dict[str, list[dt.date]]:
    """The two latest days up to `until_day` on which each unit sent a readable report,
    latest first (a unit with none is left out). Each is the first match walking the
    (unit_code, report_day) index back from a day, so the cost does not grow with the
    history kept (a year of a province's reports is half a million days of units)."""
    codes = list(unit_codes)
    days_by_unit: dict[str, list[dt.date]] = {}

    def latest(code: str, bound: str, op: str) -> str:
        return (
            f"(SELECT report_day FROM messages WHERE unit_code = {code} AND kind = ? AND readable = ? "
            f"AND report_day {op} {bound} ORDER BY report_day DESC LIMIT 1)"
        )

    for first in range(0, len(codes), CHUNK):
        chunk = codes[first : first + CHUNK]
        rows = query(
            db,
            f"WITH c(code) AS (VALUES {', '.join(['(?)'] * len(chunk))}), "
            f"l(code, d1) AS (SELECT code, {latest('c.code', '?', '<=')} FROM c) "
            f"SELECT code, d1, {latest('l.code', 'l.d1', '<')} FROM l WHERE d1 IS NOT NULL",
            [*chunk, REPORT, True, until_day, REPORT, True],
        )
        for code, d1, d2 in rows:
            days_by_unit[code] = [as_day(d) for d in (d1, d2) if d is not None]  # type: ignore[misc]
    return days_by_unit


def readable_reports(db: Db, unit_codes: Iterable[str], days: Iterable[dt.date]) -> list[MessageRecord]:
    """The readable reports of `unit_codes` on `days` (with their problems), oldest first
    within each chunk of units: fetched by (units × days) and filtered by the caller."""
    units, wanted_days = sorted(set(unit_codes)), sorted(set(days))
    out: list[MessageRecord] = []
    if not wanted_days:
        return out
    for first in range(0, len(units), CHUNK):
        chunk = units[first : first + CHUNK]
        where = (
            f"kind = ? AND readable = ? AND unit_code IN ({placeholders(len(chunk))}) "
            f"AND report_day IN ({placeholders(len(wanted_days))})"
        )
        out.extend(_records(db, where, [REPORT, True, *chunk, *wanted_days], attachments=False))
    return out


def load_values(db: Db, message_ids: list[int]) -> dict[int, Values]:
    """Figures of many messages as plain dicts: a digest reads ~100,000 of them, as the
    driver's rows (four plain columns, nothing to convert but the text). On SQLite a
    message's figures come as one row (`_grouped_values`): most of the time went to the
    driver making a tuple and three strings of each of the 237,000 rows of a province's day."""
    return load_figures(db, message_ids, ())[0]


def load_figures(
    db: Db, message_ids: list[int], sources: Collection[str]
) -> tuple[dict[int, Values], dict[int, Sources]]:
    """`load_values` and `load_sources` of the same messages together: on SQLite the
    grouped read counts each message's figures of `sources` too, and only the messages
    that have some are asked where their figures were read from (most have none)."""
    out: dict[int, Values] = {}
    numbers: dict[str, Decimal] = {}
    grouped = dialect(db) == "sqlite"
    layouts: dict[str, _Layout | None] = {}
    wanted = sorted(set(sources))
    marked: list[int] = []
    for first in range(0, len(message_ids), CHUNK):
        chunk = message_ids[first : first + CHUNK]
        if grouped and _grouped_values(db, chunk, out, numbers, layouts, wanted, marked):
            continue
        _values_by_rows(db, chunk, out, numbers)
        marked.extend(chunk)
    return out, load_sources(db, marked, wanted) if wanted else {}


# A message's figures as one row: its (indicator, measure) pairs and its values, each list
# joined with this separator (codes are [a-z0-9_]; a value is a number's text), the
# indicator and measure of a pair with the other.
_FIGURE_SEP, _PAIR_SEP = "\x1e", "\x1f"
# How a message's figures are laid out in its row: by indicator (first appearance
# first), the measures and the positions of their values, in row order.
_Layout = list[tuple[str, list[str], slice | list[int]]]


def _grouped_values(
    db: Db,
    chunk: list[int],
    out: dict[int, Values],
    numbers: dict[str, Decimal],
    layouts: dict[str, _Layout | None],
    sources: list[str],
    marked: list[int],
) -> bool:
    """`_values_by_rows` with one row per message (SQLite's group_concat over the same
    rows in the same order), the messages with figures read from `sources` added to
    `marked`; False, with nothing added, if a row cannot be split back into its figures
    (then the caller reads them row by row)."""
    sourced = f"sum(source IN ({placeholders(len(sources))}))" if sources else "0"
    rows = query(
        db,
        "SELECT message_pk, group_concat(indicator || char(31) || measure, char(30)), "
        f"group_concat(value, char(30)), count(*), {sourced} "
        f"FROM figures WHERE message_pk IN ({placeholders(len(chunk))}) GROUP BY message_pk",
        [*sources, *chunk],
    )
    found: dict[int, Values] = {}
    with_sources = []
    for pk, keys, texts, n, some in rows:
        if some:
            with_sources.append(pk)
        layout = layouts.get(keys, ...)
        if layout is ...:
            layout = layouts[keys] = _layout(keys, n)
        values = texts.split(_FIGURE_SEP)
        if layout is None or len(values) != n:
            return False
        try:
            figures = list(map(numbers.__getitem__, values))
        except KeyError:  # the same texts come back (counts, round sums): one Decimal each, shared
            figures = [numbers[v] if v in numbers else numbers.setdefault(v, Decimal(v)) for v in values]
        found[pk] = {
            ind: dict(zip(measures, figures[at] if isinstance(at, slice) else [figures[i] for i in at]))
            for ind, measures, at in layout
        }
    out.update(found)
    marked.extend(with_sources)
    return True


def _layout(keys: str, n: int) -> _Layout | None:
    """The layout of a message's figures from its joined pairs (None: not n pairs of two codes)."""
    pairs = [k.split(_PAIR_SEP) for k in keys.split(_FIGURE_SEP)]
    if len(pairs) != n or any(len(p) != 2 for p in pairs):
        return None
    by_indicator: dict[str, tuple[list[str], list[int]]] = {}
    for i, (ind, meas) in enumerate(pairs):
        measures, at = by_indicator.setdefault(ind, ([], []))
        measures.append(meas)
        at.append(i)
    # an indicator's figures next to each other (the usual case): a slice of the values
    return [
        (ind, measures, slice(at[0], at[-1] + 1) if at[-1] - at[0] == len(at) - 1 else at)
        for ind, (measures, at) in by_indicator.items()
    ]


def _values_by_rows(db: Db, chunk: list[int], out: dict[int, Values], numbers: dict[str, Decimal]) -> None:
    rows = query(
        db,
        f"SELECT message_pk, indicator, measure, value FROM figures WHERE message_pk IN ({placeholders(len(chunk))})",
        chunk,
    )
    # rows come grouped by message (and mostly by indicator): look up only on a change
    last_pk: Any = None
    last_ind: Any = None
    by_indicator: dict[str, dict[str, Decimal]] = {}
    row: dict[str, Decimal] = {}
    for pk, ind, meas, val in rows:
        if pk != last_pk:
            found = out.get(pk)
            by_indicator = out[pk] = {} if found is None else found
            last_pk, last_ind = pk, None
        if ind != last_ind:
            known = by_indicator.get(ind)
            row = by_indicator[ind] = {} if known is None else known
            last_ind = ind
        number = numbers.get(val)
        if number is None:  # the same texts come back (counts, round sums): one Decimal each, shared
            number = numbers[val] = Decimal(str(val))
        row[meas] = number


def load_sources(db: Db, message_ids: list[int], sources: Collection[str]) -> dict[int, Sources]:
    """Where the figures of many messages were read from, for the figures whose source is
    one of `sources` (few: most figures come from spreadsheets and are not asked for)."""
    out: dict[int, Sources] = {}
    if not sources:
        return out
    wanted = list(sources)
    for first in range(0, len(message_ids), CHUNK):
        chunk = message_ids[first : first + CHUNK]
        rows = query(
            db,
            f"SELECT message_pk, indicator, measure, source FROM figures WHERE message_pk IN "
            f"({placeholders(len(chunk))}) AND source IN ({placeholders(len(wanted))})",
            [*chunk, *wanted],
        )
        for pk, ind, meas, source in rows:
            out.setdefault(pk, {}).setdefault(ind, {})[meas] = source
    return out


def reminded_units(
    db: Db, day: dt.date, report_code: str = "", last: dt.date | None = None
) -> dict[str, list[dt.datetime]]:
    """Units reminded on `day` (through `last` when given) about `report_code` ("" for the
    config's one report): code -> when each slot's reminder went (one time per slot)."""
    rows = query(
        db,
        "SELECT unit_code, slot_at, MIN(sent_at) FROM outbox WHERE kind = ? AND report_day >= ? AND report_day <= ? "
        "AND report_code = ? AND state = ? GROUP BY unit_code, slot_at",
        (REMINDER, day, last or day, report_code, SENT),
    )
    out: dict[str, list[dt.datetime]] = defaultdict(list)
    for code, _slot, sent_at in rows:
        if code and sent_at is not None:
            out[code].append(utc(sent_at))  # type: ignore[arg-type]
    return {code: sorted(times) for code, times in out.items()}


def first_report_day(db: Db) -> dt.date | None:
    """The earliest day any stored message counts for (None: nothing stored)."""
    rows = query(db, "SELECT MIN(report_day) FROM messages")
    return as_day(rows[0][0]) if rows else None


_DIGEST_COLUMNS = tuple(f.name for f in fields(DigestRecord))
_DIGEST_TIMES = tuple(
    _DIGEST_COLUMNS.index(c) for c in ("lease_until", "handed_over_at", "next_attempt_at", "sent_at", "updated_at")
)


def digest_of_day(db: Db, day: dt.date) -> DigestRecord | None:
    """The digest row of `day` (storage.digests.digest_of, without the ORM)."""
    rows = query(db, f"SELECT {', '.join(_DIGEST_COLUMNS)} FROM digests WHERE report_day = ?", (day,))
    if not rows:
        return None
    columns = list(rows[0])
    for i in _DIGEST_TIMES:
        columns[i] = utc(columns[i])
    columns[_DIGEST_COLUMNS.index("report_day")] = as_day(columns[_DIGEST_COLUMNS.index("report_day")])
    return DigestRecord(*columns)
