"""Ingest benchmark: the full pipeline against the bare serial baseline, the empty poll,
and peak memory over a large backlog.

    python bench/ingest.py throughput [--n 1000]     # full pipeline vs bare, same messages
    python bench/ingest.py empty [--sizes 1000,20000]   # a poll with nothing new
    python bench/ingest.py memory [--n 20000]        # peak RSS of `baocao poll` (all processes)

Run as root (it starts a throwaway Dovecot). Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import print_result, seeded_dovecot  # noqa: E402

# The poll's workers start from a fork server and run the main script again (as
# `__mp_main__`) before their first task: the service's modules (SQLAlchemy, imapclient,
# the pipeline), mail-parser and openpyxl are imported in the functions that use them, not
# here, or each worker would import them too (~0.3 s of CPU a worker, 0.6 ms a message of
# a 1,000-message poll that `baocao poll`, whose script imports nothing, does not spend).


def config_for(server, user: str, work: Path, processed: str | None = "Đã xử lý"):
    from service.config import load_config
    from tests.mailbuilders import write_config

    imap = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "username": user,
        "password_env": "BENCH_IMAP_PW",
        "folder": "INBOX",
    }
    if processed:
        imap["processed_folder"] = processed
    path = write_config(
        work / "config.toml",
        imap=imap,
        smtp=None,
        database_url=f"sqlite:///{work / 'baocao.db'}",
        archive_dir=work / "archive",
    )
    env = {"BENCH_IMAP_PW": server.password(user)}
    return path, env, load_config(path, env=env)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(n: int) -> None:
    from ingest_bare import ingest as bare_ingest

    from service.ingest.archive import Archive
    from service.ingest.pipeline import Ingestor
    from service.mail.mailbox import Mailbox
    from storage.db import open_database

    with seeded_dovecot(n) as (server, user, _):
        client = server.connect(user)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            counts = bare_ingest(client, "INBOX", 100)
            bare, bare_cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            client.logout()
    with seeded_dovecot(n) as (server, user, _), tempfile.TemporaryDirectory() as tmp:
        _, _, cfg = config_for(server, user, Path(tmp))
        sessions = open_database(cfg.service.database_url)
        ingestor = Ingestor(cfg, sessions, Archive(cfg.service.archive_dir))
        workers: dict[str, float] = {}
        try:
            started, cpu = time.perf_counter(), time.process_time()
            with Mailbox(cfg.imap) as mb:
                report = ingestor.poll(mb)
            full, main_cpu = time.perf_counter() - started, time.process_time() - cpu
            # the workers' CPU (the pools are this run's), read before they exit
            from multiprocessing import forkserver

            pools = {"workers": ingestor.analyser._pool, "recognition": ingestor.analyser._scan_pool}
            for name, pool in pools.items():
                if pool is not None:
                    workers[name] = sum(cpu_seconds(pid) for pid in pool._processes)
            server_pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
            if server_pid:
                workers["fork server"] = cpu_seconds(server_pid)
        finally:
            ingestor.close()
        stored = len(report.stored) + report.duplicates
    if stored != n or counts["messages"] != n:
        raise SystemExit(f"stored {stored}, bare fetched {counts['messages']} of {n}")
    print_result(
        bench="ingest_throughput",
        n=n,
        cpus=os.cpu_count(),
        bare_messages_per_second=round(n / bare, 1),
        pipeline_messages_per_second=round(n / full, 1),
        ratio=round(bare / full, 2),
        # CPU time, milliseconds a message: on a machine whose cores are busy with other
        # work the ratio tends to bare CPU over pipeline CPU (the extra processes buy nothing)
        bare_cpu_ms=round(bare_cpu / n * 1000, 2),
        pipeline_cpu_ms=round((main_cpu + sum(workers.values())) / n * 1000, 2),
        pipeline_cpu_ms_by_process={"main": round(main_cpu / n * 1000, 2)}
        | {k: round(v / n * 1000, 2) for k, v in workers.items()},
    )


def empty_poll(sizes: list[int], repeats: int = 20) -> None:
    from service.ingest.archive import Archive
    from service.ingest.pipeline import Ingestor
    from service.mail.mailbox import Mailbox
    from storage.db import open_database
    from storage.models import MailboxState

    for n in sizes:
        with seeded_dovecot(n) as (server, user, _), tempfile.TemporaryDirectory() as tmp:
            _, _, cfg = config_for(server, user, Path(tmp), processed=None)
            sessions = open_database(cfg.service.database_url)
            ingestor = Ingestor(cfg, sessions, Archive(cfg.service.archive_dir))
            with Mailbox(cfg.imap) as mb:
                uidvalidity = mb.select("INBOX")
                top = max(mb.uids_after(0))
                with sessions() as s:  # every message already handled (left in the inbox)
                    s.add(
                        MailboxState(
                            account=mb.account,
                            folder="INBOX",
                            uidvalidity=uidvalidity,
                            last_uid=top,
                            updated_at=dt.datetime.now(dt.UTC),
                        )
                    )
                    s.commit()
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    report = ingestor.poll(mb)
                    times.append(time.perf_counter() - started)
                    assert not report.stored
            ingestor.close()
        print_result(
            bench="empty_poll",
            messages_in_folder=n,
            repeats=repeats,
            median_ms=round(statistics.median(times) * 1000, 2),
            max_ms=round(max(times) * 1000, 2),
        )


def session_memory_kb(sid: int) -> tuple[int, int]:
    """(sum of VmRSS, sum of Pss) over the processes of session `sid`, in KiB. RSS counts a
    page shared by several processes (the fork server's imports, inherited by every
    worker) once in each; PSS divides it among them, so its sum is the memory used."""
    rss = pss = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getsid(int(pid)) != sid:
                continue
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return rss, pss


def _status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the process's peak RSS so far) of `pid`, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line[:5]] = int(line.split()[1])
    return out


def _role(pid: int, main_pid: int) -> str:
    """What a process of the poll's session is: main, fork server, resource tracker, a
    reading worker, or the recognition worker (the one that mapped OpenCV/Tesseract)."""
    if pid == main_pid:
        return "main"
    with open(f"/proc/{pid}/stat") as fh:
        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
    if ppid == main_pid:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read()
        return "resource tracker" if b"resource_tracker" in cmd else "fork server"
    with open(f"/proc/{pid}/maps") as fh:
        maps = fh.read()
    return "recognition worker" if "cv2" in maps or "tesser" in maps else "worker"


def memory(n: int) -> None:
    """`baocao poll` over an n-message backlog: the peak (VmHWM) of each of its processes,
    their largest, the sum of the per-process peaks, the peak of the summed RSS and PSS
    sampled every 0.25 s, and what `/usr/bin/time -v` would say (wait4's ru_maxrss: the
    largest single process of the tree)."""
    with seeded_dovecot(n) as (server, user, _), tempfile.TemporaryDirectory() as tmp:
        path, env, _ = config_for(server, user, Path(tmp))
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "--config", str(path), "poll"],
            env={**os.environ, **env},
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        peak = peak_pss = 0
        samples: list[int] = []
        # pid -> (role, peak VmHWM KiB); a worker's role is its last one seen (the
        # recognition worker is a worker until it imports OpenCV)
        peaks: dict[int, tuple[str, int]] = {}
        main_series: list[int] = []
        done = threading.Event()

        def sample():
            nonlocal peak, peak_pss
            while not done.is_set():
                rss, pss = session_memory_kb(proc.pid)
                samples.append(rss)
                try:
                    main_series.append(_status_kb(proc.pid).get("VmRSS", 0) // 1024)
                except OSError:
                    pass
                peak, peak_pss = max(peak, rss), max(peak_pss, pss)
                for pid in os.listdir("/proc"):
                    if not pid.isdigit():
                        continue
                    try:
                        if os.getsid(int(pid)) != proc.pid:
                            continue
                        hwm = _status_kb(int(pid)).get("VmHWM", 0)
                        role = _role(int(pid), proc.pid)
                    except (OSError, ValueError):
                        continue
                    peaks[int(pid)] = (role, max(hwm, peaks.get(int(pid), ("", 0))[1]))
                done.wait(0.25)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        _, status, usage = os.wait4(proc.pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        proc.returncode = rc
        done.set()
        t.join()
        seconds = time.perf_counter() - started
        _print_memory(n, rc, seconds, usage, peaks, samples, peak, peak_pss, main_series)


def _print_memory(
    n: int,
    rc: int,
    seconds: float,
    usage: Any,
    peaks: dict[int, tuple[str, int]],
    samples: list[int],
    peak: int,
    peak_pss: int,
    main_series: list[int],
) -> None:
    """(Printed before the throwaway server and folders go: deleting 20,000 files can
    take minutes on a loaded disk.)"""
    quarter = max(1, len(samples) // 4)
    by_role: dict[str, list[float]] = {}
    for role, hwm in peaks.values():
        by_role.setdefault(role, []).append(round(hwm / 1024, 1))
    print_result(
        bench="backlog_memory",
        n=n,
        rc=rc,
        seconds=round(seconds, 1),
        messages_per_second=round(n / seconds, 1),
        # the largest single process (as `/usr/bin/time -v` reports it: wait4's ru_maxrss)
        max_rss_largest_process_mb=round(usage.ru_maxrss / 1024, 1),
        peak_mb_by_process={k: sorted(v, reverse=True) for k, v in sorted(by_role.items())},
        sum_of_process_peaks_mb=round(sum(h for _, h in peaks.values()) / 1024, 1),
        peak_rss_mb=round(peak / 1024, 1),
        peak_pss_mb=round(peak_pss / 1024, 1),
        rss_mb_first_quarter_max=round(max(samples[:quarter]) / 1024, 1),
        rss_mb_last_quarter_max=round(max(samples[-quarter:]) / 1024, 1),
        main_rss_mb_series=main_series[:: max(1, len(main_series) // 40)] if os.environ.get("BENCH_SERIES") else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("throughput")
    p.add_argument("--n", type=int, default=1000)
    p = sub.add_parser("empty")
    p.add_argument("--sizes", default="1000,20000")
    p = sub.add_parser("memory")
    p.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.what == "throughput":
        throughput(args.n)
    elif args.what == "empty":
        empty_poll([int(x) for x in args.sizes.split(",")])
    else:
        memory(args.n)


if __name__ == "__main__":
    main()
