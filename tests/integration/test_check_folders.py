"""`baocao check --connect` against a server that names folders the Courier/Cyrus way
(INBOX.Processed): it lists the folders and the namespace, and says which name was meant."""

from __future__ import annotations

import secrets

import pytest

from service.demo.localmail import LocalDovecot, dovecot_unavailable_reason
from tests.conftest import _unavailable
from tests.integration.test_cli import baocao
from tests.mailbuilders import write_config


@pytest.fixture(scope="module")
def prefixed_dovecot():
    """Folders under "INBOX." with "." between levels; nothing can be made outside INBOX."""
    reason = dovecot_unavailable_reason()
    if reason:
        _unavailable(reason)
    server = LocalDovecot().start({}, folder_prefix="INBOX.")
    yield server
    server.stop()


@pytest.fixture
def account(prefixed_dovecot):
    user, password = f"t{secrets.token_hex(5)}", secrets.token_urlsafe(12)
    prefixed_dovecot.add_user(user, password)
    client = prefixed_dovecot.connect(user)
    for folder in ("INBOX.Sent", "INBOX.Đã xử lý"):
        client.create_folder(folder)
    client.logout()
    return prefixed_dovecot, user, password


def check(tmp_path, account, smtp, language="vi", **imap):
    server, user, password = account
    path = write_config(
        tmp_path / "config.toml",
        imap={
            "host": "127.0.0.1",
            "port": server.port,
            "security": "none",
            "username": user,
            "password_env": "T_IMAP_PW",
            **imap,
        },
        smtp={"host": "127.0.0.1", "port": smtp.port, "security": "none", "from_address": "baocao@example.gov.vn"},
        database_url=f"sqlite:///{tmp_path / 'db'}",
        archive_dir=tmp_path / "archive",
    )
    path.write_text(
        path.read_text(encoding="utf-8").replace('language = "vi"', f'language = "{language}"'), encoding="utf-8"
    )
    return baocao("--config", str(path), "check", "--connect", env={"T_IMAP_PW": password})


def test_lists_the_folders_and_suggests_the_prefixed_name(tmp_path, account, smtp):
    r = check(tmp_path, account, smtp, processed_folder="Processed")
    assert r.returncode == 2, r.stderr
    assert (
        'Thư mục trên máy chủ thư 127.0.0.1 (tiền tố "INBOX.", dấu phân cấp "."): INBOX, INBOX.Sent, INBOX.Đã xử lý'
    ) in r.stdout
    assert "Thư mục nhận báo cáo 'INBOX' (imap.folder): có trên máy chủ." in r.stdout
    assert "imap.processed_folder: thư mục 'Processed' không có trên máy chủ thư 127.0.0.1" in r.stderr
    assert r.stderr.rstrip().endswith("có phải ý bạn là INBOX.Processed?"), r.stderr
    assert "Traceback" not in r.stderr


def test_an_existing_folder_under_the_prefix_is_suggested(tmp_path, account, smtp):
    r = check(tmp_path, account, smtp, processed_folder="Đã xử lý", folder="Inbox/Sent")
    assert r.returncode == 2
    assert "imap.folder: thư mục 'Inbox/Sent' không có trên máy chủ thư 127.0.0.1" in r.stderr
    assert "có phải ý bạn là INBOX.Sent?" in r.stderr
    assert "có phải ý bạn là INBOX.Đã xử lý?" in r.stderr


def test_a_creatable_processed_folder_passes(tmp_path, account, smtp):
    r = check(tmp_path, account, smtp, processed_folder="INBOX.Processed")
    assert r.returncode == 0, r.stderr
    assert "'INBOX.Processed' (imap.processed_folder): chưa có, sẽ được tạo" in r.stdout
    r = check(tmp_path, account, smtp, processed_folder="INBOX.Đã xử lý")
    assert r.returncode == 0, r.stderr
    assert "'INBOX.Đã xử lý' (imap.processed_folder): có trên máy chủ." in r.stdout


def test_in_english(tmp_path, account, smtp):
    r = check(tmp_path, account, smtp, language="en", processed_folder="Processed")
    assert r.returncode == 2
    assert 'Folders on the mail server 127.0.0.1 (prefix "INBOX.", hierarchy delimiter ".")' in r.stdout
    assert r.stderr.rstrip().endswith("did you mean INBOX.Processed?"), r.stderr
