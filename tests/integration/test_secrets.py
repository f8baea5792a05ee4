"""The IMAP and SMTP passwords never leak: every command, with and without --debug, with the
right and the wrong password, and the password never shows in any output, log line,
exception message, the database file, the backup, the archive or the files written."""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import secrets
import smtplib
import subprocess
import sys
import tarfile
import traceback
from pathlib import Path

import pytest

from service.config import load_config
from service.demo.localmail import SmtpCapture
from service.errors import BaocaoError
from service.mail.mailbox import Mailbox
from service.mail.smtp import smtp_session
from tests.integration.test_daemon import Proc
from tests.mailbuilders import simple_report, write_config

TZ7 = dt.timezone(dt.timedelta(hours=7))
DAY = "2021-08-11"
# Distinctive, and different from anything a test server or a report could produce.
IMAP_PW = f"imapPW-{secrets.token_hex(8)}-Kín"
SMTP_PW = f"smtpPW-{secrets.token_hex(8)}-Mật"
WRONG_IMAP_PW = f"wrongIMAP-{secrets.token_hex(8)}"
WRONG_SMTP_PW = f"wrongSMTP-{secrets.token_hex(8)}"
SMTP_USER = "baocao.ldtbxh@example.gov.vn"


def forms(user: str, password: str) -> list[bytes]:
    """The password as bytes in every form it takes on the way: plain, base64 (AUTH LOGIN),
    the AUTH PLAIN blob, and the same as text in UTF-8."""
    raw = password.encode()
    return [
        raw,
        base64.b64encode(raw),
        base64.b64encode(b"\0" + user.encode() + b"\0" + raw),
        base64.b64encode(user.encode() + b"\0" + user.encode() + b"\0" + raw),
    ]


class Leaks:
    """Collects every text and file the commands produced, then looks for the passwords."""

    def __init__(self, needles: list[bytes]) -> None:
        self.needles = needles
        self.seen: list[tuple[str, bytes]] = []

    def add(self, where: str, data: bytes | str) -> None:
        self.seen.append((where, data.encode("utf-8", "replace") if isinstance(data, str) else data))

    def add_file(self, path: Path) -> None:
        if path.is_file():
            self.add(str(path), path.read_bytes())
        elif path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file():
                    self.add(str(f), f.read_bytes())

    def add_tar(self, path: Path) -> int:
        n = 0
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    self.add(f"{path}!{member.name}", tar.extractfile(member).read())
                    n += 1
        return n

    def assert_none(self) -> None:
        found = [(where, needle) for where, data in self.seen for needle in self.needles if needle in data]
        assert not found, f"a password leaked into: {sorted({w for w, _ in found})}"


@pytest.fixture
def setup(tmp_path, dovecot):
    user = f"s{secrets.token_hex(5)}"
    dovecot.add_user(user, IMAP_PW)
    from imapclient import IMAPClient

    client = IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=30)
    client.plain_login(user, IMAP_PW)  # LocalDovecot.append uses LOGIN, which is ASCII only
    for i, sender in enumerate(["bhxh.tp@example.gov.vn", "yte.tp@example.gov.vn", "nguoi.la@else.where"]):
        client.append("INBOX", simple_report(sender=sender, de_nghi=i), (), dt.datetime(2021, 8, 11, 9, i, tzinfo=TZ7))
    client.logout()
    with SmtpCapture(tls=True, auth={SMTP_USER: SMTP_PW}) as smtp:
        secret_file = tmp_path / "secrets" / "smtp-password"
        secret_file.parent.mkdir()
        secret_file.write_text(SMTP_PW + "\n", encoding="utf-8")
        path = write_config(
            tmp_path / "config.toml",
            imap={
                "host": "127.0.0.1",
                "port": dovecot.ssl_port,
                "security": "ssl",
                "ca_file": str(dovecot.cert_path),
                "username": user,
                "password_env": "T_IMAP_PW",
                "processed_folder": "Đã xử lý",
            },
            smtp={
                "host": "127.0.0.1",
                "port": smtp.port,
                "security": "starttls",
                "ca_file": str(smtp.cert_path),
                "username": SMTP_USER,
                "password_file": str(secret_file),
                "from_address": SMTP_USER,
            },
            database_url=f"sqlite:///{tmp_path / 'db' / 'baocao.sqlite3'}",
            archive_dir=tmp_path / "archive",
        )
        yield tmp_path, path, user, smtp, secret_file


