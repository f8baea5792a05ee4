"""Sending the digest exactly once per reporting day.

The claim is a row in `digests` (unique per day), taken by insert or by a compare-and-set
on its lease token (service/schedule/lease.py), so two instances on one database never both send; a
short lease renewed while the work runs lets another instance (or a restart) take over from
one that died. The digest goes with a Bcc to the service's own mailbox, so that when a
crash or a lost answer leaves it unknown whether the server accepted it, the copy decides.
A failed send is retried with backoff until it goes; a late digest says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.config import Config
from service.day.dayview import is_reporting_day
from service.errors import BaocaoError, MailboxError, SmtpError
from service.failpoints import failpoint
from service.ingest.archive import Archive
from service.mail.smtp import smtp_session
from service.schedule.content import UNCERTAIN as UNCERTAIN  # the digest's content, re-exported
from service.schedule.content import build_digest as build_digest
from service.schedule.content import flagged_files as flagged_files
from service.schedule.content import unread_files as unread_files
from service.schedule.content import write_digest_files as write_digest_files
from service.schedule.lease import LEASE_TTL, Holder, Lease, describe, holder_for, new_token, retry_delay
from storage.digests import (
    create_digest,
    digest_by_id,
    digest_of,
    write_state,
)
from storage.leases import LeaseInfo
from storage.models import Digest
from storage.records import DigestRecord

log = logging.getLogger(__name__)

# How long the copy of a digest whose hand-over had no known outcome may take to arrive
# before the digest is sent again; and how long an unreachable mailbox delays that resend.
COPY_GRACE = 2 * LEASE_TTL
COPY_CHECK_GIVE_UP = dt.timedelta(minutes=15)


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class DigestOutcome:
    day: dt.date
    # sent | already_sent | in_progress | retry_later | not_reporting_day | failed | taken_over
    # | waiting_for_copy
    status: str
    detail: str = ""  # the error; "late"; "copy_found" (it had gone: marked sent, not resent)
    sent_at: dt.datetime | None = None
    holder: str = ""  # whose lease is in the way (in_progress) or was taken over
    until: dt.datetime | None = None  # when the lease in the way runs out

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def digest_due_at(cfg: Config, day: dt.date) -> dt.datetime:
    if cfg.reports:  # a report's digest (cfg: reportview.report_config): its period's digest time
        from service.day.periods import period_of

        return period_of(cfg.reports[0], day, cfg.service.timezone).digest_at
    return dt.datetime.combine(day, cfg.schedule.digest_at, tzinfo=cfg.service.timezone)


def report_code_of(cfg: Config) -> str:
    """Whose digest `cfg` sends: "" for a config without [[reports]], else the code of the
    report `reportview.report_config` made it for; its `day` is then its period's first day."""
    return cfg.reports[0].code if cfg.reports else ""


def digest_expected_on(cfg: Config, day: dt.date) -> bool:
    """Whether `day` has a digest: a reporting day, or any period of a report that is not daily."""
    return is_reporting_day(cfg, day) if not cfg.reports or cfg.reports[0].period == "day" else True


# -- the claim -----------------------------------------------------------------------------


class LeaseLost(BaocaoError):
    """Raised right before the SMTP DATA when another instance has taken the digest over."""


@dataclass
class _Claim:
    lease: Lease | None
    row: DigestRecord | None
    why: str = ""  # why not claimed: already_sent | in_progress | retry_later
    previous: str = ""  # whose lease it was, when one was taken over or is in the way
    until: dt.datetime | None = None  # when the lease in the way runs out


