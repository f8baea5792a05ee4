"""Ingestion: mailbox → archive → analysis → database → server-side move.

Order of effects for every message, so a crash at any point redoes work but never
loses or doubles it: (1) archive the raw bytes durably, (2) commit the message row,
its figures and the UID bookkeeping in one transaction, (3) move or flag it on the
server, (4) mark that action done.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable, Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, object_session, sessionmaker

from parsers.model import ParsedMessage, Problem
from service.ingest.analysis import AUTOMATIC, REPORT, UNASSIGNED, Analysis, Routing, analyse_message
from service.ingest.archive import Archive, content_hash
from service.config import Config
from service.errors import ArchiveError, StorageError
from service.failpoints import failpoint
from service.mail.mailbox import FetchedMessage, Mailbox
from storage.inserts import insert_or_ignore
from storage.models import Attachment, Figure, MailboxMessage, MailboxState, Message, ProblemRow

log = logging.getLogger(__name__)

# Below this many messages a batch is analysed in-process: starting workers costs more.
PARALLEL_MIN_BATCH = 8


@dataclass(frozen=True)
class Stored:
    """What happened to one incoming message."""
    message_pk: int
    duplicate: bool
    kind: str
    unit_code: str | None
    subject: str
    from_address: str | None
    received_at: dt.datetime
    readable: bool


@dataclass
class PollReport:
    account: str
    folder: str
    stored: list[Stored] = field(default_factory=list)
    duplicates: int = 0
    actions_retried: int = 0


def routing_for(cfg: Config) -> Routing:
    own = {cfg.smtp.from_address.lower()} if cfg.smtp else set()
    return Routing(units=cfg.units, form=cfg.form, own_addresses=frozenset(own), security=cfg.security)


def report_day_of(received_at: dt.datetime, cfg: Config) -> dt.date:
    return received_at.astimezone(cfg.service.timezone).date()


class Analyser:
    """Runs `analyse_message` for a batch, on both cores when the batch is big enough."""

    def __init__(self, routing: Routing, workers: int | None = None) -> None:
        self.routing = routing
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, items: Sequence[tuple[bytes, dt.date]]) -> list[Future]:
        """Start analysing `items`; the futures complete in the workers (or already here)."""
        if self.workers > 1 and len(items) >= PARALLEL_MIN_BATCH:
            try:
                pool = self._get_pool()
                return [pool.submit(_analyse_safely, raw, self.routing, day) for raw, day in items]
            except BrokenProcessPool:
                self.reset()  # a worker was killed earlier: start new ones
                pool = self._get_pool()
                return [pool.submit(_analyse_safely, raw, self.routing, day) for raw, day in items]
        done = []
        for raw, day in items:
            f: Future = Future()
            f.set_result(_analyse_safely(raw, self.routing, day))
            done.append(f)
        return done

    def analyse(self, items: Sequence[tuple[bytes, dt.date]]) -> list[Analysis]:
        return self.results(items, self.submit(items))

    def results(self, items: Sequence[tuple[bytes, dt.date]], futures: Sequence[Future]) -> list[Analysis]:
        """The analyses of `items`; when a worker died (OOM killer, a stray signal) the
        pool is replaced and the lost ones are analysed here, so ingestion goes on."""
        out = []
        for (raw, day), future in zip(items, futures):
            try:
                out.append(future.result())
            except BrokenProcessPool:
                log.warning("an analysis worker process died; starting new ones")
                self.reset()
                out.append(_analyse_safely(raw, self.routing, day))
        return out

    def reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("forkserver"),
                                             initializer=_watch_parent, initargs=(os.getpid(),))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _watch_parent(parent_pid: int) -> None:
    """In a worker: exit when the main process is gone (e.g. SIGKILLed), never linger.

    A killed parent stays a zombie until reaped, and a zombie still answers kill(pid, 0),
    so its state is read from /proc where there is one.
    """
    def alive() -> bool:
        try:
            with open(f"/proc/{parent_pid}/stat", "rb") as fh:
                return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
        except FileNotFoundError:
            return False
        except OSError:
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                pass
            return True

    def watch() -> None:
        while alive():
            time.sleep(0.5)
        os._exit(0)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _analyse_safely(raw: bytes, routing: Routing, day: dt.date) -> Analysis:
    """Never lose a message to a reader bug: record it as unassigned with the error."""
    try:
        analysis = analyse_message(raw, routing, day)
    except Exception as exc:  # noqa: BLE001 - the boundary that keeps the message
        log.exception("analysis failed for a message of %d bytes", len(raw))
        from parsers.message import parse_message
        try:
            parsed = parse_message(raw)
        except Exception:  # noqa: BLE001
            parsed = None
        from parsers.model import ParsedMessage
        parsed = parsed or ParsedMessage(None, None, None, "", None, None, (), "")
        return Analysis(
            sha256=content_hash(raw), size=len(raw), parsed=replace(parsed, attachments=()),
            kind=UNASSIGNED, unit_code=None, reason="analysis_failed", reason_detail=type(exc).__name__,
            attachments=(), values={}, problems=(Problem("analysis_failed", {"detail": type(exc).__name__}),),
            readable=False, as_of=None, unit_text=None,
        )
    # The attachment bytes are in the archive; don't carry them back from a worker.
    return replace(analysis, parsed=replace(analysis.parsed, attachments=()))


# -- storing ------------------------------------------------------------------------------

def identity_of(parsed: ParsedMessage) -> str | None:
    """SHA-256 naming one message however often it was delivered: its Message-ID, sender
    and content together (PRODUCT.md: "the same message seen twice"). None when one of
    them is missing: then only the bytes tell a copy."""
    if not (parsed.message_id and parsed.from_address and parsed.content_sha256):
        return None
    key = "\n".join((parsed.message_id, parsed.from_address, parsed.content_sha256))
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


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
        identities = [i for i in (identity_of(a.parsed) for a in analyses) if i]
        message_ids = list({a.parsed.message_id for a in analyses if a.parsed.message_id})
        self.by_sha: dict[str, tuple[int, str]] = {}
        self.by_identity: dict[str, tuple[int, str]] = {}
        for pk, kind, sha, identity in session.execute(
                select(Message.id, Message.kind, Message.sha256, Message.identity_sha256)
                .where(Message.sha256.in_(shas) | Message.identity_sha256.in_(identities))):
            self.by_sha[sha] = (pk, kind)
            if identity:
                self.by_identity[identity] = (pk, kind)
        self.message_ids: dict[str, int] = dict(session.execute(
            select(Message.message_id, func.count()).where(Message.message_id.in_(message_ids))
            .group_by(Message.message_id)).tuples().all()) if message_ids else {}

    def store(self, analysis: Analysis, **row) -> tuple[int, str, bool, bool]:
        """Insert `analysis` unless it is a copy (`insert_message` takes `row`); returns
        (id, kind, duplicate, raced): `raced` when another instance stored it just now."""
        hit = self._find(analysis)
        if hit is not None:
            return (*hit, True, False)
        pk = insert_message(self.session, analysis, **row)
        if pk is None:  # stored by another instance since the lookup
            again = KnownMessages(self.session, [analysis])._find(analysis)
            assert again is not None  # the conflicting row is committed: the insert waited for it
            self._remember(*again, analysis)
            return (*again, True, True)
        self._remember(pk, analysis.kind, analysis)
        mid = analysis.parsed.message_id
        if mid:
            carried = self.message_ids.get(mid, 0)
            if carried == 1:
                log.warning("Message-ID %s is carried by different messages (message %d from %s is another "
                            "one); each is kept: some mail programs reuse Message-IDs", mid, pk,
                            analysis.parsed.from_address)
            self.message_ids[mid] = carried + 1
        return pk, analysis.kind, False, False

    def _find(self, analysis: Analysis) -> tuple[int, str] | None:
        identity = identity_of(analysis.parsed)
        return self.by_sha.get(analysis.sha256) or (self.by_identity.get(identity) if identity else None)

    def _remember(self, pk: int, kind: str, analysis: Analysis) -> None:
        self.by_sha[analysis.sha256] = (pk, kind)
        identity = identity_of(analysis.parsed)
        if identity:
            self.by_identity[identity] = (pk, kind)


def store_analysis(session: Session, analysis: Analysis, *, received_at: dt.datetime,
                   report_day: dt.date, archive_path: str, source: str, now: dt.datetime) -> Message:
    """Add the message row with its attachments, figures and problems (caller commits);
    the stored one when it is a copy of a message already stored."""
    pk, *_ = KnownMessages(session, [analysis]).store(
        analysis, received_at=received_at, report_day=report_day, archive_path=archive_path,
        source=source, now=now)
    return session.get(Message, pk)


def insert_message(session: Session, analysis: Analysis, *, received_at: dt.datetime,
                   report_day: dt.date, archive_path: str, source: str, now: dt.datetime,
                   children: dict | None = None) -> int | None:
    """Insert the message row; returns its id, or None when another instance stored the same
    message (same bytes or identity) just now. Its attachments, figures and problems are
    inserted here too, or, when `children` is given, collected there for one executemany
    per table and batch (`insert_children`)."""
    p = analysis.parsed
    derived, attachments, figures, problems = analysis_rows(analysis, now)
    # On the connection: no autoflush of the session's pending changes before each message.
    row = session.connection().execute(insert_or_ignore(session, Message.__table__, returning=Message.id), {
        "sha256": analysis.sha256, "message_id": p.message_id, "size": analysis.size,
        "archive_path": archive_path, "source": source, "received_at": received_at,
        "report_day": report_day, "from_address": p.from_address, "from_name": p.from_name,
        "subject": p.subject, "date_header": p.date_header, "created_at": now,
        "content_sha256": p.content_sha256, "identity_sha256": identity_of(p), **derived,
    }).first()
    if row is None:
        return None
    pk = row[0]
    pending = children if children is not None else {}
    for table, rows in ((Attachment.__table__, attachments), (Figure.__table__, figures),
                        (ProblemRow.__table__, problems)):
        pending.setdefault(table, []).extend({"message_pk": pk, **r} for r in rows)
    if children is None:
        insert_children(session, pending)
    return pk


def insert_children(session: Session, children: dict) -> None:
    conn = session.connection()
    for table, rows in children.items():
        if rows:
            conn.execute(table.insert(), rows)
    children.clear()


def analysis_rows(analysis: Analysis, now: dt.datetime):
    """The columns derived from reading a message: (message fields, attachments, figures, problems)."""
    derived = {
        "kind": analysis.kind,
        "unit_code": analysis.unit_code,
        "reason": analysis.reason if not analysis.reason_detail
        else f"{analysis.reason}:{analysis.reason_detail}",
        "readable": analysis.readable,
        "as_of": analysis.as_of,
        "unit_text": analysis.unit_text,
        "analysed_at": now,
    }
    attachments = [
        {"position": i, "filename": a.filename, "content_type": a.content_type,
         "detected_format": a.result.detected_format, "size": a.size, "sha256": a.sha256,
         "outcome": a.result.outcome, "sheet": a.result.sheet, "sheet_reason": a.result.sheet_reason}
        for i, a in enumerate(analysis.attachments)]
    figures = [{"indicator": ind, "measure": meas, "value": _storable(val)}
               for ind, row in analysis.values.items() for meas, val in row.items()]
    problems = [{"code": pr.code, "params": dict(pr.params)} for pr in analysis.problems]
    return derived, attachments, figures, problems


def apply_analysis(msg: Message, analysis: Analysis, now: dt.datetime) -> None:
    """Replace everything derived from reading `msg` (reprocessing with a new config)."""
    derived, attachments, figures, problems = analysis_rows(analysis, now)
    for key, value in derived.items():
        setattr(msg, key, value)
    # Delete the old rows first: the unit of work would insert the new ones before
    # deleting, and a cell (message, indicator, measure) is unique.
    msg.attachments, msg.figures, msg.problems = [], [], []
    session = object_session(msg)
    if session is not None:
        session.flush()
    msg.attachments = [Attachment(**a) for a in attachments]
    msg.figures = [Figure(**f) for f in figures]
    msg.problems = [ProblemRow(**pr) for pr in problems]


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

    def __init__(self, cfg: Config, sessions: sessionmaker[Session], archive: Archive,
                 *, clock: Callable[[], dt.datetime] | None = None, workers: int | None = None,
                 stop: threading.Event | None = None) -> None:
        self.cfg = cfg
        self.sessions = sessions
        self.archive = archive
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.analyser = Analyser(routing_for(cfg), workers)
        self.stop = stop or threading.Event()

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
            existing = session.scalar(select(Message).where(Message.sha256 == sha))
            if existing is not None:
                return _stored(existing, True)
        [analysis] = self.analyser.analyse([(raw, day)])
        with self._session() as session:
            pk, _, duplicate, _ = KnownMessages(session, [analysis]).store(
                analysis, received_at=received_at, report_day=day, archive_path=rel, source="import",
                now=self.clock())
            if not duplicate:
                self._commit(session)
                log.info("imported message %s from %s: %s", analysis.parsed.message_id,
                         analysis.parsed.from_address, describe_analysis(analysis))
            return _stored(session.get(Message, pk), duplicate)

    def poll(self, mailbox: Mailbox) -> PollReport:
        """One pass over the configured folder; returns what was stored.

        A database error (locked, gone) is a `StorageError`; what was archived but not
        committed is redone by the next poll, since the server still has it and the
        UID bookkeeping was not advanced.
        """
        with _database_errors():
            return self._poll(mailbox)

    def _poll(self, mailbox: Mailbox) -> PollReport:
        imap = self.cfg.imap
        assert imap is not None  # the CLI checks for an [imap] section before polling
        report = PollReport(mailbox.account, imap.folder)
        uidvalidity = mailbox.select(imap.folder)
        if imap.processed_folder:
            mailbox.ensure_folder(imap.processed_folder)
        with self._session() as session:
            state = self._state(session, mailbox.account, imap.folder, uidvalidity)
            last_uid = state.last_uid
            self._commit(session)
        report.actions_retried = self._carry_out_actions(mailbox, uidvalidity, only_pending=True)
        uids = mailbox.uids_after(last_uid)
        if uids:
            log.info("%d new message(s) in %s on %s", len(uids), imap.folder, imap.host)
        for start in range(0, len(uids), 200):
            if self.stop.is_set():
                break
            # Every new UID is downloaded: only the whole message tells a copy from another
            # message carrying the same Message-ID. Pipelined: the workers analyse batch k
            # while this process downloads batch k+1 and stores batch k-1.
            pending = None
            for batch in mailbox.fetch(mailbox.heads(uids[start:start + 200])):
                if self.stop.is_set():
                    break
                started = self._archive_and_submit(batch)
                if pending is not None:
                    self._store_batch(pending, mailbox.account, uidvalidity, report)
                    self._carry_out_actions(mailbox, uidvalidity, only_pending=True)
                pending = started
            if pending is not None:
                self._store_batch(pending, mailbox.account, uidvalidity, report)
            self._carry_out_actions(mailbox, uidvalidity, only_pending=True)
            if not self.stop.is_set():  # every UID of the chunk is stored, a known copy, or gone
                self._pass_uid(mailbox.account, uidvalidity, uids[start:start + 200][-1])
        return report

    def _pass_uid(self, account: str, uidvalidity: int, uid: int) -> None:
        with self._session() as session:
            state = self._state(session, account, self.cfg.imap.folder, uidvalidity)
            if state.last_uid < uid:
                state.last_uid = uid
                state.updated_at = self.clock()
                self._commit(session)

    def _archive_and_submit(self, batch: list[FetchedMessage]):
        items = []
        for fm in batch:
            sha = content_hash(fm.raw)
            rel = self.archive.store(fm.raw, sha, sync=False)  # (1) archive before anything else
            failpoint("archived")
            items.append((fm, sha, rel, report_day_of(fm.internaldate, self.cfg)))
        self.archive.sync_all(rel for _, _, rel, _ in items)
        return items, self.analyser.submit([(fm.raw, day) for fm, _, _, day in items])

    def _store_batch(self, pending, account: str, uidvalidity: int, report: PollReport) -> None:
        """(2) Commit a batch in one transaction."""
        items, futures = pending
        analyses = self.analyser.results([(fm.raw, day) for fm, _, _, day in items], futures)
        results = self._store_together(list(zip(items, analyses)), account, uidvalidity)
        failpoint("committed")
        for fm, analysis, pk, duplicate in results:
            if duplicate:
                report.duplicates += 1
                log.info("UID %d is a copy of stored message %d", fm.uid, pk)
                continue
            report.stored.append(Stored(
                message_pk=pk, duplicate=False, kind=analysis.kind, unit_code=analysis.unit_code,
                subject=analysis.parsed.subject, from_address=analysis.parsed.from_address,
                received_at=fm.internaldate, readable=analysis.readable))
            log.info("stored UID %d from %s (%s): %s", fm.uid, analysis.parsed.from_address,
                     analysis.parsed.message_id, describe_analysis(analysis))

    def _store_together(self, rows, account: str, uidvalidity: int):
        """New messages and every UID's bookkeeping, in one transaction.

        Another instance polling the same folder may store the same messages and UIDs at
        the same moment: its rows win, ours are not inserted (ON CONFLICT DO NOTHING, after
        waiting for its commit on PostgreSQL), and the message counts as a copy here.
        """
        imap = self.cfg.imap
        now = self.clock()
        with self._session() as session:
            known = KnownMessages(session, [a for _, a in rows])
            state = self._state(session, account, imap.folder, uidvalidity)
            results, uid_rows, children, raced = [], [], {}, []
            for (fm, _, rel, day), analysis in rows:
                pk, kind, duplicate, lost_race = known.store(
                    analysis, received_at=fm.internaldate, report_day=day, archive_path=rel,
                    source="imap", now=now, children=children)
                if lost_race:
                    raced.append(fm.uid)
                action = server_action(kind, duplicate, bool(imap.processed_folder))
                uid_rows.append({"account": account, "folder": imap.folder, "uidvalidity": uidvalidity,
                                 "uid": fm.uid, "message_pk": pk, "duplicate": duplicate,
                                 "action": action, "done": action == "none", "seen_at": now})
                state.last_uid = max(state.last_uid, fm.uid)
                results.append((fm, analysis, pk, duplicate))
            insert_children(session, children)
            if uid_rows:
                recorded = set(session.scalars(
                    insert_or_ignore(session, MailboxMessage.__table__, returning=MailboxMessage.uid), uid_rows))
                raced += [r["uid"] for r in uid_rows if r["uid"] not in recorded]
            state.updated_at = now
            self._commit(session)
        if raced:
            log.info("%d UID(s) in %s were stored by another instance at the same moment: %s",
                     len(set(raced)), imap.folder, ", ".join(str(u) for u in sorted(set(raced))))
        return results

    def _state(self, session: Session, account: str, folder: str, uidvalidity: int) -> MailboxState:
        def load() -> MailboxState | None:
            return session.scalar(select(MailboxState).where(
                MailboxState.account == account, MailboxState.folder == folder))
        state = load()
        if state is None:
            # Two instances' first polls of a folder both get here: one row, never an error.
            created = session.execute(insert_or_ignore(session, MailboxState.__table__, returning=MailboxState.id),
                                      {"account": account, "folder": folder, "uidvalidity": uidvalidity,
                                       "last_uid": 0, "updated_at": self.clock()}).first()
            if created is None:
                log.info("another instance started polling %s on %s at the same moment", folder, account)
            state = load()
            assert state is not None  # inserted, or committed by the other instance
        if state.uidvalidity != uidvalidity:
            log.warning("UIDVALIDITY of %s on %s changed from %d to %d: rescanning the folder "
                        "(messages already stored are recognised and not stored again)",
                        folder, account, state.uidvalidity, uidvalidity)
            state.uidvalidity = uidvalidity
            state.last_uid = 0
            state.updated_at = self.clock()
        return state

    def _carry_out_actions(self, mailbox: Mailbox, uidvalidity: int, only_pending: bool) -> int:
        """(3) + (4): move or flag committed messages, then mark the action done."""
        imap = self.cfg.imap
        with self._session() as session:
            rows = session.scalars(select(MailboxMessage).where(
                MailboxMessage.account == mailbox.account, MailboxMessage.folder == imap.folder,
                MailboxMessage.uidvalidity == uidvalidity, MailboxMessage.done.is_(False))).all()
            if not rows:
                return 0
            moves = [r.uid for r in rows if r.action == "move"]
            flags = [r.uid for r in rows if r.action == "flag"]
            if flags:
                mailbox.flag(flags)
            if moves and imap.processed_folder:
                mailbox.move(moves, imap.processed_folder)
            failpoint("moved")
            for r in rows:
                r.done = True
            self._commit(session)
            return len(rows)

    # -- helpers --------------------------------------------------------------------------
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
def _database_errors():
    """Statements run outside `_commit` (inserts, reads) fail as `StorageError` too: a locked
    SQLite file must be one sentence in the log, not a traceback."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(describe_db_error(exc)) from exc


