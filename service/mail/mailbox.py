"""The one class that talks IMAP (imapclient): connect, search, fetch, move, flag.

Every imapclient/socket/TLS error is translated here into a `MailboxError` that
names the host and what went wrong, in one sentence.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import select
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from parsers.text import closest_match
from service.config import ImapConfig
from service.errors import MailboxError
from service.mail.loopback import is_loopback

log = logging.getLogger(__name__)

FETCH_BATCH_BYTES = 16 * 1024 * 1024
FETCH_BATCH_COUNT = 100


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes
    internaldate: dt.datetime  # aware


@dataclass(frozen=True)
class MessageHead:
    uid: int
    size: int


@dataclass(frozen=True)
class FolderLayout:
    """How a server names the account's folders: its personal namespaces (prefix, hierarchy
    delimiter; Cyrus and Courier: ("INBOX.", ".")) and the folders that exist."""

    personal: tuple[tuple[str, str], ...]
    folders: tuple[str, ...]

    def has(self, name: str) -> bool:
        return name in self.folders or name.upper() == "INBOX" and any(f.upper() == "INBOX" for f in self.folders)

    def can_create(self, name: str) -> bool:
        """Whether `name` lies in a personal namespace, where the account may create folders."""
        return any(name.startswith(prefix) and len(name) > len(prefix) for prefix, _ in self.personal)

    def suggest(self, name: str) -> str | None:
        """The folder the administrator probably meant by `name`: the same name in another
        case, spelled with the server's prefix and delimiter ("Processed", "Inbox/Processed"
        → "INBOX.Processed"), or the closest existing folder."""
        existing = {f.lower(): f for f in self.folders}
        if existing.get(name.lower(), name) != name:
            return existing[name.lower()]
        for prefix, delimiter in self.personal:
            spelled = "".join(delimiter if c in "/.\\" and delimiter else c for c in name)
            # INBOX, the usual prefix, is case-insensitive (RFC 3501)
            spelled = prefix + (spelled[len(prefix) :] if spelled.lower().startswith(prefix.lower()) else spelled)
            if existing.get(spelled.lower(), name) != name:
                return existing[spelled.lower()]
            if not self.can_create(name) and self.can_create(spelled):
                return spelled
        return closest_match(name, self.folders)


def tls_context(ca_file: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """Verifying TLS context: the system CAs, or only `ca_file` when given."""
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class Mailbox:
    """A logged-in IMAP session on one account. Use as a context manager."""

    def __init__(self, cfg: ImapConfig) -> None:
        self.cfg = cfg
        self.account = f"{cfg.username}@{cfg.host}:{cfg.port}"
        self._client: IMAPClient | None = None
        self._capabilities: set[bytes] = set()
        self._selected: tuple[str, int] | None = None  # (folder, UIDVALIDITY)
        self._known_folders: set[str] = set()

    # -- connection --------------------------------------------------------------------
    def __enter__(self) -> Mailbox:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        cfg = self.cfg
        where = f"{cfg.host}:{cfg.port}"
        if cfg.security == "none" and not is_loopback(cfg.host):
            raise MailboxError(
                f"IMAP security 'none' is refused for {cfg.host}: "
                "use ssl or starttls for a server that is not on this machine"
            )
        with self._translate(f"the IMAP server {where}"):
            if cfg.security == "ssl":
                client = IMAPClient(
                    cfg.host, port=cfg.port, ssl=True, ssl_context=tls_context(cfg.ca_file), timeout=cfg.timeout_seconds
                )
            else:
                client = IMAPClient(cfg.host, port=cfg.port, ssl=False, timeout=cfg.timeout_seconds)
                if cfg.security == "starttls":
                    client.starttls(tls_context(cfg.ca_file))
            client.normalise_times = False
            _set_nodelay(client)
            self._client = client
            try:
                password = cfg.password.reveal()
                if password.isascii() and cfg.username.isascii():
                    client.login(cfg.username, password)
                else:  # LOGIN carries ASCII only; AUTHENTICATE PLAIN carries UTF-8 (RFC 4616)
                    client.plain_login(cfg.username, password)
            except LoginError as exc:
                raise MailboxError(
                    f"the IMAP server {where} refused the login for {cfg.username} (wrong user name or password)"
                ) from exc
            self._capabilities = set(client.capabilities())

    def close(self) -> None:
        client, self._client = self._client, None
        self._selected = None
        self._known_folders.clear()
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the connection may already be gone; nothing to save
            try:
                client.shutdown()
            except Exception:
                pass

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise MailboxError(f"not connected to {self.cfg.host}:{self.cfg.port}")
        return self._client

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        try:
            yield
        except MailboxError:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(
                f"the TLS certificate of {what} could not be verified "
                f"({exc.verify_message}); set imap.ca_file to trust it"
            ) from exc
        except ssl.SSLError as exc:
            raise MailboxError(f"TLS with {what} failed: {exc.reason or exc}") from exc
        except TimeoutError as exc:
            raise MailboxError(f"{what} did not answer in {self.cfg.timeout_seconds:g} s") from exc
        except (ConnectionError, socket.gaierror, OSError) as exc:
            raise MailboxError(f"cannot reach {what}: {exc.strerror or exc}") from exc
        except IMAPClientAbortError as exc:  # imaplib's "abort": the connection is gone
            raise MailboxError(f"the connection to {what} was lost: {_short(exc)}") from exc
        except IMAPClientError as exc:
            raise MailboxError(f"{what} answered with an error: {_short(exc)}") from exc

    # -- folders -----------------------------------------------------------------------
    def select(self, folder: str) -> int:
        """Select `folder` read-write; return its UIDVALIDITY.

        When the folder is already selected on this connection, a NOOP brings the
        server's news instead: SELECT of a large maildir costs tens of milliseconds,
        NOOP a fraction of one, so a poll with nothing new stays flat.
        """
        if self._selected and self._selected[0] == folder:
            warnings = [r for r in self.noop() if r and r[0] in (b"NO", b"BAD", b"BYE")]
            if not warnings:
                return self._selected[1]
            # A folder deleted (and perhaps made again) under this session keeps answering
            # from the old selection, new mail unseen; Dovecot says so only with an untagged
            # NO to NOOP. A real SELECT shows the folder as it is now, with its UIDVALIDITY.
            log.info(
                "the server warned about folder %r on %s (%s): selecting it again",
                folder,
                self.cfg.host,
                _short(Exception(warnings[0][-1])),
            )
            self._selected = None
        with self._translate(f"folder '{folder}' on {self.cfg.host}"):
            if not self.client.folder_exists(folder):
                raise MailboxError(
                    f"the folder '{folder}' does not exist on the IMAP server {self.cfg.host} (check imap.folder)"
                )
            info = self.client.select_folder(folder)
        self._selected = (folder, int(info[b"UIDVALIDITY"]))
        return self._selected[1]

    def peek(self, folder: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, UIDNEXT) of `folder` by STATUS, without selecting it: a first SELECT
        of a 20,000-message maildir costs Dovecot a hundred milliseconds and more, STATUS a
        couple, so a poll with nothing new need not open the folder at all.

        None when `folder` is the one selected on this connection (STATUS is not meant for
        it, RFC 3501 6.3.10, and NOOP is cheap there) or the server refuses STATUS for it
        (a missing folder: `select` then says so)."""
        if self._selected is not None and self._selected[0] == folder:
            return None
        with self._translate(f"folder '{folder}' on {self.cfg.host}"):
            try:
                info = self.client.folder_status(folder, ["UIDVALIDITY", "UIDNEXT"])
            except IMAPClientAbortError:
                raise
            except IMAPClientError:
                return None
        uidvalidity, uidnext = info.get(b"UIDVALIDITY"), info.get(b"UIDNEXT")
        if uidvalidity is None or uidnext is None:
            return None
        return int(uidvalidity), int(uidnext)

    def folder_layout(self) -> FolderLayout:
        """The personal namespaces (NAMESPACE, else the delimiter LIST reports) and every folder."""
        with self._translate(f"the IMAP server {self.cfg.host}"):
            listed = self.client.list_folders()
            namespaces = self.client.namespace() if self.offers("NAMESPACE") else None
        personal = tuple(
            (as_text(prefix), as_text(delimiter))
            for prefix, delimiter in ((namespaces.personal or ()) if namespaces else ())
        )
        if not personal:
            delimiters = [as_text(delimiter) for _flags, delimiter, _name in listed if delimiter]
            personal = (("", delimiters[0] if delimiters else ""),)
        return FolderLayout(personal, tuple(sorted(as_text(name) for _flags, _delimiter, name in listed)))

    def ensure_folder(self, folder: str) -> None:
        if folder in self._known_folders:
            return
        with self._translate(f"folder '{folder}' on {self.cfg.host}"):
            if not self.client.folder_exists(folder):
                try:
                    self.client.create_folder(folder)
                    log.info("created IMAP folder %r on %s", folder, self.cfg.host)
                except IMAPClientError:
                    if not self.client.folder_exists(folder):
                        raise
                    # Another instance created it at the same moment: what we wanted.
                    log.info(
                        "IMAP folder %r on %s was created by another instance at the same time", folder, self.cfg.host
                    )
        self._known_folders.add(folder)

    # -- messages ----------------------------------------------------------------------
    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than `last_uid` (an empty `N:*` range returns the highest UID)."""
        with self._translate(f"{self.cfg.host}"):
            uids = self.client.search(["UID", f"{last_uid + 1}:*"])
        return sorted(u for u in uids if u > last_uid)

    def heads(self, uids: list[int]) -> list[MessageHead]:
        """The size of each UID, without downloading the bodies (`fetch` batches by it)."""
        out: list[MessageHead] = []
        for start in range(0, len(uids), 500):
            chunk = uids[start : start + 500]
            with self._translate(f"{self.cfg.host}"):
                data = self.client.fetch(chunk, ["RFC822.SIZE"])
            for uid in chunk:
                item = data.get(uid)
                if item is None:  # expunged meanwhile
                    continue
                out.append(MessageHead(uid, int(item.get(b"RFC822.SIZE", 0))))
        return out

    def fetch(self, heads: list[MessageHead]) -> Iterator[list[FetchedMessage]]:
        """Download whole messages in batches bounded by count and bytes (BODY.PEEK: no \\Seen)."""
        batch: list[int] = []
        size = 0
        for head in heads:
            if batch and (len(batch) >= FETCH_BATCH_COUNT or size + head.size > FETCH_BATCH_BYTES):
                yield self._fetch_batch(batch)
                batch, size = [], 0
            batch.append(head.uid)
            size += head.size
        if batch:
            yield self._fetch_batch(batch)

    def _fetch_batch(self, uids: list[int]) -> list[FetchedMessage]:
        with self._translate(f"{self.cfg.host}"):
            data = self.client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
        out = []
        for uid in uids:
            item = data.get(uid)
            if item is None:
                continue
            raw = item.get(b"BODY[]") or b""
            when = item.get(b"INTERNALDATE")
            if when is None:
                when = dt.datetime.now(dt.UTC)
            elif when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            out.append(FetchedMessage(uid, raw, when))
        return out

    def move(self, uids: list[int], folder: str) -> None:
        """Move to `folder`: MOVE where offered, else COPY + \\Deleted + UID EXPUNGE of those UIDs."""
        if not uids:
            return
        try:
            self._expunged_elsewhere(lambda: self._move(uids, folder))
        except MailboxError as exc:
            if "TRYCREATE" not in str(exc).upper():
                raise
            # The folder was deleted behind our back (e.g. by a person): create it again.
            self._known_folders.discard(folder)
            log.warning("IMAP folder %r is gone from %s: creating it again", folder, self.cfg.host)
            self.ensure_folder(folder)
            self._move(uids, folder)

    def _move(self, uids: list[int], folder: str) -> None:
        with self._translate(f"folder '{folder}' on {self.cfg.host}"):
            if b"MOVE" in self._capabilities:
                self.client.move(uids, folder)
                return
            self.client.copy(uids, folder)
            self.client.add_flags(uids, [b"\\Deleted"], silent=True)
            if b"UIDPLUS" in self._capabilities:
                self.client.uid_expunge(uids)
            # Without UIDPLUS a plain EXPUNGE could remove messages a person marked
            # deleted; leave them flagged for the mail client instead.

    def flag(self, uids: list[int]) -> None:
        def flag() -> None:
            with self._translate(f"{self.cfg.host}"):
                self.client.add_flags(uids, [b"\\Flagged"], silent=True)

        if uids:
            self._expunged_elsewhere(flag)

    def _expunged_elsewhere(self, action: Callable[[], None]) -> None:
        """Run `action` on messages of the selected folder; when some of them were expunged
        by another session meanwhile (another instance moved them: `[EXPUNGEISSUED]`,
        RFC 5530), take the server's news (NOOP) and run it once more: a UID that is gone
        no longer counts, the others are acted on."""
        try:
            action()
        except MailboxError as exc:
            if "EXPUNGEISSUED" not in str(exc).upper():
                raise
            log.info("some messages were moved by another session on %s meanwhile: trying again", self.cfg.host)
            self.noop()
            action()

    # -- IDLE (RFC 2177) ----------------------------------------------------------------
    def offers(self, capability: str) -> bool:
        return capability.upper().encode() in self._capabilities

    def idle_start(self) -> None:
        with self._translate(f"{self.cfg.host}"):
            self.client.idle()

    def idle_wait(self, timeout: float) -> list[tuple[Any, ...]]:
        """The server's news during IDLE, waiting at most `timeout` s for it ([] when quiet).

        imapclient's idle_check answers [] both when nothing happened and when the
        connection is gone (it swallows the end of the stream and socket errors), so a
        loop around it would spin on a dead connection. A session the server ended
        (BYE), a connection it closed or reset, raises `MailboxError` here instead.
        """
        with self._translate(f"the IMAP server {self.cfg.host}:{self.cfg.port}"):
            responses = list(self.client.idle_check(timeout=timeout))
            closed = self._peer_closed(quiet=not responses)
        bye = next((r for r in responses if r and r[0] == b"BYE"), None)
        if bye is not None:
            raise MailboxError(
                f"the IMAP server {self.cfg.host}:{self.cfg.port} ended the session: "
                f"{_short(Exception(b' '.join(x for x in bye[1:] if isinstance(x, bytes))))}"
            )
        if closed:
            raise MailboxError(
                f"the connection to the IMAP server {self.cfg.host}:{self.cfg.port} was lost: closed by the server"
            )
        return responses

    def idle_done(self) -> list[tuple[Any, ...]]:
        """End IDLE; the server must confirm within timeout_seconds (a silent connection fails here)."""
        with self._translate(f"the IMAP server {self.cfg.host}:{self.cfg.port}"):
            return list(self.client.idle_done()[1])

    def _peer_closed(self, quiet: bool) -> bool:
        """Whether the server closed or reset the connection, right after idle_check read what
        there was to read. Linux flags the peer's close (POLLRDHUP) and a reset (POLLERR,
        POLLHUP); elsewhere, a socket still readable although nothing could be read from it
        is at the end of the stream."""
        hangup = select.POLLHUP | select.POLLERR | select.POLLNVAL | getattr(select, "POLLRDHUP", 0)
        poller = select.poll()
        poller.register(self.client.socket(), select.POLLIN | hangup)
        events = poller.poll(0)
        if not events:
            return False
        flags = events[0][1]
        return bool(flags & hangup) or (quiet and bool(flags & select.POLLIN))

    def search_message_id(self, folder: str, message_id: str) -> list[int]:
        """UIDs in `folder` whose Message-ID header contains `message_id` (UID SEARCH HEADER);
        [] when the folder does not exist. The folder is opened read-only (EXAMINE)."""
        with self._translate(f"folder '{folder}' on {self.cfg.host}"):
            if not self.client.folder_exists(folder):
                return []
            self._selected = None  # EXAMINE replaces whatever select() had selected
            self.client.select_folder(folder, readonly=True)
            return sorted(self.client.search(["HEADER", "Message-ID", message_id]))

    def noop(self) -> list[tuple[Any, ...]]:
        """NOOP: the server's news (untagged responses) on the selected folder."""
        with self._translate(f"{self.cfg.host}"):
            return list(self.client.noop()[1])

    @property
    def connected(self) -> bool:
        return self._client is not None


def _set_nodelay(client: IMAPClient) -> None:
    try:
        sock = client.socket()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


def as_text(value: str | bytes | None) -> str:
    """What a server said, as text (bytes decoded leniently)."""
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _short(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc.args[0] if exc.args else None, bytes):
        text = exc.args[0].decode("utf-8", "replace")
    return text[:300]
