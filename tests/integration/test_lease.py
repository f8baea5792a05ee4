"""One digest, whatever happens to the instance sending it: stopped past its lease while another
takes over, killed right after the SMTP server accepted it, killed while holding the claim,
a lost answer to DATA; and the operator's `digest --force`. Real daemons and `baocao`
processes, real Dovecot (the digest's own copy lands there) and SMTP capture."""

from __future__ import annotations

import datetime as dt
import email
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import select

from service.config import load_config
from service.ingest.archive import Archive
from service.ingest.pipeline import Ingestor
from service.mail.mailbox import Mailbox
from service.schedule.daemon import Daemon
from service.schedule.dispatch import COPY_GRACE, send_digest
from service.schedule.lease import LEASE_TTL, Holder
from storage.db import open_database
from storage.models import Digest, Message, OutboxMail
from tests.integration.test_daemon import TZ, Proc, daemon_config
from tests.mailbuilders import simple_report

COORDINATOR = "dieuphoi.ldtbxh@example.gov.vn"
LEASE_SECONDS = 3  # the daemons' lease in these tests (a minute in production)


class Rig:
    """A config whose digest was due two minutes ago, one report stored, and the digest's
    copy delivered by the SMTP capture into the test's Dovecot mailbox (as an MTA would)."""

    def __init__(self, tmp_path, mailbox, smtp, db_url: str, *, delivered: bool = True) -> None:
        self.mailbox, self.smtp = mailbox, smtp
        self.path, env = daemon_config(tmp_path, mailbox, smtp, db_url, seconds_ahead=-120)
        self.copy_to = f"{mailbox.user}@baocao.test"
        text = self.path.read_text(encoding="utf-8")
        self.path.write_text(text.replace("[digest]\n", f'[digest]\ncopy_to = "{self.copy_to}"\n', 1), encoding="utf-8")
        if delivered:  # else the copies are accepted and never arrive
            smtp.deliver(self.copy_to, lambda raw: mailbox.append(raw, dt.datetime.now(TZ)))
        self.env = {**env, "BAOCAO_LEASE_SECONDS": str(LEASE_SECONDS)}
        self.cfg = load_config(self.path, env=env)
        self.sessions = open_database(db_url)
        self.archive = Archive(self.cfg.service.archive_dir)
        mailbox.append(simple_report(), dt.datetime.now(TZ))
        ingestor = Ingestor(self.cfg, self.sessions, self.archive, workers=1)
        with Mailbox(self.cfg.imap) as mb:  # stored before any daemon starts: the digest is owed at once
            assert len(ingestor.poll(mb).stored) == 1
        ingestor.close()
        self.day = dt.datetime.now(self.cfg.service.timezone).date()  # the config's zone (away from midnight)

    def digests(self) -> list[str]:
        """The Message-ID of every digest the coordinator received."""
        return [email.message_from_bytes(m.data)["Message-ID"] for m in self.smtp.messages if COORDINATOR in m.rcpt_tos]

    def row(self) -> Digest:
        with self.sessions() as s:
            return s.scalar(select(Digest))

    def copies_in_mailbox(self) -> int:
        found = 0
        with self.mailbox.connect() as c:
            for folder in ("INBOX", "Đã xử lý"):
                if c.folder_exists(folder):
                    c.select_folder(folder, readonly=True)
                    found += len(c.search(["HEADER", "Message-ID", self.row().message_id]))
        return found

    def close(self) -> None:
        self.sessions.kw["bind"].dispose()


@pytest.fixture
def rig(tmp_path, mailbox, smtp, db_url):
    r = Rig(tmp_path, mailbox, smtp, db_url)
    yield r
    r.close()


def stop_all(*procs: Proc) -> list[int]:
    codes = []
    for p in procs:
        if p.p.poll() is None:
            os.kill(p.p.pid, signal.SIGCONT)  # a stopped process would never see the SIGTERM
        codes.append(p.stop())
    return codes


