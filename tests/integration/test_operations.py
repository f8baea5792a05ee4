"""Operations: backup, --version, JSON logs."""

from __future__ import annotations

import json
import sqlite3
import tarfile

from tests.integration.test_cli import baocao
from tests.mailbuilders import simple_report, write_config


def test_backup_holds_a_consistent_database_the_archive_and_the_config(tmp_path):
    path = write_config(
        tmp_path / "config.toml",
        imap=None,
        smtp=None,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
    )
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
    path = write_config(
        tmp_path / "config.toml",
        imap=None,
        smtp=None,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
    )
    eml = tmp_path / "a.eml"
    eml.write_bytes(simple_report())
    r = baocao("--config", str(path), "--log-format", "json", "import", str(eml))
    lines = [json.loads(ln) for ln in r.stderr.splitlines() if ln.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(d) for d in lines)
    assert any("imported message" in d["message"] for d in lines)


def _backup_setup(tmp_path):
    from service.config import load_config
    from storage.db import open_database

    path = write_config(
        tmp_path / "config.toml",
        imap=None,
        smtp=None,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
    )
    cfg = load_config(path, require_secrets=False)
    open_database(cfg.service.database_url).kw["bind"].dispose()  # creates the database
    return cfg


def test_backup_keep_removes_only_the_older_copies_it_wrote_in_that_series(tmp_path):
    import datetime as dt
    import io

    from service.admin.backup import write_backup

    cfg = _backup_setup(tmp_path)
    folder = tmp_path / "backups"
    folder.mkdir()
    utc = dt.UTC
    # Not baocao's, though named like its backups: a tar.gz of someone else, and other files.
    foreign = folder / "baocao-2026-11-20.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    (folder / "baocao-2026-11-21.tar.gz.md5").write_text("x")
    (folder / "baocao-2026-11-22.tar.gz").write_bytes(b"not a tar at all")
    # baocao backups of another series (weekly) stay too.
    write_backup(cfg, folder / "weekly-2026-11-23.tar.gz", dt.datetime(2026, 11, 23, tzinfo=utc))
    for day in (24, 25, 26):
        write_backup(cfg, folder / f"baocao-2026-11-{day}.tar.gz", dt.datetime(2026, 11, day, tzinfo=utc))

    text = write_backup(cfg, folder / "baocao-2026-11-27.tar.gz", dt.datetime(2026, 11, 27, tzinfo=utc), keep=2)

    assert "Removed 2 older backup(s)" in text
    assert sorted(p.name for p in folder.iterdir()) == [
        "baocao-2026-11-20.tar.gz",
        "baocao-2026-11-21.tar.gz.md5",
        "baocao-2026-11-22.tar.gz",
        "baocao-2026-11-26.tar.gz",
        "baocao-2026-11-27.tar.gz",
        "weekly-2026-11-23.tar.gz",
    ]
    with tarfile.open(folder / "baocao-2026-11-27.tar.gz") as tar:
        assert tar.getnames()[0] == "baocao-backup.json" and "baocao.db" in tar.getnames()


def test_backup_keep_orders_by_when_a_backup_was_made_not_by_name(tmp_path):
    import datetime as dt

    from service.admin.backup import write_backup

    cfg = _backup_setup(tmp_path)
    utc = dt.UTC
    # Numbered copies: b-10 is newer than b-9 although it sorts first as text.
    for n in (8, 9, 10):
        write_backup(cfg, tmp_path / f"b-{n}.tar.gz", dt.datetime(2026, 11, n, tzinfo=utc))
    write_backup(cfg, tmp_path / "b-11.tar.gz", dt.datetime(2026, 11, 11, tzinfo=utc), keep=2)
    assert sorted(p.name for p in tmp_path.glob("b-*.tar.gz")) == ["b-10.tar.gz", "b-11.tar.gz"]


def test_backup_keep_on_the_command_line(tmp_path):
    cfg = _backup_setup(tmp_path)
    c = ("--config", str(cfg.source))
    assert baocao(*c, "backup", "--out", str(tmp_path / "baocao-1.tar.gz")).returncode == 0
    r = baocao(*c, "backup", "--out", str(tmp_path / "baocao-2.tar.gz"), "--keep", "1")
    assert r.returncode == 0, r.stderr
    assert "Removed 1 older backup(s): baocao-1.tar.gz" in r.stdout
    assert sorted(p.name for p in tmp_path.glob("baocao-*.tar.gz")) == ["baocao-2.tar.gz"]
    r = baocao(*c, "backup", "--out", str(tmp_path / "baocao-3.tar.gz"), "--keep", "0")
    assert r.returncode == 2 and "at least 1" in r.stderr
    r = baocao(*c, "backup", "--out", str(tmp_path / "latest.tar.gz"), "--keep", "3")
    assert r.returncode == 2 and "date or number" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "latest.tar.gz").exists()
