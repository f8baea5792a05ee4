"""SIGKILL `baocao poll` at each step while it ingests 200 messages; a rerun must end with
every message stored exactly once, archived, and moved exactly once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from service.ingest.archive import content_hash
from storage.db import open_database
from storage.models import Message
from tests.mailbuilders import simple_report, write_config

TZ7 = dt.timezone(dt.timedelta(hours=7))
N = 200
PROCESSED = "Đã xử lý"
# (failpoint, how many times it is passed before the kill)
CRASHES = [("archived", 1), ("committed", 1), ("moved", 1), ("archived", 57), ("committed", 1), ("moved", 1)]


def polling_config(tmp_path, mailbox, db_url: str):
    """A config that polls the test mailbox's INBOX into PROCESSED, and the environment
    holding its password."""
    cfg_path = write_config(
        tmp_path / "config.toml",
        imap={
            "host": "127.0.0.1",
            "port": mailbox.port,
            "security": "none",
            "username": mailbox.user,
            "password_env": "T_IMAP_PW",
            "folder": "INBOX",
            "processed_folder": PROCESSED,
        },
        smtp=None,
        database_url=db_url,
        archive_dir=tmp_path / "archive",
    )
    return cfg_path, {"T_IMAP_PW": mailbox.password}


def run_poll(cfg_path, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "--config", str(cfg_path), "poll"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_sigkill_at_every_step_loses_and_doubles_nothing(db, mailbox, tmp_path, request):
    db_url = f"sqlite:///{tmp_path / 'b.db'}" if db == "sqlite" else request.getfixturevalue("pg_url")
    senders = ["bhxh.tp@example.gov.vn", "yte.tp@example.gov.vn", "unknown@else.where"]
    raws = [simple_report(sender=senders[i % 3], de_nghi=i) for i in range(N)]
    base = dt.datetime(2021, 8, 11, 7, 0, tzinfo=TZ7)
    mailbox.server.append_many(mailbox.user, "INBOX", [(r, base + dt.timedelta(seconds=i)) for i, r in enumerate(raws)])
    cfg_path, env = polling_config(tmp_path, mailbox, db_url)

    for point, count in CRASHES:
        r = run_poll(cfg_path, {**env, "BAOCAO_FAILPOINT": f"{point}:{count}"})
        assert r.returncode == -signal.SIGKILL, (point, r.returncode, r.stderr[-2000:])
    r = run_poll(cfg_path, env)
    assert r.returncode == 0, r.stderr[-2000:]

    sessions = open_database(db_url)
    with sessions() as s:
        shas = s.scalars(select(Message.sha256)).all()
        assert s.scalar(select(func.count()).select_from(Message).where(Message.kind == "unassigned")) == len(
            [i for i in range(N) if i % 3 == 2]
        )
    sessions.kw["bind"].dispose()
    assert sorted(shas) == sorted(content_hash(r) for r in raws)  # each once, none missing
    archived = {p.stem for p in (tmp_path / "archive").rglob("*.eml")}
    assert archived == set(shas)
    with mailbox.connect() as c:
        c.select_folder(PROCESSED, readonly=True)
        moved = c.search("ALL")
        c.select_folder("INBOX", readonly=True)
        left = c.search("ALL")
    unknown = len([i for i in range(N) if i % 3 == 2])
    assert len(left) == unknown  # unknown senders stay in the inbox, flagged
    assert len(moved) == N - unknown  # moved exactly once each


# The daemon's poll and its recognition thread, in one process (`baocao run` without the schedule).
DEFERRING_POLL = """
import sys
from service.config import load_config
from service.ingest.archive import Archive
from service.ingest.pipeline import Ingestor
from service.mail.mailbox import Mailbox
from storage.db import open_database
cfg = load_config(sys.argv[1])
ingestor = Ingestor(cfg, open_database(cfg.service.database_url), Archive(cfg.service.archive_dir))
with Mailbox(cfg.imap) as box:
    ingestor.poll(box, defer_recognition=True)
ingestor.recognise_pending()
"""


def test_sigkill_while_a_scan_is_recognised_is_finished_by_the_next_poll(mailbox, tmp_path):
    """The daemon killed after its poll stored a photo's message, while the recognition
    commits: the message is kept (marked), its UID passed but left in the inbox; the next
    poll reads it in full, once, and moves it."""
    from tests.integration.test_ingest import book_and_photo

    db_url = f"sqlite:///{tmp_path / 'b.db'}"
    raw = book_and_photo()
    mailbox.append(raw, dt.datetime(2021, 8, 11, 8, 0, tzinfo=TZ7))
    cfg_path, env = polling_config(tmp_path, mailbox, db_url)
    r = subprocess.run(
        [sys.executable, "-c", DEFERRING_POLL, str(cfg_path)],
        env={**os.environ, **env, "BAOCAO_FAILPOINT": "recognised:1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    sessions = open_database(db_url)

    def stored():
        with sessions() as s:
            [msg] = s.scalars(select(Message)).all()
            return msg.recognition_pending, sorted(a.outcome for a in msg.attachments), len(msg.figures)

    assert stored() == (True, ["pending", "read"], 1)
    r = run_poll(cfg_path, env)
    assert r.returncode == 0, r.stderr[-2000:]
    pending, outcomes, figures = stored()
    assert not pending and "pending" not in outcomes and figures == 1
    sessions.kw["bind"].dispose()
    with mailbox.connect() as c:
        c.select_folder("INBOX", readonly=True)
        assert c.search("ALL") == []
        c.select_folder(PROCESSED, readonly=True)
        assert len(c.search("ALL")) == 1
