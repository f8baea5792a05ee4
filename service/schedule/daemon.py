"""`baocao run`: polls on an interval, sends the digest at `digest_at`, stops cleanly on SIGTERM.

APScheduler 3 (BlockingScheduler). Polls never overlap (max_instances=1, coalesced);
the digest job polls once more first, under the same lock, so a report that arrived a
minute before is in it. Scans and photos are recognised in a thread of their own
(`recognise`), so a slow scan holds neither the polls nor the digest: until it is read,
its unit shows that it is being read. A generous misfire grace and a catch-up at start make sure a
digest that fell due while the daemon was down is still sent (marked late).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import signal
import threading
from collections.abc import Callable

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.admin.preflight import config_warnings
from service.config import Config
from service.config.calendar import trigger_weekdays
from service.day.dayview import is_reporting_day
from service.day.periods import ReportPeriod, period_of
from service.errors import BaocaoError, MailboxError
from service.ingest.archive import Archive
from service.ingest.pipeline import Ingestor, PollReport
from service.mail.mailbox import Mailbox
from service.outputs.i18n import Texts
from service.schedule.dispatch import digest_due_at, instance_name, record_state, send_digest
from service.schedule.idle import IdleWatcher
from service.schedule.lease import LEASE_TTL, Holder
from service.schedule.outbox import (
    REMINDER_GRACE,
    drain_outbox,
    due_report_reminders,
    plan_acknowledgements,
    send_reminders,
    send_report_reminders,
)
from storage.days import first_report_day
from storage.digests import digest_of, read_state
from storage.leases import LeaseInfo
from storage.records import DigestRecord

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 12 * 3600  # a digest job up to 12 h late still runs (and says it is late)
CATCH_UP_DAYS = 3  # on start, unsent digests of the last days are sent
OUTBOX_SECONDS = 30  # how often acknowledgements, reminders and their retries are sent
RETRY_SECONDS = min(60.0, LEASE_TTL.total_seconds())  # the digest's retry and catch-up job
DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


CLOSE_WAIT_SECONDS = 30  # at most this long for a running poll to reach its next batch and stop
# How often the recognition thread looks for messages awaiting recognition when no poll
# woke it (one another instance stored, one whose reading failed on a database error).
RECOGNITION_RETRY_SECONDS = 300
IMAP_STATE = "imap"  # runtime_state: the last successful IMAP exchange and the failure since


class Daemon:
    def __init__(
        self,
        cfg: Config,
        sessions: sessionmaker[Session],
        archive: Archive,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.cfg = cfg
        self.sessions = sessions
        self.archive = archive
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.started_at = self.clock()  # a digest falling due after it is owed (report_digest_expected)
        self.stop = threading.Event()
        self.lock = threading.Lock()  # one mailbox pass at a time (poll or pre-digest poll)
        self.owner = instance_name()
        self.holder = Holder.current(cfg.source)  # how its leases name it (service/schedule/lease.py)
        self.ingestor = Ingestor(cfg, sessions, archive, clock=self.clock, stop=self.stop)
        self._mailbox: Mailbox | None = None  # kept open between polls
        self._polled_once = False
        self._poll_wanted = threading.Event()  # a poll was asked for while another one ran
        self._imap_note = threading.Lock()
        self._recognition_wanted = threading.Event()  # set by a poll that stored a scan or photo
        self._reminded: set[tuple[str, dt.datetime]] = set()  # [[reports]] reminder slots handled
        self.scheduler = BlockingScheduler(
            timezone=cfg.service.timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )
        self.scheduler.add_listener(self._on_late_job, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        for name in ("apscheduler.scheduler", "apscheduler.executors.default"):
            if _replaced_by_late_job_line not in logging.getLogger(name).filters:
                logging.getLogger(name).addFilter(_replaced_by_late_job_line)

    # -- jobs -----------------------------------------------------------------------------
    def poll(self) -> None:
        """The poll job, and IDLE's "new mail" (in the IDLE thread). A poll asked for while
        another runs is not dropped: the running one polls once more when it ends."""
        if self.cfg.imap is None:
            return
        self._poll_wanted.set()
        while self._poll_wanted.is_set() and not self.stop.is_set():
            if not self.lock.acquire(blocking=False):
                return  # the holder sees the wish after it releases the lock (checked below)
            try:
                while self._poll_wanted.is_set() and not self.stop.is_set():
                    self._poll_wanted.clear()
                    self._poll_locked()
            finally:
                self.lock.release()

    def _poll_first(self) -> None:
        """One poll before the reminders or the digest (a report of a minute ago counts),
        waiting for a running poll to end."""
        if self.cfg.imap is None:
            return
        with self.lock:
            if self.stop.is_set():
                return
            self._poll_wanted.clear()
            self._poll_locked()
        if self._poll_wanted.is_set():  # news announced meanwhile
            self.poll()

    def _poll_locked(self) -> None:
        now = self.clock()
        try:
            report = self._poll_with_connection()
        except BaocaoError as exc:
            log.error("poll failed: %s", exc)
            imap = isinstance(exc, MailboxError)
            if imap:
                self.note_imap(False, str(exc))
            record_state(
                self.sessions,
                "last_poll",
                {"ok": False, "at": now.isoformat(), "error": str(exc), "imap": imap},
                self.clock(),
            )
            return
        except Exception as exc:  # noqa: BLE001 - the daemon keeps running; the next poll retries
            log.exception("poll failed unexpectedly")
            record_state(
                self.sessions,
                "last_poll",
                {"ok": False, "at": now.isoformat(), "error": f"{type(exc).__name__}: {exc}"},
                self.clock(),
            )
            return
        self.note_imap(True)
        record_state(
            self.sessions, "last_poll", {"ok": True, "at": now.isoformat(), "stored": len(report.stored)}, self.clock()
        )
        if report.pending:
            self._recognition_wanted.set()
        self._plan_acknowledgements()
        if report.stored or not self._polled_once:
            log.info(
                "poll: stored %d new message(s)%s",
                len(report.stored),
                "" if self._polled_once else " (first poll since start)",
            )
        self._polled_once = True

    def _poll_with_connection(self) -> PollReport:
        """Poll over the kept connection (cheap when nothing is new); reconnect once if it broke."""
        imap = self.cfg.imap
        assert imap is not None  # the daemon polls only with an [imap] section
        for attempt in (1, 2):
            fresh = self._mailbox is None
            if self._mailbox is None:
                self._mailbox = Mailbox(imap)
                self._mailbox.connect()
            try:
                return self.ingestor.poll(self._mailbox, defer_recognition=True)
            except MailboxError:
                self._drop_connection()
                if fresh or attempt == 2:
                    raise
                log.info("the IMAP connection to %s broke; reconnecting", imap.host)
        raise AssertionError("unreachable")

    def close(self) -> None:
        # A poll in another thread (IDLE's, the start-up catch-up) ends at its next batch once
        # `stop` is set: let it, before its connection and its workers go.
        locked = self.lock.acquire(timeout=CLOSE_WAIT_SECONDS)
        try:
            self._drop_connection()
            self.ingestor.close()
        finally:
            if locked:
                self.lock.release()

    def _drop_connection(self) -> None:
        mailbox, self._mailbox = self._mailbox, None
        if mailbox is not None:
            mailbox.close()

    def note_imap(self, ok: bool, error: str | None = None) -> None:
        """Record a successful IMAP exchange (poll, IDLE) or a failure, for `health`."""
        with self._imap_note:
            record_imap_exchange(self.sessions, self.clock(), ok, error)

    def _plan_acknowledgements(self) -> None:
        """Decide the replies to what is stored: outbox rows only, so a slow or failing SMTP
        server never holds up ingestion; the outbox job sends them."""
        try:
            with self.sessions() as session:
                plan_acknowledgements(self.cfg, session, self.clock())
                session.commit()
        except Exception:  # noqa: BLE001 - the next poll plans again
            log.exception("could not plan the acknowledgements")

    def recognise(self) -> int:
        """Read the scans and photos of the messages stored awaiting recognition (also those
        a stopped or killed run left), in the recognition worker; then plan the replies
        that waited for them. Returns how many were finished."""
        try:
            done = self.ingestor.recognise_pending()
        except Exception:  # noqa: BLE001 - e.g. the database is away; the next round retries
            log.exception("could not recognise the messages awaiting recognition")
            return 0
        if done:
            # its memory (130-200 MiB) goes back until the next scan or photo arrives
            self.ingestor.analyser.retire_recognition()
            self._plan_acknowledgements()
        return len(done)

    def _recognition_loop(self) -> None:
        """The recognition thread: a round at start, then whenever a poll stored a scan or
        photo (or every RECOGNITION_RETRY_SECONDS), until the daemon stops."""
        while not self.stop.is_set():
            self._recognition_wanted.clear()
            self.recognise()
            self._recognition_wanted.wait(RECOGNITION_RETRY_SECONDS)

    def outbox(self) -> None:
        """Send the acknowledgements, notices and reminders that are due (and retry failed ones)."""
        if self.stop.is_set():
            return
        try:
            drain_outbox(self.cfg, self.sessions, self.archive, self.clock(), owner=self.holder)
        except Exception:  # noqa: BLE001 - e.g. the database is away; the next run retries
            log.exception("the outbox could not be sent")

    def remind(self, slot: dt.time) -> None:
        """The reminders of `slot`: one last poll (a report of a minute ago counts), then send."""
        if self.stop.is_set():
            return
        if not is_reporting_day(self.cfg, self.clock().astimezone(self.cfg.service.timezone).date()):
            return  # a holiday, or a weekday the trigger fires on for the make-up days
        self._poll_first()
        try:
            send_reminders(self.cfg, self.sessions, self.archive, slot, self.clock(), owner=self.holder)
        except Exception:  # noqa: BLE001 - the next slot tries again
            log.exception("reminders at %s could not be handled", slot.strftime("%H:%M"))

    def scheduled_digest(self) -> None:
        now = self.clock()
        day = now.astimezone(self.cfg.service.timezone).date()
        if not is_reporting_day(self.cfg, day):  # a holiday, or a weekday fired for make-up days
            return
        start = self.cfg.campaign.start_date
        if start and day < start:  # as the catch-up check and the reports' digests: not owed yet
            log.info("no digest for %s: the campaign starts on %s (campaign.start_date)", day, start)
            return
        if now < digest_due_at(self.cfg, day):
            # A run made late past midnight (misfire grace): not today's digest, hours early;
            # the catch-up job sends the day it was for.
            log.info("the digest job ran after midnight: the catch-up check sends the digest of the day before")
            return
        log.info("scheduled digest for %s: polling once more, then sending", day)
        self.digest(day)

    def digest(self, day: dt.date | None = None) -> None:
        """The digest of `day` (default: today): one last poll, then send unless sent."""
        now = self.clock()
        day = day or now.astimezone(self.cfg.service.timezone).date()
        if not is_reporting_day(self.cfg, day):
            return
        self._poll_first()
        if self.stop.is_set():
            return
        try:
            outcome = send_digest(self.cfg, self.sessions, self.archive, day, self.clock(), owner=self.holder)
        except Exception:  # noqa: BLE001 - e.g. the database is away; the retry job tries again
            log.exception("digest for %s could not be handled", day)
            return
        if outcome.status not in ("sent", "already_sent"):
            log.info("digest for %s: %s %s", day, outcome.status, outcome.detail)

    def catch_up(self) -> None:
        """Send digests that fell due and were not sent (daemon down, SMTP failing); with
        [[reports]], each report's reminders and digests on their own schedule."""
        now = self.clock()
        today = now.astimezone(self.cfg.service.timezone).date()
        if self.cfg.reports:
            self.report_reminders(now)
            self.report_digests(now)
            return
        for back in range(CATCH_UP_DAYS, -1, -1):
            day = today - dt.timedelta(days=back)
            if self.stop.is_set() or not is_reporting_day(self.cfg, day) or now < digest_due_at(self.cfg, day):
                continue
            with self.sessions() as session:
                if not digest_expected(self.cfg, session, day):
                    continue
                row = digest_of(session, day)
            if row is not None and row.state == "sent":
                continue
            if row is not None and row.state == "failed" and row.next_attempt_at and row.next_attempt_at > now:
                continue
            if (
                row is not None
                and row.state == "sending"
                and row.lease_until > now
                and not self.holder.held_by_my_dead_predecessor(LeaseInfo.of(row))
            ):
                continue  # another instance is sending it; if it died, its lease runs out soon
            log.info("digest for %s is due and not sent: sending it now", day)
            self.digest(day)

    def report_reminders(self, now: dt.datetime) -> None:
        """With [[reports]]: each report's reminders whose time has come (less than
        REMINDER_GRACE ago); this job runs every minute, so they go within a minute of their
        time. One last poll first (a report of a minute ago counts). Each mail is decided once
        across instances and restarts (its outbox key) and sent with the outbox's lease; this
        instance handles a slot once."""
        self._reminded = {k for k in self._reminded if k[1] >= now - 2 * REMINDER_GRACE}  # past their grace
        due = [r for r in due_report_reminders(self.cfg, now) if (r.report.code, r.slot_at) not in self._reminded]
        if not due or self.stop.is_set():
            return
        self._poll_first()
        for slot in due:
            if self.stop.is_set():
                return
            try:
                send_report_reminders(self.cfg, self.sessions, self.archive, slot, self.clock(), owner=self.holder)
            except Exception:  # noqa: BLE001 - e.g. the database is away; the next run tries again
                log.exception("reminders of %s could not be handled", slot.name)
                continue
            self._reminded.add((slot.report.code, slot.slot_at))

    def report_digests(self, now: dt.datetime) -> None:
        """With [[reports]]: each report's digest of each period whose digest time has come
        (within the catch-up window) and that was not sent; this job runs every minute, so
        a digest goes within a minute of its time, exactly once (the claim of dispatch)."""
        for rcfg, period in due_report_digests(self.cfg, now):
            if self.stop.is_set():
                return
            with self.sessions() as session:
                if not report_digest_expected(rcfg, session, period, running_since=self.started_at):
                    continue
                row = digest_of(session, period.start, period.report)
            if not _needs_sending(row, now, self.holder):
                continue
            log.info("digest of %s for %s is due and not sent: sending it now", period.report, period.start)
            self._poll_first()
            if self.stop.is_set():
                return
            try:
                outcome = send_digest(rcfg, self.sessions, self.archive, period.start, self.clock(), owner=self.holder)
            except Exception:  # noqa: BLE001 - e.g. the database is away; the next run tries again
                log.exception("digest of %s for %s could not be handled", period.report, period.start)
                continue
            if outcome.status not in ("sent", "already_sent"):
                log.info("digest of %s for %s: %s %s", period.report, period.start, outcome.status, outcome.detail)

    def heartbeat(self) -> None:
        record_state(
            self.sessions, f"heartbeat:{self.owner}", {"pid": os.getpid(), "at": self.clock().isoformat()}, self.clock()
        )

    def _on_late_job(self, event: JobEvent) -> None:
        """One line an administrator can act on, instead of APScheduler's "was missed by" and
        "maximum number of running instances reached": what was late, and what the service did."""
        job = self.scheduler.get_job(event.job_id)
        tz = self.cfg.service.timezone
        # From the trigger: the job's own next_run_time may not be moved on yet when this runs.
        upcoming = job.trigger.get_next_fire_time(None, dt.datetime.now(tz)) if job is not None else None
        next_run = f"{upcoming.astimezone(tz):%H:%M:%S %d/%m}" if upcoming else "none planned"
        what = describe_job(event.job_id)
        if event.code == EVENT_JOB_MAX_INSTANCES:
            due = event.scheduled_run_times[-1].astimezone(tz)
            if event.job_id == "poll":
                self._poll_wanted.set()  # the running poll polls once more when it ends
                done = "the running poll polls once more when it ends"
            else:
                done = f"skipped; next at {next_run}"
            # A poll longer than the interval is normal on a big mailbox; other jobs should not overlap.
            log.log(
                logging.INFO if event.job_id == "poll" else logging.WARNING,
                "%s due at %s did not start: the previous one was still running; %s",
                what,
                f"{due:%H:%M:%S %d/%m}",
                done,
            )
            return
        due = event.scheduled_run_time.astimezone(tz)
        late = dt.datetime.now(dt.UTC) - event.scheduled_run_time
        if event.job_id == "digest":
            done = "the catch-up check sends the digest if it was not sent"
        elif event.job_id.startswith("reminders-"):
            done = (
                f"reminders more than {int(REMINDER_GRACE.total_seconds() // 60)} min late are not sent; "
                f"next at {next_run}"
            )
        else:
            done = f"skipped; next at {next_run}"
        log.warning(
            "%s due at %s ran %s late (the service was stopped, suspended or overloaded): %s",
            what,
            f"{due:%H:%M:%S %d/%m}",
            _duration(late),
            done,
        )

    # -- lifecycle ------------------------------------------------------------------------
    def add_jobs(self) -> None:
        """The schedule: polls, digest, its catch-up, heartbeat, outbox, reminders."""
        sched = self.cfg.schedule
        interval = self.cfg.service.poll_interval_minutes
        # The weekdays a reporting day can fall on: report_days and those of the make-up
        # working days; the digest and the reminders check the day itself (a holiday).
        days = ",".join(DAY_NAMES[d] for d in sorted(trigger_weekdays(sched)))
        tz = self.cfg.service.timezone  # a trigger built alone would use the machine's zone
        self.scheduler.add_job(
            self.poll,
            IntervalTrigger(minutes=interval, timezone=tz),
            id="poll",
            next_run_time=dt.datetime.now(self.cfg.service.timezone),
        )
        # With [[reports]] each report's digests go from the catch-up job below, on their own schedule.
        if not self.cfg.reports:
            self.scheduler.add_job(
                self.scheduled_digest,
                CronTrigger(
                    day_of_week=days,
                    hour=sched.digest_at.hour,
                    minute=sched.digest_at.minute,
                    second=sched.digest_at.second,
                    timezone=tz,
                ),
                id="digest",
            )
        # As often as a lease runs (at most every minute): a dead holder's digest is taken over
        # within about two lease periods of its last renewal.
        self.scheduler.add_job(self.catch_up, IntervalTrigger(seconds=RETRY_SECONDS, timezone=tz), id="retry")
        self.scheduler.add_job(
            self.heartbeat,
            IntervalTrigger(seconds=60, timezone=tz),
            id="heartbeat",
            next_run_time=dt.datetime.now(self.cfg.service.timezone),
        )
        if self.cfg.smtp is not None:
            # Every OUTBOX_SECONDS: cheap when nothing is due (one query), prompt enough for a reply.
            self.scheduler.add_job(
                self.outbox,
                IntervalTrigger(seconds=OUTBOX_SECONDS, timezone=tz),
                id="outbox",
                next_run_time=dt.datetime.now(self.cfg.service.timezone),
            )
        # With [[reports]] each report's reminders go from the catch-up job, on their own schedule.
        if self.cfg.reminders.enabled and not self.cfg.reports:
            for slot in sched.reminders_at:
                # A slot missed by more than REMINDER_GRACE (daemon down) is skipped, not sent late.
                self.scheduler.add_job(
                    self.remind,
                    CronTrigger(day_of_week=days, hour=slot.hour, minute=slot.minute, second=slot.second, timezone=tz),
                    args=[slot],
                    id=f"reminders-{slot:%H%M%S}",
                    misfire_grace_time=int(REMINDER_GRACE.total_seconds()),
                )

    def run(self) -> None:
        _import_what_the_threads_use()
        if self.cfg.schedule.holiday_calendar:  # the holidays package imports its country on first use
            is_reporting_day(self.cfg, self.clock().astimezone(self.cfg.service.timezone).date())
        sched = self.cfg.schedule
        interval = self.cfg.service.poll_interval_minutes
        days = ",".join(DAY_NAMES[d] for d in sorted(sched.report_days))
        self.add_jobs()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        log.info(
            "baocao %s running: poll every %d min, digest at %s on %s (%s)",
            self.owner,
            interval,
            sched.digest_at.strftime("%H:%M:%S"),
            days,
            self.cfg.service.timezone.key,
        )
        for warning in config_warnings(self.cfg, self.clock()):
            log.warning("%s", warning)
        threading.Thread(target=self.catch_up, name="catch-up", daemon=True).start()
        threading.Thread(target=self._recognition_loop, name="recognition", daemon=True).start()
        if self.cfg.imap is not None and self.cfg.imap.idle:
            IdleWatcher(self.cfg, self.poll, self.stop, self.note_imap).start()
        try:
            self.scheduler.start()
        finally:
            self.stop.set()
            self._recognition_wanted.set()  # the recognition thread ends after its message
            self.close()
            log.info("baocao stopped")

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("received %s: stopping after the current message", signal.Signals(signum).name)
        self.stop.set()
        # shutdown from another thread: the handler runs in the scheduler's own thread.
        threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()


