"""The SQL of storing messages (service/ingest/): looking up copies, inserting a message
with its attachments, figures and problems, and rewriting what a re-read derived.
The caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from storage.inserts import insert_or_ignore
from storage.kinds import UNASSIGNED
from storage.models import Attachment, Figure, Message, MessageReport, ProblemRow
from storage.records import MessageRecord, message_record

# The rows a message's reading produced, by child table: collected for one executemany
# per table and batch (`insert_children`).
Children = dict[str, list[dict[str, Any]]]
_CHILD_TABLES: dict[str, Table] = {
    "attachments": cast(Table, Attachment.__table__),
    "figures": cast(Table, Figure.__table__),
    "problems": cast(Table, ProblemRow.__table__),
    "reports": cast(Table, MessageReport.__table__),
}


def known_copies(
    session: Session, shas: Collection[str], identities: Collection[str]
) -> list[tuple[int, str, str, str | None]]:
    """(id, kind, sha256, identity_sha256) of the stored messages with one of these
    SHA-256s of the bytes or one of these identities."""
    rows = (
        session.execute(
            select(Message.id, Message.kind, Message.sha256, Message.identity_sha256).where(
                Message.sha256.in_(list(shas)) | Message.identity_sha256.in_(list(identities))
            )
        )
        .tuples()
        .all()
    )
    return [(pk, kind, sha, identity) for pk, kind, sha, identity in rows]


def message_id_counts(session: Session, message_ids: Collection[str]) -> dict[str, int]:
    """How many stored messages carry each of these Message-IDs (those carried at all)."""
    if not message_ids:
        return {}
    rows = (
        session.execute(
            select(Message.message_id, func.count())
            .where(Message.message_id.in_(list(message_ids)))
            .group_by(Message.message_id)
        )
        .tuples()
        .all()
    )
    return {mid: n for mid, n in rows if mid is not None}


def add_message(
    session: Session,
    values: dict[str, Any],
    attachments: Sequence[dict[str, Any]],
    figures: Sequence[dict[str, Any]],
    problems: Sequence[dict[str, Any]],
    children: Children | None = None,
    *,
    reports: Sequence[dict[str, Any]] = (),
) -> int | None:
    """Insert a message row unless the same message (bytes or identity) is stored; its id,
    or None when another instance stored it just now. Its attachments, figures and problems
    are inserted too, or, when `children` is given, collected there (`insert_children`)."""
    # On the connection: no autoflush of the session's pending changes before each message.
    table = cast(Table, Message.__table__)
    row = session.connection().execute(insert_or_ignore(session, table, returning=table.c.id), values).first()
    if row is None:
        return None
    pk = int(row[0])
    pending: Children = children if children is not None else {}
    for name, rows in (("attachments", attachments), ("figures", figures), ("problems", problems)):
        pending.setdefault(name, []).extend({"message_pk": pk, **r} for r in rows)
    if reports:  # only with [[reports]]
        pending.setdefault("reports", []).extend({"message_pk": pk, **r} for r in reports)
    if children is None:
        insert_children(session, pending)
    return pk


def add_messages(
    session: Session,
    messages: Sequence[
        tuple[
            dict[str, Any],
            Sequence[dict[str, Any]],
            Sequence[dict[str, Any]],
            Sequence[dict[str, Any]],
            Sequence[dict[str, Any]],
        ]
    ],
    children: Children,
) -> dict[str, int]:
    """`add_message` for many messages (distinct bytes and identities, the same columns
    each; with attachments, figures, problems and reports) in one statement: sha256 -> id
    of the ones inserted, the others stored by another instance just now. Their child rows are
    collected in `children` (`insert_children`)."""
    if not messages:
        return {}
    table = cast(Table, Message.__table__)
    stmt = insert_or_ignore(session, table, returning=(table.c.id, table.c.sha256))
    inserted = {
        sha: int(pk) for pk, sha in session.connection().execute(stmt, [values for values, *_ in messages]).tuples()
    }
    for values, attachments, figures, problems, reports in messages:
        pk = inserted.get(values["sha256"])
        if pk is None:
            continue
        # reports: the reports the message carries, only with [[reports]]
        for name, rows in (
            ("attachments", attachments),
            ("figures", figures),
            ("problems", problems),
            ("reports", reports),
        ):
            if not rows:
                continue
            children.setdefault(name, []).extend({"message_pk": pk, **r} for r in rows)
    return inserted


def insert_children(session: Session, children: Children) -> None:
    """Insert the collected child rows, one executemany per table; empties `children`."""
    conn = session.connection()
    for name, rows in children.items():
        if rows:
            conn.execute(_CHILD_TABLES[name].insert(), rows)
    children.clear()


def message_by_id(session: Session, pk: int) -> MessageRecord | None:
    row = session.get(Message, pk)
    return message_record(row, attachments=False, problems=False) if row is not None else None


def message_by_sha(session: Session, sha: str) -> MessageRecord | None:
    row = session.scalar(select(Message).where(Message.sha256 == sha))
    return message_record(row, attachments=False, problems=False) if row is not None else None


# -- re-reading stored messages --------------------------------------------------------------


def message_ids_between(
    session: Session, start: dt.date | None, end: dt.date | None, unassigned_only: bool
) -> list[int]:
    """Ids of the messages of report days `start` to `end`, in arrival order."""
    query = select(Message.id).order_by(Message.received_at, Message.id)
    if start:
        query = query.where(Message.report_day >= start)
    if end:
        query = query.where(Message.report_day <= end)
    if unassigned_only:
        query = query.where(Message.kind == UNASSIGNED)
    return list(session.scalars(query).all())


def messages_by_ids(session: Session, ids: Collection[int]) -> list[MessageRecord]:
    """The messages `ids` in arrival order, with their figures and problems."""
    rows = session.scalars(
        select(Message)
        .where(Message.id.in_(list(ids)))
        .options(selectinload(Message.figures), selectinload(Message.problems))
        .order_by(Message.received_at, Message.id)
    ).all()
    return [message_record(m, attachments=False, figures=True) for m in rows]


def rewrite_message(
    session: Session,
    pk: int,
    report_day: dt.date,
    derived: dict[str, Any],
    attachments: Sequence[dict[str, Any]],
    figures: Sequence[dict[str, Any]],
    problems: Sequence[dict[str, Any]],
    *,
    reports: Sequence[dict[str, Any]] = (),
) -> MessageRecord:
    """Replace everything derived from reading message `pk` (reprocessing with a new config):
    `replace_reading`, then the message as now stored, with its figures and problems."""
    replace_reading(session, pk, report_day, derived, attachments, figures, problems, reports=reports)
    msg = session.scalars(
        select(Message)
        .where(Message.id == pk)
        .options(selectinload(Message.figures), selectinload(Message.problems))
        .execution_options(populate_existing=True)
    ).one()
    return message_record(msg, attachments=False, figures=True)


# -- recognition left for later (service/ingest/pipeline.py, `recognise_pending`) ------------


def replace_reading(
    session: Session,
    pk: int,
    report_day: dt.date,
    derived: dict[str, Any],
    attachments: Sequence[dict[str, Any]],
    figures: Sequence[dict[str, Any]],
    problems: Sequence[dict[str, Any]],
    *,
    reports: Sequence[dict[str, Any]] = (),
) -> None:
    """Replace everything derived from reading message `pk` with a few statements, without
    loading the message and its rows into the session (the full reading of a message
    stored awaiting recognition: ~9 ms of CPU a message through the ORM's unit of work,
    before). Objects of message `pk` the session
    already holds are not updated: the caller reads it again in a new session or with
    `populate_existing`."""
    session.execute(
        update(Message)
        .where(Message.id == pk)
        .values(report_day=report_day, **derived)
        .execution_options(synchronize_session=False)
    )
    for table in _CHILD_TABLES.values():
        session.execute(delete(table).where(table.c.message_pk == pk).execution_options(synchronize_session=False))
    insert_children(
        session,
        {
            name: [{"message_pk": pk, **r} for r in rows]
            for name, rows in (
                ("attachments", attachments),
                ("figures", figures),
                ("problems", problems),
                ("reports", reports),
            )
        },
    )


def pending_recognitions(session: Session) -> list[tuple[int, str, dt.datetime]]:
    """(id, archive path, arrival) of the messages stored awaiting recognition, oldest first."""
    rows = session.execute(
        select(Message.id, Message.archive_path, Message.received_at)
        .where(Message.recognition_pending.is_(True))
        .order_by(Message.received_at, Message.id)
    ).tuples()
    return [(pk, path, at) for pk, path, at in rows]


def claim_pending(session: Session, pk: int) -> bool:
    """Whether message `pk` still awaits recognition; on PostgreSQL its row stays locked
    until the caller commits, so two instances never both replace its reading."""
    query = select(Message.recognition_pending).where(Message.id == pk).with_for_update()
    return bool(session.scalar(query))


def identities_taken(session: Session, identities: Collection[str]) -> dict[str, int]:
    """identity_sha256 -> id of the message that has it, for these identities."""
    if not identities:
        return {}
    rows = (
        session.execute(
            select(Message.identity_sha256, Message.id).where(Message.identity_sha256.in_(list(identities)))
        )
        .tuples()
        .all()
    )
    return {identity: pk for identity, pk in rows if identity is not None}


def set_identity(session: Session, pk: int, content_sha256: str | None, identity_sha256: str | None) -> None:
    msg = session.get_one(Message, pk)
    msg.content_sha256, msg.identity_sha256 = content_sha256, identity_sha256
