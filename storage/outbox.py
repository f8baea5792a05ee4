"""The SQL of the outbox (service/schedule/outbox.py): planning rows once by their key,
the daily cap, who reported or was reminded, expiring, finding due rows, and the
reports an acknowledgement speaks about. The caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from storage import days
from storage.inserts import insert_or_ignore
from storage.kinds import ACK as ACK  # the outbox's kinds and states, for callers
from storage.kinds import EXPIRED as EXPIRED
from storage.kinds import FAILED as FAILED
from storage.kinds import NOTICE as NOTICE
from storage.kinds import PENDING as PENDING
from storage.kinds import REMINDER as REMINDER
from storage.kinds import REPORT, UNASSIGNED
from storage.kinds import SENDING as SENDING
from storage.kinds import SENT as SENT
from storage.kinds import SKIPPED as SKIPPED
from storage.leases import LeaseInfo
from storage.models import Message, OutboxMail
from storage.records import MessageRecord, message_record

# Rows that count against the per-address daily cap: everything that went or may still go
# (the cap counts per report: service/schedule/outbox.py _plan_one).
COUNTED = (PENDING, SENDING, SENT, FAILED)


@dataclass(frozen=True)
class OutboxRecord:
    """An outbox row as the mail it stands for needs it."""

    id: int
    kind: str
    dedupe_key: str
    recipient: str
    unit_code: str | None
    message_pk: int | None
    report_day: dt.date | None
    message_id: str
    attempts: int
    report_code: str = ""  # a reminder's [[reports]] entry


@dataclass(frozen=True)
class DueRow:
    """A row a drain may claim, with its lease as seen."""

    id: int
    attempts: int
    kind: str
    recipient: str
    dedupe_key: str
    lease: LeaseInfo


def reply_candidates(
    session: Session, now: dt.datetime, since: dt.datetime, since_day: dt.date, reply_unknown: bool
) -> list[MessageRecord]:
    """Messages received by IMAP between `since` and `now` (report day from `since_day`)
    that still want an acknowledgement, or a notice to an unknown sender when `reply_unknown`."""
    acknowledged = exists().where(OutboxMail.message_pk == Message.id, OutboxMail.kind == ACK)
    wanted = and_(
        or_(
            Message.kind == REPORT,
            and_(Message.kind == UNASSIGNED, Message.reason.startswith("shared_sender_unresolved", autoescape=True)),
        ),
        ~acknowledged,
    )
    if reply_unknown:
        noticed = exists().where(
            OutboxMail.kind == NOTICE,
            OutboxMail.recipient == Message.from_address,
            OutboxMail.report_day == Message.report_day,
        )
        wanted = or_(
            wanted,
            and_(Message.kind == UNASSIGNED, Message.reason.startswith("unknown_sender", autoescape=True), ~noticed),
        )
    rows = session.scalars(
        select(Message)
        .where(
            Message.source == "imap",
            Message.received_at >= since,
            # the same bound on the indexed column: no scan of the whole history
            Message.report_day >= since_day,
            Message.received_at <= now,
            Message.from_address.is_not(None),
            # a reply about figures waits until its scans and photos are read
            Message.recognition_pending.is_(False),
            wanted,
        )
        .order_by(Message.received_at, Message.id)
    ).all()
    return [message_record(m, attachments=False, problems=False) for m in rows]


def insert_once(session: Session, values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING; True when the row is new.

    Atomic on both databases: of two instances planning the same mail, one inserts and
    the other's statement does nothing (on PostgreSQL it waits for the first to commit).
    """
    table = cast(Table, OutboxMail.__table__)
    inserted = session.execute(insert_or_ignore(session, table, ["dedupe_key"], table.c.id).values(**values)).first()
    return inserted is not None


def counted_today(session: Session, address: str, day: dt.date, report_code: str = "") -> int:
    """Mails to `address` counted against its cap on `day`: those of `report_code` only (a
    [[reports]] entry's reminders; "" the replies, and without [[reports]] the reminders too)."""
    return (
        session.scalar(
            select(func.count(OutboxMail.id)).where(
                OutboxMail.recipient == address,
                OutboxMail.cap_day == day,
                OutboxMail.report_code == report_code,
                OutboxMail.state.in_(COUNTED),
            )
        )
        or 0
    )