def _claim(
    sessions: sessionmaker[Session],
    cfg: Config,
    day: dt.date,
    now: dt.datetime,
    holder: Holder,
    *,
    resend: bool,
    ignore_backoff: bool,
    force: bool,
) -> _Claim:
    """Take the right to send `day`'s digest: by inserting its row, or by a compare-and-set
    on the lease token of the row as it was read (service.schedule.lease)."""
    domain = cfg.smtp.from_address.rsplit("@", 1)[-1] if cfg.smtp else "baocao.local"
    lease = Lease(sessions, Digest, new_token(), holder, now, what=f"digest for {day}")
    with sessions() as session:
        row = digest_of(session, day, report_code_of(cfg))
        if row is None:
            row = create_digest(
                session,
                dict(
                    report_day=day,
                    report_code=report_code_of(cfg),
                    message_id=make_msgid("digest", domain),
                    attempts=0,
                    sends=0,
                    updated_at=now,
                    **lease.claim_values(),
                ),
            )
            if row is None:  # the other instance inserted it first
                return _Claim(None, None, "in_progress")
            lease.adopt(row.id)
            return _Claim(lease, row)
        seen = LeaseInfo.of(row)
        previous = describe(row.claimed_by, row.holder_process)
        if row.state == "sent" and not resend:
            return _Claim(None, None, "already_sent")
        live = row.state == "sending" and row.lease_until > now
        if live and holder.held_by_my_dead_predecessor(seen):
            # Our own earlier run died holding it: nobody else can be sending it, so there is
            # no need to wait for the lease to run out. Whether it went is settled below.
            log.info(
                "digest for %s: taking back the lease of this instance's previous run (%s), "
                "which ended without finishing it",
                day,
                previous,
            )
        elif live and force:
            log.warning(
                "digest for %s: taking over the lease of %s (until %s) on the operator's request",
                day,
                previous,
                _local_text(cfg, row.lease_until),
            )
        elif live:
            return _Claim(None, None, "in_progress", previous, row.lease_until)
        elif row.state == "sending":
            log.info(
                "digest for %s: taking over from %s, whose lease ran out at %s",
                day,
                previous,
                _local_text(cfg, row.lease_until),
            )
        if (
            row.state == "failed"
            and row.next_attempt_at
            and row.next_attempt_at > now
            and not (resend or ignore_backoff or force)
        ):
            return _Claim(None, None, "retry_later")
        values: dict[str, Any] = {"updated_at": now}
        if resend and row.state == "sent":
            values.update(message_id=make_msgid("digest", domain), handed_over_at=None)
        if not lease.take(session, row.id, seen, values, live=live):
            session.rollback()
            return _Claim(None, None, "in_progress")
        session.commit()
        return _Claim(lease, digest_by_id(session, row.id), previous=previous if seen.state == "sending" else "")


def _local_text(cfg: Config, when: dt.datetime) -> str:
    return f"{when.astimezone(cfg.service.timezone):%H:%M:%S %d/%m/%Y}"


# -- sending -------------------------------------------------------------------------------


def copy_address(cfg: Config) -> str | None:
    """Where the digest's own copy goes (Bcc): `[digest] copy_to`, by default the IMAP user
    name when it is an address; None when switched off or unknown."""
    if cfg.digest.copy_to is not None:
        return cfg.digest.copy_to or None
    if cfg.imap is not None and "@" in cfg.imap.username:
        return cfg.imap.username
    return None


class Handover:
    """The SMTP hand-over of one claimed digest.

    `fence` runs after MAIL FROM and RCPT TO were accepted, right before DATA: it checks
    and renews the lease and marks the row `handed_over_at`, in one compare-and-set, so an
    instance that lost its lease (paused past expiry, taken over) never transmits. From
    then until the server answers the DATA, whether the digest went is unknown.
    """

    def __init__(self, lease: Lease, row_id: int) -> None:
        self.lease, self.row_id = lease, row_id
        self.at: dt.datetime | None = None
        self.answered = False

    def fence(self) -> None:
        at = self.lease.now()
        if self.lease.lost.is_set() or not self.lease.confirm(self.row_id, handed_over_at=at):
            raise LeaseLost(f"another instance has taken over the {self.lease.what}")
        self.at = at
        failpoint("digest_handover")  # a pause here is the narrowest window left (see docs)

    @property
    def unknown(self) -> bool:
        """Whether the server may have accepted the digest though no answer came back."""
        return self.at is not None and not self.answered


def deliver(
    cfg: Config, message: EmailMessage, *, copy_to: str | None = None, handover: Handover | None = None
) -> list[str]:
    """Hand `message` to the SMTP server, with a Bcc to `copy_to`; returns the recipients."""
    if cfg.smtp is None:
        raise SmtpError("the configuration has no [smtp] section to send the digest with")
    recipients = [*cfg.digest.to, *cfg.digest.cc]
    envelope = [*recipients, copy_to] if copy_to and copy_to.lower() not in map(str.lower, recipients) else recipients
    with smtp_session(cfg.smtp) as client:
        if handover is not None:
            # sendmail calls it after MAIL and RCPT
            client.data = _fenced_data(client.data, handover)  # type: ignore[method-assign,assignment]
        refused = client.send_message(message, from_addr=cfg.smtp.from_address, to_addrs=envelope)
    if refused:
        log.warning("the SMTP server refused some digest recipients: %s", ", ".join(refused))
    return recipients


def _fenced_data(data: Callable[[Any], tuple[int, bytes]], handover: Handover) -> Callable[[Any], tuple[int, bytes]]:
    def fenced(msg: Any) -> tuple[int, bytes]:
        handover.fence()
        try:
            reply = data(msg)
        except smtplib.SMTPResponseException:
            handover.answered = True  # refused with a code: known not sent
            raise
        handover.answered = True
        return reply

    return fenced


