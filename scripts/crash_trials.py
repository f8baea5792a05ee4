"""Crash trials: SIGKILL `baocao run` at random moments while reports stream in and a digest
falls due, then check that nothing was lost, doubled or sent twice (outside the one window).

Each trial: a fresh IMAP account on a throwaway Dovecot, a fresh SQLite database and
archive, an SMTP capture, and a schedule with the digest a few seconds ahead. Report emails
(known units, an unknown sender, a re-sent copy) are appended while the daemon runs; the
daemon is killed 1-3 times, either after a random delay or at a random failpoint
(BAOCAO_FAILPOINT), and restarted; the last run is left to finish and stopped with SIGTERM.
Then, for the trial:

- every appended message is stored exactly once (the SHA-256 sets are equal) and archived
  byte for byte; no mailbox action is left undone;
- the folder holds only the unknown senders' messages (one copy each), the processed
  folder every other copy;
- the capture holds exactly one digest for the day, plus one more copy with the same
  Message-ID for each kill that fell between the SMTP server's acceptance and the commit
  (the documented at-least-once window, counted apart);
- no daemon run logged a traceback, every SIGTERM ended with exit 0, and no worker process
  outlived a killed daemon.

A kill inside the digest's lease (10 minutes) leaves the claim to a dead process; instead of
waiting, the script moves the lease to the past before the next start (counted).

    .venv/bin/python scripts/crash_trials.py --trials 50 --seed 1
    .venv/bin/python scripts/crash_trials.py --seed 1 --first 9 --trials 1 --keep  # trial 9 again

Prints one line per trial (its kills: the failpoint it was given, else the delay), then
`trials: N, failures: F` and one line per failure; exit 1 if any failed. The folders of
failed trials (each run's log, with every thread's stack when it hung; the database) are
kept. Needs root and dovecot-imapd, as the integration tests do.
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
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/crash_trials.py`: test this working tree
    sys.path.insert(0, str(ROOT))

from service.localmail import LocalDovecot, SmtpCapture  # noqa: E402
from tests.mailbuilders import simple_report, write_config  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PROCESSED = "Đã xử lý"
COORDINATOR = "dieuphoi.ldtbxh@example.gov.vn"
KNOWN = ["bhxh.tp@example.gov.vn", "yte.tp@example.gov.vn", "songcau@example.gov.vn",
         "vhtt.tp@example.gov.vn"]
UNKNOWN = "nguoi.la@else.where"
FINISH_TIMEOUT_SECONDS = 150.0  # a digest owed at start is retried by the 1-minute job at worst
STOP_TIMEOUT_SECONDS = 60.0


@dataclass
class Outcome:
    kills: int = 0
    failpoint_kills: int = 0
    lease_expiries: int = 0
    window_kills: int = 0  # kills after the SMTP server accepted the digest, before the commit
    seconds: float = 0.0
    plan: list[str] = field(default_factory=list)  # per run: the failpoint or the delay
    failures: list[str] = field(default_factory=list)


class Trial:
    """One trial; `run()` returns its outcome."""

    def __init__(self, n: int, rng: random.Random, dovecot: LocalDovecot, smtp: SmtpCapture,
                 workdir: Path, messages: int) -> None:
        self.n, self.rng, self.dovecot, self.smtp = n, rng, dovecot, smtp
        self.dir = workdir / f"trial-{n:03d}"
        self.dir.mkdir(parents=True)
        self.user = f"trial{n}x{secrets.token_hex(3)}"
        self.password = secrets.token_urlsafe(12)
        dovecot.add_user(self.user, self.password)
        self.db_file = self.dir / "baocao.sqlite3"
        self.archive = self.dir / "archive"
        self.env = {**os.environ, "T_IMAP_PW": self.password}
        self.env.pop("BAOCAO_FAILPOINT", None)
        self.outcome = Outcome()
        self.runs = 0
        # The messages of the stream: known units, every fifth from an unknown sender, and
        # one report sent twice (the same bytes), in arrival order.
        self.raws = [simple_report(sender=UNKNOWN if i % 5 == 4 else KNOWN[i % len(KNOWN)], de_nghi=100 + i)
                     for i in range(messages)]
        self.stream = list(self.raws)
        self.stream.insert(rng.randrange(1, len(self.stream) + 1), self.raws[0])
        self.appended = 0
        self.digest_at = dt.datetime.now(TZ) + dt.timedelta(seconds=rng.uniform(2.0, 6.0))
        self.stream_rng = random.Random(rng.random())  # drawn here: the streamer is another thread

    # -- set-up ------------------------------------------------------------------------------
    def write_config(self) -> Path:
        path = write_config(
            self.dir / "config.toml",
            imap={"host": "127.0.0.1", "port": self.dovecot.port, "security": "none", "username": self.user,
                  "password_env": "T_IMAP_PW", "processed_folder": PROCESSED, "idle": True,
                  "timeout_seconds": 10},
            smtp={"host": "127.0.0.1", "port": self.smtp.port, "security": "none",
                  "from_address": "baocao.ldtbxh@example.gov.vn"},
            database_url=f"sqlite:///{self.db_file}", archive_dir=self.archive)
        due = self.digest_at.time().replace(microsecond=0).isoformat()
        text = path.read_text(encoding="utf-8")
        text = text.replace('digest_at = "15:00"', f"digest_at = {due}")
        text = text.replace('deadline = "15:00"', f"deadline = {due}")
        text = text.replace('reminders_at = ["10:00", "14:00"]', "reminders_at = []")
        text = text.replace("poll_interval_minutes = 5", "poll_interval_minutes = 1")
        path.write_text(text, encoding="utf-8")
        return path

    def stream_reports(self, stop: threading.Event) -> None:
        """Append the stream over a few seconds, as units send their reports."""
        for raw in self.stream:
            if stop.wait(self.stream_rng.uniform(0.0, 0.5)):
                return
            self.dovecot.append(self.user, "INBOX", raw, dt.datetime.now(TZ))
            self.appended += 1

    # -- daemon runs ---------------------------------------------------------------------------
    def start(self, cfg: Path, failpoint: str | None) -> tuple[subprocess.Popen, Path]:
        self.runs += 1
        log = self.dir / f"run-{self.runs}.log"
        env = dict(self.env)
        if failpoint:
            env["BAOCAO_FAILPOINT"] = failpoint
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "service.cli", "--config", str(cfg), "run"],
                                    cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
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

    def random_failpoint(self) -> str:
        name = self.rng.choice(["archived", "committed", "moved", "digest_built", "digest_accepted"])
        count = 1 if name.startswith("digest") else self.rng.randint(1, 4)
        return f"{name}:{count}"

    def fail(self, text: str) -> None:
        self.outcome.failures.append(f"trial {self.n}: {text}")

    # -- the trial -----------------------------------------------------------------------------
    def run(self) -> Outcome:
        started = time.monotonic()
        cfg = self.write_config()
        stop_stream = threading.Event()
        streamer = threading.Thread(target=self.stream_reports, args=(stop_stream,), daemon=True)
        streamer.start()
        try:
            for _ in range(self.rng.randint(1, 3)):
                self.expire_dead_lease()
                failpoint = self.random_failpoint() if self.rng.random() < 0.5 else None
                proc, _ = self.start(cfg, failpoint)
                delay = self.rng.uniform(0.3, 4.0)
                if failpoint and failpoint.startswith("digest"):  # give it the time to fall due
                    delay = max(delay, (self.digest_at - dt.datetime.now(TZ)).total_seconds() + 3.0)
                self.outcome.plan.append((f"{failpoint} or " if failpoint else "") + f"{delay:.1f} s")
                try:
                    proc.wait(timeout=delay)  # a failpoint may kill it first
                    if proc.returncode == -signal.SIGKILL:
                        self.outcome.failpoint_kills += 1
                    elif proc.returncode is not None:
                        self.fail(f"run {self.runs} exited by itself with {proc.returncode}")
                except subprocess.TimeoutExpired:
                    pass
                self.kill(proc)
                self.note_digest_window()
            streamer.join()
            self.expire_dead_lease()
            proc, log = self.start(cfg, None)
            try:
                self.wait_until_done(proc, log)
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    code = proc.wait(timeout=STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    self.kill(proc)
                    code = None
                if code != 0:
                    self.fail(f"the last run did not stop cleanly on SIGTERM (exit {code}); see {log}")
        finally:
            stop_stream.set()
            streamer.join()
        self.check()
        self.outcome.seconds = time.monotonic() - started
        return self.outcome

    def expire_dead_lease(self) -> None:
        """Every earlier run is dead: a digest claim still 'sending' belongs to a dead process.
        Moving its lease to the past stands for the 10 minutes a restart would wait."""
        if not self.db_file.exists():
            return
        with _db(self.db_file) as db:
            if not _has_table(db, "digests"):
                return
            past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
            changed = db.execute("UPDATE digests SET lease_until = ? WHERE state = 'sending'", (past,)).rowcount
            db.commit()
        self.outcome.lease_expiries += changed

    def note_digest_window(self) -> None:
        """A kill that left the claim 'sending' after the capture got one more copy of its
        digest fell in the at-least-once window (accepted by SMTP, not yet marked sent)."""
        if not self.db_file.exists():
            return
        with _db(self.db_file) as db:
            if not _has_table(db, "digests"):
                return
            row = db.execute("SELECT state, message_id FROM digests").fetchone()
        if row and row[0] == "sending":
            copies = self.digest_ids().count(row[1])
            if copies > self.outcome.window_kills:
                self.outcome.window_kills = copies

    def digest_ids(self) -> list[str]:
        return [email.message_from_bytes(m.data)["Message-ID"] for m in self.smtp.messages
                if COORDINATOR in m.rcpt_tos and self.user_marker(m.data)]

    def user_marker(self, data: bytes) -> bool:
        # The capture is shared by the trials; a digest belongs to this one by its database's claim.
        with _db(self.db_file) as db:
            if not _has_table(db, "digests"):
                return False
            ids = {r[0] for r in db.execute("SELECT message_id FROM digests")}
        return email.message_from_bytes(data)["Message-ID"] in ids

    def wait_until_done(self, proc: subprocess.Popen, log: Path) -> None:
        """Until the run has polled once itself, every message is stored and acted on, and the
        digest is sent (or time is up)."""
        unique = len({hashlib.sha256(r).hexdigest() for r in self.stream})
        deadline = time.monotonic() + FINISH_TIMEOUT_SECONDS
        while time.monotonic() < deadline and proc.poll() is None:
            if "(first poll since start)" in log.read_text(encoding="utf-8", errors="replace"):
                with _db(self.db_file) as db:
                    if _has_table(db, "digests"):
                        stored = db.execute("SELECT count(*) FROM messages").fetchone()[0]
                        pending = db.execute("SELECT count(*) FROM mailbox_messages WHERE NOT done").fetchone()[0]
                        sent = db.execute("SELECT count(*) FROM digests WHERE state = 'sent'").fetchone()[0]
                        if stored >= unique and pending == 0 and sent == 1:
                            return
            time.sleep(0.2)
        if proc.poll() is not None:
            self.fail(f"the last run exited with {proc.returncode} before finishing; see {log}")
        else:
            proc.send_signal(signal.SIGUSR1)  # `baocao run` dumps every thread's stack to its log
            time.sleep(1.0)
            self.fail(f"not finished within {FINISH_TIMEOUT_SECONDS:.0f} s; see {log} (stacks at the end)")

    # -- the invariants ------------------------------------------------------------------------
    def check(self) -> None:
        want = {hashlib.sha256(r).hexdigest() for r in self.stream}
        with _db(self.db_file) as db:
            if not _has_table(db, "mailbox_messages"):
                self.fail("the database was never created (no run got as far as its migrations)")
                return
            rows = db.execute("SELECT sha256, archive_path FROM messages").fetchall()
            undone = db.execute("SELECT count(*) FROM mailbox_messages WHERE NOT done").fetchone()[0]
            digest = db.execute("SELECT state, message_id FROM digests").fetchall()
        shas = [sha for sha, _ in rows]
        if len(shas) != len(set(shas)):
            self.fail(f"{len(shas) - len(set(shas))} message(s) stored twice")
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

        inbox, processed = self.folder_ids("INBOX"), self.folder_ids(PROCESSED)
        unknown = {_message_id(r) for r in self.raws if f"From: {UNKNOWN}".encode() in r}
        if sorted(inbox) != sorted(unknown):
            self.fail(f"INBOX holds {len(inbox)} message(s); expected only the {len(unknown)} unknown senders'")
        if len(processed) != len(self.stream) - len(unknown):
            self.fail(f"{len(processed)} message(s) in the processed folder; expected "
                      f"{len(self.stream) - len(unknown)} (each moved exactly once)")

        # One digest, plus one copy with the same Message-ID per kill in the at-least-once window.
        ids = self.digest_ids()
        if len(digest) != 1 or digest[0][0] != "sent":
            self.fail(f"the digest row is {digest!r}, not one row 'sent'")
        elif len(ids) != 1 + self.outcome.window_kills or set(ids) != {digest[0][1]}:
            self.fail(f"{len(ids)} digest(s) captured for the day ({len(set(ids))} Message-ID(s)), "
                      f"{self.outcome.window_kills} kill(s) in the at-least-once window")
        for log in sorted(self.dir.glob("run-*.log")):
            if "Traceback" in log.read_text(encoding="utf-8", errors="replace"):
                self.fail(f"a traceback was logged; see {log}")

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


def _message_id(raw: bytes) -> str:
    return email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")["Message-ID"]


def _db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10)
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


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


def run_trials(trials: int, seed: int, messages: int, keep: bool = False, first: int = 1,
               out=sys.stdout) -> list[Outcome]:
    now = dt.datetime.now(TZ)
    if now.time() < dt.time(0, 2) or now.time() > dt.time(23, 50):
        raise SystemExit("crash_trials: too close to midnight in Asia/Ho_Chi_Minh for same-day digests")
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
                outcome = Trial(n, random.Random(trial_seed), dovecot, smtp, workdir, messages).run()
                outcomes.append(outcome)
                print(f"trial {n}: {outcome.kills} kill(s), {outcome.failpoint_kills} at a failpoint, "
                      f"{f'{outcome.window_kills} in the at-least-once window, ' if outcome.window_kills else ''}"
                      f"[{', '.join(outcome.plan)}] "
                      f"{'FAILED' if outcome.failures else 'ok'} in {outcome.seconds:.1f} s", file=out, flush=True)
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
    lines = [
        f"kills: {sum(o.kills for o in outcomes)} ({sum(o.failpoint_kills for o in outcomes)} at a failpoint), "
        f"digest leases expired: {sum(o.lease_expiries for o in outcomes)}, "
        f"digest copies sent again after a kill in the at-least-once window: "
        f"{sum(o.window_kills for o in outcomes)} (in {sum(1 for o in outcomes if o.window_kills)} trials)",
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
    args = parser.parse_args(argv)
    outcomes = run_trials(args.trials, args.seed, args.messages, keep=args.keep, first=args.first)
    print(summary(outcomes))
    return 1 if any(o.failures for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
