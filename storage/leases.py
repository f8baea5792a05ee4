"""The SQL of leases (service/schedule/lease.py): claim, renew and finish rows of a leased table
(`digests`, `outbox`) by compare-and-set on the lease token. The caller commits.

A leased table has `id`, `state`, `lease_token`, `lease_until`, `claimed_by` and
`holder_process`; "sending" is the state of a row under a lease. Every claim writes a new
random token and tokens are never reused, so a token seen once identifies one claim: a
statement conditional on it cannot act on a row someone else has claimed since.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from storage.models import Digest, OutboxMail
from storage.records import DigestRecord

LEASED = "sending"  # the state of a row while an instance holds its lease
LeasedModel = type[Digest] | type[OutboxMail]


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds (or last held) a row's lease."""

    state: str
    token: str | None
    claimed_by: str | None
    holder_process: str | None
    lease_until: dt.datetime | None

    @classmethod
    def of(cls, row: Digest | OutboxMail | DigestRecord) -> LeaseInfo:
        return cls(row.state, row.lease_token, row.claimed_by, row.holder_process, row.lease_until)


def lease_info(session: Session, model: LeasedModel, row_id: int) -> LeaseInfo | None:
    row = session.execute(
        select(model.state, model.lease_token, model.claimed_by, model.holder_process, model.lease_until).where(
            model.id == row_id
        )
    ).first()
    return LeaseInfo(*row) if row is not None else None


def take_lease(
    session: Session,
    model: LeasedModel,
    row_id: int,
    *,
    seen: LeaseInfo,
    now: dt.datetime,
    values: dict[str, Any],
    live: bool = False,
) -> bool:
    """Claim a row as it was `seen`: True when this statement changed it.

    `values` must set the new token, holder, `lease_until` and the state. The row must still
    carry the token and state seen (no one claimed or finished it since), and a lease in
    force is taken only with `live` (the holder is known dead, or the operator forces it).
    """
    conditions = [model.id == row_id, model.state == seen.state, model.lease_token.is_not_distinct_from(seen.token)]
    if not live:
        conditions.append(or_(model.state != LEASED, model.lease_until.is_(None), model.lease_until <= now))
    done = session.execute(
        update(model).where(*conditions).values(**values).execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], done).rowcount == 1)


def update_leased(session: Session, model: LeasedModel, row_id: int, token: str, values: dict[str, Any]) -> bool:
    """Change a row only while it is still under the lease `token`: True when it was."""
    done = session.execute(
        update(model)
        .where(model.id == row_id, model.lease_token == token, model.state == LEASED)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], done).rowcount == 1)


def renew_leases(session: Session, model: LeasedModel, token: str, until: dt.datetime) -> int:
    """Extend every row still under the lease `token`; how many there are."""
    done = session.execute(
        update(model)
        .where(model.lease_token == token, model.state == LEASED)
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], done).rowcount or 0)
