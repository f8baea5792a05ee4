"""The one place that talks SMTP (smtplib): connect with the configured security and log in."""

from __future__ import annotations

import base64
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from service.config import SmtpConfig
from service.errors import BaocaoError, SmtpError
from service.mail.loopback import is_loopback
from service.mail.mailbox import as_text, tls_context


@contextmanager
def smtp_session(cfg: SmtpConfig) -> Iterator[smtplib.SMTP]:
    """A connected, logged-in SMTP client; every failure is an `SmtpError` naming the host."""
    where = f"the SMTP server {cfg.host}:{cfg.port}"
    if cfg.security == "none" and not is_loopback(cfg.host):
        raise SmtpError(
            f"SMTP security 'none' is refused for {cfg.host}: use ssl or starttls "
            "for a server that is not on this machine"
        )
    client: smtplib.SMTP | None = None
    try:
        if cfg.security == "ssl":
            client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=tls_context(cfg.ca_file))
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
            client.ehlo()
            if cfg.security == "starttls":
                client.starttls(context=tls_context(cfg.ca_file))
                client.ehlo()
        if cfg.username and cfg.password is not None:
            try:
                _login(client, cfg.username, cfg.password.reveal(), where)
            except smtplib.SMTPAuthenticationError as exc:
                raise SmtpError(f"{where} refused the login for {cfg.username} (wrong user name or password)") from exc
            except smtplib.SMTPNotSupportedError as exc:
                raise SmtpError(f"{where} does not offer login (AUTH); check smtp.security") from exc
        yield client
    except SmtpError:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise SmtpError(
            f"the TLS certificate of {where} could not be verified ({exc.verify_message}); set smtp.ca_file to trust it"
        ) from exc
    except ssl.SSLError as exc:
        raise SmtpError(f"TLS with {where} failed: {exc.reason or exc}") from exc
    except TimeoutError as exc:
        raise SmtpError(f"{where} did not answer in {cfg.timeout_seconds:g} s") from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise SmtpError(f"{where} answered {exc.smtp_code} {text[:200]}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SmtpError(f"cannot reach {where}: {getattr(exc, 'strerror', None) or exc}") from exc
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def _login(client: smtplib.SMTP, username: str, password: str, where: str) -> None:
    """smtplib's login, except for a non-ASCII user name or password, which smtplib cannot
    encode: AUTH PLAIN with UTF-8 (RFC 4616) then, the way mail clients send it."""
    if username.isascii() and password.isascii():
        client.login(username, password)
        return
    client.ehlo_or_helo_if_needed()
    if not client.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    if "PLAIN" not in client.esmtp_features["auth"].upper().split():
        raise SmtpError(f"{where} offers no AUTH PLAIN, which a password with non-ASCII characters needs")
    blob = base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode()).decode("ascii")
    code, response = client.docmd("AUTH", "PLAIN " + blob)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, response)


def describe_smtp_error(exc: BaseException) -> str:
    """A failed send in one sentence: who refused what, with the server's answer."""
    if isinstance(exc, BaocaoError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{addr} refused ({code} {as_text(msg)[:200]})" for addr, (code, msg) in exc.recipients.items()]
        return "the SMTP server refused the recipient: " + "; ".join(parts)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the SMTP server answered {exc.smtp_code} {as_text(exc.smtp_error)[:200]}"
    return f"{type(exc).__name__}: {exc}"