def describe_job(job_id: str) -> str:
    """A scheduler job as an administrator would name it."""
    if job_id.startswith("reminders-"):
        slot = job_id.removeprefix("reminders-")
        return f"the reminders of {slot[:2]}:{slot[2:4]}"
    return {
        "poll": "the mailbox poll",
        "digest": "the digest",
        "retry": "the check for unsent digests (and, with [[reports]], for the reminders due)",
        "heartbeat": "the heartbeat",
        "outbox": "sending acknowledgements and reminders",
    }.get(job_id, job_id)


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return f"{int(delta.total_seconds())} s"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _replaced_by_late_job_line(record: logging.LogRecord) -> bool:
    """Drops APScheduler's own "missed" and "maximum number of running instances" warnings:
    `Daemon._on_late_job` says the same in terms an administrator can act on."""
    text = str(record.msg)
    return not (text.startswith("Run time of job") or "maximum number of running instances" in text)


def record_imap_exchange(sessions: sessionmaker[Session], now: dt.datetime, ok: bool, error: str | None = None) -> None:
    """Keep in runtime_state the time of the last successful IMAP exchange (`ok_at`, the
    latest any instance saw) and, while failing, the error and when the failures began."""
    try:
        with sessions() as session:
            row = read_state(session, IMAP_STATE)
            value = dict(row.value) if row is not None else {}
    except SQLAlchemyError:
        value = {}  # record_state reports the database problem
    if ok:
        seen = _parse_time(value.get("ok_at"))
        value.update(ok_at=_iso(max(seen, now) if seen else now), error=None, failing_since=None)
    else:
        value.update(error=error, failing_since=value.get("failing_since") or _iso(now))
    record_state(sessions, IMAP_STATE, value, now)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def _parse_time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def digest_expected(cfg: Config, session: Session, day: dt.date) -> bool:
    """Whether a digest for `day` should exist: a reporting day within the campaign, not
    before the service received its first message (a new installation does not owe
    digests for the days before it)."""
    if not is_reporting_day(cfg, day):
        return False
    if cfg.campaign.start_date and day < cfg.campaign.start_date:
        return False
    first = first_report_day(session)
    return first is not None and day >= first or digest_of(session, day) is not None


