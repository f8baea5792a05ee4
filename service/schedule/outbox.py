"""Mail to the units: acknowledgements of their reports, notices to unknown senders, reminders.

Creating an outbox row is the decision to send (its key is unique, so each mail is
decided once across restarts and instances); `drain_outbox` leases due rows
(service/schedule/lease.py: a token per claim, renewed while it sends, every outcome recorded by
compare-and-set on it), sends them and retries failures with backoff, apart from ingestion.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
import smtplib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from parsers.text import clean_text
from service.config import Config
from service.day.periods import period_of, reminder_slots
from service.day.reminders import reminder_addresses, reminders_expected
from service.errors import ArchiveError, SmtpError
from service.ingest.archive import Archive
from service.mail.smtp import describe_smtp_error, smtp_session
from service.outputs.i18n import fill
from service.outputs.replies import (
    ReportHistory,
    ack_model,
    compose_mail,
    notice_model,
    reminder_model,
    reply_subject,
    unresolved_model,
    words,
)
from service.schedule.lease import LEASE_TTL, Holder, Lease, holder_for, new_token, retry_delay
from service.schedule.recent import RECENT
from storage.kinds import REPORT, UNASSIGNED
from storage.models import OutboxMail
from storage.outbox import (  # noqa: F401 - the kinds and states, for callers
    ACK,
    COUNTED,
    EXPIRED,
    FAILED,
    NOTICE,
    PENDING,
    REMINDER,
    SENDING,
    SENT,
    SKIPPED,
    OutboxRecord,
    counted_today,
    due_rows,
    expire_due,
    insert_once,
    message_with_figures,
    outbox_row,
    reminded_units,
    reply_candidates,
    report_history,
    reported_units,
    sent_by_us,
)
from storage.records import MessageRecord as Message
from storage.reports import first_readable_at, readable_report_messages, report_values, reports_of, units_with_report

if TYPE_CHECKING:
    from service.config.objects import ReportConfig, UnitConfig
    from service.day.periods import ReportPeriod

log = logging.getLogger(__name__)

LEASE = LEASE_TTL  # a claim not renewed by its holder's heartbeat runs out after this
# A reminder slot missed by more than this (daemon down) is not sent late.
REMINDER_GRACE = dt.timedelta(hours=1)
DRAIN_BATCH = 100
MAX_REFERENCES = 10

# Senders that must never get an automatic reply, whatever the message looks like.
_NO_REPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|"
    r"bounces?|auto[-_.]?(reply|responder)|listserv|majordomo)([-+._].*)?$",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"^[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+$")
_MSGID = re.compile(r"<[^<>\s]{1,250}>")


# -- who may be written to -------------------------------------------------------------------


def own_addresses(cfg: Config) -> frozenset[str]:
    """Addresses of the service itself: never answered (a reply to ourselves is a loop)."""
    own = set()
    if cfg.smtp is not None:
        own.add(cfg.smtp.from_address.lower())
    if cfg.imap is not None and "@" in cfg.imap.username:
        own.add(cfg.imap.username.lower())
    return frozenset(own)


def unanswerable_reason(address: str | None, own: Iterable[str] = ()) -> str | None:
    """Why `address` must not get an automatic reply (None: it may)."""
    if not address or not _ADDRESS.match(address) or len(address) > 320:
        return "no usable sender address"
    address = address.lower()
    if address in own:
        return "the service's own address"
    if _NO_REPLY.match(address.split("@", 1)[0]):
        return "an automatic sender (no-reply, MAILER-DAEMON, postmaster)"
    return None


# -- planning: creating the rows (the claim) -----------------------------------------------


def plan_acknowledgements(cfg: Config, session: Session, now: dt.datetime) -> int:
    """Decide the replies to recently stored messages; returns how many will be sent.

    Every report (and every message from a sender shared by several units that did not
    say which one) gets one row "ack:<pk>"; unknown senders get one "notice:<day>:<address>"
    a day when `reply_unknown` is on. A row that must not be sent (automatic sender,
    daily cap) is created as skipped, so the decision is taken once. Automatic mail is
    never looked at. Only inserts: the caller commits, and a drain sends.
    """
    ack = cfg.acknowledgements
    if not ack.enabled or cfg.smtp is None:
        return 0
    own = own_addresses(cfg)
    local_today = now.astimezone(cfg.service.timezone).date()
    since = now - RECENT
    candidates = reply_candidates(session, now, since, since.astimezone(cfg.service.timezone).date(), ack.reply_unknown)
    planned = 0
    for msg in candidates:
        address = (msg.from_address or "").strip().lower()
        if msg.kind == UNASSIGNED and (msg.reason or "").startswith("unknown_sender"):
            kind, key = NOTICE, f"notice:{msg.report_day.isoformat()}:{address}"
            why = unanswerable_reason(address, own)
        else:
            kind, key = ACK, f"ack:{msg.id}"
            why = unanswerable_reason(address, own)
            if why is None and msg.kind == REPORT and msg.unit_code not in {u.code for u in cfg.units}:
                why = f"unit {msg.unit_code} is not in the configuration"
        planned += _plan_one(
            cfg,
            session,
            now,
            kind=kind,
            key=key,
            recipient=address,
            why=why,
            unit_code=msg.unit_code,
            message_pk=msg.id,
            report_day=msg.report_day,
            cap_day=local_today,
            expires_at=msg.received_at + RECENT,
        )
    return planned


def plan_reminders(cfg: Config, session: Session, slot: dt.time, now: dt.datetime) -> int:
    """Decide the reminders of the slot `slot` today; returns how many will be sent (caller commits).

    One row per expected unit that has sent no report today (an unreadable one counts)
    and per address, keyed "reminder:<day>:<HH:MM>:<unit>:<address>". Nothing on a
    non-reporting day, before the slot, or more than REMINDER_GRACE after it.
    """
    if not cfg.reminders.enabled or cfg.smtp is None or cfg.reports:  # [[reports]]: plan_report_reminders
        return 0
    tz = cfg.service.timezone
    day = now.astimezone(tz).date()
    slot_at = dt.datetime.combine(day, slot, tzinfo=tz)
    if not reminders_expected(cfg, day):
        return 0
    if now < slot_at or now - slot_at > REMINDER_GRACE:
        log.info(
            "reminders of %s at %s not sent: it is now %s",
            day,
            slot.strftime("%H:%M"),
            now.astimezone(tz).strftime("%H:%M"),
        )
        return 0
    reported = reported_units(session, day, now)
    later = [s for s in cfg.schedule.reminders_at if s > slot]
    # A reminder that could not go before the next slot is replaced by that slot's.
    expires_at = (
        dt.datetime.combine(day, later[0], tzinfo=tz)
        if later
        else dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    )
    units = [u for u in cfg.units if u.code not in reported]
    return _plan_reminders(
        cfg, session, now, units, f"reminder:{day.isoformat()}:{slot.strftime('%H:%M')}", slot_at, expires_at
    )


@dataclass(frozen=True)
class ReminderSlot:
    """One reminder time of one [[reports]] entry: `slot_at` (local) in `period`."""

    report: ReportConfig
    period: ReportPeriod
    slot_at: dt.datetime

    @property
    def name(self) -> str:
        return f"{self.report.code} at {self.slot_at:%H:%M %d/%m/%Y}"


def due_report_reminders(cfg: Config, now: dt.datetime) -> list[ReminderSlot]:
    """With [[reports]]: each report's reminder times that have come and are less than
    REMINDER_GRACE old, on a reminding day (service/day/reminders.py); in time order."""
    if not cfg.reminders.enabled or cfg.smtp is None:
        return []
    tz = cfg.service.timezone
    today = now.astimezone(tz).date()
    out: dict[tuple[str, dt.datetime], ReminderSlot] = {}
    for report in cfg.reports:
        for day in (today - dt.timedelta(days=1), today):  # a slot just before midnight
            period = period_of(report, day, tz)
            for slot_at in reminder_slots(report, period, tz):
                if slot_at <= now <= slot_at + REMINDER_GRACE and reminders_expected(cfg, slot_at.date()):
                    out[(report.code, slot_at)] = ReminderSlot(report, period, slot_at)
    return sorted(out.values(), key=lambda r: (r.slot_at, r.report.code))


def plan_report_reminders(cfg: Config, session: Session, due: ReminderSlot, now: dt.datetime) -> int:
    """Decide the reminders of one report's slot (caller commits); returns how many will be sent.

    One row per unit that must send the report and has sent nothing for it in the period
    (an unreadable one counts; storage.reports.units_with_report) and per address, keyed
    "reminder:<report>:<day>:<HH:MM>:<unit>:<address>". Nothing before the slot, more than
    REMINDER_GRACE after it, or on a day that is not a reminding day.
    """
    if not cfg.reminders.enabled or cfg.smtp is None:
        return 0
    report, period, slot_at = due.report, due.period, due.slot_at
    day = slot_at.date()
    if not reminders_expected(cfg, day) or not slot_at <= now <= slot_at + REMINDER_GRACE:
        return 0
    sent = units_with_report(session, report.code, period.start, period.end, now)
    later = [s for s in reminder_slots(report, period, cfg.service.timezone) if s > slot_at]
    # A reminder that could not go before the report's next slot is replaced by that slot's.
    expires_at = (
        later[0] if later else dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=slot_at.tzinfo)
    )
    units = [u for u in cfg.units if u.code in report.units and u.code not in sent]
    key = f"reminder:{report.code}:{day.isoformat()}:{slot_at:%H:%M}"
    return _plan_reminders(cfg, session, now, units, key, slot_at, expires_at, report_code=report.code)


def _plan_reminders(
    cfg: Config,
    session: Session,
    now: dt.datetime,
    units: list[UnitConfig],
    key: str,
    slot_at: dt.datetime,
    expires_at: dt.datetime,
    report_code: str = "",
) -> int:
    """One reminder row per unit of `units` and per reminder address, keyed
    "<key>:<unit>:<address>", for the slot at `slot_at` (local); returns how many will go."""
    own = own_addresses(cfg)
    day = slot_at.date()
    planned = 0
    for unit in units:
        addresses = reminder_addresses(unit)
        if not addresses:
            log.warning("no reminder for unit %s: it has only wildcard senders and no reminder_to", unit.code)
            continue
        for address in addresses:
            planned += _plan_one(
                cfg,
                session,
                now,
                kind=REMINDER,
                recipient=address,
                key=f"{key}:{unit.code}:{address}",
                why=unanswerable_reason(address, own),
                unit_code=unit.code,
                message_pk=None,
                report_day=day,
                cap_day=day,
                expires_at=expires_at,
                slot_at=slot_at,
                report_code=report_code,
            )
    return planned


def _plan_one(
    cfg: Config,
    session: Session,
    now: dt.datetime,
    *,
    kind: str,
    key: str,
    recipient: str,
    why: str | None,
    unit_code: str | None,
    message_pk: int | None,
    report_day: dt.date | None,
    cap_day: dt.date,
    expires_at: dt.datetime | None,
    slot_at: dt.datetime | None = None,
    report_code: str = "",
) -> int:
    """Insert one row unless its key exists; 1 when it was inserted to be sent.

    The daily cap (a loop and flood breaker) counts per report: the reminders of one
    [[reports]] entry count among themselves, so a unit due several reports on one day gets
    each report's reminders and still its acknowledgements; the replies (acknowledgements,
    notices; not of one report: a message may be filed under several) count together, and
    without [[reports]] with the reminders, as one report's mail."""
    cap = cfg.acknowledgements.daily_cap_per_address
    if why is None and counted_today(session, recipient, cap_day, report_code) >= cap:
        why = f"daily cap of {cap} mails to this address reached" + (f" for {report_code}" if report_code else "")
    domain = cfg.smtp.from_address.rsplit("@", 1)[-1] if cfg.smtp else "baocao.local"
    values = {
        "kind": kind,
        "dedupe_key": key[:500],
        "recipient": recipient[:320],
        "unit_code": unit_code,
        "message_pk": message_pk,
        "report_day": report_day,
        "cap_day": cap_day,
        "slot_at": slot_at,
        "report_code": report_code,
        "message_id": email.utils.make_msgid(kind, domain),
        "state": SKIPPED if why else PENDING,
        "attempts": 0,
        "last_error": why,
        "expires_at": expires_at,
        "created_at": now,
        "updated_at": now,
    }
    if not insert_once(session, values):
        return 0
    if why:
        log.info("%s to %s not sent: %s", key, recipient, why)
        return 0
    return 1


