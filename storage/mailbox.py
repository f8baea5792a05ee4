"""The SQL of the IMAP bookkeeping (service/ingest/pipeline.py): how far each folder has
been read under its UIDVALIDITY, and the UIDs fetched with what is left to do on the
server. The caller commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from storage.inserts import insert_or_ignore
from storage.models import MailboxMessage, MailboxState

log = logging.getLogger(__name__)

# The action of a UID whose message awaits recognition: what to do on the server depends
# on what it is (a report is moved, an unassigned message flagged), known once it is read.
WAIT = "wait"


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class PendingAction:
    """A fetched UID whose server-side action (move, flag) is not done yet."""

    id: int
    uid: int
    action: str  # move | flag | none


def _load(session: Session, account: str, folder: str) -> MailboxState | None:
    return session.scalar(select(MailboxState).where(MailboxState.account == account, MailboxState.folder == folder))


def folder_state(session: Session, account: str, folder: str, uidvalidity: int, now: dt.datetime) -> FolderState:
    """The folder's progress, created at 0 on its first poll; a changed UIDVALIDITY starts
    it again from 0 (messages already stored are recognised as copies)."""
    state = _load(session, account, folder)
    if state is None:
        # Two instances' first polls of a folder both get here: one row, never an error.
        table = cast(Table, MailboxState.__table__)
        created = session.execute(
            insert_or_ignore(session, table, returning=table.c.id),
            {"account": account, "folder": folder, "uidvalidity": uidvalidity, "last_uid": 0, "updated_at": now},
        ).first()
        if created is None:
            log.info("another instance started polling %s on %s at the same moment", folder, account)
        state = _load(session, account, folder)
        assert state is not None  # inserted, or committed by the other instance
    if state.uidvalidity != uidvalidity:
        log.warning(
            "UIDVALIDITY of %s on %s changed from %d to %d: rescanning the folder "
            "(messages already stored are recognised and not stored again)",
            folder,
            account,
            state.uidvalidity,
            uidvalidity,
        )
        state.uidvalidity = uidvalidity
        state.last_uid = 0
        state.updated_at = now
    return FolderState(state.uidvalidity, state.last_uid)


def stored_folder_state(session: Session, account: str, folder: str) -> FolderState | None:
    """The folder's progress as stored, without creating it (None before its first poll)."""
    state = _load(session, account, folder)
    return FolderState(state.uidvalidity, state.last_uid) if state is not None else None


def advance_folder(
    session: Session, account: str, folder: str, uid: int, now: dt.datetime, *, touch: bool = False
) -> bool:
    """Raise the folder's last UID to `uid`; True when it moved. With `touch`, its
    update time is set even when it did not."""
    state = _load(session, account, folder)
    assert state is not None  # folder_state created it
    moved = state.last_uid < uid
    if moved:
        state.last_uid = uid
    if moved or touch:
        state.updated_at = now
    return moved


def record_uids(session: Session, rows: Sequence[dict[str, Any]]) -> set[int]:
    """Insert the bookkeeping of fetched UIDs; the UIDs this call recorded (another instance
    recording the same UID at the same moment wins: ON CONFLICT DO NOTHING)."""
    if not rows:
        return set()
    table = cast(Table, MailboxMessage.__table__)
    return set(session.scalars(insert_or_ignore(session, table, returning=table.c.uid), rows))


def pending_actions(session: Session, account: str, folder: str, uidvalidity: int) -> list[PendingAction]:
    rows = (
        session.execute(
            select(MailboxMessage.id, MailboxMessage.uid, MailboxMessage.action).where(
                MailboxMessage.account == account,
                MailboxMessage.folder == folder,
                MailboxMessage.uidvalidity == uidvalidity,
                MailboxMessage.done.is_(False),
                MailboxMessage.action != WAIT,
            )
        )
        .tuples()
        .all()
    )
    return [PendingAction(pk, uid, action) for pk, uid, action in rows]


def settle_waiting(session: Session, message_pk: int, action: str) -> None:
    """The UIDs of message `pk` that waited for its recognition get their action."""
    session.execute(
        update(MailboxMessage)
        .where(MailboxMessage.message_pk == message_pk, MailboxMessage.action == WAIT)
        .values(action=action, done=action == "none")
        .execution_options(synchronize_session=False)
    )


def mark_done(session: Session, ids: Collection[int]) -> None:
    """The server-side actions of these rows are carried out."""
    ids = list(ids)
    for first in range(0, len(ids), 500):
        session.execute(
            update(MailboxMessage)
            .where(MailboxMessage.id.in_(ids[first : first + 500]))
            .values(done=True)
            .execution_options(synchronize_session=False)
        )
