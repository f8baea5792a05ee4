"""Throwaway mail servers on 127.0.0.1: a real Dovecot IMAP server (here) and an SMTP capture
(service/demo/smtp_capture.py).

Used by `baocao demo`, the benchmarks and the test fixtures; the daemon never uses it.
"""

from __future__ import annotations

import datetime as dt
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from service.demo.smtp_capture import (  # noqa: F401 - SmtpCapture and CapturedMail, for callers
    _READY_TIMEOUT_SECONDS,
    HOST,
    CapturedMail,
    LocalServerError,
    SmtpCapture,
    free_port,
    make_self_signed_cert,
)

if TYPE_CHECKING:
    from imapclient import IMAPClient

_STOP_TIMEOUT_SECONDS = 10.0
_USERNAME = re.compile(r"[A-Za-z0-9._@+-]+")


_DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
instance_name = baocao-dovecot-{port}
protocols = imap
listen = 127.0.0.1
log_path = /dev/stderr
info_log_path = /dev/stderr
{ssl_settings}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
mail_fsync = never
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users/%u
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
  }}
}}
service anvil {{
  chroot =
  # mode 0 = no listener, which turns off the per-IP login penalty (2-15 s after a
  # failed login from 127.0.0.1) that would slow every later test on this server.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
{namespace}"""

# Folders named the Courier and Cyrus way: INBOX, INBOX.Sent, INBOX.Processed (RFC 2342
# NAMESPACE answers prefix "INBOX." and delimiter "."); a folder outside it cannot be made.
_PREFIXED_NAMESPACE = """\
namespace inbox {{
  inbox = yes
  prefix = {prefix}
  separator = .
}}
"""


def _dovecot_binary() -> str:
    # root's PATH normally has /usr/sbin, but a CI or cron environment may not.
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin:/sbin")
    if not found:
        raise LocalServerError(
            "dovecot is not installed; run `make deps-system` as root (it installs the Debian package dovecot-imapd)"
        )
    return found


def dovecot_unavailable_reason() -> str | None:
    """Why a LocalDovecot cannot start on this machine (no binary, not root), else None."""
    if os.geteuid() != 0:
        return "a throwaway Dovecot needs root (it switches to the user nobody)"
    try:
        _dovecot_binary()
    except LocalServerError as e:
        return str(e)
    return None


class LocalDovecot:
    """A Dovecot 2.3 IMAP server on 127.0.0.1 with its own ports, config and maildirs.

    `start(users, tls=...)` picks free ports; `port` is plain IMAP (STARTTLS offered
    when tls), `ssl_port` implicit TLS (None without tls), `cert_path` the certificate
    to trust. `folder_prefix="INBOX."` names the folders as Courier and Cyrus do
    (INBOX.Processed, delimiter "."). Users can be added while it runs (`add_user`). Its directory is made
    under `parent` (default: the system temp dir), which Dovecot's unprivileged
    processes must be able to traverse — pytest's 0700 tmp_path will not do.
    """

    host = HOST

    def __init__(self, parent: str | os.PathLike[str] | None = None) -> None:
        self.parent = Path(parent) if parent is not None else None
        self.dir: Path | None = None
        self.port = 0
        self.ssl_port: int | None = None
        self.cert_path: Path | None = None
        self.tls = False
        self.folder_prefix: str | None = None
        self._users: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self, users: dict[str, str], tls: bool = False, folder_prefix: str | None = None) -> LocalDovecot:
        """Writes the config and users, launches Dovecot and waits for its greeting."""
        if self._proc is not None:
            raise LocalServerError("this LocalDovecot is already running")
        reason = dovecot_unavailable_reason()
        if reason:
            raise LocalServerError(reason)
        if folder_prefix is not None and not re.fullmatch(r"[A-Za-z]+\.", folder_prefix):
            raise LocalServerError(f"unusable folder prefix for the local Dovecot: {folder_prefix!r}")
        self.tls = tls
        self.folder_prefix = folder_prefix
        self.dir = Path(tempfile.mkdtemp(prefix="baocao-dovecot-", dir=self.parent))
        try:
            os.chmod(self.dir, 0o755)  # mkdtemp is 0700; dovenull/nobody must traverse it
            mail = self.dir / "mail"
            mail.mkdir()
            shutil.chown(mail, "nobody", "nogroup")
            if tls:
                self.cert_path, key = make_self_signed_cert(self.dir)
            for name, password in users.items():
                self._check_user(name, password)
            self._users = dict(users)
            for name in users:
                self._write_user(name)
            # A port picked free can be taken before Dovecot binds it: try fresh ones.
            for attempt in range(3):
                self.port = free_port()
                self.ssl_port = free_port() if tls else None
                self._write_conf()
                try:
                    self._launch()
                    return self
                except LocalServerError:
                    if attempt == 2 or "in use" not in self.log_tail():
                        raise
        except BaseException:
            self._remove_dir()
            raise
        raise AssertionError("unreachable")

    def restart(self, end_sessions: bool = False) -> None:
        """Stops the server (if running) and starts it again on the same ports, keeping mail.

        `end_sessions` also ends the IMAP sessions it serves, as a server restart or a
        crash does: their clients see the connection close.
        """
        if self.dir is None:
            raise LocalServerError("this LocalDovecot was never started")
        self.shutdown(end_sessions=end_sessions)
        self._launch()

    def shutdown(self, end_sessions: bool = False) -> None:
        """Stops the server process but keeps its files (for outage tests; see `restart`).

        Without `end_sessions` the imap processes of open connections go on serving
        them after the master is gone; with it they are killed too, so every client
        sees its connection close (EOF), as after a real server restart.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)  # the master reaps its own children
        try:
            proc.wait(timeout=_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: only our processes
            proc.wait()
        if end_sessions:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the master led its own session and process group
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        """Stops the server and deletes its directory (mail, config, certificate)."""
        self.shutdown()
        self._remove_dir()

    def __enter__(self) -> LocalDovecot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines Dovecot logged (for error messages)."""
        if self.dir is None or not (self.dir / "dovecot.log").exists():
            return ""
        text = (self.dir / "dovecot.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- users and mail --------------------------------------------------------------

    def add_user(self, user: str, password: str) -> None:
        """Adds a login while the server runs (a changed password may take a second)."""
        self._check_user(user, password)
        self._users[user] = password
        self._write_user(user)

    def password(self, user: str) -> str:
        return self._users[user]

    def connect(self, user: str) -> IMAPClient:
        """A logged-in IMAPClient for `user` over the plain port (loopback only)."""
        from imapclient import IMAPClient

        client = IMAPClient(self.host, self.port, ssl=False, timeout=30)
        try:
            client.login(user, self._users[user])
        except BaseException:
            client.shutdown()
            raise
        return client

    def append(self, user: str, folder: str, raw: bytes, internaldate: dt.datetime, flags: Iterable[str] = ()) -> int:
        """APPENDs one message with its INTERNALDATE, creating the folder; returns its UID."""
        return self.append_many(user, folder, [(raw, internaldate)], flags)[0]

    def append_many(
        self, user: str, folder: str, messages: Iterable[tuple[bytes, dt.datetime]], flags: Iterable[str] = ()
    ) -> list[int]:
        """APPENDs several messages over one connection; returns their UIDs in order."""
        flag_list = list(flags)
        client = self.connect(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            uids = []
            for raw, internaldate in messages:
                response = client.append(folder, raw, flag_list, internaldate)
                uids.append(_appended_uid(response))
            return uids
        finally:
            client.logout()

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """The Maildir++ directory of `user`'s folder, created (via IMAP) if missing."""
        from imapclient.imap_utf7 import encode

        client = self.connect(user)
        try:
            if folder.upper() != "INBOX" and not client.folder_exists(folder):
                client.create_folder(folder)
            client.select_folder(folder, readonly=True)  # makes Dovecot create cur/new/tmp
        finally:
            client.logout()
        assert self.dir is not None
        root = self.dir / "mail" / user
        if folder.upper() == "INBOX":
            return root
        return Path(root / ("." + encode(folder).decode("ascii")))

    def write_maildir(self, user: str, folder: str, messages: Iterable[tuple[bytes, dt.datetime]]) -> int:
        """Drops messages straight into the folder's Maildir `new/` (much faster than APPEND).

        Dovecot takes a maildir message's INTERNALDATE from the file's mtime, so that is
        set to the given time. Returns how many were written; they appear at the next sync.
        """
        target = self.maildir(user, folder)
        tmp, new = target / "tmp", target / "new"
        nobody, nogroup = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
        stem = f"{time.time_ns()}.P{os.getpid()}"
        count = 0
        for count, (raw, internaldate) in enumerate(messages, 1):
            name = f"{stem}Q{count}.baocao,S={len(raw)}"
            path = tmp / name
            path.write_bytes(raw)
            os.chown(path, nobody, nogroup)
            stamp = internaldate.timestamp()
            os.utime(path, (stamp, stamp))
            os.rename(path, new / name)  # maildir rule: complete in tmp/, then rename
        return count

    # -- internals -------------------------------------------------------------------

    @staticmethod
    def _check_user(user: str, password: str) -> None:
        # The passwd-file format is colon/newline separated: refuse what would corrupt it.
        if not _USERNAME.fullmatch(user):
            raise LocalServerError(f"unusable IMAP user name for the local Dovecot: {user!r}")
        if any(c in password for c in ":\n\r") or not password:
            raise LocalServerError(f"unusable password for local IMAP user {user!r}")

    def _write_user(self, user: str) -> None:
        # One passwd-file per user (the path has %u): a new file is read at the next
        # login, whereas a changed shared file is re-checked at most once a second.
        assert self.dir is not None
        users = self.dir / "users"
        users.mkdir(mode=0o755, exist_ok=True)
        tmp = users / f".{user}.tmp"
        tmp.write_text(f"{user}:{{PLAIN}}{self._users[user]}\n")
        os.chmod(tmp, 0o644)  # read by Dovecot's unprivileged auth process
        os.replace(tmp, users / user)

    def _write_conf(self) -> None:
        assert self.dir is not None
        if self.tls:
            ssl_settings = f"ssl = yes\nssl_cert = <{self.dir}/cert.pem\nssl_key = <{self.dir}/key.pem"
        else:
            ssl_settings = "ssl = no"
        namespace = _PREFIXED_NAMESPACE.format(prefix=self.folder_prefix) if self.folder_prefix else ""
        (self.dir / "dovecot.conf").write_text(
            _DOVECOT_CONF.format(
                d=self.dir, port=self.port, ssl_port=self.ssl_port or 0, ssl_settings=ssl_settings, namespace=namespace
            )
        )

    def _launch(self) -> None:
        assert self.dir is not None
        with open(self.dir / "dovecot.log", "ab") as log:
            self._proc = subprocess.Popen(
                [_dovecot_binary(), "-F", "-c", str(self.dir / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_for_greeting()
        except LocalServerError:
            self.shutdown()
            raise

    def _wait_for_greeting(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise LocalServerError(
                    f"dovecot exited with status {self._proc.returncode} at start-up; "
                    f"its log ends with:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=1.0) as s:
                    if s.recv(200).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"dovecot did not greet on {self.host}:{self.port} within "
                    f"{_READY_TIMEOUT_SECONDS:.0f} s; its log ends with:\n{self.log_tail()}"
                )
            time.sleep(0.02)  # short poll while the master binds its listeners

    def _remove_dir(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def _appended_uid(response: bytes | str) -> int:
    """The UID from an APPEND response's `[APPENDUID validity uid]` (Dovecot always sends it)."""
    text = response.decode(errors="replace") if isinstance(response, bytes) else response
    m = re.search(r"APPENDUID \d+ (\d+)", text)
    if not m:
        raise LocalServerError(f"APPEND answer without APPENDUID: {text!r}")
    return int(m.group(1))


# -- SMTP --------------------------------------------------------------------------------
