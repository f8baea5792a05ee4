"""Operations: backup, --version, JSON logs."""
from __future__ import annotations

import json
import sqlite3
import tarfile

from tests.integration.test_cli import baocao
from tests.mailbuilders import simple_report, write_config


def test_backup_holds_a_consistent_database_the_archive_and_the_config(tmp_path):
    path = write_config(tmp_path / "config.toml", imap=None, smtp=None,
                        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", archive_dir=tmp_path / "archive")
    eml = tmp_path / "a.eml"
    eml.write_bytes(simple_report())
    assert baocao("--config", str(path), "import", str(eml)).returncode == 0
    r = baocao("--config", str(path), "backup", "--out", str(tmp_path / "b.tar.gz"))
    assert r.returncode == 0, r.stderr
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "restore", filter="data")
    assert "baocao.db" in names and "config.toml" in names
    assert sum(1 for n in names if n.endswith(".eml")) == 1
    db = sqlite3.connect(tmp_path / "restore" / "baocao.db")
    assert db.execute("select count(*) from messages").fetchone() == (1,)
    assert db.execute("pragma integrity_check").fetchone() == ("ok",)


def test_version():
    r = baocao("--version")
    assert r.returncode == 0 and r.stdout.startswith("baocao ")


def test_json_log_lines(tmp_path):
    path = write_config(tmp_path / "config.toml", imap=None, smtp=None,
                        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", archive_dir=tmp_path / "archive")
    eml = tmp_path / "a.eml"
    eml.write_bytes(simple_report())
    r = baocao("--config", str(path), "--log-format", "json", "import", str(eml))
    lines = [json.loads(ln) for ln in r.stderr.splitlines() if ln.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(d) for d in lines)
    assert any("imported message" in d["message"] for d in lines)
