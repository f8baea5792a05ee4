"""`baocao run`: polls on an interval, sends the digest at `digest_at`, stops cleanly on SIGTERM.

APScheduler 3 (BlockingScheduler). Polls never overlap (max_instances=1, coalesced);
the digest job polls once more first, under the same lock, so a report that arrived a
minute before is in it. A generous misfire grace and a catch-up at start make sure a
digest that fell due while the daemon was down is still sent (marked late).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
import time
from typing import Callable

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.archive import Archive
from service.config import Config
from service.dayview import is_reporting_day
from service.dispatch import digest_due_at, digest_state, instance_name, read_state, record_state, send_digest
from service.errors import BaocaoError, MailboxError
from service.lease import LEASE_TTL, Holder
from service.mailbox import Mailbox
from service.pipeline import Ingestor
from service.replies import REMINDER_GRACE, drain_outbox, plan_acknowledgements, send_reminders
from storage.leases import LeaseInfo
from storage.models import Message

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 12 * 3600  # a digest job up to 12 h late still runs (and says it is late)
CATCH_UP_DAYS = 3  # on start, unsent digests of the last days are sent
OUTBOX_SECONDS = 30  # how often acknowledgements, reminders and their retries are sent
RETRY_SECONDS = min(60.0, LEASE_TTL.total_seconds())  # the digest's retry and catch-up job
DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


IDLE_RENEW_SECONDS = 25 * 60  # servers may drop an IDLE after 29 minutes (RFC 2177)
IDLE_CHECK_SECONDS = 30
RECONNECT_MAX_SECONDS = 300


class IdleWatcher(threading.Thread):
    """Keeps an IMAP IDLE on the folder and calls `on_news` when the server announces mail.

    Polling stays as the fallback: this only makes a report land seconds after it
    arrives. The connection is re-issued before the 29-minute limit and reconnected
    with backoff when it breaks.
    """

    def __init__(self, cfg: Config, on_news: Callable[[], None], stop: threading.Event) -> None:
        super().__init__(name="imap-idle", daemon=True)
        self.cfg, self.on_news, self.stop_event = cfg, on_news, stop

    def run(self) -> None:
        delay = 1.0
        while not self.stop_event.is_set():
            try:
                self._watch()
                delay = 1.0
            except Exception as exc:  # noqa: BLE001 - log, back off, reconnect
                log.warning("IMAP IDLE on %s stopped (%s); reconnecting in %.0f s",
                            self.cfg.imap.host, exc, delay)
                if self.stop_event.wait(delay):
                    return
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _watch(self) -> None:
        with Mailbox(self.cfg.imap) as mailbox:
            mailbox.select(self.cfg.imap.folder)
            client = mailbox.client
            if b"IDLE" not in set(client.capabilities()):
                log.warning("the IMAP server %s does not offer IDLE; polling only", self.cfg.imap.host)
                self.stop_event.wait()
                return
            log.info("IMAP IDLE on %s/%s", self.cfg.imap.host, self.cfg.imap.folder)
            while not self.stop_event.is_set():
                client.idle()
                started = time.monotonic()
                news = False
                while not self.stop_event.is_set() and time.monotonic() - started < IDLE_RENEW_SECONDS:
                    responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
                    if any(r[1] in (b"EXISTS", b"RECENT") for r in responses if len(r) > 1):
                        news = True
                        break
                client.idle_done()
                if news:
                    self.on_news()


class Daemon:
    def __init__(self, cfg: Config, sessions: sessionmaker[Session], archive: Archive,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.cfg = cfg
        self.sessions = sessions
        self.archive = archive
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.stop = threading.Event()
        self.lock = threading.Lock()  # one mailbox pass at a time (poll or pre-digest poll)
        self.owner = instance_name()
        self.holder = Holder.current(cfg.source)  # how its leases name it (service/lease.py)
        self.ingestor = Ingestor(cfg, sessions, archive, clock=self.clock, stop=self.stop)
        self._mailbox: Mailbox | None = None  # kept open between polls
        self._polled_once = False
        self.scheduler = BlockingScheduler(
            timezone=cfg.service.timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS})

    # -- jobs -----------------------------------------------------------------------------
    def poll(self) -> None:
        if self.cfg.imap is None or self.stop.is_set():
            return
        if not self.lock.acquire(blocking=False):
            return  # the digest job is polling right now
        try:
            self._poll_locked()
        finally:
            self.lock.release()

    def _poll_locked(self) -> None:
        now = self.clock()
        try:
            report = self._poll_with_connection()
        except BaocaoError as exc:
            log.error("poll failed: %s", exc)
            record_state(self.sessions, "last_poll", {"ok": False, "at": now.isoformat(), "error": str(exc)},
                         self.clock())
            return
        except Exception as exc:  # noqa: BLE001 - the daemon keeps running; the next poll retries
            log.exception("poll failed unexpectedly")
            record_state(self.sessions, "last_poll", {"ok": False, "at": now.isoformat(),
                                                      "error": f"{type(exc).__name__}: {exc}"}, self.clock())
            return
        record_state(self.sessions, "last_poll", {"ok": True, "at": now.isoformat(),
                                                  "stored": len(report.stored)}, self.clock())
        self._plan_acknowledgements()
        if report.stored or not self._polled_once:
            log.info("poll: stored %d new message(s)%s", len(report.stored),
                     "" if self._polled_once else " (first poll since start)")
        self._polled_once = True

    def _poll_with_connection(self):
        """Poll over the kept connection (cheap when nothing is new); reconnect once if it broke."""
        for attempt in (1, 2):
            fresh = self._mailbox is None
            if fresh:
                self._mailbox = Mailbox(self.cfg.imap)
                self._mailbox.connect()
            try:
                return self.ingestor.poll(self._mailbox)
            except MailboxError:
                self._drop_connection()
                if fresh or attempt == 2:
                    raise
                log.info("the IMAP connection to %s broke; reconnecting", self.cfg.imap.host)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._drop_connection()
        self.ingestor.close()

    def _drop_connection(self) -> None:
        mailbox, self._mailbox = self._mailbox, None
        if mailbox is not None:
            mailbox.close()

    def poll_now(self) -> None:
        """Run the poll job at once (new mail announced by IDLE); coalesced with a running one."""
        try:
            self.scheduler.modify_job("poll", next_run_time=dt.datetime.now(self.cfg.service.timezone))
        except Exception:  # noqa: BLE001 - scheduler shutting down
            pass

    def _plan_acknowledgements(self) -> None:
        """Decide the replies to what is stored: outbox rows only, so a slow or failing SMTP
        server never holds up ingestion; the outbox job sends them."""
        try:
            with self.sessions() as session:
                plan_acknowledgements(self.cfg, session, self.clock())
                session.commit()
        except Exception:  # noqa: BLE001 - the next poll plans again
            log.exception("could not plan the acknowledgements")

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
        with self.lock:
            if self.cfg.imap is not None and not self.stop.is_set():
                self._poll_locked()
        try:
            send_reminders(self.cfg, self.sessions, self.archive, slot, self.clock(), owner=self.holder)
        except Exception:  # noqa: BLE001 - the next slot tries again
            log.exception("reminders at %s could not be handled", slot.strftime("%H:%M"))

    def scheduled_digest(self) -> None:
        day = self.clock().astimezone(self.cfg.service.timezone).date()
        log.info("scheduled digest for %s: polling once more, then sending", day)
        self.digest(day)

    def digest(self, day: dt.date | None = None) -> None:
        """The digest of `day` (default: today): one last poll, then send unless sent."""
        now = self.clock()
        day = day or now.astimezone(self.cfg.service.timezone).date()
        if not is_reporting_day(self.cfg, day):
            return
        with self.lock:
            if self.cfg.imap is not None and not self.stop.is_set():
                self._poll_locked()
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
        """Send digests that fell due and were not sent (daemon down, SMTP failing)."""
        now = self.clock()
        today = now.astimezone(self.cfg.service.timezone).date()
        for back in range(CATCH_UP_DAYS, -1, -1):
            day = today - dt.timedelta(days=back)
            if self.stop.is_set() or not is_reporting_day(self.cfg, day) or now < digest_due_at(self.cfg, day):
                continue
            with self.sessions() as session:
                if not digest_expected(self.cfg, session, day):
                    continue
                row = digest_state(session, day)
            if row is not None and row.state == "sent":
                continue
            if row is not None and row.state == "failed" and row.next_attempt_at and row.next_attempt_at > now:
                continue
            if (row is not None and row.state == "sending" and row.lease_until > now
                    and not self.holder.held_by_my_dead_predecessor(LeaseInfo.of(row))):
                continue  # another instance is sending it; if it died, its lease runs out soon
            log.info("digest for %s is due and not sent: sending it now", day)
            self.digest(day)

    def heartbeat(self) -> None:
        record_state(self.sessions, f"heartbeat:{self.owner}",
                     {"pid": os.getpid(), "at": self.clock().isoformat()}, self.clock())

    # -- lifecycle ------------------------------------------------------------------------
    def run(self) -> None:
        sched = self.cfg.schedule
        interval = self.cfg.service.poll_interval_minutes
        days = ",".join(DAY_NAMES[d] for d in sorted(sched.report_days))
        tz = self.cfg.service.timezone  # a trigger built alone would use the machine's zone
        self.scheduler.add_job(self.poll, IntervalTrigger(minutes=interval, timezone=tz), id="poll",
                               next_run_time=dt.datetime.now(self.cfg.service.timezone))
        self.scheduler.add_job(self.scheduled_digest, CronTrigger(day_of_week=days, hour=sched.digest_at.hour,
                                                        minute=sched.digest_at.minute,
                                                        second=sched.digest_at.second, timezone=tz),
                               id="digest")
        # As often as a lease runs (at most every minute): a dead holder's digest is taken over
        # within about two lease periods of its last renewal.
        self.scheduler.add_job(self.catch_up, IntervalTrigger(seconds=RETRY_SECONDS, timezone=tz), id="retry")
        self.scheduler.add_job(self.heartbeat, IntervalTrigger(seconds=60, timezone=tz), id="heartbeat",
                               next_run_time=dt.datetime.now(self.cfg.service.timezone))
        if self.cfg.smtp is not None:
            # Every OUTBOX_SECONDS: cheap when nothing is due (one query), prompt enough for a reply.
            self.scheduler.add_job(self.outbox, IntervalTrigger(seconds=OUTBOX_SECONDS, timezone=tz),
                                   id="outbox", next_run_time=dt.datetime.now(self.cfg.service.timezone))
        if self.cfg.reminders.enabled:
            for slot in sched.reminders_at:
                # A slot missed by more than REMINDER_GRACE (daemon down) is skipped, not sent late.
                self.scheduler.add_job(self.remind, CronTrigger(day_of_week=days, hour=slot.hour,
                                                                minute=slot.minute, second=slot.second,
                                                                timezone=tz),
                                       args=[slot], id=f"reminders-{slot:%H%M%S}",
                                       misfire_grace_time=int(REMINDER_GRACE.total_seconds()))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        log.info("baocao %s running: poll every %d min, digest at %s on %s (%s)", self.owner, interval,
                 sched.digest_at.strftime("%H:%M:%S"), days, self.cfg.service.timezone.key)
        threading.Thread(target=self.catch_up, name="catch-up", daemon=True).start()
        if self.cfg.imap is not None and self.cfg.imap.idle:
            IdleWatcher(self.cfg, self.poll_now, self.stop).start()
        try:
            self.scheduler.start()
        finally:
            self.close()
            log.info("baocao stopped")

    def _on_signal(self, signum, _frame) -> None:
        log.info("received %s: stopping after the current message", signal.Signals(signum).name)
        self.stop.set()
        # shutdown from another thread: the handler runs in the scheduler's own thread.
        threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()


def digest_expected(cfg: Config, session: Session, day: dt.date) -> bool:
    """Whether a digest for `day` should exist: a reporting day within the campaign, not
    before the service received its first message (a new installation does not owe
    digests for the days before it)."""
    if not is_reporting_day(cfg, day):
        return False
    if cfg.campaign.start_date and day < cfg.campaign.start_date:
        return False
    first = session.scalar(select(func.min(Message.report_day)))
    return first is not None and day >= first or digest_state(session, day) is not None


def health(cfg: Config, session: Session, now: dt.datetime) -> tuple[bool, str]:
    """(healthy, one sentence): the last poll succeeded recently and no digest is overdue."""
    problems = []
    if cfg.imap is not None:
        row = read_state(session, "last_poll")
        limit = dt.timedelta(minutes=max(3 * cfg.service.poll_interval_minutes, 15))
        if row is None:
            problems.append("no poll has run yet")
        elif not row.value.get("ok"):
            problems.append(f"the last poll failed: {row.value.get('error', '?')}")
        elif now - row.updated_at > limit:
            problems.append(f"the last successful poll was at {row.updated_at.astimezone(cfg.service.timezone):%d/%m %H:%M}")
    today = now.astimezone(cfg.service.timezone).date()
    for day in (today - dt.timedelta(days=1), today):
        if not is_reporting_day(cfg, day) or now < digest_due_at(cfg, day) + dt.timedelta(minutes=15):
            continue
        if not digest_expected(cfg, session, day):
            continue
        row = digest_state(session, day)
        if row is None or row.state != "sent":
            why = f" ({row.last_error})" if row is not None and row.last_error else ""
            problems.append(f"the digest for {day:%d/%m/%Y} is overdue{why}")
    if problems:
        return False, "; ".join(problems)
    return True, "healthy: polls succeed and no digest is overdue"