# -- sending: the drain --------------------------------------------------------------------


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    expired: int = 0


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempts: int
    kind: str
    recipient: str
    dedupe_key: str


def drain_outbox(
    cfg: Config,
    sessions: sessionmaker[Session],
    archive: Archive,
    now: dt.datetime,
    *,
    owner: Holder | str | None = None,
    limit: int = DRAIN_BATCH,
) -> DrainReport:
    """Send the outbox rows that are due (new, failed and past their backoff, or abandoned
    by a dead instance), at most `limit` of them; each row is sent by one drain only."""
    report = DrainReport()
    report.expired = _expire(sessions, now)
    lease, claimed = _claim(sessions, now, holder_for(owner, cfg.source), limit)
    if not claimed:
        return report
    with lease.kept_alive():
        _send_claimed(cfg, sessions, archive, now, lease, claimed, report)
    return report


def _send_claimed(
    cfg: Config,
    sessions: sessionmaker[Session],
    archive: Archive,
    now: dt.datetime,
    lease: Lease,
    claimed: list[_Claimed],
    report: DrainReport,
) -> None:
    outgoing: list[tuple[_Claimed, EmailMessage]] = []
    with sessions() as session:
        for row in claimed:
            try:
                built = build_mail(cfg, session, archive, outbox_row(session, row.id), now)
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
                log.exception("cannot build the mail %s", row.dedupe_key)
                _fail(lease, row, now, describe_smtp_error(exc), permanent=False)
                report.failed += 1
                continue
            if isinstance(built, str):
                _finish(lease, row, now, state=SKIPPED, last_error=built[:1000], next_attempt_at=None)
                log.info("%s to %s not sent: %s", row.dedupe_key, row.recipient, built)
                report.skipped += 1
            else:
                outgoing.append((row, built))
    for row, error, permanent in _send_all(cfg, outgoing, lease):
        if error is _TAKEN_OVER:
            log.warning(
                "%s to %s not sent by this instance: %s took it over",
                row.dedupe_key,
                row.recipient,
                lease.taken_over_by(row.id),
            )
        elif error is None:
            _finish(
                lease,
                row,
                now,
                state=SENT,
                sent_at=now,
                attempts=row.attempts + 1,
                last_error=None,
                next_attempt_at=None,
            )
            log.info("%s sent to %s", row.dedupe_key, row.recipient)
            report.sent += 1
        else:
            _fail(lease, row, now, error, permanent=permanent)
            report.failed += 1


