"""Who holds a lease, and when a holder is provably gone (service/schedule/lease.py)."""

from __future__ import annotations

import subprocess
import sys

from service.schedule.lease import Holder, describe, process_alive
from storage.leases import LeaseInfo


def lease_of(holder: Holder) -> LeaseInfo:
    return LeaseInfo("sending", "t", holder.identity, holder.process, None)


def a_finished_process() -> Holder:
    """The Holder a process of this instance had, once that process has ended."""
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from service.schedule.lease import Holder; print(Holder.current('/etc/baocao.toml').process)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return Holder(Holder.current("/etc/baocao.toml").identity, child.stdout.strip())


def test_the_identity_survives_a_restart_the_process_does_not():
    before, now = a_finished_process(), Holder.current("/etc/baocao.toml")
    assert before.identity == now.identity and before.process != now.process
    assert Holder.current("/srv/other.toml").identity != now.identity  # another config: another instance


def test_a_lease_of_this_instances_ended_process_is_recognised():
    me = Holder.current("/etc/baocao.toml")
    assert me.held_by_my_dead_predecessor(lease_of(a_finished_process()))


def test_a_live_process_with_the_same_identity_is_not_a_dead_predecessor():
    me = Holder.current("/etc/baocao.toml")
    live = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from service.schedule.lease import Holder; "
            "print(Holder.current('/etc/baocao.toml').process, flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        other = Holder(me.identity, live.stdout.readline().strip())
        assert process_alive(other.process)
        assert not me.held_by_my_dead_predecessor(lease_of(other))
        assert not me.held_by_my_dead_predecessor(lease_of(me))  # its own live lease: not a predecessor's
    finally:
        live.communicate("")


def test_what_cannot_be_checked_here_counts_as_alive():
    gone = a_finished_process()
    boot, namespace, pid, start = gone.process.split(":")
    assert not process_alive(gone.process)
    assert process_alive(f"0000beef:{namespace}:{pid}:{start}")  # another boot (or machine)
    assert process_alive(f"{boot}:1:{pid}:{start}")  # another container's process table
    assert process_alive("?:?:12:34") and process_alive("garbage")
    other_host = Holder("elsewhere:12345678", gone.process)
    assert not Holder.current("/etc/baocao.toml").held_by_my_dead_predecessor(lease_of(other_host))


def test_a_holder_is_described_by_identity_and_pid():
    assert describe("vm:1a2b3c4d", "4209c8ff:4026531836:4242:99") == "vm:1a2b3c4d (pid 4242)"
    assert describe(None, None) == "an unknown instance"