def describe_db_error(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, OperationalError) and "locked" in text:
        return "the database is locked by another program; try again when it has finished"
    if "file is not a database" in text or "malformed" in text:
        return f"the database file is corrupt ({text})"
    return f"database error: {text[:300]}"


def _stored(msg: Message, duplicate: bool) -> Stored:
    return Stored(message_pk=msg.id, duplicate=duplicate, kind=msg.kind, unit_code=msg.unit_code,
                  subject=msg.subject, from_address=msg.from_address, received_at=msg.received_at,
                  readable=msg.readable)


def describe_analysis(a: Analysis) -> str:
    if a.kind == REPORT:
        cells = sum(len(row) for row in a.values.values())
        return (f"report of {a.unit_code} ({'read' if a.readable else 'unreadable'}, "
                f"{cells} figures, {len(a.problems)} problems)")
    reason = a.reason if not a.reason_detail else f"{a.reason}: {a.reason_detail}"
    return f"{'automatic mail' if a.kind == AUTOMATIC else 'unassigned'} ({reason})"


def ingest_files(ingestor: Ingestor, paths: Iterable[str]) -> list[tuple[str, Stored]]:
    out = []
    for path in paths:
        with open(path, "rb") as fh:
            raw = fh.read()
        out.append((path, ingestor.import_raw(raw)))
    return out