def _expire(sessions: sessionmaker[Session], now: dt.datetime) -> int:
    """Rows that can no longer go in time (an old acknowledgement, a superseded reminder).
    A holder whose lease ran out then finds the row no longer `sending`: its finish does nothing."""
    with sessions() as session:
        expired = expire_due(session, now)
        session.commit()
    if expired:
        log.warning("%d mail(s) to units expired before they could be sent", expired)
    return expired


def _claim(
    sessions: sessionmaker[Session], now: dt.datetime, holder: Holder, limit: int
) -> tuple[Lease, list[_Claimed]]:
    """Lease due rows under one token, each by compare-and-set on the token it had: of two
    drains, one gets each row. A row this instance's previous run was sending when it died
    is due at once."""
    lease = Lease(sessions, OutboxMail, new_token(), holder, now, what="outbox")
    with sessions() as session:
        due = due_rows(session, now, holder.identity, limit)
        claimed = []
        # In id order, so two drains lock rows in the same order (no deadlock on PostgreSQL).
        for row in due:
            seen = row.lease
            live = seen.state == SENDING and seen.lease_until is not None and seen.lease_until > now
            if live and not holder.held_by_my_dead_predecessor(seen):
                continue
            if lease.take(session, row.id, seen, {"updated_at": now}, live=live):
                claimed.append(_Claimed(row.id, row.attempts, row.kind, row.recipient, row.dedupe_key))
        session.commit()
    return lease, claimed


