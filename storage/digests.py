"""The SQL of the digest's claim row (service/schedule/dispatch.py) and of the small named
runtime facts (heartbeat, last poll, IMAP health) that `health` and `status` read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Digest, RuntimeState
from storage.records import DigestRecord


@dataclass(frozen=True)
class StateRecord:
    """One named runtime fact."""

    name: str
    value: dict[str, Any]
    updated_at: dt.datetime


def _record(row: Digest) -> DigestRecord:
    return DigestRecord(
        row.id,
        row.report_day,
        row.state,
        row.message_id,
        row.claimed_by,
        row.lease_until,
        row.lease_token,
        row.holder_process,
        row.handed_over_at,
        row.attempts,
        row.last_error,
        row.next_attempt_at,
        row.sent_at,
        row.sends,
        row.recipients,
        row.updated_at,
    )


def digest_of(session: Session, day: dt.date, report_code: str = "") -> DigestRecord | None:
    """The digest of `day` ("" for the config's one report), or of `report_code`'s period starting on it."""
    row = session.scalar(select(Digest).where(Digest.report_day == day, Digest.report_code == report_code))
    return _record(row) if row is not None else None


def digest_by_id(session: Session, row_id: int) -> DigestRecord | None:
    row = session.get(Digest, row_id, populate_existing=True)
    return _record(row) if row is not None else None


def create_digest(session: Session, values: dict[str, Any]) -> DigestRecord | None:
    """Insert a day's row and commit: None when another instance inserted it first."""
    row = Digest(**values)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return _record(row)


def write_state(session: Session, name: str, value: dict[str, Any], now: dt.datetime) -> None:
    """Set `name` to `value` and commit (another instance writing it first is as good)."""
    row = session.get(RuntimeState, name)
    if row is None:
        session.add(RuntimeState(name=name, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
    try:
        session.commit()
    except IntegrityError:
        session.rollback()


def read_state(session: Session, name: str) -> StateRecord | None:
    row = session.get(RuntimeState, name)
    return StateRecord(row.name, dict(row.value or {}), row.updated_at) if row is not None else None