def due_report_digests(cfg: Config, now: dt.datetime) -> list[tuple[Config, ReportPeriod]]:
    """Each report's periods whose digest time has come within the catch-up window, with
    the config as that report sees it (reportview.report_config)."""
    from service.day.reportview import report_config

    tz = cfg.service.timezone
    today = now.astimezone(tz).date()
    since = now - dt.timedelta(days=CATCH_UP_DAYS + 1)
    out = []
    for report in cfg.reports:
        rcfg = report_config(cfg, report)
        seen = set()
        for back in range(CATCH_UP_DAYS + 7, -1, -1):  # a week back: a weekly digest due on its Sunday
            period = period_of(report, today - dt.timedelta(days=back), tz)
            if period.start in seen or not since <= period.digest_at <= now:
                continue
            seen.add(period.start)
            if report.period == "day" and not is_reporting_day(cfg, period.start):
                continue
            out.append((rcfg, period))
    return out


def report_digest_expected(
    rcfg: Config, session: Session, period: ReportPeriod, running_since: dt.datetime | None = None
) -> bool:
    """As `digest_expected`, for a report's period: within the campaign, not before the first
    message; a digest that fell due while the daemon ran (since `running_since`) is owed
    even with nothing received yet, as the scheduled digest without [[reports]] is."""
    if rcfg.campaign.start_date and period.end < rcfg.campaign.start_date:
        return False
    if running_since is not None and period.digest_at >= running_since:
        return True
    first = first_report_day(session)
    return first is not None and period.end >= first or digest_of(session, period.start, period.report) is not None