def _finish(lease: Lease, row: _Claimed, now: dt.datetime, **values: Any) -> None:
    lease.finish(row.id, lease_until=None, updated_at=now, **values)


def _fail(lease: Lease, row: _Claimed, now: dt.datetime, error: str, *, permanent: bool) -> None:
    attempts = row.attempts + 1
    retry = None if permanent else now + retry_delay(attempts)
    _finish(lease, row, now, state=FAILED, attempts=attempts, last_error=error[:1000], next_attempt_at=retry)
    log.error(
        "%s to %s not sent (attempt %d%s): %s",
        row.dedupe_key,
        row.recipient,
        attempts,
        ", given up" if permanent else f", next in {retry_delay(attempts)}",
        error,
    )


_TAKEN_OVER = "taken over by another instance"


def _send_all(
    cfg: Config, outgoing: Sequence[tuple[_Claimed, EmailMessage]], lease: Lease
) -> Iterator[tuple[_Claimed, str | None, bool]]:
    """Send over one SMTP connection; yields (row, error or None, permanent failure). Each
    mail goes only if its lease is still ours right before (else the error is _TAKEN_OVER)."""
    if not outgoing:
        return
    smtp = cfg.smtp
    assert smtp is not None  # build_mail refused to build without it
    results: dict[int, tuple[str | None, bool]] = {}
    try:
        with smtp_session(smtp) as client:
            for row, message in outgoing:
                if lease.lost.is_set() or not lease.confirm(row.id):
                    results[row.id] = (_TAKEN_OVER, False)
                    continue
                try:
                    client.send_message(message, from_addr=smtp.from_address, to_addrs=[row.recipient])
                    results[row.id] = (None, False)
                except smtplib.SMTPRecipientsRefused as exc:
                    codes = [code for code, _ in exc.recipients.values()]
                    results[row.id] = (describe_smtp_error(exc), bool(codes) and min(codes) >= 500)
                except smtplib.SMTPResponseException as exc:
                    # 4xx: try again later. A 5xx for this message will not go better later,
                    # unless it refuses our own sender address: a setup problem, fixable.
                    permanent = exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPSenderRefused)
                    results[row.id] = (describe_smtp_error(exc), permanent)
                # A dropped connection (SMTPServerDisconnected, OSError) ends the loop: the
                # session turns it into an SmtpError that fails the rest below.
    except SmtpError as exc:
        for row, _ in outgoing:
            results.setdefault(row.id, (str(exc), False))
    for row, _ in outgoing:
        error, permanent = results[row.id]
        yield row, error, permanent