# -- a holder stopped past its lease ---------------------------------------------------------


@pytest.mark.parametrize("point", ["digest_built", "digest_handover"])
def test_an_instance_stopped_past_its_lease_and_the_one_that_took_over_send_one_digest(rig, point):
    """A daemon is stopped (SIGSTOP: every thread, its lease heartbeat too) holding the claim:
    after building the digest, or after the hand-over check right before DATA. A second daemon
    takes over once the lease runs out. Then the first one carries on."""
    first = Proc(rig.path, {**rig.env, "BAOCAO_FAILPOINT": f"{point}:1:stop"})
    second = None
    try:
        first.wait_for(f"failpoint {point}: stopping the whole process")
        second = Proc(rig.path, rig.env)
        second.wait_for(f"digest for {rig.day}: taking over from")
        if point == "digest_built":
            second.wait_for(f"digest for {rig.day} sent to")
        else:  # stopped after the hand-over mark: whether it went is unknown, and nothing is there yet
            second.wait_for(f"digest for {rig.day} not sent yet: whether the attempt at")
        os.kill(first.p.pid, signal.SIGCONT)
        if point == "digest_built":
            # Its check right before DATA finds the lease gone: it does not send.
            first.wait_for(f"digest for {rig.day} not sent by this instance")
        else:
            # It was past that check and sends; its outcome is not recorded (not its lease any
            # more), and the second daemon finds the copy instead of sending again.
            first.wait_for(f"digest for {rig.day} (row {rig.row().id}): the outcome was not recorded")
            second.wait_for(f"digest for {rig.day} had gone at")
    finally:
        codes = stop_all(first, *([second] if second else []))
    assert codes == [0, 0]
    assert len(rig.digests()) == 1
    row = rig.row()
    assert row.state == "sent" and row.handed_over_at is None and rig.digests() == [row.message_id]
    assert not any("Traceback" in ln for p in (first, second) for ln in p.lines)


# -- killed after the SMTP server accepted it ----------------------------------------------------


@pytest.mark.parametrize("point", ["digest_built", "digest_accepted"])
def test_a_restart_after_a_kill_resolves_the_digest_at_once_and_sends_it_once(rig, point):
    """SIGKILL holding the claim, before the hand-over or right after the SMTP server accepted
    the digest (before the commit). The restarted daemon recognises its own old lease (long
    before it runs out), looks for the copy, and sends only if there is none."""
    rig.env["BAOCAO_LEASE_SECONDS"] = "3600"  # so only recognising its own lease can explain the speed
    killed = Proc(rig.path, {**rig.env, "BAOCAO_FAILPOINT": f"{point}:1"})
    assert killed.p.wait(timeout=60) == -signal.SIGKILL, "".join(killed.lines)[-3000:]
    claim = rig.row()
    assert claim.state == "sending" and claim.lease_until > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
    assert len(rig.digests()) == (0 if point == "digest_built" else 1)
    restarted = Proc(rig.path, rig.env)
    try:
        restarted.wait_for(f"digest for {rig.day}: taking back the lease of this instance's previous run")
        if point == "digest_built":
            restarted.wait_for(f"digest for {rig.day} sent to")
        else:
            restarted.wait_for(f"digest for {rig.day} had gone at")
    finally:
        assert stop_all(restarted) == [0]
    assert rig.digests() == [claim.message_id]
    assert rig.row().state == "sent"
    assert rig.copies_in_mailbox() == 1