# -- reprocessing ---------------------------------------------------------------------------

@dataclass
class ReprocessReport:
    total: int = 0
    changed: int = 0
    missing_files: list[str] = field(default_factory=list)


def reprocess(ingestor: Ingestor, *, start: dt.date | None = None, end: dt.date | None = None,
              unassigned_only: bool = False, progress: Callable[[int, int], None] | None = None,
              batch_size: int = 100) -> ReprocessReport:
    """Re-read archived messages with the current config, replacing what they produced.

    Idempotent: running it twice gives the same rows. The raw messages, their arrival
    times and the mailbox bookkeeping are never touched.
    """
    cfg = ingestor.cfg
    query = select(Message.id).order_by(Message.received_at, Message.id)
    if start:
        query = query.where(Message.report_day >= start)
    if end:
        query = query.where(Message.report_day <= end)
    if unassigned_only:
        query = query.where(Message.kind == UNASSIGNED)
    with ingestor._session() as session:
        ids = session.scalars(query).all()
    result = ReprocessReport(total=len(ids))
    done = 0
    for first in range(0, len(ids), batch_size):
        chunk = ids[first:first + batch_size]
        with ingestor._session() as session:
            msgs = session.scalars(select(Message).where(Message.id.in_(chunk))
                                   .order_by(Message.received_at, Message.id)).all()
            items, kept = [], []
            for msg in msgs:
                try:
                    raw = ingestor.archive.load(msg.archive_path)
                except ArchiveError:
                    result.missing_files.append(msg.archive_path)
                    log.error("archived file %s of message %d is missing; its rows are kept as they are",
                              msg.archive_path, msg.id)
                    continue
                msg.report_day = report_day_of(msg.received_at, cfg)
                items.append((raw, msg.report_day))
                kept.append(msg)
            now = ingestor.clock()
            analyses = ingestor.analyser.analyse(items)
            for msg, analysis in zip(kept, analyses):
                before = (msg.kind, msg.unit_code, msg.readable, len(msg.figures), len(msg.problems))
                apply_analysis(msg, analysis, now)
                after = (msg.kind, msg.unit_code, msg.readable, len(msg.figures), len(msg.problems))
                result.changed += before != after
            _fill_identities(session, kept, analyses)
            ingestor._commit(session)
        done += len(chunk)
        if progress:
            progress(done, len(ids))
    log.info("reprocessed %d message(s), %d changed", result.total, result.changed)
    return result


def _fill_identities(session: Session, msgs: Sequence[Message], analyses: Sequence[Analysis]) -> None:
    """Give rows their content hash and identity (rows stored before revision 0005 have
    none), unless another row already has that identity: then the same message was stored
    twice by an older version, and both rows stay as they are, this one without it."""
    wanted = {}
    for msg, analysis in zip(msgs, analyses):
        # The headers as stored: reprocessing never changes what a message is.
        parsed = replace(analysis.parsed, message_id=msg.message_id, from_address=msg.from_address)
        msg.content_sha256 = parsed.content_sha256
        wanted[msg.id] = identity_of(parsed)
    identities = [i for i in wanted.values() if i]
    taken = dict(session.execute(select(Message.identity_sha256, Message.id).where(
        Message.identity_sha256.in_(identities))).tuples().all()) if identities else {}
    for msg in msgs:
        identity = wanted[msg.id]
        holder = taken.setdefault(identity, msg.id) if identity else None
        if holder is not None and holder != msg.id:
            log.info("message %d is the same message as message %d (stored twice by an older version); "
                     "both are kept", msg.id, holder)
            identity = None
        msg.identity_sha256 = identity