# -- building the mails ----------------------------------------------------------------------


def build_mail(
    cfg: Config, session: Session, archive: Archive, row: OutboxRecord | None, now: dt.datetime
) -> EmailMessage | str:
    """The mail a row stands for, built from the database as it is now; a string says
    why it should no longer be sent (the unit reported meanwhile, a reply to our own mail)."""
    # The renderers (Jinja2, openpyxl) are imported for a mail to build, not by every poll.
    from service.outputs.digest import XLSX_TYPE
    from service.outputs.render import render_template
    from service.outputs.template import render_form

    if cfg.smtp is None:
        raise SmtpError("the configuration has no [smtp] section to send mail to units with")
    if row is None:
        return "the outbox row is gone"
    if row.kind == REMINDER:
        if not cfg.reminders.enabled:
            return "reminders have been switched off"
        return _build_reminder(cfg, session, row, now)
    if not cfg.acknowledgements.enabled or (row.kind == NOTICE and not cfg.acknowledgements.reply_unknown):
        return "acknowledgements have been switched off"
    msg = message_with_figures(session, row.message_pk) if row.message_pk is not None else None
    if msg is None:
        return "the message it answers is no longer stored"
    original = _original_headers(archive, msg)
    if not msg.attachments and _answers_us(session, original):
        return "a reply to one of our own mails without any file (e.g. a thank-you)"
    if row.kind == NOTICE:
        if msg.kind != UNASSIGNED:
            return "the sender has since been tied to a unit"
        model = notice_model(cfg, msg)
    elif msg.kind == REPORT:
        try:
            unit = cfg.unit(msg.unit_code or "")
        except KeyError:
            return f"unit {msg.unit_code} is no longer in the configuration"
        earlier, previous = report_history(session, msg)
        carried, first_at, history = _carried(cfg, session, msg)
        model = ack_model(
            cfg,
            msg,
            unit,
            earlier=earlier,
            previous=previous,
            carried=carried,
            first_at=first_at,
            history=history,
        )
    elif msg.kind == UNASSIGNED and (msg.reason or "").startswith("shared_sender_unresolved"):
        model = unresolved_model(cfg, msg)
    else:
        return f"the message is no longer a report ({msg.kind})"
    files = []
    if model.get("form_file"):
        unit = cfg.unit(model["unit"]["code"])
        form_cfg, period = cfg, None
        if model.get("form_report"):  # with [[reports]]: the blank form of the report and period it is about
            from service.day.reportview import report_config

            report = cfg.report(model["form_report"])
            form_cfg = report_config(cfg, report)
            period = period_of(report, msg.report_day, cfg.service.timezone)
        files.append((model["form_file"], XLSX_TYPE, render_form(form_cfg, unit, period=period)))
    lang = cfg.service.language
    references = [*original.get("references", []), *([f"<{msg.message_id}>"] if msg.message_id else [])]
    return compose_mail(
        cfg,
        to=row.recipient,
        subject=reply_subject(msg.subject, lang),
        message_id=row.message_id,
        now=now,
        text=render_template("ack.txt", model, lang),
        html=render_template("ack.html", model, lang),
        in_reply_to=f"<{msg.message_id}>" if msg.message_id else None,
        references=references[-MAX_REFERENCES:],
        files=files,
        auto_submitted="auto-replied",
    )


