"""Re-reading archived messages with the current configuration (`baocao reprocess`),
replacing what they produced; the raw messages, their arrival times and the mailbox
bookkeeping are never touched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from service.errors import ArchiveError
from service.ingest.analysis import Analysis, identity_of
from service.ingest.pipeline import Ingestor, analysis_rows, report_day_of, report_rows, server_action
from storage.mailbox import settle_waiting
from storage.messages import identities_taken, message_ids_between, messages_by_ids, rewrite_message, set_identity
from storage.records import MessageRecord

log = logging.getLogger(__name__)


@dataclass
class ReprocessReport:
    total: int = 0
    changed: int = 0
    missing_files: list[str] = field(default_factory=list)


def reprocess(
    ingestor: Ingestor,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    unassigned_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 100,
) -> ReprocessReport:
    """Re-read archived messages with the current config, replacing what they produced.

    Idempotent: running it twice gives the same rows. The raw messages, their arrival
    times and the mailbox bookkeeping are never touched.
    """
    cfg = ingestor.cfg
    processed = bool(cfg.imap and cfg.imap.processed_folder)
    with ingestor._session() as session:
        ids = message_ids_between(session, start, end, unassigned_only)
    result = ReprocessReport(total=len(ids))
    done = 0
    for first in range(0, len(ids), batch_size):
        chunk = ids[first : first + batch_size]
        with ingestor._session() as session:
            msgs = messages_by_ids(session, chunk)
            items, kept, days = [], [], []
            for msg in msgs:
                try:
                    raw = ingestor.archive.load(msg.archive_path)
                except ArchiveError:
                    result.missing_files.append(msg.archive_path)
                    log.error(
                        "archived file %s of message %d is missing; its rows are kept as they are",
                        msg.archive_path,
                        msg.id,
                    )
                    continue
                day = report_day_of(msg.received_at, cfg)
                items.append((raw, day))
                kept.append(msg)
                days.append(day)
            now = ingestor.clock()
            analyses = ingestor.analyser.analyse(items)
            for msg, day, analysis in zip(kept, days, analyses):
                before = (msg.kind, msg.unit_code, msg.readable, len(msg.figures), len(msg.problems))
                new = rewrite_message(
                    session, msg.id, day, *analysis_rows(analysis, now), reports=report_rows(analysis)
                )
                # read in full: a UID that waited for its recognition gets its action
                settle_waiting(session, msg.id, server_action(new.kind, False, processed))
                after = (new.kind, new.unit_code, new.readable, len(new.figures), len(new.problems))
                result.changed += before != after
            _fill_identities(session, kept, analyses)
            ingestor._commit(session)
        done += len(chunk)
        if progress:
            progress(done, len(ids))
    log.info("reprocessed %d message(s), %d changed", result.total, result.changed)
    return result


def _fill_identities(session: Session, msgs: Sequence[MessageRecord], analyses: Sequence[Analysis]) -> None:
    """Give rows their content hash and identity (rows stored before revision 0005 have
    none), unless another row already has that identity: then the same message was stored
    twice by an older version, and both rows stay as they are, this one without it."""
    wanted, contents = {}, {}
    for msg, analysis in zip(msgs, analyses):
        # The headers as stored: reprocessing never changes what a message is.
        parsed = replace(analysis.parsed, message_id=msg.message_id, from_address=msg.from_address)
        contents[msg.id] = parsed.content_sha256
        wanted[msg.id] = identity_of(parsed)
    taken = identities_taken(session, [i for i in wanted.values() if i])
    for msg in msgs:
        identity = wanted[msg.id]
        holder = taken.setdefault(identity, msg.id) if identity else None
        if holder is not None and holder != msg.id:
            log.info(
                "message %d is the same message as message %d (stored twice by an older version); both are kept",
                msg.id,
                holder,
            )
            identity = None
        set_identity(session, msg.id, contents[msg.id], identity)