def test_another_instance_does_not_take_a_live_lease_for_a_dead_one(rig):
    """The same host and config but a live process (the daemon, while the operator runs
    `baocao digest`): not a dead predecessor. The command says whose lease is in the way."""
    stopped = Proc(rig.path, {**rig.env, "BAOCAO_LEASE_SECONDS": "3600", "BAOCAO_FAILPOINT": "digest_built:1:stop"})
    try:
        stopped.wait_for("failpoint digest_built: stopping the whole process")
        r = subprocess.run(
            [sys.executable, "-m", "service.cli", "--config", str(rig.path), "digest"],
            env={**os.environ, **rig.env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        assert f"(pid {stopped.p.pid}), is sending the digest for" in r.stdout
        assert "use --force to take it over" in r.stdout
        assert rig.digests() == []

        r = subprocess.run(
            [sys.executable, "-m", "service.cli", "--config", str(rig.path), "digest", "--force"],
            env={**os.environ, **rig.env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        assert f"Took over the digest for {rig.day:%d/%m/%Y} from" in r.stdout
        assert f"(pid {stopped.p.pid})" in r.stdout
        assert "sent to dieuphoi.ldtbxh@example.gov.vn" in r.stdout
        os.kill(stopped.p.pid, signal.SIGCONT)
        stopped.wait_for(f"digest for {rig.day} not sent by this instance")
    finally:
        assert stop_all(stopped) == [0]
    assert len(rig.digests()) == 1


# -- a lost answer to DATA ---------------------------------------------------------------------


def test_a_lost_answer_to_data_is_resolved_by_the_copy_not_by_sending_again(rig):
    """The server accepts the digest and delivers it but the connection drops before its 250:
    the attempt fails with an unknown outcome; the retry finds the copy and sends nothing."""
    due = dt.datetime.now(dt.UTC)
    rig.smtp.hang_up_after_data = True
    first = send_digest(rig.cfg, rig.sessions, rig.archive, rig.day, due)
    assert first.status == "failed"
    row = rig.row()
    assert row.state == "failed" and row.handed_over_at is not None
    rig.smtp.hang_up_after_data = False
    daemon = Daemon(rig.cfg, rig.sessions, rig.archive, clock=lambda: row.next_attempt_at)
    try:
        daemon.catch_up()  # the retry job, when the backoff is over
    finally:
        daemon.close()
    assert len(rig.digests()) == 1
    row = rig.row()
    assert row.state == "sent" and row.sent_at is not None and row.handed_over_at is None


def test_without_a_copy_an_unknown_outcome_waits_for_it_then_sends_again(tmp_path, mailbox, smtp, db_url):
    """The same lost answer, and the copy never arrives (say the MTA is slow): the digest is
    not sent again before the copy had time to arrive, then it is (better twice than never)."""
    rig = Rig(tmp_path, mailbox, smtp, db_url, delivered=False)
    try:
        start = dt.datetime.now(dt.UTC)
        smtp.hang_up_after_data = True
        assert send_digest(rig.cfg, rig.sessions, rig.archive, rig.day, start).status == "failed"
        smtp.hang_up_after_data = False
        handed_over = rig.row().handed_over_at
        early = send_digest(
            rig.cfg, rig.sessions, rig.archive, rig.day, handed_over + COPY_GRACE / 2, ignore_backoff=True
        )
        assert early.status == "waiting_for_copy" and "copy has not arrived" in early.detail
        assert len(rig.digests()) == 1
        late = send_digest(rig.cfg, rig.sessions, rig.archive, rig.day, handed_over + COPY_GRACE, ignore_backoff=True)
        assert late.status == "sent"
        assert len(rig.digests()) == 2 and len(set(rig.digests())) == 1  # the same Message-ID
    finally:
        rig.close()


# -- the lease itself --------------------------------------------------------------------------


def test_finishing_after_the_lease_was_taken_over_records_nothing(rig, caplog):
    """In one process, with the clock injected: A claims, B takes over after A's lease ran out
    and sends; A's late outcome is not recorded and names B."""
    from service.schedule.dispatch import _claim

    t0 = dt.datetime.now(dt.UTC)
    a, b = Holder.current(identity="host-a:1"), Holder.current(identity="host-b:2")
    claim_a = _claim(rig.sessions, rig.cfg, rig.day, t0, a, resend=False, ignore_backoff=False, force=False)
    assert claim_a.lease is not None
    early = send_digest(rig.cfg, rig.sessions, rig.archive, rig.day, t0 + LEASE_TTL / 2, owner=b)
    assert early.status == "in_progress" and early.holder.startswith("host-a:1 (pid ")
    later = send_digest(rig.cfg, rig.sessions, rig.archive, rig.day, t0 + LEASE_TTL + dt.timedelta(seconds=5), owner=b)
    assert later.status == "sent" and later.holder.startswith("host-a:1")
    assert claim_a.lease.finish(claim_a.row.id, state="failed", last_error="late") is False
    assert "took it over" in caplog.text and "host-b:2" in caplog.text
    row = rig.row()
    assert row.state == "sent" and row.claimed_by == "host-b:2" and row.last_error is None
    assert claim_a.lease.confirm(claim_a.row.id) is False  # and it could not have sent either


def test_the_heartbeat_keeps_a_long_send_from_being_taken_over(rig):
    """While the work runs, the heartbeat renews the lease: another instance finds it in force
    after its first expiry. Once the work is over (no heartbeat), it runs out."""
    from service.schedule.lease import Lease, new_token

    t0 = dt.datetime.now(dt.UTC)
    ttl = dt.timedelta(seconds=0.6)
    lease = Lease(rig.sessions, Digest, new_token(), Holder.current(identity="host-a:1"), t0, ttl=ttl)
    with rig.sessions() as s:
        row = Digest(
            report_day=rig.day, message_id="<d@baocao.test>", attempts=0, sends=0, updated_at=t0, **lease.claim_values()
        )
        s.add(row)
        s.commit()
    lease.adopt(row.id)
    with lease.kept_alive():
        wait_until(lambda: lease.renewals >= 3)  # at least 3 heartbeats: more than one ttl has passed
        assert rig.row().lease_until > t0 + ttl
        other = send_digest(
            rig.cfg, rig.sessions, rig.archive, rig.day, t0 + ttl + dt.timedelta(seconds=0.1), owner="host-b:2"
        )
        assert other.status == "in_progress"
    assert not lease.lost.is_set()
    after = send_digest(rig.cfg, rig.sessions, rig.archive, rig.day, rig.row().lease_until, owner="host-b:2")
    assert after.status == "sent" and len(rig.digests()) == 1


def wait_until(condition, timeout: float = 30.0) -> None:
    """Waits for `condition` (an observable fact, not a fixed time) to become true."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# -- the copy is the service's own mail --------------------------------------------------------


def test_the_copy_coming_back_is_never_a_report_listed_or_answered(rig):
    from service.day.dayview import build_day_view
    from service.schedule.outbox import plan_acknowledgements

    now = dt.datetime.now(dt.UTC)
    assert send_digest(rig.cfg, rig.sessions, rig.archive, rig.day, now).status == "sent"
    ingestor = Ingestor(rig.cfg, rig.sessions, rig.archive, workers=1)
    with Mailbox(rig.cfg.imap) as mb:
        stored = ingestor.poll(mb).stored
    ingestor.close()
    assert len(stored) == 1  # the copy, polled like any mail
    with rig.sessions() as s:
        copy = s.scalar(select(Message).where(Message.message_id == rig.row().message_id.strip("<>")))
        assert copy is not None and copy.kind == "automatic" and copy.reason == "own_address"
        view = build_day_view(s, rig.cfg, rig.day)
        assert copy.id not in {m.id for m in view.unassigned}
        plan_acknowledgements(rig.cfg, s, now)  # the unit's report gets one; the copy none
        report = s.scalar(select(Message.id).where(Message.kind == "report"))
        assert s.scalars(select(OutboxMail.message_pk)).all() == [report]
    with rig.mailbox.connect() as c:  # moved out of the way like other processed mail
        c.select_folder("INBOX", readonly=True)
        assert c.search(["HEADER", "Message-ID", rig.row().message_id]) == []