def _needs_sending(row: DigestRecord | None, now: dt.datetime, holder: Holder) -> bool:
    if row is None:
        return True
    if row.state == "sent" or row.state == "failed" and row.next_attempt_at and row.next_attempt_at > now:
        return False
    # another instance is sending it; if it died, its lease runs out soon
    return not (
        row.state == "sending" and row.lease_until > now and not holder.held_by_my_dead_predecessor(LeaseInfo.of(row))
    )


def health(cfg: Config, session: Session, now: dt.datetime) -> tuple[bool, str]:
    """(healthy, the reasons in one line, in the configured language): IMAP answers, the
    polls succeed, no digest is overdue."""
    texts = Texts(cfg.service.language)
    tz = cfg.service.timezone
    problems: list[str] = []

    def problem(key: str, **params: object) -> None:
        problems.append(texts.sentence("health", key, params))

    if cfg.imap is not None:
        interval = dt.timedelta(minutes=cfg.service.poll_interval_minutes)
        poll = read_state(session, "last_poll")
        imap_row = read_state(session, IMAP_STATE)
        imap = imap_row.value if imap_row is not None else {}
        quiet_since = _parse_time(imap.get("ok_at")) or _parse_time(imap.get("failing_since"))
        if poll is None and imap_row is None:
            problem("no_poll")
        elif imap.get("error") and quiet_since is not None and now - quiet_since > 2 * interval:
            # A restarting server is not a failure; one that stays away for two polls is.
            problem(
                "imap_down",
                host=cfg.imap.host,
                error=imap["error"],
                since=f"{quiet_since.astimezone(tz):%H:%M %d/%m/%Y}",
            )
        elif poll is not None and not poll.value.get("ok") and not poll.value.get("imap"):
            problem("poll_failed", error=poll.value.get("error", "?"))
        elif poll is not None and now - poll.updated_at > max(3 * interval, dt.timedelta(minutes=15)):
            problem("poll_stale", time=f"{poll.updated_at.astimezone(tz):%d/%m %H:%M}")
    today = now.astimezone(tz).date()
    for rcfg, period in due_report_digests(cfg, now - dt.timedelta(minutes=15)) if cfg.reports else ():
        if now - period.digest_at > dt.timedelta(days=2) or not report_digest_expected(rcfg, session, period):
            continue
        row = digest_of(session, period.start, period.report)
        if row is None or row.state != "sent":
            problem(
                "digest_overdue",
                date=f"{period.start:%d/%m/%Y} ({period.report})",
                why=f" ({row.last_error})" if row is not None and row.last_error else "",
            )
    for day in (today - dt.timedelta(days=1), today) if not cfg.reports else ():
        if not is_reporting_day(cfg, day) or now < digest_due_at(cfg, day) + dt.timedelta(minutes=15):
            continue
        if not digest_expected(cfg, session, day):
            continue
        row = digest_of(session, day)
        if row is None or row.state != "sent":
            problem(
                "digest_overdue",
                date=f"{day:%d/%m/%Y}",
                why=f" ({row.last_error})" if row is not None and row.last_error else "",
            )
    if problems:
        return False, "; ".join(problems)
    return True, texts.sentence("health", "healthy")


