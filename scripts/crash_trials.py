"""Crash trials: SIGKILL (and stop) `baocao run` at random moments while reports stream in and
a digest falls due, with one or two instances on one database, then check that nothing was
lost, doubled or sent twice, and that the digest was not late.

Each trial: a fresh IMAP account on a throwaway Dovecot, a fresh database (SQLite file, or a
PostgreSQL database with `--database postgresql`) and archive, an SMTP capture that delivers
the digest's Bcc copy into the account (as an MTA would, before it answers), and a schedule
with the digest a few seconds ahead. Report emails (known units, an unknown sender, a re-sent
copy) are appended while the daemons run. In 1-3 rounds, every instance not running is
started — some (`--pause-share`) with a stop of the whole process for longer than the lease
at a step of the digest, half of the others with a SIGKILL at a step of ingestion or of the
digest (after building it, right before DATA, right after the SMTP server accepted it) —
and after a random delay one running instance is SIGKILLed. Then the dead ones are started again and left to
finish, and stopped
with SIGTERM. For the trial:

- every appended message is stored exactly once (the SHA-256 sets are equal) and archived
  byte for byte; no mailbox action is left undone;
- the folder holds only the unknown senders' messages (one copy each), the processed
  folder every other copy; the digest's own copies in the mailbox are as many as digests;
- the coordinator received exactly one digest, not later than the digest's own "late" rule;
- no daemon run logged a traceback, every SIGTERM ended with exit 0, and no worker process
  outlived a killed daemon.

Leases are shortened for the trials (`--lease-seconds`, 5 by default; a minute in
production): a stop past the lease and a takeover then fit in seconds. Every delay that
depends on the lease (a takeover, the wait for a copy) scales with it.

    .venv/bin/python scripts/crash_trials.py --trials 50 --seed 1
    .venv/bin/python scripts/crash_trials.py --trials 50 --seed 1 --instances 2 --database postgresql
    .venv/bin/python scripts/crash_trials.py --trials 50 --seed 1 --first-failpoint digest_accepted:1
    .venv/bin/python scripts/crash_trials.py --seed 1 --first 9 --trials 1 --keep  # trial 9 again

Prints one line per trial (per round: the failpoints given, the delay), then the totals —
messages lost, stored twice, digests sent twice, digests late — and `trials: N, failures: F`
with one line per failure; exit 1 if any failed. The folders of failed trials (each run's
log, with every thread's stack when it hung; the SQLite database) are kept. Needs root and
dovecot-imapd, as the integration tests do (and PostgreSQL on 127.0.0.1:5432 for
`--database postgresql`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import hashlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/crash_trials.py`: test this working tree
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, inspect, text  # noqa: E402

from service.demo.localmail import LocalDovecot, SmtpCapture  # noqa: E402
from tests.mailbuilders import simple_report, write_config, zone_away_from_midnight  # noqa: E402

# The service's zone, or one where it is mid-day when that is near midnight: every trial's
# digest falls due the same day, whatever the hour the trials run at.
TZ = zone_away_from_midnight()
PROCESSED = "Đã xử lý"
COORDINATOR = "dieuphoi.ldtbxh@example.gov.vn"
OWN = "baocao.ldtbxh@example.gov.vn"
KNOWN = ["bhxh.tp@example.gov.vn", "yte.tp@example.gov.vn", "songcau@example.gov.vn", "vhtt.tp@example.gov.vn"]
UNKNOWN = "nguoi.la@else.where"
FINISH_TIMEOUT_SECONDS = 150.0
STOP_TIMEOUT_SECONDS = 60.0
LATE_AFTER = dt.timedelta(minutes=15)  # service.outputs.digest.LATE_AFTER: the digest then says it is late
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Outcome:
    kills: int = 0
    failpoint_kills: int = 0
    accepted_kills: int = 0  # kills right after the SMTP server accepted the digest
    pauses: int = 0  # stops of a whole process past its lease that happened (failpoint pause)
    unknown_kills: int = 0  # hand-overs to SMTP a kill left without a recorded outcome
    lost: int = 0  # appended messages never stored
    doubled: int = 0  # messages stored twice
    digests: int = 0  # digests the coordinator received
    takeovers: int = 0  # claims of a digest another run held (expired, or a dead run's)
    fenced: int = 0  # runs that lost the lease while stopped and so did not send
    copies_found: int = 0  # unknown outcomes settled by finding the digest's copy
    race_tracebacks: int = 0  # run logs whose only tracebacks are the known two-instance race
    move_duplicates: int = 0  # extra copies in the processed folder from two instances' MOVEs
    delay: float | None = None  # seconds from digest_at to the digest's sending
    seconds: float = 0.0
    plan: list[str] = field(default_factory=list)  # per round: the failpoints given and the delay
    failures: list[str] = field(default_factory=list)


class Trial:
    """One trial; `run()` returns its outcome."""

    def __init__(
        self,
        n: int,
        rng: random.Random,
        dovecot: LocalDovecot,
        smtp: SmtpCapture,
        workdir: Path,
        messages: int,
        instances: int = 1,
        database: str = "sqlite",
        lease_seconds: float = 5.0,
        pause_share: float = 0.15,
        first_failpoint: str | None = None,
        strict: bool = False,
    ) -> None:
        self.n, self.rng, self.dovecot, self.smtp = n, rng, dovecot, smtp
        self.instances, self.lease, self.pause_share = instances, lease_seconds, pause_share
        self.first_failpoint, self.strict = first_failpoint, strict
        self.dir = workdir / f"trial-{n:03d}"
        self.dir.mkdir(parents=True)
        self.user = f"trial{n}x{secrets.token_hex(3)}"
        self.password = secrets.token_urlsafe(12)
        dovecot.add_user(self.user, self.password)
        self.copy_to = f"{self.user}@baocao.test"
        smtp.deliver(self.copy_to, lambda raw: dovecot.append(self.user, "INBOX", raw, dt.datetime.now(TZ)))
        self.db_name = None
        if database == "postgresql":
            self.db_name = f"baocao_trial_{secrets.token_hex(5)}"
            _pg_admin(f'CREATE DATABASE "{self.db_name}"')
            self.db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.db_name}"
        else:
            self.db_url = f"sqlite:///{self.dir / 'baocao.sqlite3'}"
        self.engine = create_engine(self.db_url, connect_args={"timeout": 10} if database == "sqlite" else {})
        self.archive = self.dir / "archive"
        self.env = {**os.environ, "T_IMAP_PW": self.password, "BAOCAO_LEASE_SECONDS": f"{lease_seconds:g}"}
        self.env.pop("BAOCAO_FAILPOINT", None)
        self.outcome = Outcome()
        self.unknown: set[object] = set()  # hand-overs a kill left without an outcome
        self.runs = 0
        # The messages of the stream: known units, every fifth from an unknown sender, and
        # one report sent twice (the same bytes), in arrival order.
        self.raws = [
            simple_report(sender=UNKNOWN if i % 5 == 4 else KNOWN[i % len(KNOWN)], de_nghi=100 + i)
            for i in range(messages)
        ]
        self.stream = list(self.raws)
        self.stream.insert(rng.randrange(1, len(self.stream) + 1), self.raws[0])
        self.appended = 0
        self.digest_at = dt.datetime.now(TZ) + dt.timedelta(seconds=rng.uniform(2.0, 6.0))
        self.stream_rng = random.Random(rng.random())  # drawn here: the streamer is another thread

    # -- set-up ------------------------------------------------------------------------------
    def write_config(self) -> Path:
        path = write_config(
            self.dir / "config.toml",
            imap={
                "host": "127.0.0.1",
                "port": self.dovecot.port,
                "security": "none",
                "username": self.user,
                "password_env": "T_IMAP_PW",
                "processed_folder": PROCESSED,
                "idle": True,
                "timeout_seconds": 10,
            },
            smtp={"host": "127.0.0.1", "port": self.smtp.port, "security": "none", "from_address": OWN},
            database_url=self.db_url,
            archive_dir=self.archive,
            timezone=TZ.key,
        )
        due = self.digest_at.time().replace(microsecond=0).isoformat()
        text_ = path.read_text(encoding="utf-8")
        text_ = text_.replace('digest_at = "15:00"', f"digest_at = {due}")
        text_ = text_.replace('deadline = "15:00"', f"deadline = {due}")
        text_ = text_.replace('reminders_at = ["10:00", "14:00"]', "reminders_at = []")
        text_ = text_.replace("poll_interval_minutes = 5", "poll_interval_minutes = 1")
        text_ = text_.replace("[digest]\n", f'[digest]\ncopy_to = "{self.copy_to}"\n', 1)
        path.write_text(text_, encoding="utf-8")
        return path

    def stream_reports(self, stop: threading.Event) -> None:
        """Append the stream over a few seconds, as units send their reports."""
        for raw in self.stream:
            if stop.wait(self.stream_rng.uniform(0.0, 0.5)):
                return
            self.dovecot.append(self.user, "INBOX", raw, dt.datetime.now(TZ))
            self.appended += 1

    def query(self, sql: str) -> list[tuple]:
        with self.engine.connect() as db:
            return [tuple(r) for r in db.execute(text(sql))]

    def has_schema(self) -> bool:
        return inspect(self.engine).has_table("digests")

    # -- daemon runs ---------------------------------------------------------------------------
    def start(self, cfg: Path, failpoint: str | None) -> tuple[subprocess.Popen, Path]:
        self.runs += 1
        log = self.dir / f"run-{self.runs}.log"
        env = dict(self.env)
        if failpoint:
            env["BAOCAO_FAILPOINT"] = failpoint
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "--config", str(cfg), "run"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return proc, log

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the daemon, then check that its worker processes follow it."""
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        self.outcome.kills += 1
        # The daemon leads its own process group; its workers watch it and exit within a second.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and _group_alive(proc.pid):
            time.sleep(0.1)
        if _group_alive(proc.pid):
            self.fail(f"worker processes outlived the killed daemon {proc.pid}")
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.note_unknown_outcome()

    def random_failpoint(self) -> str | None:
        """For a run about to start: a stop past the lease (`pause_share` of the runs), else
        half of the time a kill at a step of ingestion or of the digest, else none."""
        if self.rng.random() < self.pause_share:
            # A stop before DATA for 1.5-3 leases, or right before it (after the hand-over
            # mark) for 1.2-1.6 leases: less than the wait for a copy (2 leases), the one stall
            # the design does not cover being longer than that exactly there (docs/reliability.md).
            point = self.rng.choice(["digest_built", "digest_handover"])
            low, high = (1.5, 3.0) if point == "digest_built" else (1.2, 1.6)
            return f"{point}:1:pause={self.rng.uniform(low, high) * self.lease:.1f}"
        if self.rng.random() < 0.5:
            return None
        if self.rng.random() < 0.5:  # one digest per trial against many messages: weigh its steps up
            return f"{self.rng.choice(['digest_built', 'digest_handover', 'digest_accepted'])}:1"
        return f"{self.rng.choice(['archived', 'committed', 'moved'])}:{self.rng.randint(1, 4)}"

    def fail(self, text_: str) -> None:
        self.outcome.failures.append(f"trial {self.n}: {text_}")

    # -- the trial -----------------------------------------------------------------------------
    def run(self) -> Outcome:
        started = time.monotonic()
        cfg = self.write_config()
        if self.instances > 1:
            # Two processes creating a new SQLite database at once is issue 11 point 4, tested
            # on its own; here the database exists, as it does in any running installation.
            from storage.db import open_database

            open_database(self.db_url).kw["bind"].dispose()
        stop_stream = threading.Event()
        streamer = threading.Thread(target=self.stream_reports, args=(stop_stream,), daemon=True)
        streamer.start()
        procs: list[subprocess.Popen | None] = [None] * self.instances
        logs: list[Path | None] = [None] * self.instances
        self.failpoints: list[str | None] = [None] * self.instances
        try:
            for _ in range(self.rng.randint(1, 3)):
                given, pause = [], 0.0
                for i in range(self.instances):
                    if procs[i] is None or procs[i].poll() is not None:
                        failpoint = self.random_failpoint()
                        if self.runs == 0 and self.first_failpoint:  # the trial's very first run
                            failpoint = self.first_failpoint
                        procs[i], logs[i] = self.start(cfg, failpoint)
                        self.failpoints[i] = failpoint
                        given.append(failpoint or "-")
                        if failpoint and ":pause=" in failpoint:
                            pause = max(pause, float(failpoint.rsplit("=", 1)[1]))
                    else:
                        given.append("running")
                delay = self.rng.uniform(0.3, 4.0)
                if any(g.startswith("digest") for g in given):  # give it the time to fall due
                    delay = max(delay, (self.digest_at - dt.datetime.now(TZ)).total_seconds() + 3.0 + pause)
                self.outcome.plan.append(f"[{' | '.join(given)}] {delay:.1f} s")
                deadline = time.monotonic() + delay
                while time.monotonic() < deadline and all(p.poll() is None for p in procs):
                    time.sleep(0.05)  # a failpoint may kill one first
                for i, p in enumerate(procs):
                    if p.poll() is not None:
                        if p.returncode == -signal.SIGKILL:
                            self.count_failpoint_kill(i)
                        else:
                            self.fail(f"run {logs[i].name} exited by itself with {p.returncode}")
                        procs[i] = None
                alive = [i for i, p in enumerate(procs) if p is not None]
                if alive:
                    victim = self.rng.choice(alive)
                    self.kill(procs[victim])
                    procs[victim] = None
            streamer.join()
            for i in range(self.instances):
                if procs[i] is None:
                    procs[i], logs[i] = self.start(cfg, None)
                    self.failpoints[i] = None
            try:
                self.wait_until_done(cfg, procs, logs)
            finally:
                for p in procs:
                    if p.poll() is None:
                        os.kill(p.pid, signal.SIGCONT)  # one stopped by a pause gets the SIGTERM too
                        p.send_signal(signal.SIGTERM)
                for i, p in enumerate(procs):
                    try:
                        code = p.wait(timeout=STOP_TIMEOUT_SECONDS)
                    except subprocess.TimeoutExpired:
                        self.kill(p)
                        code = None
                    if code != 0:
                        self.fail(f"the last run {logs[i]} did not stop cleanly on SIGTERM (exit {code})")
        finally:
            stop_stream.set()
            streamer.join()
        self.check()
        self.outcome.seconds = time.monotonic() - started
        return self.outcome

    def count_failpoint_kill(self, i: int) -> None:
        self.outcome.failpoint_kills += 1
        self.outcome.kills += 1
        if (self.failpoints[i] or "").startswith("digest_accepted"):
            self.outcome.accepted_kills += 1
        self.note_unknown_outcome()

    def note_unknown_outcome(self) -> None:
        """A kill that left the digest handed over to SMTP without a recorded outcome: the next
        claim must decide from the copy whether it went."""
        if self.has_schema():
            self.unknown.update(
                r[0]
                for r in self.query(
                    "SELECT handed_over_at FROM digests WHERE state = 'sending' AND handed_over_at IS NOT NULL"
                )
            )
            self.outcome.unknown_kills = len(self.unknown)

    def digest_ids(self) -> list[str]:
        """The Message-ID of each digest the coordinator received in this trial."""
        ids = {r[0] for r in self.query("SELECT message_id FROM digests")} if self.has_schema() else set()
        return [
            mid
            for mid in (
                email.message_from_bytes(m.data)["Message-ID"] for m in self.smtp.messages if COORDINATOR in m.rcpt_tos
            )
            if mid in ids
        ]

    def wait_until_done(self, cfg: Path, procs: list[subprocess.Popen], logs: list[Path]) -> None:
        """Until every run has polled once itself, every message is stored and acted on, and the
        digest is sent (or time is up). A run that survived the rounds with a failpoint may
        still meet it: it is restarted without one."""
        unique = len({hashlib.sha256(r).hexdigest() for r in self.stream})
        deadline = time.monotonic() + FINISH_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            for i, p in enumerate(procs):
                if p.poll() == -signal.SIGKILL and self.failpoints[i]:
                    self.count_failpoint_kill(i)
                    procs[i], logs[i] = self.start(cfg, None)
                    self.failpoints[i] = None
            if not all(p.poll() is None for p in procs):
                break
            if all("(first poll since start)" in log.read_text(encoding="utf-8", errors="replace") for log in logs):
                if self.has_schema():
                    stored = self.query(f"SELECT count(*) FROM messages WHERE from_address != '{OWN}'")[0][0]
                    pending = self.query("SELECT count(*) FROM mailbox_messages WHERE NOT done")[0][0]
                    sent = self.query("SELECT count(*) FROM digests WHERE state = 'sent'")[0][0]
                    if stored >= unique and pending == 0 and sent == 1:
                        return
            time.sleep(0.2)
        for p, log in zip(procs, logs):
            if p.poll() is not None:
                self.fail(f"the last run exited with {p.returncode} before finishing; see {log}")
            else:
                p.send_signal(signal.SIGUSR1)  # `baocao run` dumps every thread's stack to its log
        time.sleep(1.0)
        self.fail(f"not finished within {FINISH_TIMEOUT_SECONDS:.0f} s; see {logs} (stacks at the end)")

    # -- the invariants ------------------------------------------------------------------------
    def check(self) -> None:
        want = {hashlib.sha256(r).hexdigest() for r in self.stream}
        if not self.has_schema():
            self.fail("the database was never created (no run got as far as its migrations)")
            return
        rows = self.query(f"SELECT sha256, archive_path FROM messages WHERE from_address != '{OWN}'")
        undone = self.query("SELECT count(*) FROM mailbox_messages WHERE NOT done")[0][0]
        digest = self.query("SELECT state, message_id, sent_at FROM digests")
        shas = [sha for sha, _ in rows]
        self.outcome.doubled = len(shas) - len(set(shas))
        self.outcome.lost = len(want - set(shas))
        if self.outcome.doubled:
            self.fail(f"{self.outcome.doubled} message(s) stored twice")
        if set(shas) != want:
            self.fail(f"stored set differs: {len(want - set(shas))} missing, {len(set(shas) - want)} unexpected")
        for sha, rel in rows:
            path = self.archive / rel
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
                self.fail(f"message {sha[:12]} is not archived byte for byte")
        if list(self.archive.rglob("*.tmp")):
            self.fail("half-written archive files were left")
        if undone:
            self.fail(f"{undone} mailbox action(s) left undone")

        ids = self.digest_ids()
        self.outcome.digests = len(ids)
        own = {mid for _, mid, _ in digest}
        inbox, processed = self.folder_ids("INBOX"), self.folder_ids(PROCESSED)
        copies = [m for m in inbox + processed if m in own]
        inbox, processed = [m for m in inbox if m not in own], [m for m in processed if m not in own]
        unknown = {_message_id(r) for r in self.raws if f"From: {UNKNOWN}".encode() in r}
        if sorted(inbox) != sorted(unknown):
            self.fail(f"INBOX holds {len(inbox)} message(s); expected only the {len(unknown)} unknown senders'")
        expected = len(self.stream) - len(unknown)
        if (
            self.instances > 1
            and not self.strict
            and len(processed) > expected
            and sorted(set(processed)) == sorted({_message_id(r) for r in self.stream} - unknown)
        ):
            # Two instances moving the same UIDs at once: Dovecot's MOVE is a copy and an
            # expunge per session, so both copies can land. Nothing lost; counted apart.
            self.outcome.move_duplicates += len(processed) - expected
        elif len(processed) != expected:
            self.fail(
                f"{len(processed)} message(s) in the processed folder; expected {expected} (each moved exactly once)"
            )
        if self.instances > 1 and not self.strict and len(copies) > len(ids) and set(copies) == set(ids):
            self.outcome.move_duplicates += len(copies) - len(ids)  # as above
        elif len(copies) != len(ids):
            self.fail(f"{len(copies)} copies of the digest in the mailbox for {len(ids)} digest(s) sent")

        if len(digest) != 1 or digest[0][0] != "sent":
            self.fail(f"the digest row is {digest!r}, not one row 'sent'")
        elif ids != [digest[0][1]]:
            self.fail(f"the coordinator received {len(ids)} digest(s), not exactly one")
        else:
            sent_at = digest[0][2]
            sent_at = sent_at if isinstance(sent_at, dt.datetime) else dt.datetime.fromisoformat(sent_at)
            sent_at = sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=dt.UTC)  # SQLite: UTC
            self.outcome.delay = (sent_at - self.digest_at.replace(microsecond=0)).total_seconds()
            if sent_at - self.digest_at.replace(microsecond=0) > LATE_AFTER:
                self.fail(f"the digest was late: sent {self.outcome.delay:.0f} s after digest_at")
        for log in sorted(self.dir.glob("run-*.log")):
            text_ = log.read_text(encoding="utf-8", errors="replace")
            if "Traceback" in text_ and not self.strict and _only_the_known_race(text_):
                self.outcome.race_tracebacks += 1
            elif "Traceback" in text_:
                self.fail(f"a traceback was logged; see {log}")
            self.outcome.takeovers += text_.count(": taking over from") + text_.count(": taking back the lease")
            self.outcome.fenced += text_.count("not sent by this instance")
            self.outcome.copies_found += text_.count(": its copy is in")
            self.outcome.pauses += text_.count(": stopping the whole process for")

    def close(self) -> None:
        self.engine.dispose()
        if self.db_name:
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def folder_ids(self, folder: str) -> list[str]:
        client = self.dovecot.connect(self.user)
        try:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            data = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        finally:
            client.logout()
        return [_message_id(v[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]) for v in data.values()]