def reported_units(session: Session, day: dt.date, until: dt.datetime) -> set[str]:
    """Units with a report message (readable or not) on `day`, received up to `until`."""
    return {
        code
        for code in session.scalars(
            select(Message.unit_code)
            .where(
                Message.kind == REPORT,
                Message.report_day == day,
                Message.received_at <= until,
                Message.unit_code.is_not(None),
            )
            .distinct()
        )
        if code is not None
    }


def reminded_units(
    session: Session, day: dt.date, report_code: str = "", last: dt.date | None = None
) -> dict[str, list[dt.datetime]]:
    """Units reminded on `day` (through `last` when given) about `report_code` ("" for the
    config's one report): code -> when each slot's reminder went (one time per slot)."""
    return days.reminded_units(session, day, report_code, last)


def expire_due(session: Session, now: dt.datetime) -> int:
    """Rows that can no longer go in time (an old acknowledgement, a superseded reminder).
    A holder whose lease ran out then finds the row no longer `sending`: its finish does nothing."""
    done = session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.expires_at <= now,
            or_(
                OutboxMail.state == PENDING,
                and_(OutboxMail.state == FAILED, OutboxMail.next_attempt_at.is_not(None)),
                and_(OutboxMail.state == SENDING, OutboxMail.lease_until <= now),
            ),
        )
        .values(state=EXPIRED, updated_at=now, lease_until=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def due_rows(session: Session, now: dt.datetime, holder_identity: str, limit: int) -> list[DueRow]:
    """Rows due now, in id order: new, failed and past their backoff, or sending under a
    lease that ran out or was held by this holder (its previous run died)."""
    rows = session.execute(
        select(
            OutboxMail.id,
            OutboxMail.attempts,
            OutboxMail.kind,
            OutboxMail.recipient,
            OutboxMail.dedupe_key,
            OutboxMail.state,
            OutboxMail.lease_token,
            OutboxMail.claimed_by,
            OutboxMail.holder_process,
            OutboxMail.lease_until,
        )
        .where(
            or_(
                OutboxMail.state == PENDING,
                and_(OutboxMail.state == FAILED, OutboxMail.next_attempt_at <= now),
                and_(
                    OutboxMail.state == SENDING,
                    or_(OutboxMail.lease_until <= now, OutboxMail.claimed_by == holder_identity),
                ),
            )
        )
        .order_by(OutboxMail.id)
        .limit(limit)
    ).all()
    return [
        DueRow(pk, attempts, kind, recipient, key, LeaseInfo(*lease))
        for pk, attempts, kind, recipient, key, *lease in rows
    ]


def outbox_row(session: Session, row_id: int) -> OutboxRecord | None:
    row = session.get(OutboxMail, row_id)
    if row is None:
        return None
    return OutboxRecord(
        row.id,
        row.kind,
        row.dedupe_key,
        row.recipient,
        row.unit_code,
        row.message_pk,
        row.report_day,
        row.message_id,
        row.attempts,
        row.report_code or "",
    )


def message_with_figures(session: Session, pk: int) -> MessageRecord | None:
    """One stored message with its attachments, problems and figures."""
    row = session.get(Message, pk)
    return message_record(row, figures=True) if row is not None else None


def sent_by_us(session: Session, message_ids: Collection[str]) -> bool:
    """Whether any of `message_ids` (with or without angle brackets) is one of our mails."""
    count = session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.message_id.in_(list(message_ids))))
    return bool(count)


def report_history(session: Session, msg: MessageRecord) -> tuple[list[MessageRecord], MessageRecord | None]:
    """The unit's earlier report messages of the same day (oldest first) and its latest
    readable report of an earlier day (for the cumulative-decrease check)."""
    earlier = [
        message_record(m, attachments=False, problems=False)
        for m in session.scalars(
            select(Message)
            .where(
                Message.kind == REPORT,
                Message.unit_code == msg.unit_code,
                Message.report_day == msg.report_day,
                Message.received_at <= msg.received_at,
                Message.id != msg.id,
            )
            .order_by(Message.received_at, Message.id)
        ).all()
        if m.received_at < msg.received_at or m.id < msg.id
    ]
    previous = session.scalar(
        select(Message)
        .where(
            Message.kind == REPORT,
            Message.unit_code == msg.unit_code,
            Message.readable.is_(True),
            Message.report_day < msg.report_day,
        )
        .options(selectinload(Message.figures))
        .order_by(Message.report_day.desc(), Message.received_at.desc(), Message.id.desc())
        .limit(1)
    )
    if previous is None:
        return earlier, None
    return earlier, message_record(previous, attachments=False, problems=False, figures=True)
