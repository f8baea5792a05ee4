"""The throwaway servers behave like the real ones the service meets: TLS, logins, dates, failures."""

from __future__ import annotations

import contextlib
import datetime as dt
import smtplib
import ssl

import pytest
import sqlalchemy as sa
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

import service.demo.localmail as localmail
from service.demo.localmail import CapturedMail, LocalDovecot, LocalServerError, SmtpCapture

ICT = dt.timezone(dt.timedelta(hours=7))
RAW = (
    b"From: vanthu@bhxh.example.gov.vn\r\nTo: baocao@example.gov.vn\r\n"
    b"Subject: test\r\nMessage-ID: <1@bhxh.example.gov.vn>\r\n\r\nhello\r\n"
)
# A failure that hangs instead of answering would stall the service: the client's socket
# timeout turns a hang into a TimeoutError, which is not the refusal these tests expect.
ANSWER_TIMEOUT = 10


def trusting(cert_path: object) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert_path))


# -- Dovecot -----------------------------------------------------------------------------


def test_plain_login_sees_an_empty_inbox(mailbox):
    with IMAPClient(mailbox.host, mailbox.port, ssl=False, timeout=10) as c:
        c.login(mailbox.user, mailbox.password)
        assert c.select_folder("INBOX")[b"EXISTS"] == 0


def test_starttls_on_the_plain_port_with_the_cert_trusted(mailbox):
    with IMAPClient(mailbox.host, mailbox.port, ssl=False, timeout=10) as c:
        c.starttls(trusting(mailbox.cert_path))
        c.login(mailbox.user, mailbox.password)
        assert isinstance(c.socket(), ssl.SSLSocket)


def test_implicit_tls_with_the_cert_trusted(mailbox):
    with IMAPClient(mailbox.host, mailbox.ssl_port, ssl=True, ssl_context=trusting(mailbox.cert_path), timeout=10) as c:
        c.login(mailbox.user, mailbox.password)
        assert isinstance(c.socket(), ssl.SSLSocket)


def test_untrusted_cert_is_refused_on_both_tls_paths(mailbox):
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(mailbox.host, mailbox.ssl_port, ssl=True, ssl_context=ssl.create_default_context(), timeout=10)
    c = IMAPClient(mailbox.host, mailbox.port, ssl=False, timeout=10)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            c.starttls(ssl.create_default_context())
    finally:
        with contextlib.suppress(OSError):  # the failed handshake closed the socket
            c.shutdown()


def test_wrong_password_is_answered_with_a_refusal(mailbox):
    with IMAPClient(mailbox.host, mailbox.port, ssl=False, timeout=ANSWER_TIMEOUT) as c:
        with pytest.raises(LoginError):  # a hang would raise TimeoutError instead
            c.login(mailbox.user, mailbox.password + "x")
        # the refusal leaves a working session: the right password still logs in
        c.login(mailbox.user, mailbox.password)
        assert c.select_folder("INBOX")[b"EXISTS"] == 0


def test_users_are_separate_mailboxes(dovecot, mailbox):
    mailbox.append(RAW, dt.datetime(2021, 8, 11, 8, 5, tzinfo=ICT))
    c = dovecot.connect("baocao")
    try:
        assert c.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
    finally:
        c.logout()


def test_append_round_trips_bytes_internaldate_and_flags(mailbox):
    when = dt.datetime(2021, 8, 11, 15, 0, 0, tzinfo=ICT)
    uid = mailbox.append(RAW, when, flags=[r"\Seen"])
    c = mailbox.connect()
    try:
        c.normalise_times = False  # keep the server's offset instead of local naive time
        c.select_folder("INBOX", readonly=True)
        data = c.fetch([uid], ["INTERNALDATE", "FLAGS", "BODY.PEEK[]"])[uid]
    finally:
        c.logout()
    assert data[b"INTERNALDATE"] == when
    assert b"\\Seen" in data[b"FLAGS"]
    assert data[b"BODY[]"] == RAW


def test_append_creates_a_missing_folder_with_a_vietnamese_name(mailbox):
    folder = "Đã xử lý"
    first = mailbox.append(RAW, dt.datetime(2021, 8, 11, 9, 0, tzinfo=ICT), folder=folder)
    second = mailbox.append(RAW, dt.datetime(2021, 8, 11, 9, 1, tzinfo=ICT), folder=folder)
    assert second > first
    c = mailbox.connect()
    try:
        assert c.folder_exists(folder)
        assert c.select_folder(folder, readonly=True)[b"EXISTS"] == 2
    finally:
        c.logout()


def test_write_maildir_sets_internaldate_from_the_given_time(dovecot, mailbox):
    times = [dt.datetime(2021, 8, 12, 8, 10, 5, tzinfo=ICT), dt.datetime(2021, 8, 12, 16, 20, 31, tzinfo=ICT)]
    bodies = [RAW, RAW.replace(b"hello", b"second")]
    assert dovecot.write_maildir(mailbox.user, "INBOX", zip(bodies, times)) == 2
    c = mailbox.connect()
    try:
        c.normalise_times = False
        c.select_folder("INBOX", readonly=True)
        fetched = c.fetch(c.search("ALL"), ["INTERNALDATE", "BODY.PEEK[]"])
    finally:
        c.logout()
    got = sorted((d[b"INTERNALDATE"], d[b"BODY[]"]) for d in fetched.values())
    assert got == sorted(zip(times, bodies))


def test_shutdown_and_restart_keep_ports_and_mail(tmp_path):
    with LocalDovecot().start({"u": "secret"}, tls=False) as server:
        assert server.ssl_port is None and server.cert_path is None
        port = server.port
        server.append("u", "INBOX", RAW, dt.datetime(2021, 8, 13, 10, 0, tzinfo=ICT))
        server.shutdown()
        assert not server.running
        with pytest.raises(ConnectionRefusedError):
            IMAPClient(server.host, port, ssl=False, timeout=5)
        server.restart()
        assert server.port == port and server.running
        c = server.connect("u")
        try:
            assert c.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1
        finally:
            c.logout()
        directory = server.dir
    assert not directory.exists()