def find_copy(cfg: Config, message_id: str) -> str | None:
    """The folder of the service's mailbox holding a message with `message_id`, or None.

    The watched folder first, then the processed one: a copy moved between the two
    searches is then still found in the second.
    """
    from service.mail.mailbox import Mailbox

    assert cfg.imap is not None
    folders = [cfg.imap.folder, *([cfg.imap.processed_folder] if cfg.imap.processed_folder else [])]
    with Mailbox(cfg.imap) as mailbox:
        for folder in folders:
            if mailbox.search_message_id(folder, message_id):
                return folder
    return None


@dataclass(frozen=True)
class _Earlier:
    """What is known of an earlier attempt whose outcome was unknown."""

    found_in: str | None = None  # the folder its copy is in: it went
    wait_until: dt.datetime | None = None  # not known yet: look again then
    reason: str = ""


def _earlier_attempt(cfg: Config, row: DigestRecord, now: dt.datetime, force: bool) -> _Earlier:
    """Whether the digest handed over at `row.handed_over_at` went, from its copy."""
    assert row.handed_over_at is not None
    since = _local_text(cfg, row.handed_over_at)
    if cfg.imap is None or copy_address(cfg) is None:
        log.warning(
            "digest for %s: whether the attempt at %s went is unknown, and it has no copy to "
            "look for ([digest] copy_to); sending it (again)",
            row.report_day,
            since,
        )
        return _Earlier()
    try:
        found_in = find_copy(cfg, row.message_id)
    except MailboxError as exc:
        if force or now - row.handed_over_at >= COPY_CHECK_GIVE_UP:
            log.warning(
                "digest for %s: cannot look for the copy of the attempt at %s (%s); sending it (again)",
                row.report_day,
                since,
                exc,
            )
            return _Earlier()
        return _Earlier(
            wait_until=now + retry_delay(row.attempts),
            reason=f"whether the attempt at {since} went is unknown and its copy cannot be looked for: {exc}",
        )
    if found_in is not None:
        return _Earlier(found_in=found_in)
    if not force and now < row.handed_over_at + COPY_GRACE:
        until = row.handed_over_at + COPY_GRACE
        return _Earlier(
            wait_until=until,
            reason=f"whether the attempt at {since} went is unknown and its copy has not arrived "
            f"(yet); it is sent again at {_local_text(cfg, until)} unless the copy arrives",
        )
    log.warning("digest for %s: no copy of the attempt at %s arrived; sending it again", row.report_day, since)
    return _Earlier()


def send_digest(
    cfg: Config,
    sessions: sessionmaker[Session],
    archive: Archive,
    day: dt.date,
    now: dt.datetime,
    *,
    resend: bool = False,
    ignore_backoff: bool = False,
    force: bool = False,
    owner: Holder | str | None = None,
) -> DigestOutcome:
    """Build and send the digest of `day` unless it was sent (or is being sent) already.

    `force` takes over a lease another instance holds (the operator's `--force`) and does
    not wait for the copy of an earlier attempt to arrive.
    """
    if not digest_expected_on(cfg, day) and not resend:
        return DigestOutcome(day, "not_reporting_day")
    claim = _claim(
        sessions,
        cfg,
        day,
        now,
        holder_for(owner, cfg.source),
        resend=resend,
        ignore_backoff=ignore_backoff,
        force=force,
    )
    if claim.lease is None or claim.row is None:
        with sessions() as session:
            existing = digest_of(session, day, report_code_of(cfg))
        return DigestOutcome(
            day,
            claim.why,
            existing.last_error or "" if existing else "",
            existing.sent_at if existing else None,
            holder=claim.previous,
            until=claim.until,
        )
    with claim.lease.kept_alive():
        outcome = _send_claimed(cfg, sessions, archive, day, now, claim.lease, claim.row, force=force)
    return dataclasses.replace(outcome, holder=claim.previous)