def run(leaks: Leaks, *args: str, env: dict[str, str], expect: int | None = 0) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, env={**os.environ, **env}, timeout=120
    )
    leaks.add(f"stdout of {args}", r.stdout)
    leaks.add(f"stderr of {args}", r.stderr)
    if expect is not None:
        assert r.returncode == expect, (args, r.returncode, r.stderr.decode(errors="replace")[-3000:])
    return r


class DaemonProc(Proc):
    """`baocao [--debug] run` whose log lines can be awaited."""

    def __init__(self, cfg: Path, env: dict[str, str], debug: bool) -> None:
        import threading

        args = [sys.executable, "-m", "service.cli", "--config", str(cfg), *(["--debug"] if debug else []), "run"]
        self.p = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()


def run_daemon(leaks: Leaks, cfg: Path, env: dict[str, str], until: str, debug: bool) -> None:
    proc = DaemonProc(cfg, env, debug)
    try:
        proc.wait_for(until)
    finally:
        code = proc.stop()
        leaks.add(f"output of run ({until}, debug={debug})", "".join(proc.lines))
    assert code == 0


def test_no_command_leaks_a_password(setup):
    tmp, cfg, user, smtp, secret_file = setup
    leaks = Leaks(forms(user, IMAP_PW) + forms(SMTP_USER, SMTP_PW))
    env = {"T_IMAP_PW": IMAP_PW}
    out = tmp / "out"
    out.mkdir()
    eml = tmp / "imported.eml"
    eml.write_bytes(simple_report(sender="vhtt.tp@example.gov.vn"))
    for debug in ([], ["--debug"]):
        c = ["--config", str(cfg), *debug]
        tag = "debug" if debug else "plain"
        run(leaks, *c, "check", env=env)
        run(leaks, *c, "check", "--connect", env=env)
        run(leaks, *c, "poll", env=env)
        run(leaks, *c, "--log-format", "json", "poll", env=env)
        run(leaks, *c, "status", "--date", DAY, env=env)
        run(leaks, *c, "status", "--date", DAY, "--json", env=env)
        run(leaks, *c, "export", "--date", DAY, "--format", "json", env=env)
        run(leaks, *c, "export", "--date", DAY, "--format", "csv", "--out", str(out / f"{tag}.csv"), env=env)
        run(
            leaks,
            *c,
            "export",
            "--from",
            "2021-08-10",
            "--to",
            DAY,
            "--format",
            "xlsx",
            "--out",
            str(out / f"{tag}.xlsx"),
            env=env,
        )
        run(leaks, *c, "digest", "--date", DAY, "--dry-run", "--out", str(out / f"digest-{tag}"), env=env)
        run(leaks, *c, "digest", "--date", DAY, *(["--resend"] if debug else []), env=env)
        run(leaks, *c, "template", "--out", str(out / f"form-{tag}.xlsx"), env=env)
        run(leaks, *c, "import", str(eml), env=env)
        run(leaks, *c, "reprocess", env=env)
        run(leaks, *c, "backup", "--out", str(out / f"backup-{tag}.tar.gz"), env=env)
        run(leaks, *c, "health", env=env, expect=None)  # unhealthy or not, it must not leak
        run_daemon(leaks, cfg, env, "(first poll since start)", bool(debug))
    assert len(smtp.messages) >= 2  # the digest went through the real STARTTLS + AUTH, twice
    for m in smtp.messages:
        leaks.add(f"mail to {m.rcpt_tos}", m.data)
    db_dir = tmp / "db"
    leaks.add_file(db_dir)  # the database file and its WAL
    assert any(p.name.endswith(".sqlite3") for p in db_dir.iterdir())
    leaks.add_file(tmp / "archive")
    leaks.add_file(out)
    backups = sorted(out.glob("backup-*.tar.gz"))
    assert backups, f"no backup in {out}"
    for backup in backups:
        names = leaks.add_tar(backup)
        assert names > 3
        with tarfile.open(backup) as tar:
            assert not any("secret" in n or "password" in n for n in tar.getnames())
    leaks.assert_none()
    assert len(leaks.seen) > 60


