"""Leases: which instance may do one piece of work now (send a day's digest, a mail to a unit).

One mechanism for the digest (service/schedule/dispatch.py) and the outbox (service/schedule/outbox.py); the
SQL is in storage/leases.py. A claim writes a new random token on the row with a short
expiry (`LEASE_TTL`, a minute), which a heartbeat thread renews while the work runs, so a
dead holder's lease runs out within a minute while a live one never does. Everything a
holder does to the row afterwards — the check right before an irreversible step, finishing —
is conditional on the token: if another instance has taken the row over meanwhile, it
changes nothing, and the holder says so in the log.

A holder is named by an identity that survives a restart (host and config file) and by its
process (boot id, pid namespace, pid, start time). A restarted instance recognises a lease
its previous run held — same identity, that process gone — and resolves it at once instead
of waiting for the expiry. Gone means provably gone: the same boot and pid namespace (so
the pid means the same process table) and no process with that pid and start time. A live
process with the same identity (the daemon, while the operator runs `baocao digest` with
the same config) is never mistaken for a dead one; nor is one in another container or on
another machine that happens to have the same host name (it cannot be checked, so its lease
is left to run out).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.leases import LEASED, LeasedModel, LeaseInfo, lease_info, renew_leases, take_lease, update_leased

log = logging.getLogger(__name__)

# Tests with real processes shorten it; a minute is the default everywhere else.
LEASE_TTL = dt.timedelta(seconds=float(os.environ.get("BAOCAO_LEASE_SECONDS", "60")))
# The backoff of a failed send (a digest, a mail to a unit).
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY = dt.timedelta(minutes=30)
HEARTBEAT = LEASE_TTL / 3  # two renewals may fail (a busy database) before the lease runs out


# -- who holds a lease ---------------------------------------------------------------------


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8] or "?"
    except OSError:
        return "?"


def _pid_namespace() -> str:
    try:  # "pid:[4026531836]": each container has its own
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]") or "?"
    except OSError:
        return "?"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (None: no such process, or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return fields[19].decode()


@dataclass(frozen=True)
class Holder:
    """An instance as a lease names it."""

    identity: str  # "host:hash of the config path": the same after a restart
    process: str  # "boot id:pid namespace:pid:start time": this run only

    @classmethod
    def current(cls, config_source: Path | str | None = None, *, identity: str | None = None) -> Holder:
        if identity is None:
            where = hashlib.sha256(str(config_source or "").encode()).hexdigest()[:8]
            identity = f"{socket.gethostname()}:{where}"
        pid = os.getpid()
        return cls(identity, f"{_boot_id()}:{_pid_namespace()}:{pid}:{_start_time(pid) or '?'}")

    def held_by_my_dead_predecessor(self, seen: LeaseInfo) -> bool:
        """Whether `seen` is a lease an earlier run of this instance held and can no longer
        act on: the same identity, another process, and that process is gone."""
        return (
            seen.claimed_by == self.identity
            and bool(seen.holder_process)
            and seen.holder_process != self.process
            and not process_alive(seen.holder_process or "")
        )


def process_alive(process: str) -> bool:
    """Whether the process a lease names may still run. Unknown counts as alive: waiting for
    the lease to run out is always safe, taking over from a live holder is not."""
    parts = process.split(":")
    if len(parts) != 4 or "?" in parts or not parts[2].isdigit():
        return True
    boot, namespace, pid, start = parts
    if (boot, namespace) != (_boot_id(), _pid_namespace()):
        return True  # another machine, another boot or another container: cannot be checked here
    return _start_time(int(pid)) == start  # gone, or the pid reused by another process


def describe(claimed_by: str | None, holder_process: str | None) -> str:
    """A holder for a person: "host:1a2b3c4d (pid 4242)"."""
    parts = (holder_process or "").split(":")
    pid = parts[2] if len(parts) == 4 else ""
    return f"{claimed_by or 'an unknown instance'}" + (f" (pid {pid})" if pid else "")


def holder_for(owner: Holder | str | None, config_source: Path | str | None = None) -> Holder:
    """`owner` as a Holder: a name given (tests racing two "instances" in one process) becomes
    the identity; nothing given is this process under its config."""
    if isinstance(owner, Holder):
        return owner
    return Holder.current(config_source, identity=owner)


def new_token() -> str:
    return secrets.token_hex(16)


# -- a held lease --------------------------------------------------------------------------


class Lease:
    """The lease `token` on rows of `model`, taken at `now`.

    Its clock is `now` plus the monotonic time elapsed since, so the expiries it writes
    follow the injected time of tests and the wall clock in production alike.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        model: LeasedModel,
        token: str,
        holder: Holder,
        now: dt.datetime,
        ttl: dt.timedelta = LEASE_TTL,
        what: str = "",
    ) -> None:
        self.sessions, self.model, self.token, self.holder = sessions, model, token, holder
        self.ttl, self.what = ttl, what or model.__tablename__
        self._taken_at, self._started = now, time.monotonic()
        self.lost = threading.Event()  # set once a renewal found no row left under the token
        self.renewals = 0
        self._open: set[int] = set()  # rows claimed and not finished
        self._lock = threading.Lock()  # the heartbeat's renewal and a finish never interleave

    def claim_values(self) -> dict[str, Any]:
        """The columns a claim writes."""
        return {
            "state": LEASED,
            "lease_token": self.token,
            "claimed_by": self.holder.identity,
            "holder_process": self.holder.process,
            "lease_until": self.now() + self.ttl,
        }

    def now(self) -> dt.datetime:
        return self._taken_at + dt.timedelta(seconds=time.monotonic() - self._started)

    def take(
        self, session: Session, row_id: int, seen: LeaseInfo, values: dict[str, Any], *, live: bool = False
    ) -> bool:
        """Compare-and-set claim of a row as it was `seen` (the caller commits)."""
        taken = take_lease(
            session,
            self.model,
            row_id,
            seen=seen,
            now=self._taken_at,
            values={**values, **self.claim_values()},
            live=live,
        )
        if taken:
            self.adopt(row_id)
        return taken

    def adopt(self, row_id: int) -> None:
        """Count `row_id` as held (a row the caller inserted with `claim_values()`)."""
        self._open.add(row_id)

    def renew(self) -> int:
        """Extend the lease on every row still under it; how many that is (0: all lost)."""
        with self._lock:
            if not self._open:
                return 0
            with self.sessions() as session:
                held = renew_leases(session, self.model, self.token, self.now() + self.ttl)
                session.commit()
            self.renewals += 1
            return held

    def confirm(self, row_id: int, **values: Any) -> bool:
        """Right before an irreversible step: renew the lease on `row_id` (and write
        `values`) only if it is still ours. False: another instance has taken it over."""
        return self._update(row_id, {"lease_until": self.now() + self.ttl, **values})

    def finish(self, row_id: int, **values: Any) -> bool:
        """Record the outcome (`values` set the state) only if the row is still ours; else
        change nothing and log who took it over."""
        if self._update(row_id, values, last=True):
            return True
        log.warning(
            "%s (row %d): the outcome was not recorded: %s took it over", self.what, row_id, self.taken_over_by(row_id)
        )
        return False

    def taken_over_by(self, row_id: int) -> str:
        with self.sessions() as session:
            seen = lease_info(session, self.model, row_id)
        if seen is None:
            return "nobody (the row is gone)"
        return describe(seen.claimed_by, seen.holder_process) + f" (now {seen.state})"

    def _update(self, row_id: int, values: dict[str, Any], *, last: bool = False) -> bool:
        with self._lock:
            with self.sessions() as session:
                done = update_leased(session, self.model, row_id, self.token, values)
                session.commit()
            if last or not done:
                self._open.discard(row_id)
        return done

    @contextmanager
    def kept_alive(self) -> Iterator[Lease]:
        """Renew the lease every `HEARTBEAT` in a thread while the block runs."""
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(stop,), name=f"lease-{self.what}", daemon=True)
        beat.start()
        try:
            yield self
        finally:
            stop.set()
            beat.join()

    def _heartbeat(self, stop: threading.Event) -> None:
        interval = min(HEARTBEAT, self.ttl / 3).total_seconds()
        while not stop.wait(interval):
            try:
                held = self.renew()
            except SQLAlchemyError as exc:  # the next beat tries again; the lease has some margin
                log.warning("could not renew the lease on %s: %s", self.what, exc.__class__.__name__)
                continue
            if held == 0 and self._open and not stop.is_set():
                self.lost.set()
                log.warning("the lease on %s is no longer ours: another instance took it over", self.what)
                return


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8, ... minutes, at most 30."""
    return min(FIRST_RETRY * int(2 ** max(0, attempts - 1)), MAX_RETRY)