def test_start_failure_reports_dovecot_log(monkeypatch, dovecot):
    monkeypatch.setattr(localmail, "_DOVECOT_CONF", "no_such_setting = 1\n" + localmail._DOVECOT_CONF)
    server = LocalDovecot()
    with pytest.raises(LocalServerError, match="no_such_setting"):
        server.start({"u": "secret"})
    assert server.dir is None and not server.running


def test_missing_dovecot_binary_is_named(monkeypatch):
    monkeypatch.setattr(localmail.shutil, "which", lambda *a, **k: None)
    with pytest.raises(LocalServerError, match="make deps-system"):
        LocalDovecot().start({"u": "secret"})


def test_not_root_is_named(monkeypatch):
    monkeypatch.setattr(localmail.os, "geteuid", lambda: 1000)
    assert "root" in localmail.dovecot_unavailable_reason()


# -- SMTP --------------------------------------------------------------------------------


def test_smtp_capture_keeps_envelope_and_exact_bytes(smtp):
    body = RAW.replace(b"hello", "Báo cáo tiến độ".encode())
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as c:
        c.sendmail(
            "baocao@example.gov.vn", ["a@example.gov.vn", "b@example.gov.vn"], body, mail_options=["BODY=8BITMIME"]
        )
    assert smtp.wait_for(1, timeout=5) == [
        CapturedMail("baocao@example.gov.vn", ["a@example.gov.vn", "b@example.gov.vn"], body)
    ]


def test_wait_for_times_out_instead_of_blocking(smtp):
    with pytest.raises(TimeoutError):  # blocking forever would be pytest-timeout's failure
        smtp.wait_for(1, timeout=0.05)
    assert smtp.messages == []


def test_smtp_starttls_then_auth():
    with SmtpCapture(tls=True, auth={"baocao": "s3cret"}) as server:
        with smtplib.SMTP(server.host, server.port, timeout=10) as c:
            c.ehlo()
            assert not c.has_extn("auth")  # AUTH only after STARTTLS
            with pytest.raises(smtplib.SMTPNotSupportedError):
                c.login("baocao", "s3cret")
            c.starttls(context=trusting(server.cert_path))
            c.login("baocao", "s3cret")
            c.sendmail("baocao@example.gov.vn", ["ldtbxh@example.gov.vn"], RAW)
        assert [m.data for m in server.wait_for(1, timeout=5)] == [RAW]


def test_smtp_refuses_mail_without_auth():
    with SmtpCapture(tls=True, auth={"baocao": "s3cret"}) as server:
        with smtplib.SMTP(server.host, server.port, timeout=10) as c:
            c.starttls(context=trusting(server.cert_path))
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                c.sendmail("baocao@example.gov.vn", ["ldtbxh@example.gov.vn"], RAW)
        assert refused.value.smtp_code == 530
        assert server.messages == []


def test_smtp_auth_failure_is_answered_with_535():
    with SmtpCapture(tls=True, auth={"baocao": "s3cret"}) as server:
        with smtplib.SMTP(server.host, server.port, timeout=ANSWER_TIMEOUT) as c:
            c.starttls(context=trusting(server.cert_path))
            with pytest.raises(smtplib.SMTPAuthenticationError) as failed:  # a hang: TimeoutError
                c.login("baocao", "wrong")
        assert failed.value.smtp_code == 535
        assert server.messages == []


def test_smtp_untrusted_cert_is_refused():
    with SmtpCapture(tls=True) as server:
        with smtplib.SMTP(server.host, server.port, timeout=10) as c:
            with pytest.raises(ssl.SSLCertVerificationError):
                c.starttls(context=ssl.create_default_context())


def test_smtp_implicit_tls_with_auth():
    with SmtpCapture(implicit_tls=True, auth={"baocao": "s3cret"}) as server:
        with smtplib.SMTP_SSL(server.host, server.port, timeout=10, context=trusting(server.cert_path)) as c:
            c.login("baocao", "s3cret")
            c.sendmail("baocao@example.gov.vn", ["ldtbxh@example.gov.vn"], RAW)
        assert len(server.wait_for(1, timeout=5)) == 1


def test_smtp_fail_toggle_answers_451_then_recovers(smtp):
    smtp.fail = True
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as c:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            c.sendmail("baocao@example.gov.vn", ["ldtbxh@example.gov.vn"], RAW)
        assert failed.value.smtp_code == 451
        assert smtp.messages == []
        smtp.fail = False
        c.sendmail("baocao@example.gov.vn", ["ldtbxh@example.gov.vn"], RAW)
    assert len(smtp.wait_for(1, timeout=5)) == 1


# -- databases ---------------------------------------------------------------------------


def test_pg_url_is_a_fresh_working_database(pg_url):
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            assert conn.scalar(sa.text("select current_database()")).startswith("baocao_t_")
            assert sa.inspect(conn).get_table_names() == []
            conn.execute(sa.text("create table t (v text)"))
            conn.execute(sa.text("insert into t values ('Đơn vị')"))
            assert conn.scalar(sa.text("select v from t")) == "Đơn vị"
    finally:
        engine.dispose()


def test_db_url_opens_an_empty_database(db_url):
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            assert sa.inspect(conn).get_table_names() == []
            conn.execute(sa.text("create table t (n integer)"))
            conn.execute(sa.text("insert into t values (42)"))
            assert conn.scalar(sa.text("select n from t")) == 42
    finally:
        engine.dispose()