def _carried(
    cfg: Config, session: Session, msg: Message
) -> tuple[dict[str, bool] | None, dict[str, dt.datetime], dict[str, ReportHistory]]:
    """With [[reports]]: the reports `msg` carries (code -> readable); for each, when the
    unit first sent a readable one in the period `msg` counts for, and its history
    (`msg`'s figures of it, the unit's readable one sent before `msg` in the period, its
    latest readable figures of an earlier period)."""
    if not cfg.reports:
        return None, {}, {}
    carried = reports_of(session, [msg.id]).get(msg.id, {})
    first_at: dict[str, dt.datetime] = {}
    history: dict[str, ReportHistory] = {}
    for report in cfg.reports:
        if report.code not in carried or not msg.unit_code:
            continue
        period = period_of(report, msg.report_day, cfg.service.timezone)
        found = first_readable_at(session, msg.unit_code, report.code, period.start, period.end, msg.received_at)
        if found is not None:
            first_at[report.code] = found
        sent = readable_report_messages(session, msg.unit_code, report.code, period.start, period.end, msg.received_at)
        before = [s for s in sent if s[0] != msg.id and (s[1] < msg.received_at or s[0] < msg.id)]
        previous = None
        if report.cumulative and carried[report.code]:
            older = readable_report_messages(
                session, msg.unit_code, report.code, None, period.start - dt.timedelta(days=1), msg.received_at
            )
            if older:
                pk, _, day = older[-1]
                previous = (day, report_values(session, [pk], report.code).get(pk, {}))
        history[report.code] = ReportHistory(
            values=report_values(session, [msg.id], report.code).get(msg.id, {}),
            earlier_at=before[-1][1] if before else None,
            previous=previous,
        )
    return carried, first_at, history


