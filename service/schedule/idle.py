"""IMAP IDLE beside the poll: a report lands seconds after it arrives (the poll stays the
fallback); a dropped connection is reconnected with backoff and jitter."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from service.config import Config
from service.errors import BaocaoError
from service.mail.mailbox import Mailbox

log = logging.getLogger(__name__)

# Every IDLE_RENEW_SECONDS the IDLE is ended (DONE) and issued again: the server must answer
# DONE within timeout_seconds, which proves a quiet connection alive (a half-open one fails
# here), and it stays far below the 29 minutes after which servers may drop an IDLE (RFC 2177).
IDLE_RENEW_SECONDS = 5 * 60
IDLE_CHECK_SECONDS = 30
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 60.0  # a restarted server has IDLE back within a minute


def reconnect_delay(failures: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after `failures` failed attempts in a row: 1, 2, 4 … at most
    RECONNECT_MAX_SECONDS, each drawn between half and all of that (jitter), so that
    instances sharing a server do not all reconnect at the same moment."""
    ceiling = min(RECONNECT_MAX_SECONDS, RECONNECT_FIRST_SECONDS * 2 ** max(0, failures - 1))
    return float(ceiling / 2 + rng() * ceiling / 2)


class IdleWatcher(threading.Thread):
    """Keeps an IMAP IDLE on the folder and calls `on_news` when the server announces mail.

    Polling stays as the fallback: this only makes a report land seconds after it
    arrives. A connection that ends (BYE, closed, reset) or stops answering is
    reconnected after `reconnect_delay`; once back, `on_news` runs once for what came
    meanwhile. `on_exchange(ok, error)` reports each successful exchange and each
    failure (for `health`).
    """

    def __init__(
        self,
        cfg: Config,
        on_news: Callable[[], None],
        stop: threading.Event,
        on_exchange: Callable[[bool, str | None], None] = lambda ok, error: None,
    ) -> None:
        super().__init__(name="imap-idle", daemon=True)
        self.cfg, self.on_news, self.stop_event, self.on_exchange = cfg, on_news, stop, on_exchange
        self._failures = 0  # failed attempts since IDLE last ran
        self._was_idle = False

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self._watch()
                return  # stopping, or the server has no IDLE
            except Exception as exc:  # noqa: BLE001 - log, back off, reconnect
                self._failures += 1
                delay = reconnect_delay(self._failures)
                text = str(exc) if isinstance(exc, BaocaoError) else f"{type(exc).__name__}: {exc}"
                self.on_exchange(False, text)
                log.warning(
                    "IMAP IDLE on %s stopped (%s); reconnecting in %.0f s",
                    self.cfg.imap.host if self.cfg.imap else "?",
                    text,
                    delay,
                )
                if self.stop_event.wait(delay):
                    return

    def _watch(self) -> None:
        imap = self.cfg.imap
        assert imap is not None  # the daemon watches only with an [imap] section
        with Mailbox(imap) as mailbox:
            mailbox.select(imap.folder)
            if not mailbox.offers("IDLE"):
                log.warning("the IMAP server %s does not offer IDLE; polling only", imap.host)
                self.stop_event.wait()
                return
            self.on_exchange(True, None)
            news = self._was_idle  # mail may have come while IDLE was down
            announced = False
            while not self.stop_event.is_set():
                if news:
                    self.on_news()
                # IDLE announces what arrives after it starts, not what came during the poll just
                # made (Dovecot stays silent about it): a NOOP shows that first.
                if _announces_mail(mailbox.noop()):
                    news = True
                    continue
                mailbox.idle_start()
                if not announced:  # IDLE is on from here: mail arriving now is seen at once
                    again = f" again after {self._failures} failed attempt(s)" if self._was_idle else ""
                    log.info("IMAP IDLE on %s/%s%s", imap.host, imap.folder, again)
                    self._was_idle, self._failures, announced = True, 0, True
                news = self._wait_for_news(mailbox)
                news = _announces_mail(mailbox.idle_done()) or news
                self.on_exchange(True, None)

    def _wait_for_news(self, mailbox: Mailbox) -> bool:
        started = time.monotonic()
        while not self.stop_event.is_set() and time.monotonic() - started < IDLE_RENEW_SECONDS:
            if _announces_mail(mailbox.idle_wait(IDLE_CHECK_SECONDS)):
                return True
        return False


def _announces_mail(responses: list[tuple[Any, ...]]) -> bool:
    return any(r[1] in (b"EXISTS", b"RECENT") for r in responses if len(r) > 1)
