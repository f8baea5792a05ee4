"""Whether a one-shot poll has anything to do, asked before the ingest machinery is
loaded (issue 14: an empty `baocao poll` from cron starts and ends at once).

The folder has no UID past the stored one (STATUS, as `Ingestor._nothing_new`), no
server-side action is left, nothing awaits recognition, no stored message still wants
an acknowledgement or a notice, and no outbox row is waiting: then the full poll and
its acknowledgement step would do nothing either. Any doubt (a database this cannot
read directly, a schema to migrate, an error) is a yes.
"""

from __future__ import annotations

import datetime as dt
import logging

from service.config import Config
from service.mail.mailbox import Mailbox
from service.schedule.recent import RECENT
from storage.direct import open_direct

log = logging.getLogger(__name__)


def nothing_to_do(cfg: Config, mailbox: Mailbox, now: dt.datetime) -> bool:
    """Whether `baocao poll` (store what is new, carry out actions, finish recognitions,
    plan acknowledgements, drain the outbox) would find nothing to do now."""
    imap = cfg.imap
    assert imap is not None  # the CLI checks for an [imap] section before polling
    peeked = mailbox.peek(imap.folder)
    if peeked is None:
        return False
    uidvalidity, uidnext = peeked
    reader = open_direct(cfg.service.database_url)
    if reader is None:
        return False
    try:
        with reader:
            state = reader.folder_state(mailbox.account, imap.folder)
            if state is None or state[0] != uidvalidity or state[1] < uidnext - 1:
                return False
            if reader.has_pending_recognitions() or reader.has_pending_actions(
                mailbox.account, imap.folder, uidvalidity
            ):
                return False
            ack = cfg.acknowledgements
            if ack.enabled and cfg.smtp is not None:
                since_day = (now - RECENT).astimezone(cfg.service.timezone).date()
                if reader.has_unanswered(since_day, ack.reply_unknown):
                    return False
            return not reader.has_outbox_work()
    except Exception as exc:  # noqa: BLE001 - any doubt: the full poll, which reports errors
        log.debug("quick check of the database failed, polling in full: %s", exc)
        return False
