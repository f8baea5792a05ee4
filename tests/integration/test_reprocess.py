"""`baocao reprocess`: an administrator adds a sender, reprocessing ties the message to the unit."""

from __future__ import annotations

import datetime as dt
import json

from tests.integration.test_cli import baocao
from tests.mailbuilders import simple_report, write_config

TZ7 = dt.timezone(dt.timedelta(hours=7))


def test_reprocess_after_adding_a_sender_is_idempotent(tmp_path):
    path = write_config(
        tmp_path / "config.toml",
        imap=None,
        smtp=None,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
    )
    eml = tmp_path / "a.eml"
    eml.write_bytes(simple_report(sender="ketoan.moi@gmail.com", date=dt.datetime(2021, 8, 11, 9, 0, tzinfo=TZ7)))
    assert baocao("--config", str(path), "import", str(eml)).returncode == 0

    def bhxh():
        doc = json.loads(baocao("--config", str(path), "export", "--date", "2021-08-11").stdout)
        return {u["code"]: u for u in doc["units"]}["BHXH"], doc["unassigned"]

    unit, unassigned = bhxh()
    assert unit["status"] == "missing" and len(unassigned) == 1

    text = path.read_text(encoding="utf-8").replace(
        'senders = ["bhxh.tp@example.gov.vn"]', 'senders = ["bhxh.tp@example.gov.vn", "ketoan.moi@gmail.com"]'
    )
    path.write_text(text, encoding="utf-8")
    for _ in range(2):
        r = baocao("--config", str(path), "reprocess", "--unassigned")
        assert r.returncode == 0, r.stderr
        unit, unassigned = bhxh()
        assert unit["status"] == "on_time" and unassigned == []
        assert unit["values"]["dao_tao"]["kinh_phi"] == 49_500_000
    r = baocao("--config", str(path), "reprocess", "--from", "2021-08-11", "--to", "2021-08-11")
    assert "Reprocessed 1 message(s)" in r.stdout and "0 changed" in r.stdout