# What the daemon's threads (the scheduler's jobs, catch-up, recognition, IDLE, the
# outbox) import on first use. Commands import these lazily so they start fast; the
# daemon imports them once, here, before its threads start: two threads importing the
# same package at once (openpyxl by a digest and by a message read in-process) can make
# Python's import locks raise `_DeadlockError` in one of them. Recognition (OpenCV,
# Tesseract) runs in worker processes and is not imported here.
_DAEMON_IMPORTS = (
    "parsers.authresults",
    "parsers.body",
    "parsers.message",
    "parsers.report",
    "parsers.report.reverse",
    "parsers.readers.csv",
    "parsers.readers.docx",
    "parsers.readers.html",
    "parsers.readers.ods",
    "parsers.readers.pdf",
    "parsers.readers.xls",
    "parsers.readers.xlsx",
    "docx",
    "docx.oxml.parser",
    "lxml.etree",
    "lxml.html",
    "openpyxl",
    "openpyxl.styles.numbers",
    "python_calamine",
    "tnefparse",
    "xlrd",
    "jinja2",
    "holidays",  # [schedule] holiday_calendar (service/config/calendar.py)
    "service.day.reportview",
    "service.ingest.reprocess",
    "service.outputs.digest",
    "service.outputs.export",
    "service.outputs.export_xlsx",
    "service.outputs.jsontext",
    "service.outputs.render",
    "service.outputs.sheets",
    "service.outputs.template",
    "service.outputs.upward",
    "service.outputs.workbook",
)


def _import_what_the_threads_use() -> None:
    for name in _DAEMON_IMPORTS:
        importlib.import_module(name)
