"""Sending the digest exactly once per reporting day.

The claim is a row in `digests` (unique per day), taken by insert or by a
compare-and-set update, so two instances on one database never both send; a
lease lets another instance (or a restart) take over from one that died. A failed
send is retried with backoff until it goes; a late digest says so.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from email.utils import make_msgid
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from parsers.message import parse_message
from service.archive import Archive
from service.config import Config
from service.dayview import DayView, build_day_view, is_reporting_day
from service.errors import ArchiveError, BaocaoError, SmtpError
from service.failpoints import failpoint
from service.smtp import smtp_session
from storage.models import Digest, RuntimeState

if TYPE_CHECKING:
    from service.digest import UnreadFile

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY = dt.timedelta(minutes=30)


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class DigestOutcome:
    day: dt.date
    status: str  # sent | already_sent | in_progress | retry_later | not_reporting_day | failed
    detail: str = ""
    sent_at: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def digest_due_at(cfg: Config, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, cfg.schedule.digest_at, tzinfo=cfg.service.timezone)


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8, ... minutes, at most 30."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), MAX_RETRY)


# -- content -------------------------------------------------------------------------------

def unread_files(view: DayView, archive: Archive) -> list[UnreadFile]:
    """The original files of units whose report could not be read, for the coordinator
    (service.digest.UnreadFile, each with the archived message that holds it)."""
    from service.digest import UnreadFile
    out = []
    for unit in view.units:
        if unit.status != "unreadable":
            continue
        for msg in unit.messages:
            wanted = {a.sha256: a for a in msg.attachments if a.outcome != "read"}
            if not wanted:
                continue
            try:
                parsed = parse_message(archive.load(msg.archive_path))
            except ArchiveError as exc:
                log.error("cannot attach the unread file of %s: %s", unit.unit.code, exc)
                continue
            import hashlib
            for att in parsed.attachments:
                if hashlib.sha256(att.data).hexdigest() in wanted:
                    out.append(UnreadFile(f"{unit.unit.code}_{att.filename}", att.content_type, att.data,
                                          str(archive.root / msg.archive_path)))
    return out


def build_digest(cfg: Config, session: Session, archive: Archive, day: dt.date, now: dt.datetime):
    """The digest's content for `day` as of `now` (messages received after `now` excluded)."""
    from service.digest import render_digest
    from service.replies import reminded_units  # replies imports this module
    view = build_day_view(session, cfg, day, until=now)
    return render_digest(view, cfg, now=now, unread_files=unread_files(view, archive),
                         reminded=reminded_units(session, day))


def write_digest_files(content, message, out: Path, day: dt.date) -> None:
    """The digest as files a person can open: .html, .txt, .eml and the workbook."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"digest-{day}.html").write_text(content.html, encoding="utf-8")
        (out / f"digest-{day}.txt").write_text(content.text, encoding="utf-8")
        (out / f"digest-{day}.eml").write_bytes(message.as_bytes())
        for f in content.files:
            if f.filename.endswith(".xlsx") and "spreadsheetml" in f.content_type:
                (out / f"tong-hop-{day}.xlsx").write_bytes(f.data)
                break
    except OSError as exc:
        raise ArchiveError(f"cannot write the digest files to {out}: {exc.strerror or exc}") from exc


# -- the claim -----------------------------------------------------------------------------

def _claim(sessions: sessionmaker[Session], cfg: Config, day: dt.date, now: dt.datetime, owner: str,
           *, resend: bool, ignore_backoff: bool) -> tuple[Digest | None, str]:
    """Take the right to send `day`'s digest; (row, "") or (None, why not)."""
    domain = cfg.smtp.from_address.rsplit("@", 1)[-1] if cfg.smtp else "baocao.local"
    with sessions() as session:
        row = session.scalar(select(Digest).where(Digest.report_day == day))
        if row is None:
            row = Digest(report_day=day, state="sending", message_id=make_msgid("digest", domain),
                         claimed_by=owner, lease_until=now + LEASE, attempts=0, sends=0, updated_at=now)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return None, "in_progress"
            return row, ""
        if row.state == "sent" and not resend:
            return None, "already_sent"
        if row.state == "sending" and row.lease_until > now:
            return None, "in_progress"
        if (row.state == "failed" and row.next_attempt_at and row.next_attempt_at > now
                and not (resend or ignore_backoff)):
            return None, "retry_later"
        values = {"state": "sending", "claimed_by": owner, "lease_until": now + LEASE, "updated_at": now}
        if resend and row.state == "sent":
            values["message_id"] = make_msgid("digest", domain)
        # Compare-and-set: only one of two instances racing here updates the row.
        done = session.execute(update(Digest).where(
            Digest.id == row.id, Digest.state == row.state, Digest.updated_at == row.updated_at)
            .values(**values).execution_options(synchronize_session=False))
        session.commit()
        if done.rowcount != 1:
            return None, "in_progress"
        return session.get(Digest, row.id, populate_existing=True), ""