def _build_reminder(cfg: Config, session: Session, row: OutboxRecord, now: dt.datetime) -> EmailMessage | str:
    from service.outputs.digest import XLSX_TYPE
    from service.outputs.render import render_template
    from service.outputs.template import render_form

    try:
        unit = cfg.unit(row.unit_code or "")
    except KeyError:
        return f"unit {row.unit_code} is no longer in the configuration"
    day = row.report_day or now.astimezone(cfg.service.timezone).date()
    report = None
    if row.report_code:  # a reminder of one of the [[reports]]
        report = next((r for r in cfg.reports if r.code == row.report_code), None)
        if report is None:
            return f"the report {row.report_code} is no longer in the configuration"
        if unit.code not in report.units:
            return f"unit {unit.code} no longer sends the report {report.code}"
        period = period_of(report, day, cfg.service.timezone)
        if unit.code in units_with_report(session, report.code, period.start, period.end, now):
            return "the unit has sent the report since"
    elif row.unit_code in reported_units(session, day, now):
        return "the unit has reported since"
    if not reminders_expected(cfg, day):
        return f"{day} is no longer a reporting day"
    model = reminder_model(cfg, unit, day, now, report)
    lang = cfg.service.language
    w = words(lang)
    if model["report"]:
        about = model["report"]
        wording = w["report_reminder_subject"]
        params = {"report": about["title"], "period": about["period"], "deadline": about["deadline"]}
    else:
        wording, params = w["reminder_subject"], {"date": model["day"], "deadline": model["deadline"]}
    subject = clean_text(fill(wording, params), 200, ellipsis=True)
    form_cfg = cfg
    if report is not None:
        from service.day.reportview import report_config

        form_cfg = report_config(cfg, report)  # the report's own blank form
    return compose_mail(
        cfg,
        to=row.recipient,
        subject=subject,
        message_id=row.message_id,
        now=now,
        text=render_template("reminder.txt", model, lang),
        html=None,
        files=[(model["form_file"], XLSX_TYPE, render_form(form_cfg, unit))],
        auto_submitted="auto-generated",
    )


def _original_headers(archive: Archive, msg: Message) -> dict[str, list[str]]:
    """References and In-Reply-To of the archived original (empty when it cannot be read)."""
    try:
        raw = archive.load(msg.archive_path)
    except ArchiveError as exc:
        log.warning("archived message %d not readable for threading: %s", msg.id, exc)
        return {}
    try:
        head = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
        refs = _MSGID.findall(str(head.get("References", "") or ""))
        replied = _MSGID.findall(str(head.get("In-Reply-To", "") or ""))
    except Exception:  # noqa: BLE001 - hostile headers only cost the threading
        return {}
    return {"references": refs[-MAX_REFERENCES:], "in_reply_to": replied[:1]}


def _answers_us(session: Session, original: Mapping[str, list[str]]) -> bool:
    """Whether the message replies to a mail we sent (an acknowledgement or a reminder)."""
    ids = [i.strip("<>") for i in (*original.get("in_reply_to", []), *original.get("references", []))]
    if not ids:
        return False
    ours = {f"<{i}>" for i in ids} | set(ids)
    return sent_by_us(session, ours)


def acknowledge(cfg: Config, sessions: sessionmaker[Session], archive: Archive, now: dt.datetime) -> DrainReport:
    """Plan the acknowledgements of what is stored, then send what is due (a poll run from
    cron, the demo; the daemon plans after each poll and drains on its own job)."""
    with sessions() as session:
        plan_acknowledgements(cfg, session, now)
        session.commit()
    return drain_outbox(cfg, sessions, archive, now)


# -- reminders: plan and send at a slot -----------------------------------------------------


def send_reminders(
    cfg: Config,
    sessions: sessionmaker[Session],
    archive: Archive,
    slot: dt.time,
    now: dt.datetime,
    *,
    owner: Holder | str | None = None,
) -> int:
    """The reminders of `slot`: create the rows (once per slot, unit and address, across
    instances), then drain the outbox; returns how many were planned by this call."""
    with sessions() as session:
        planned = plan_reminders(cfg, session, slot, now)
        session.commit()
    if planned:
        log.info("reminders at %s: %d planned", slot.strftime("%H:%M"), planned)
    drain_outbox(cfg, sessions, archive, now, owner=owner)
    return planned


def send_report_reminders(
    cfg: Config,
    sessions: sessionmaker[Session],
    archive: Archive,
    due: ReminderSlot,
    now: dt.datetime,
    *,
    owner: Holder | str | None = None,
) -> int:
    """The reminders of one report's slot: create the rows (once per report, slot, unit and
    address, across instances and restarts), then drain the outbox; returns how many were
    planned by this call."""
    with sessions() as session:
        planned = plan_report_reminders(cfg, session, due, now)
        session.commit()
    if planned:
        log.info("reminders of %s: %d planned", due.name, planned)
    drain_outbox(cfg, sessions, archive, now, owner=owner)
    return planned
