"""One loopback rule: the config check, the IMAP client and the SMTP client agree on every host."""

from __future__ import annotations

from pathlib import Path

import pytest

import service.mail.mailbox
import service.mail.smtp
from service.config import ImapConfig, Secret, SmtpConfig, load_config
from service.errors import ConfigError, MailboxError, SmtpError
from service.mail.loopback import is_loopback
from tests.mailbuilders import write_config

# host as an administrator may write it -> on this machine?
TABLE = [
    ("127.0.0.1", True),
    ("127.8.9.10", True),
    ("::1", True),
    ("[::1]", True),
    ("0:0:0:0:0:0:0:1", True),
    ("::ffff:127.0.0.1", True),
    ("localhost", True),
    ("LOCALHOST", True),
    ("localhost.", True),
    ("imap.localhost", True),
    ("10.0.0.5", False),
    ("0.0.0.0", False),
    ("::", False),
    ("::ffff:10.0.0.5", False),
    ("localhost.example.com", False),
    ("localhostx", False),
    ("127.0.0.1.nip.io", False),
    ("mail.example.gov.vn", False),
]


class WouldConnect(Exception):
    """Raised instead of opening a socket: the rule let the host through."""


def refuse_to_connect(*_a, **_kw):
    raise WouldConnect


@pytest.mark.parametrize("host, loopback", TABLE)
def test_the_rule(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host, loopback", TABLE)
def test_config_imap_and_smtp_decide_alike(tmp_path: Path, monkeypatch, host: str, loopback: bool) -> None:
    path = write_config(
        tmp_path / "config.toml",
        imap={"host": host, "port": 143, "security": "none", "username": "u", "password_env": "PW"},
        smtp={"host": host, "port": 25, "security": "none", "from_address": "b@example.gov.vn"},
        database_url="sqlite:///x.db",
        archive_dir=tmp_path / "archive",
    )
    try:
        load_config(path, env={"PW": "secret"})
        config_accepts = True
    except ConfigError as exc:
        assert all("security" in p for p in exc.problems), exc.problems
        config_accepts = False

    # No socket is opened: a client the rule lets through raises WouldConnect instead.
    monkeypatch.setattr(service.mail.mailbox, "IMAPClient", refuse_to_connect)
    monkeypatch.setattr(service.mail.smtp.smtplib, "SMTP", refuse_to_connect)
    imap = ImapConfig(host=host, port=143, security="none", username="u", password=Secret("pw", "x"))
    with pytest.raises((WouldConnect, MailboxError)) as imap_outcome:
        service.mail.mailbox.Mailbox(imap).connect()
    smtp = SmtpConfig(
        host=host, port=25, security="none", username=None, password=None, from_address="b@example.gov.vn"
    )
    with pytest.raises((WouldConnect, SmtpError)) as smtp_outcome:
        with service.mail.smtp.smtp_session(smtp):
            pass

    assert config_accepts is loopback
    assert imap_outcome.type is (WouldConnect if loopback else MailboxError), imap_outcome.value
    assert smtp_outcome.type is (WouldConnect if loopback else SmtpError), smtp_outcome.value