def test_wrong_passwords_do_not_leak_either(setup):
    tmp, cfg, user, smtp, secret_file = setup
    leaks = Leaks(
        forms(user, WRONG_IMAP_PW) + forms(SMTP_USER, WRONG_SMTP_PW) + forms(user, IMAP_PW) + forms(SMTP_USER, SMTP_PW)
    )
    secret_file.write_text(WRONG_SMTP_PW, encoding="utf-8")
    env = {"T_IMAP_PW": WRONG_IMAP_PW}
    for debug in ([], ["--debug"]):
        c = ["--config", str(cfg), *debug]
        r = run(leaks, *c, "check", "--connect", env=env, expect=1)
        assert b"refused the login" in r.stderr
        r = run(leaks, *c, "poll", env=env, expect=1)
        assert b"refused the login" in r.stderr
        r = run(leaks, *c, "digest", "--date", DAY, env=env, expect=1)  # IMAP refused, then SMTP
        assert b"refused the login" in r.stderr
        run_daemon(leaks, cfg, env, "poll failed", bool(debug))
    # The right IMAP password, the wrong SMTP one: the daemon's digest and outbox failures.
    r = run(leaks, "--config", str(cfg), "--debug", "check", "--connect", env={"T_IMAP_PW": IMAP_PW}, expect=1)
    assert b"SMTP server" in r.stderr and b"refused the login" in r.stderr
    leaks.add_file(tmp / "db")  # digests.last_error, runtime_state
    leaks.assert_none()


def test_exception_chains_do_not_carry_the_password(setup, tmp_path):
    _, cfg_path, user, _, secret_file = setup
    secret_file.write_text(WRONG_SMTP_PW, encoding="utf-8")
    cfg = load_config(cfg_path, env={"T_IMAP_PW": WRONG_IMAP_PW})
    leaks = Leaks(forms(user, WRONG_IMAP_PW) + forms(SMTP_USER, WRONG_SMTP_PW))
    leaks.add("repr(cfg)", repr(cfg))
    leaks.add("str(cfg)", str(cfg))
    with pytest.raises(BaocaoError) as imap_error:
        Mailbox(cfg.imap).connect()
    with pytest.raises(BaocaoError) as smtp_error:
        with smtp_session(cfg.smtp):
            pass
    for error in (imap_error.value, smtp_error.value):
        seen, exc = set(), error
        while exc is not None and id(exc) not in seen:  # the whole chain, as --debug prints it
            seen.add(id(exc))
            leaks.add(f"{type(exc).__name__}", f"{exc!s} {exc!r} {exc.args!r}")
            if isinstance(exc, smtplib.SMTPResponseException):
                leaks.add("smtp_error", exc.smtp_error)
            exc = exc.__cause__ or exc.__context__
        buf = io.StringIO()
        traceback.print_exception(error, file=buf)
        leaks.add("traceback", buf.getvalue())
    leaks.assert_none()


@pytest.mark.parametrize("line", ['password = "{pw}"', 'password_env = "{pw}"'])
def test_a_password_written_in_the_config_is_not_echoed(tmp_path, line):
    pw = f"typedIn-{secrets.token_hex(6)}"
    path = write_config(
        tmp_path / "config.toml",
        imap={"host": "127.0.0.1", "port": 143, "security": "none", "username": "u"},
        smtp=None,
        database_url=f"sqlite:///{tmp_path / 'db'}",
        archive_dir=tmp_path / "a",
    )
    text = path.read_text(encoding="utf-8").replace('username = "u"', 'username = "u"\n' + line.format(pw=pw))
    path.write_text(text, encoding="utf-8")
    leaks = Leaks([pw.encode()])
    for args in (["check"], ["--debug", "check"], ["check", "--connect"], ["--debug", "poll"]):
        r = run(leaks, "--config", str(path), *args, env={}, expect=2)
        assert b"password" in r.stderr
    leaks.assert_none()