# Two instances storing the same new UIDs at once: an IntegrityError logged as "poll failed
# unexpectedly" with a traceback (nothing lost; the next poll records them). That is issue 11
# point 5, fixed apart; counted on its own here unless --strict.
_KNOWN_RACE = ("uq_mailbox_uid", "uq_mailbox_state_folder", "UNIQUE constraint failed: mailbox_")


def _only_the_known_race(log_text: str) -> bool:
    blocks = log_text.split("Traceback (most recent call last):")[1:]
    return all("poll failed unexpectedly" in log_text and any(k in b for k in _KNOWN_RACE) for b in blocks)


def _pg_admin(statement: str) -> None:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as db:
            db.execute(text(statement))
    finally:
        engine.dispose()


def _message_id(raw: bytes) -> str:
    return email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")["Message-ID"]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Zombies still count for killpg(0); only living members matter.
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def run_trials(
    trials: int,
    seed: int,
    messages: int,
    keep: bool = False,
    first: int = 1,
    out=sys.stdout,
    instances: int = 1,
    database: str = "sqlite",
    lease_seconds: float = 5.0,
    pause_share: float = 0.15,
    first_failpoint: str | None = None,
    strict: bool = False,
) -> list[Outcome]:
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="baocao-crash-trials-"))
    outcomes: list[Outcome] = []
    dovecot = LocalDovecot().start({"baocao": secrets.token_urlsafe(12)})
    try:
        with SmtpCapture() as smtp:
            for n in range(1, first + trials):
                trial_seed = rng.random()  # drawn for every trial: --first K repeats trial K of a seed
                if n < first:
                    continue
                trial = Trial(
                    n,
                    random.Random(trial_seed),
                    dovecot,
                    smtp,
                    workdir,
                    messages,
                    instances=instances,
                    database=database,
                    lease_seconds=lease_seconds,
                    pause_share=pause_share,
                    first_failpoint=first_failpoint,
                    strict=strict,
                )
                try:
                    outcome = trial.run()
                finally:
                    trial.close()
                outcomes.append(outcome)
                delay = f"digest +{outcome.delay:.0f} s" if outcome.delay is not None else "no digest"
                print(
                    f"trial {n}: {outcome.kills} kill(s), {outcome.failpoint_kills} at a failpoint, "
                    f"{outcome.pauses} pause(s), {outcome.unknown_kills} with the digest's outcome unknown, "
                    f"{delay}; {' '.join(outcome.plan)} "
                    f"{'FAILED' if outcome.failures else 'ok'} in {outcome.seconds:.1f} s",
                    file=out,
                    flush=True,
                )
    finally:
        dovecot.stop()
        failed = [o for o in outcomes if o.failures]
        if keep or failed:  # the logs and databases of a failed trial are the evidence
            print(f"trial files kept in {workdir}", file=out)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    failures = [f for o in outcomes for f in o.failures]
    failed = sum(1 for o in outcomes if o.failures)
    delays = [o.delay for o in outcomes if o.delay is not None]
    lines = [
        f"kills: {sum(o.kills for o in outcomes)} ({sum(o.failpoint_kills for o in outcomes)} at a failpoint, "
        f"{sum(o.accepted_kills for o in outcomes)} right after the SMTP server accepted the digest), "
        f"pauses past the lease: {sum(o.pauses for o in outcomes)}, "
        f"kills with the digest's outcome unknown: {sum(o.unknown_kills for o in outcomes)}",
        f"digest claims taken over: {sum(o.takeovers for o in outcomes)}, sends stopped by the lease check: "
        f"{sum(o.fenced for o in outcomes)}, outcomes settled by the copy: {sum(o.copies_found for o in outcomes)}",
        f"messages lost: {sum(o.lost for o in outcomes)}, stored twice: {sum(o.doubled for o in outcomes)}, "
        f"digests sent twice: {sum(1 for o in outcomes if o.digests > 1)}, "
        f"digests missing: {sum(1 for o in outcomes if o.digests == 0)}, "
        f"digests late: {sum(1 for d in delays if d > LATE_AFTER.total_seconds())} "
        f"(after digest_at: median {sorted(delays)[len(delays) // 2] if delays else 0:.0f} s, "
        f"max {max(delays, default=0):.0f} s)",
        f"run logs with only the known two-instance IntegrityError traceback (issue 11 point 5): "
        f"{sum(o.race_tracebacks for o in outcomes)}; extra copies in the processed folder from two "
        f"instances moving the same message at once: {sum(o.move_duplicates for o in outcomes)}",
        f"trials: {len(outcomes)}, failures: {failed}",
        *failures,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--messages", type=int, default=10, help="distinct report emails per trial")
    parser.add_argument("--first", type=int, default=1, help="start at this trial of the seed (to repeat one)")
    parser.add_argument("--keep", action="store_true", help="keep the trial folders (logs, databases)")
    parser.add_argument("--instances", type=int, choices=(1, 2), default=1, help="daemons on one database")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--lease-seconds", type=float, default=5.0, help="the daemons' lease (BAOCAO_LEASE_SECONDS; 60 in production)"
    )
    parser.add_argument(
        "--pause-share",
        type=float,
        default=0.15,
        help="the share of runs started with a stop past the lease at a digest step",
    )
    parser.add_argument(
        "--first-failpoint",
        metavar="SPEC",
        help="the failpoint of each trial's first run (e.g. digest_accepted:1), the rest random",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail on the known two-instance IntegrityError traceback (issue 11 point 5) and "
        "on the extra copies two instances' MOVEs can leave in the processed folder too",
    )
    args = parser.parse_args(argv)
    outcomes = run_trials(
        args.trials,
        args.seed,
        args.messages,
        keep=args.keep,
        first=args.first,
        instances=args.instances,
        database=args.database,
        lease_seconds=args.lease_seconds,
        pause_share=args.pause_share,
        first_failpoint=args.first_failpoint,
        strict=args.strict,
    )
    print(summary(outcomes))
    return 1 if any(o.failures for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
