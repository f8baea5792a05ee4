"""The SMTP capture of `baocao demo` and the test fixtures (aiosmtpd on 127.0.0.1), and what
every throwaway local server needs: the loopback host, a free port, a self-signed certificate.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from service.errors import BaocaoError

HOST = "127.0.0.1"
_READY_TIMEOUT_SECONDS = 10.0


class LocalServerError(BaocaoError):
    """A throwaway local server (Dovecot, SMTP capture) could not be started or used."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the caller binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """Writes cert.pem + key.pem valid for IP:127.0.0.1 and DNS:localhost; returns both.

    The certificate is its own CA, so `ssl.create_default_context(cafile=cert)` trusts it.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-days",
                "30",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except FileNotFoundError as e:
        raise LocalServerError(
            "openssl is not installed (needed for a test certificate); run `make deps-system`"
        ) from e
    except subprocess.CalledProcessError as e:
        raise LocalServerError(
            f"openssl could not make a certificate in {directory}: {e.stderr.decode(errors='replace').strip()}"
        ) from e
    return cert, key


class CapturedMail(NamedTuple):
    """One message the SmtpCapture accepted, as the client sent it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes


class _CaptureHandler:
    def __init__(self, owner: SmtpCapture) -> None:
        self.owner = owner

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.owner.fail:
            return "451 4.3.0 Temporary failure (SmtpCapture.fail is set)"
        mail = CapturedMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        self.owner._record(mail)
        for rcpt in mail.rcpt_tos:
            deliver = self.owner._deliveries.get(rcpt.lower())
            if deliver is not None:  # blocking (IMAP): off the event loop
                await asyncio.get_running_loop().run_in_executor(None, deliver, mail.data)
        if self.owner.hang_up_after_data:
            # Accepted and delivered, but the client never hears so: its outcome is unknown.
            server.transport.abort()
        return "250 2.0.0 Message accepted"


def _drop_aiosmtpd_noise(record: logging.LogRecord) -> bool:
    # aiosmtpd 1.4 warns about its own use of Session.login_data on every AUTH, and
    # about AUTH without STARTTLS, which is meant here (plain loopback, or SMTPS).
    message = str(record.msg)
    return not (
        message.startswith("Session.login_data is deprecated")
        or message.startswith("auth_required == True but auth_require_tls == False")
    )


def _quiet_aiosmtpd() -> None:
    aiosmtpd_log = logging.getLogger("mail.log")
    if _drop_aiosmtpd_noise not in aiosmtpd_log.filters:
        aiosmtpd_log.addFilter(_drop_aiosmtpd_noise)
    # Re-added on every start: test runners reset the warning filters between tests.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS", category=UserWarning)


class SmtpCapture:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it accepts, in memory.

    `tls` offers STARTTLS, `implicit_tls` wraps the whole connection (SMTPS); both use
    a self-signed certificate at `cert_path`. `auth` requires AUTH with these
    credentials (after STARTTLS when `tls`). Set `fail` to answer DATA with 451, and
    `hang_up_after_data` to accept a message and close the connection before answering.
    `deliver(address, to)` hands each message accepted for `address` to `to` before
    answering, as an MTA's local delivery would (e.g. an APPEND to a Dovecot mailbox).
    """

    host = HOST

    def __init__(
        self,
        *,
        tls: bool = False,
        implicit_tls: bool = False,
        auth: dict[str, str] | None = None,
        fail: bool = False,
        parent: str | os.PathLike[str] | None = None,
    ) -> None:
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.auth = dict(auth) if auth is not None else None
        self.fail = fail
        self.hang_up_after_data = False
        self._deliveries: dict[str, Callable[[bytes], None]] = {}
        self.parent = Path(parent) if parent is not None else None
        self.port = 0
        self.cert_path: Path | None = None
        self._dir: Path | None = None
        self._controller: Any = None
        self._messages: list[CapturedMail] = []
        self._arrived = threading.Condition()

    def start(self) -> SmtpCapture:
        try:
            from aiosmtpd.controller import Controller
            from aiosmtpd.smtp import AuthResult
        except ImportError as e:
            raise LocalServerError("aiosmtpd is not installed (pip install -r requirements.lock)") from e

        if self._controller is not None:
            raise LocalServerError("this SmtpCapture is already running")
        _quiet_aiosmtpd()
        context = None
        if self.tls or self.implicit_tls:
            self._dir = Path(tempfile.mkdtemp(prefix="baocao-smtp-", dir=self.parent))
            self.cert_path, key = make_self_signed_cert(self._dir)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert_path, key)

        credentials = self.auth

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
            # handled=False: aiosmtpd answers 535 itself; True would leave the client waiting.
            login = getattr(auth_data, "login", b"") or b""
            password = getattr(auth_data, "password", b"") or b""
            ok = credentials is not None and credentials.get(login.decode(errors="replace")) == password.decode(
                errors="replace"
            )
            return AuthResult(success=ok, handled=False)

        options: dict[str, Any] = {
            # A fixed name: the default getfqdn() may ask DNS, and tests stay on loopback.
            "server_hostname": "localhost",
            "enable_SMTPUTF8": True,
            "ready_timeout": _READY_TIMEOUT_SECONDS,
        }
        if self.implicit_tls:
            options["ssl_context"] = context
        elif self.tls:
            options["tls_context"] = context
        if credentials is not None:
            # aiosmtpd counts only STARTTLS as TLS: with SMTPS it would never offer AUTH.
            options.update(
                authenticator=authenticator, auth_required=True, auth_require_tls=self.tls and not self.implicit_tls
            )
        try:
            for attempt in range(3):  # a picked port can be taken before we bind it
                self.port = free_port()
                controller = Controller(_CaptureHandler(self), hostname=self.host, port=self.port, **options)
                try:
                    controller.start()
                except OSError:
                    if attempt == 2:
                        raise
                    continue
                self._controller = controller
                return self
        except Exception as e:
            self._remove_dir()
            raise LocalServerError(f"SMTP capture could not start on {self.host}: {e}") from e
        raise AssertionError("unreachable")

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
        self._remove_dir()

    def __enter__(self) -> SmtpCapture:
        if self._controller is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def deliver(self, address: str, to: Callable[[bytes], None]) -> None:
        """Hand every message accepted for `address` to `to` (the raw bytes) before answering."""
        self._deliveries[address.lower()] = to

    @property
    def messages(self) -> list[CapturedMail]:
        """A snapshot of the messages accepted so far, oldest first."""
        with self._arrived:
            return list(self._messages)

    def clear(self) -> None:
        with self._arrived:
            self._messages.clear()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[CapturedMail]:
        """Blocks until at least `n` messages were accepted; raises TimeoutError otherwise."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._messages) >= n, timeout):
                raise TimeoutError(
                    f"SMTP capture on port {self.port} got "
                    f"{len(self._messages)} message(s), expected {n}, "
                    f"within {timeout} s"
                )
            return list(self._messages)

    def _record(self, mail: CapturedMail) -> None:
        with self._arrived:
            self._messages.append(mail)
            self._arrived.notify_all()

    def _remove_dir(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
