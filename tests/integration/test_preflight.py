"""A valid config that would send nothing: `baocao check` and the daemon's start-up say so."""

from __future__ import annotations

import datetime as dt
import re

from tests.integration.test_cli import baocao
from tests.integration.test_daemon import Proc
from tests.mailbuilders import EXAMPLE_CONFIG, write_config


def test_check_warns_about_the_example_campaign_dates_and_still_exits_0():
    r = baocao("check", "--config", str(EXAMPLE_CONFIG))
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in r.stdout.splitlines() if ln.startswith("Warning: ")]
    assert any("25/08/2021" in w and "campaign.end_date" in w for w in warnings), r.stdout
    assert any("THUE" in w for w in warnings), r.stdout  # wildcard sender only, no reminder_to


def test_check_of_a_running_campaign_has_no_warning(tmp_path):
    today = dt.date.today()
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    text = re.sub(r"^start_date = .*$", f"start_date = {today - dt.timedelta(days=10)}", text, flags=re.M)
    text = re.sub(r"^end_date = .*$", f"end_date = {today + dt.timedelta(days=30)}", text, flags=re.M)
    text = text.replace(
        '# reminder_to = ["vanthu@thue.example.gov.vn"]', 'reminder_to = ["vanthu@thue.example.gov.vn"]'
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    r = baocao("check", "--config", str(path))
    assert r.returncode == 0 and "is valid" in r.stdout, r.stderr
    assert "Warning" not in r.stdout + r.stderr


def test_the_daemon_logs_the_warnings_when_it_starts(tmp_path, mailbox):
    path = write_config(
        tmp_path / "config.toml",
        smtp=None,
        imap={
            "host": "127.0.0.1",
            "port": mailbox.port,
            "security": "none",
            "username": mailbox.user,
            "password_env": "T_IMAP_PW",
        },
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
    )
    proc = Proc(path, {"T_IMAP_PW": mailbox.password})
    try:
        line = proc.wait_for("campaign.end_date")
        proc.wait_for("There is no [smtp] section")
        proc.wait_for("first poll since start")  # running: a stop now is handled
    finally:
        rc = proc.stop()
    assert rc == 0
    assert "WARNING" in line and "25/08/2021" in line
