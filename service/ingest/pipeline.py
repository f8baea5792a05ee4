"""Ingestion: mailbox → archive → analysis → database → server-side move.

Order of effects for every message, so a crash at any point redoes work but never
loses or doubles it: (1) archive the raw bytes durably, (2) commit the message row,
its figures and the UID bookkeeping in one transaction, (3) move or flag it on the
server, (4) mark that action done.

The daemon's poll (`defer_recognition`) does not recognise a scan or photo (seconds
each): the message is stored with everything else, marked `recognition_pending`, and its
UID's action waits. Then `recognise_pending` (the daemon's recognition thread) reads it
in full in the recognition worker and, in one transaction, replaces what the first
reading produced, clears the mark and decides the action; the daemon's polls, digest and
reminders never wait for a scan. A crash leaves the mark: the next poll or start
finishes it. A one-shot poll stores the same way, hands each such message to the
recognition worker as soon as it is stored, and before it ends finishes them all (and what
a crashed run left marked): the spreadsheets behind a scan never wait for it.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.config import Config, ImapConfig
from service.errors import ArchiveError, StorageError
from service.failpoints import failpoint
from service.ingest.analysis import Analysis, Routing
from service.ingest.archive import Archive, content_hash
from service.ingest.choice import union_form
from service.ingest.workers import (
    PARALLEL_MIN_BATCH,
    Analyser,
    limit_allocator,
    may_need_recognition,
    release_memory,
)
from service.mail.mailbox import FetchedMessage, Mailbox
from storage.db import describe_db_error
from storage.kinds import AUTOMATIC, REPORT, UNASSIGNED
from storage.mailbox import (
    WAIT,
    advance_folder,
    folder_state,
    mark_done,
    pending_actions,
    record_uids,
    settle_waiting,
    stored_folder_state,
)
from storage.messages import (
    Children,
    add_messages,
    claim_pending,
    insert_children,
    known_copies,
    message_by_id,
    message_by_sha,
    message_id_counts,
    pending_recognitions,
    replace_reading,
)
from storage.records import MessageRecord

log = logging.getLogger(__name__)

Row = dict[str, Any]  # a row's columns, as inserted
Item = tuple[FetchedMessage, str, str, dt.date]  # (message, sha256, archive path, report day)
Pending = tuple[list[Item], list["Future[Analysis]"]]  # a batch archived and handed to the analysers
# Messages awaiting recognition handed to the recognition worker at once (their bytes held).
RECOGNITION_CHUNK = 4
# At most this many messages a poll hands to the recognition worker as soon as they are
# stored (as before they were recognised during the poll); the others wait for
# `recognise_pending` to load them again from the archive.
EARLY_RECOGNITIONS = 16


@dataclass(frozen=True, slots=True)
class Stored:
    """What happened to one incoming message (a poll keeps one for each: slots, no dict)."""

    message_pk: int
    duplicate: bool
    kind: str
    unit_code: str | None
    subject: str
    from_address: str | None
    received_at: dt.datetime
    readable: bool
    pending: bool = False  # stored awaiting recognition of a scan or photo


@dataclass
class PollReport:
    account: str
    folder: str
    stored: list[Stored] = field(default_factory=list)
    duplicates: int = 0
    actions_retried: int = 0
    pending: int = 0  # stored awaiting recognition (and not finished by this poll)


def routing_for(cfg: Config) -> Routing:
    own = {cfg.smtp.from_address.lower()} if cfg.smtp else set()
    # With [[reports]] a document is read against every report's form, then filed under one.
    form = union_form(cfg.reports, cfg.form) if cfg.reports else cfg.form
    return Routing(units=cfg.units, form=form, own_addresses=frozenset(own), security=cfg.security, reports=cfg.reports)


def report_day_of(received_at: dt.datetime, cfg: Config) -> dt.date:
    return received_at.astimezone(cfg.service.timezone).date()


# -- storing ------------------------------------------------------------------------------


class KnownMessages:
    """Stores messages once: the ones already stored that a batch could be a copy of, and
    the ones it adds.

    The same message is the same bytes (`sha256`) or the same identity (`identity_of`).
    A Message-ID shared by different messages is no reason to drop one: it is said once,
    in a warning, when the second message carrying it is stored.
    """

    def __init__(self, session: Session, analyses: Sequence[Analysis]) -> None:
        self.session = session
        shas = [a.sha256 for a in analyses]
        identities = [a.identity for a in analyses if a.identity]
        message_ids = list({a.parsed.message_id for a in analyses if a.parsed.message_id})
        self.by_sha: dict[str, tuple[int, str]] = {}
        self.by_identity: dict[str, tuple[int, str]] = {}
        for pk, kind, sha, identity in known_copies(session, shas, identities):
            self.by_sha[sha] = (pk, kind)
            if identity:
                self.by_identity[identity] = (pk, kind)
        self.message_ids: dict[str, int] = message_id_counts(session, message_ids)

    def store(self, analysis: Analysis, **row: Any) -> tuple[int, str, bool, bool]:
        """Insert `analysis` with its attachments, figures and problems unless it is a copy
        (`message_rows` takes `row`); returns (id, kind, duplicate, raced): `raced` when
        another instance stored it just now."""
        children: Children = {}
        [result] = self.store_all([(analysis, row)], children)
        insert_children(self.session, children)
        return result

    def store_all(self, items: Sequence[tuple[Analysis, Row]], children: Children) -> list[tuple[int, str, bool, bool]]:
        """`store` for a batch, in order: a message is a copy of one stored before or of an
        earlier one of the batch. The new ones go in with one statement (`add_messages`),
        their child rows are collected in `children` (`insert_children`)."""
        # Per item: (id, kind) of the stored message it copies, or the index of the new
        # message in `new` that it is (first) or copies (later).
        plan: list[tuple[int, str] | tuple[int, bool]] = []
        new: list[tuple[Analysis, Row]] = []
        first: dict[str, int] = {}  # sha256 or identity of a new message -> its index in `new`
        for analysis, row in items:
            hit = self._find(analysis)
            if hit is not None:
                plan.append(hit)
                continue
            identity = analysis.identity
            j = first.get(analysis.sha256, first.get(identity) if identity else None)
            if j is not None:
                plan.append((j, True))
                continue
            j = len(new)
            new.append((analysis, row))
            first[analysis.sha256] = j
            if identity:
                first[identity] = j
            plan.append((j, False))
        inserted = add_messages(self.session, [message_rows(a, **row) for a, row in new], children)
        stored: list[tuple[int, str, bool]] = []  # per new message: (id, kind, raced)
        lost = [a for a, _ in new if a.sha256 not in inserted]  # stored by another instance since the lookup
        again = KnownMessages(self.session, lost) if lost else None
        for analysis, _ in new:
            pk = inserted.get(analysis.sha256)
            if pk is None:
                assert again is not None
                hit = again._find(analysis)
                assert hit is not None  # the conflicting row is committed: the insert waited for it
                self._remember(*hit, analysis)
                stored.append((*hit, True))
                continue
            self._remember(pk, analysis.kind, analysis)
            stored.append((pk, analysis.kind, False))
            self._count_message_id(pk, analysis)
        out: list[tuple[int, str, bool, bool]] = []
        for step in plan:
            if isinstance(step[1], str):  # a copy of a message stored before
                out.append((step[0], step[1], True, False))
                continue
            pk, kind, raced = stored[step[0]]
            out.append((pk, kind, raced or bool(step[1]), raced and not step[1]))
        return out

    def _count_message_id(self, pk: int, analysis: Analysis) -> None:
        mid = analysis.parsed.message_id
        if not mid:
            return
        carried = self.message_ids.get(mid, 0)
        if carried == 1:
            log.warning(
                "Message-ID %s is carried by different messages (message %d from %s is another "
                "one); each is kept: some mail programs reuse Message-IDs",
                mid,
                pk,
                analysis.parsed.from_address,
            )
        self.message_ids[mid] = carried + 1

    def _find(self, analysis: Analysis) -> tuple[int, str] | None:
        identity = analysis.identity
        return self.by_sha.get(analysis.sha256) or (self.by_identity.get(identity) if identity else None)

    def _remember(self, pk: int, kind: str, analysis: Analysis) -> None:
        self.by_sha[analysis.sha256] = (pk, kind)
        identity = analysis.identity
        if identity:
            self.by_identity[identity] = (pk, kind)


def store_analysis(
    session: Session,
    analysis: Analysis,
    *,
    received_at: dt.datetime,
    report_day: dt.date,
    archive_path: str,
    source: str,
    now: dt.datetime,
) -> MessageRecord:
    """Add the message row with its attachments, figures and problems (caller commits);
    the stored one when it is a copy of a message already stored."""
    pk, *_ = KnownMessages(session, [analysis]).store(
        analysis, received_at=received_at, report_day=report_day, archive_path=archive_path, source=source, now=now
    )
    return _stored_message(session, pk)


def message_rows(
    analysis: Analysis,
    *,
    received_at: dt.datetime,
    report_day: dt.date,
    archive_path: str,
    source: str,
    now: dt.datetime,
) -> tuple[Row, list[Row], list[Row], list[Row], list[Row]]:
    """The message row of `analysis` and its attachments, figures, problems and reports
    (without the message's id), as `add_messages` takes them."""
    p = analysis.parsed
    derived, attachments, figures, problems = analysis_rows(analysis, now)
    row = {
        "sha256": analysis.sha256,
        "message_id": p.message_id,
        "size": analysis.size,
        "archive_path": archive_path,
        "source": source,
        "received_at": received_at,
        "report_day": report_day,
        "from_address": p.from_address,
        "from_name": p.from_name,
        "subject": p.subject,
        "date_header": p.date_header,
        "created_at": now,
        "content_sha256": p.content_sha256,
        "identity_sha256": analysis.identity,
        **derived,
    }
    return row, attachments, figures, problems, report_rows(analysis)


def report_rows(analysis: Analysis) -> list[Row]:
    """The reports a message carries (only with [[reports]]): one row per report."""
    return [{"report_code": r.code, "readable": r.readable} for r in analysis.readings]


def analysis_rows(analysis: Analysis, now: dt.datetime) -> tuple[Row, list[Row], list[Row], list[Row]]:
    """The columns derived from reading a message: (message fields, attachments, figures, problems)."""
    derived: Row = {
        "kind": analysis.kind,
        "unit_code": analysis.unit_code,
        "reason": analysis.reason if not analysis.reason_detail else f"{analysis.reason}:{analysis.reason_detail}",
        "readable": analysis.readable,
        "as_of": analysis.as_of,
        "unit_text": analysis.unit_text,
        "analysed_at": now,
        "recognition_pending": bool(analysis.pending),
    }
    attachments = [
        {
            "position": i,
            "filename": a.filename,
            "content_type": a.content_type,
            "detected_format": a.result.detected_format,
            "size": a.size,
            "sha256": a.sha256,
            "outcome": a.result.outcome,
            "sheet": a.result.sheet,
            "sheet_reason": a.result.sheet_reason,
        }
        for i, a in enumerate(analysis.attachments)
    ]
    sources = analysis.figure_sources
    figures = [
        {
            "indicator": ind,
            "measure": meas,
            "value": _storable(val),
            "source": sources.get(ind, {}).get(meas, "file")[:20],
        }
        for ind, row in analysis.values.items()
        for meas, val in row.items()
    ]
    if analysis.readings:  # with [[reports]]: each report's figures, under its code
        figures = [
            {
                "indicator": ind,
                "measure": meas,
                "value": _storable(val),
                "source": r.sources.get(ind, {}).get(meas, "file")[:20],
                "report_code": r.code,
            }
            for r in analysis.readings
            for ind, row in r.values.items()
            for meas, val in row.items()
        ]
    problems = [{"code": pr.code, "params": dict(pr.params)} for pr in analysis.problems]
    return derived, attachments, figures, problems


def _storable(value: Decimal) -> Decimal:
    # Money is already in đồng; keep at most 4 decimals so a stray float tail never lands.
    return Decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize()


def server_action(kind: str, duplicate: bool, has_processed_folder: bool) -> str:
    """What to do on the IMAP server once the message is committed."""
    if kind == UNASSIGNED and not duplicate:
        return "flag"  # stays in the inbox, flagged, for a person to look at
    return "move" if has_processed_folder else "none"


# -- the poller ---------------------------------------------------------------------------


class Ingestor:
    """Stores messages from any source; owns the archive, the database and the analyser."""

    def __init__(
        self,
        cfg: Config,
        sessions: sessionmaker[Session],
        archive: Archive,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        workers: int | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.cfg = cfg
        self.sessions = sessions
        self.archive = archive
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.analyser = Analyser(routing_for(cfg), workers)
        limit_allocator()  # (this process's: the workers start from the fork server)
        self.stop = stop or threading.Event()
        # message id -> (raw, report day, its full reading under way): started by the poll
        # as soon as the message is stored, collected by `recognise_pending`
        self._early: dict[int, tuple[bytes, dt.date, Future[Analysis]]] = {}
        self._early_lock = threading.Lock()

    def close(self) -> None:
        self.analyser.close()

    # import of .eml files (arrival = Date header, else now)
    def import_raw(self, raw: bytes, received_at: dt.datetime | None = None) -> Stored:
        with _database_errors():
            return self._import_raw(raw, received_at)

    def _import_raw(self, raw: bytes, received_at: dt.datetime | None) -> Stored:
        sha = content_hash(raw)
        rel = self.archive.store(raw, sha)
        if received_at is None:
            from parsers.message import parse_message

            received_at = parse_message(raw).date_header or self.clock()
        day = report_day_of(received_at, self.cfg)
        with self._session() as session:
            existing = message_by_sha(session, sha)
            if existing is not None:
                return _stored(existing, True)
        [analysis] = self.analyser.analyse([(raw, day)])
        with self._session() as session:
            pk, _, duplicate, _ = KnownMessages(session, [analysis]).store(
                analysis, received_at=received_at, report_day=day, archive_path=rel, source="import", now=self.clock()
            )
            if not duplicate:
                self._commit(session)
                log.info(
                    "imported message %s from %s: %s",
                    analysis.parsed.message_id,
                    analysis.parsed.from_address,
                    describe_analysis(analysis),
                )
            return _stored(_stored_message(session, pk), duplicate)

    def poll(self, mailbox: Mailbox, *, defer_recognition: bool = False) -> PollReport:
        """One pass over the configured folder; returns what was stored.

        Scans and photos are stored awaiting recognition and handed to the recognition
        worker as they are stored; the poll finishes them at its end (and what a crashed
        run left awaiting recognition). With `defer_recognition` (the daemon) it does not
        wait for them: `recognise_pending` stores their full reading later.

        A database error (locked, gone) is a `StorageError`; what was archived but not
        committed is redone by the next poll, since the server still has it and the
        UID bookkeeping was not advanced.
        """
        with _database_errors():
            return self._poll(mailbox, not defer_recognition)

    def _poll(self, mailbox: Mailbox, recognise: bool) -> PollReport:
        imap = self.cfg.imap
        assert imap is not None  # the CLI checks for an [imap] section before polling
        report = PollReport(mailbox.account, imap.folder)
        if self._nothing_new(mailbox, imap.folder, recognise):
            return report
        uidvalidity = mailbox.select(imap.folder)
        if imap.processed_folder:
            mailbox.ensure_folder(imap.processed_folder)
        with self._session() as session:
            last_uid = folder_state(session, mailbox.account, imap.folder, uidvalidity, self.clock()).last_uid
            self._commit(session)
        report.actions_retried = self._carry_out_actions(mailbox, uidvalidity, only_pending=True)
        uids = mailbox.uids_after(last_uid)
        if uids:
            log.info("%d new message(s) in %s on %s", len(uids), imap.folder, imap.host)
        if len(uids) >= PARALLEL_MIN_BATCH:  # the workers start while the first batch is fetched
            threading.Thread(target=self.analyser.warm, name="start-workers", daemon=True).start()
        finished: dict[int, Stored] = {}  # full readings of scans and photos stored by this poll
        for start in range(0, len(uids), 200):
            if self.stop.is_set():
                break
            # Every new UID is downloaded: only the whole message tells a copy from another
            # message carrying the same Message-ID. Pipelined: the workers analyse batch k
            # while this process downloads batch k+1 and stores batch k-1.
            pending = None
            for batch in mailbox.fetch(mailbox.heads(uids[start : start + 200])):
                if self.stop.is_set():
                    break
                # Scans and photos are not recognised here even when this poll recognises:
                # they are stored awaiting it and recognised meanwhile (`_start_recognition`),
                # stored between batches (`_collect_early`) and the rest by
                # `recognise_pending` below.
                started = self._archive_and_submit(batch, False)
                if pending is not None:
                    self._store_batch(pending, mailbox.account, uidvalidity, report, False)
                    if recognise:
                        finished.update(self._collect_early())
                    self._carry_out_actions(mailbox, uidvalidity, only_pending=True)
                pending = started
            if pending is not None:
                self._store_batch(pending, mailbox.account, uidvalidity, report, False)
                pending = None
                if recognise:
                    finished.update(self._collect_early())
            release_memory()
            self._carry_out_actions(mailbox, uidvalidity, only_pending=True)
            if not self.stop.is_set():  # every UID of the chunk is stored, a known copy, or gone
                self._pass_uid(mailbox.account, uidvalidity, uids[start : start + 200][-1])
        if recognise and not self.stop.is_set():  # what a crashed or deferring run left
            finished.update({s.message_pk: s for s in self.recognise_pending()})
        if finished:
            report.stored = [finished.get(s.message_pk, s) for s in report.stored]
            self._carry_out_actions(mailbox, uidvalidity, only_pending=True)
        report.pending = sum(s.pending for s in report.stored)
        return report

    def _nothing_new(self, mailbox: Mailbox, folder: str, recognise: bool) -> bool:
        """Whether the folder has no UID past the stored one and nothing is left to do on
        the server, told by STATUS without selecting the folder: an empty poll then costs
        the same with 20,000 messages in the folder as with 1,000. A poll that recognises
        also has to finish what a deferring run left awaiting recognition."""
        peeked = mailbox.peek(folder)
        if peeked is None:
            return False
        uidvalidity, uidnext = peeked
        with self._session() as session:
            state = stored_folder_state(session, mailbox.account, folder)
            if state is None or state.uidvalidity != uidvalidity or state.last_uid < uidnext - 1:
                return False
            if recognise and pending_recognitions(session):
                return False
            return not pending_actions(session, mailbox.account, folder, uidvalidity)

    def _pass_uid(self, account: str, uidvalidity: int, uid: int) -> None:
        with self._session() as session:
            folder_state(session, account, self._imap.folder, uidvalidity, self.clock())
            if advance_folder(session, account, self._imap.folder, uid, self.clock()):
                self._commit(session)

    def _archive_and_submit(self, batch: list[FetchedMessage], recognise: bool) -> Pending:
        items: list[Item] = []
        for fm in batch:
            sha = content_hash(fm.raw)
            rel = self.archive.store(fm.raw, sha, sync=False)  # (1) archive before anything else
            failpoint("archived")
            items.append((fm, sha, rel, report_day_of(fm.internaldate, self.cfg)))
        self.archive.sync_all(rel for _, _, rel, _ in items)
        if (
            not recognise
            and not self.analyser.recognition_started
            and any(may_need_recognition(fm.raw) for fm, _, _, _ in items)
        ):
            self.analyser.warm_recognition()  # it starts while this batch is read
        return items, self.analyser.submit([(fm.raw, day) for fm, _, _, day in items], recognise=recognise)

    def _store_batch(
        self, pending: Pending, account: str, uidvalidity: int, report: PollReport, recognise: bool
    ) -> None:
        """(2) Commit a batch in one transaction."""
        items, futures = pending
        analyses = self.analyser.results([(fm.raw, day) for fm, _, _, day in items], futures, recognise=recognise)
        results = self._store_together(list(zip(items, analyses)), account, uidvalidity)
        failpoint("committed")
        days = {fm.uid: day for fm, _, _, day in items}
        for fm, analysis, pk, duplicate in results:
            if analysis.pending and not duplicate:
                self._start_recognition(pk, fm.raw, days[fm.uid], analysis)
            if duplicate:
                report.duplicates += 1
                log.info("UID %d is a copy of stored message %d", fm.uid, pk)
                continue
            # A poll keeps one for each message (20,000 of a backlog): what repeats is shared
            # (the kind and unit, interned; UTC instead of a time zone object each).
            report.stored.append(
                Stored(
                    message_pk=pk,
                    duplicate=False,
                    kind=sys.intern(analysis.kind),
                    unit_code=sys.intern(analysis.unit_code) if analysis.unit_code else None,
                    subject=analysis.parsed.subject,
                    from_address=analysis.parsed.from_address,
                    received_at=fm.internaldate.astimezone(dt.UTC),
                    readable=analysis.readable,
                    pending=bool(analysis.pending),
                )
            )
            log.info(
                "stored UID %d from %s (%s): %s",
                fm.uid,
                analysis.parsed.from_address,
                analysis.parsed.message_id,
                describe_analysis(analysis),
            )

    def _store_together(
        self, rows: list[tuple[Item, Analysis]], account: str, uidvalidity: int
    ) -> list[tuple[FetchedMessage, Analysis, int, bool]]:
        """New messages and every UID's bookkeeping, in one transaction.

        Another instance polling the same folder may store the same messages and UIDs at
        the same moment: its rows win, ours are not inserted (ON CONFLICT DO NOTHING, after
        waiting for its commit on PostgreSQL), and the message counts as a copy here.
        """
        imap = self._imap
        now = self.clock()
        with self._session() as session:
            known = KnownMessages(session, [a for _, a in rows])
            folder_state(session, account, imap.folder, uidvalidity, now)
            results: list[tuple[FetchedMessage, Analysis, int, bool]] = []
            uid_rows: list[Row] = []
            children: Children = {}
            raced: list[int] = []
            outcomes = known.store_all(
                [
                    (
                        analysis,
                        {
                            "received_at": fm.internaldate,
                            "report_day": day,
                            "archive_path": rel,
                            "source": "imap",
                            "now": now,
                        },
                    )
                    for (fm, _, rel, day), analysis in rows
                ],
                children,
            )
            for ((fm, _, _, _), analysis), (pk, kind, duplicate, lost_race) in zip(rows, outcomes):
                if lost_race:
                    raced.append(fm.uid)
                # what to do on the server waits for the recognition: it tells what the message is
                waits = bool(analysis.pending) and not duplicate
                action = WAIT if waits else server_action(kind, duplicate, bool(imap.processed_folder))
                uid_rows.append(
                    {
                        "account": account,
                        "folder": imap.folder,
                        "uidvalidity": uidvalidity,
                        "uid": fm.uid,
                        "message_pk": pk,
                        "duplicate": duplicate,
                        "action": action,
                        "done": action == "none",
                        "seen_at": now,
                    }
                )
                results.append((fm, analysis, pk, duplicate))
            insert_children(session, children)
            if uid_rows:
                recorded = record_uids(session, uid_rows)
                raced += [r["uid"] for r in uid_rows if r["uid"] not in recorded]
            advance_folder(session, account, imap.folder, max((r["uid"] for r in uid_rows), default=0), now, touch=True)
            self._commit(session)
        if raced:
            log.info(
                "%d UID(s) in %s were stored by another instance at the same moment: %s",
                len(set(raced)),
                imap.folder,
                ", ".join(str(u) for u in sorted(set(raced))),
            )
        return results

    # -- recognition left for later -----------------------------------------------------

    def _start_recognition(self, pk: int, raw: bytes, day: dt.date, first: Analysis | None = None) -> None:
        """Hand stored message `pk` to the recognition worker now (it works while the poll
        goes on), with its `first` reading when that kept the parsed attachments (then the
        worker does not parse the message again); `recognise_pending` or, in a poll that
        recognises, `_collect_early` stores the result."""
        if self.analyser.workers < 1:
            return  # it would be read here, holding the poll
        usable = first if first is not None and first.parsed.attachments else None
        with self._early_lock:
            if pk in self._early or len(self._early) >= EARLY_RECOGNITIONS:
                return
            [future] = self.analyser.recognise([(raw, day)], [usable])
            self._early[pk] = (raw, day, future)

    def _collect_early(self) -> dict[int, Stored]:
        """Store the full readings started early that are finished (a poll that
        recognises, between batches): their place goes to the next scans and photos, so
        a big backlog's are not all read again from the archive at the end."""
        with self._early_lock:
            ready = [(pk, e) for pk, e in self._early.items() if e[2].done() and not e[2].cancelled()]
            for pk, _ in ready:
                del self._early[pk]
        out: dict[int, Stored] = {}
        for pk, (raw, day, future) in ready:
            [analysis] = self.analyser.results([(raw, day)], [future])
            stored = self._replace_reading(pk, day, analysis)
            if stored is not None:
                out[pk] = stored
        return out

    def recognise_pending(self) -> list[Stored]:
        """Read in full the messages stored awaiting recognition (oldest first), each in
        the recognition worker, and replace what their first reading produced; returns
        them as now stored. Stops between messages when `stop` is set.

        Idempotent and safe against a crash at any point: a message's new reading, its
        cleared mark and its UIDs' server action are one transaction; until it commits,
        the message stays marked and the next call reads it again.
        """
        done: list[Stored] = []
        with _database_errors():
            with self._session() as session:
                waiting = pending_recognitions(session)
            if waiting:
                log.info("recognising the scans and photos of %d message(s)", len(waiting))
            with self._early_lock:  # forget readings of messages finished elsewhere
                wanted = {pk for pk, _, _ in waiting}
                for pk in [pk for pk, (_, _, f) in self._early.items() if pk not in wanted and f.done()]:
                    del self._early[pk]
            for first in range(0, len(waiting), RECOGNITION_CHUNK):
                if self.stop.is_set():
                    break
                items: list[tuple[int, bytes, dt.date, Future[Analysis] | None]] = []
                for pk, path, received_at in waiting[first : first + RECOGNITION_CHUNK]:
                    with self._early_lock:
                        early = self._early.pop(pk, None)
                    if early is not None:
                        items.append((pk, *early))
                        continue
                    try:
                        raw = self.archive.load(path)
                    except ArchiveError as exc:
                        log.error("message %d awaits recognition but cannot be read again: %s", pk, exc)
                        continue
                    items.append((pk, raw, report_day_of(received_at, self.cfg), None))
                later = iter(self.analyser.recognise([(raw, day) for _, raw, day, f in items if f is None]))
                futures = [f if f is not None else next(later) for _, _, _, f in items]
                for (pk, raw, day, _), future in zip(items, futures):
                    if self.stop.is_set():
                        future.cancel()
                        continue
                    [analysis] = self.analyser.results([(raw, day)], [future])
                    stored = self._replace_reading(pk, day, analysis)
                    if stored is not None:
                        done.append(stored)
        return done

    def _replace_reading(self, pk: int, day: dt.date, analysis: Analysis) -> Stored | None:
        """Message `pk`'s full reading instead of its first one, in one transaction; None
        when another instance finished it meanwhile."""
        imap = self.cfg.imap
        with self._session() as session:
            if not claim_pending(session, pk):
                return None
            replace_reading(session, pk, day, *analysis_rows(analysis, self.clock()), reports=report_rows(analysis))
            settle_waiting(session, pk, server_action(analysis.kind, False, bool(imap and imap.processed_folder)))
            failpoint("recognised")
            self._commit(session)
            log.info(
                "recognised message %d from %s (%s): %s",
                pk,
                analysis.parsed.from_address,
                analysis.parsed.message_id,
                describe_analysis(analysis),
            )
            return _stored(_stored_message(session, pk), False)

    def _carry_out_actions(self, mailbox: Mailbox, uidvalidity: int, only_pending: bool) -> int:
        """(3) + (4): move or flag committed messages, then mark the action done."""
        imap = self._imap
        with self._session() as session:
            rows = pending_actions(session, mailbox.account, imap.folder, uidvalidity)
            if not rows:
                return 0
            moves = [r.uid for r in rows if r.action == "move"]
            flags = [r.uid for r in rows if r.action == "flag"]
            if flags:
                mailbox.flag(flags)
            if moves and imap.processed_folder:
                mailbox.move(moves, imap.processed_folder)
            failpoint("moved")
            mark_done(session, [r.id for r in rows])
            self._commit(session)
            return len(rows)

    # -- helpers --------------------------------------------------------------------------
    @property
    def _imap(self) -> ImapConfig:
        assert self.cfg.imap is not None  # the CLI and the daemon check for [imap] before polling
        return self.cfg.imap

    def _session(self) -> Session:
        try:
            return self.sessions()
        except SQLAlchemyError as exc:
            raise StorageError(describe_db_error(exc)) from exc

    def _commit(self, session: Session) -> None:
        try:
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise StorageError(describe_db_error(exc)) from exc


@contextmanager
def _database_errors() -> Iterator[None]:
    """Statements run outside `_commit` (inserts, reads) fail as `StorageError` too: a locked
    SQLite file must be one sentence in the log, not a traceback."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(describe_db_error(exc)) from exc


def _stored_message(session: Session, pk: int) -> MessageRecord:
    """Message `pk` as stored (in this session's transaction: it exists)."""
    stored = message_by_id(session, pk)
    assert stored is not None
    return stored


def _stored(msg: MessageRecord, duplicate: bool) -> Stored:
    return Stored(
        message_pk=msg.id,
        duplicate=duplicate,
        kind=msg.kind,
        unit_code=msg.unit_code,
        subject=msg.subject,
        from_address=msg.from_address,
        received_at=msg.received_at,
        readable=msg.readable,
    )


def describe_analysis(a: Analysis) -> str:
    waiting = f"; {len(a.pending)} file(s) awaiting recognition" if a.pending else ""
    if a.kind == REPORT:
        cells = sum(len(row) for row in a.values.values())
        return (
            f"report of {a.unit_code} ({'read' if a.readable else 'unreadable'}, "
            f"{cells} figures, {len(a.problems)} problems{waiting})"
        )
    reason = a.reason if not a.reason_detail else f"{a.reason}: {a.reason_detail}"
    return f"{'automatic mail' if a.kind == AUTOMATIC else 'unassigned'} ({reason}{waiting})"


def ingest_files(ingestor: Ingestor, paths: Iterable[str]) -> list[tuple[str, Stored]]:
    out = []
    for path in paths:
        with open(path, "rb") as fh:
            raw = fh.read()
        out.append((path, ingestor.import_raw(raw)))
    return out