def _finish(sessions: sessionmaker[Session], row_id: int, **values) -> None:
    with sessions() as session:
        session.execute(update(Digest).where(Digest.id == row_id).values(**values))
        session.commit()


# -- sending -------------------------------------------------------------------------------

def deliver(cfg: Config, message) -> list[str]:
    """Hand `message` to the SMTP server; returns the recipients."""
    if cfg.smtp is None:
        raise SmtpError("the configuration has no [smtp] section to send the digest with")
    recipients = [*cfg.digest.to, *cfg.digest.cc]
    with smtp_session(cfg.smtp) as client:
        refused = client.send_message(message, from_addr=cfg.smtp.from_address, to_addrs=recipients)
    if refused:
        log.warning("the SMTP server refused some digest recipients: %s", ", ".join(refused))
    return recipients


def send_digest(cfg: Config, sessions: sessionmaker[Session], archive: Archive, day: dt.date,
                now: dt.datetime, *, resend: bool = False, ignore_backoff: bool = False,
                owner: str | None = None) -> DigestOutcome:
    """Build and send the digest of `day` unless it was sent (or is being sent) already."""
    if not is_reporting_day(cfg, day) and not resend:
        return DigestOutcome(day, "not_reporting_day")
    row, why = _claim(sessions, cfg, day, now, owner or instance_name(), resend=resend,
                      ignore_backoff=ignore_backoff)
    if row is None:
        with sessions() as session:
            existing = session.scalar(select(Digest).where(Digest.report_day == day))
        return DigestOutcome(day, why, existing.last_error or "" if existing else "",
                             existing.sent_at if existing else None)
    try:
        from service.digest import compose_email
        with sessions() as session:
            content = build_digest(cfg, session, archive, day, now)
        message = compose_email(content, cfg, now=now, message_id=row.message_id)
        failpoint("digest_built")  # a crash here: nothing sent; the next claim (after the lease) sends
        recipients = deliver(cfg, message)
    except Exception as exc:  # noqa: BLE001 - any failure must leave a retryable row
        attempts = row.attempts + 1
        error = str(exc) if isinstance(exc, BaocaoError) else f"{type(exc).__name__}: {exc}"
        _finish(sessions, row.id, state="failed", attempts=attempts, last_error=error[:1000],
                next_attempt_at=now + retry_delay(attempts), updated_at=now)
        log.error("digest for %s not sent (attempt %d, next in %s): %s", day, attempts,
                  retry_delay(attempts), error)
        return DigestOutcome(day, "failed", error)
    # A crash here (accepted by the SMTP server, not yet marked sent) is the one at-least-once
    # window: the next claim sends again, with the same Message-ID so mail clients collapse it.
    failpoint("digest_accepted")
    from service.digest import is_late  # one rule for the log line and the digest's own note
    late = is_late(cfg, day, now)
    _finish(sessions, row.id, state="sent", attempts=row.attempts + 1, last_error=None, next_attempt_at=None,
            sent_at=now, sends=row.sends + 1, recipients=", ".join(recipients), updated_at=now)
    log.info("digest for %s sent to %s%s", day, ", ".join(recipients), " (late)" if late else "")
    return DigestOutcome(day, "sent", "late" if late else "", now)


def digest_state(session: Session, day: dt.date) -> Digest | None:
    return session.scalar(select(Digest).where(Digest.report_day == day))


# -- runtime state (heartbeat, last poll) ---------------------------------------------------

def record_state(sessions: sessionmaker[Session], name: str, value: dict, now: dt.datetime) -> None:
    """Best effort: the state is advisory (health, status), and is written right after a
    failure too, when the database may be the thing that failed."""
    try:
        with sessions() as session:
            row = session.get(RuntimeState, name)
            if row is None:
                session.add(RuntimeState(name=name, value=value, updated_at=now))
            else:
                row.value, row.updated_at = value, now
            try:
                session.commit()
            except IntegrityError:  # another instance wrote it first; ours is as good
                session.rollback()
    except SQLAlchemyError as exc:
        from service.pipeline import describe_db_error
        log.warning("could not record %s in the database: %s", name, describe_db_error(exc))


def read_state(session: Session, name: str) -> RuntimeState | None:
    return session.get(RuntimeState, name)