def _send_claimed(
    cfg: Config,
    sessions: sessionmaker[Session],
    archive: Archive,
    day: dt.date,
    now: dt.datetime,
    lease: Lease,
    row: DigestRecord,
    *,
    force: bool,
) -> DigestOutcome:
    recipients = [*cfg.digest.to, *cfg.digest.cc]
    if row.handed_over_at is not None:
        earlier = _earlier_attempt(cfg, row, now, force)
        if earlier.found_in is not None:
            lease.finish(
                row.id,
                state="sent",
                attempts=row.attempts + 1,
                last_error=None,
                next_attempt_at=None,
                handed_over_at=None,
                sent_at=row.handed_over_at,
                sends=row.sends + 1,
                recipients=", ".join(recipients),
                updated_at=now,
            )
            log.info(
                "digest for %s had gone at %s: its copy is in %s; not sending it again",
                day,
                _local_text(cfg, row.handed_over_at),
                earlier.found_in,
            )
            return DigestOutcome(day, "sent", "copy_found", row.handed_over_at)
        if earlier.wait_until is not None:
            lease.finish(
                row.id,
                state="failed",
                last_error=earlier.reason[:1000],
                next_attempt_at=earlier.wait_until,
                updated_at=now,
            )
            log.warning("digest for %s not sent yet: %s", day, earlier.reason)
            return DigestOutcome(day, "waiting_for_copy", earlier.reason)
    handover = Handover(lease, row.id)
    try:
        from service.outputs.digest import compose_email

        with sessions() as session:
            content = build_digest(cfg, session, archive, day, now)
        message = compose_email(content, cfg, now=now, message_id=row.message_id)
        failpoint("digest_built")  # a crash here: nothing sent; the next claim sends
        recipients = deliver(cfg, message, copy_to=copy_address(cfg), handover=handover)
    except LeaseLost:
        who = lease.taken_over_by(row.id)
        log.warning("digest for %s not sent by this instance: %s took it over", day, who)
        return DigestOutcome(day, "taken_over", who)
    except Exception as exc:  # noqa: BLE001 - any failure must leave a retryable row
        attempts = row.attempts + 1
        error = str(exc) if isinstance(exc, BaocaoError) else f"{type(exc).__name__}: {exc}"
        lease.finish(
            row.id,
            state="failed",
            attempts=attempts,
            last_error=error[:1000],
            next_attempt_at=now + retry_delay(attempts),
            updated_at=now,
            handed_over_at=handover.at if handover.unknown else None,
        )
        log.error(
            "digest for %s not sent (attempt %d, next in %s): %s%s",
            day,
            attempts,
            retry_delay(attempts),
            error,
            "; the server may have accepted it: its copy is looked for before sending again"
            if handover.unknown
            else "",
        )
        return DigestOutcome(day, "failed", error)
    # A crash here (accepted by the SMTP server, not yet marked sent) leaves the row
    # `sending` with `handed_over_at`: the next claim finds the Bcc copy and does not resend.
    failpoint("digest_accepted")
    from service.outputs.digest import LATE_AFTER, is_late  # one rule for the log line and the digest's own note

    late = is_late(cfg, day, now) if not cfg.reports else now - digest_due_at(cfg, day) > LATE_AFTER
    lease.finish(
        row.id,
        state="sent",
        attempts=row.attempts + 1,
        last_error=None,
        next_attempt_at=None,
        handed_over_at=None,
        sent_at=now,
        sends=row.sends + 1,
        recipients=", ".join(recipients),
        updated_at=now,
    )
    log.info("digest for %s sent to %s%s", day, ", ".join(recipients), " (late)" if late else "")
    return DigestOutcome(day, "sent", "late" if late else "", now)


# -- runtime state (heartbeat, last poll) ---------------------------------------------------


def record_state(sessions: sessionmaker[Session], name: str, value: dict[str, Any], now: dt.datetime) -> None:
    """Best effort: the state is advisory (health, status), and is written right after a
    failure too, when the database may be the thing that failed."""
    try:
        with sessions() as session:
            write_state(session, name, value, now)
    except SQLAlchemyError as exc:
        from storage.db import describe_db_error

        log.warning("could not record %s in the database: %s", name, describe_db_error(exc))


def outcome_sentence(outcome: DigestOutcome, cfg: Config) -> str:
    """What `baocao digest` says about the outcome (the operator's terminal, English)."""
    day = outcome.day
    tz = cfg.service.timezone
    messages = {
        "sent": f"Digest for {day:%d/%m/%Y} sent to {', '.join(cfg.digest.to)}"
        + (" (late)" if outcome.detail == "late" else "")
        + ".",
        "already_sent": f"The digest for {day:%d/%m/%Y} was already sent"
        + (f" at {outcome.sent_at.astimezone(tz):%H:%M %d/%m/%Y}" if outcome.sent_at else "")
        + "; use --resend to send it again.",
        "in_progress": f"Another instance, {outcome.holder}, is sending the digest for {day:%d/%m/%Y} right now"
        + (f" (its lease runs until {outcome.until.astimezone(tz):%H:%M:%S})" if outcome.until else "")
        + "; use --force to take it over.",
        "not_reporting_day": f"{day:%d/%m/%Y} is not a reporting day; no digest is due "
        "(use --resend to send one anyway).",
        "taken_over": f"The digest for {day:%d/%m/%Y} was not sent by this command: {outcome.detail} took it over.",
        "waiting_for_copy": f"The digest for {day:%d/%m/%Y} was not sent again: {outcome.detail} "
        "(use --force to send it now).",
    }
    if outcome.detail == "copy_found" and outcome.sent_at:
        messages["sent"] = (
            f"The digest for {day:%d/%m/%Y} had gone at {outcome.sent_at.astimezone(tz):%H:%M} "
            "(its copy is in the mailbox); marked sent, not sent again."
        )
    return messages.get(outcome.status, outcome.status)
