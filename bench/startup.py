"""Start-up benchmark: bare Python against `baocao --help`, `status` and an empty `poll`.

    python bench/startup.py [--runs 7] [--sizes 1000,20000] [--importtime] [--module]
                            [--compare DIR]

Run as root (it starts throwaway Dovecots). For each size N, a Dovecot whose INBOX holds N
messages and a SQLite database where all N are already processed (message rows, their
UID bookkeeping done, the folder read up to its last UID); no processed folder, so the
messages stay in the INBOX and the poll finds the whole folder and nothing new in it.
The commands then run as separate processes, interleaved round by round (a load spike
hits every command alike), each once untimed first (byte-code written). Prints one JSON
line per command: the median and spread of the wall-clock seconds, and the difference
of the median from the bare `python -c pass` of the same virtualenv.

With --importtime, also one line per command naming the slowest imports
(`python -X importtime`, cumulative microseconds), the start of any hunt for them.
With --module, `python -m service.cli` from this working tree instead of the installed
`baocao` script. With --compare DIR (another checkout, e.g. `git archive main | tar -x
-C DIR`), every command also runs as `python -m service.cli` from DIR in the same rounds
(named "<command>@before"), and this tree's commands run the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import FIRST_ARRIVAL, print_result, seeded_dovecot  # noqa: E402
from ingest import config_for  # noqa: E402


def baocao_command(module: bool) -> list[str]:
    """The installed console script next to this Python, as an administrator runs it."""
    script = Path(sys.executable).with_name("baocao")
    return [str(script)] if script.exists() and not module else [sys.executable, "-m", "service.cli"]


def seed_processed(cfg, server, user: str, n: int) -> None:
    """The database of a service that has already processed the folder's `n` messages."""
    from sqlalchemy import insert

    from service.mail.mailbox import Mailbox
    from storage.db import open_database
    from storage.models import MailboxMessage, MailboxState, Message

    sessions = open_database(cfg.service.database_url)
    now = dt.datetime.now(dt.UTC)
    codes = [u.code for u in cfg.units] or [None]
    with Mailbox(cfg.imap) as mb:
        uidvalidity = mb.select(cfg.imap.folder)
        uids = mb.uids_after(0)
    if len(uids) != n:
        raise SystemExit(f"the folder holds {len(uids)} messages, not {n}")
    messages, bookkeeping = [], []
    for i, uid in enumerate(uids):
        sha = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
        received = (FIRST_ARRIVAL + dt.timedelta(seconds=17 * i)).astimezone(dt.UTC)
        messages.append(
            {
                "id": i + 1,
                "sha256": sha,
                "message_id": f"<bench-{i}@bench.example.gov.vn>",
                "size": 50_000,
                "archive_path": f"bench/{sha}.eml",
                "source": "imap",
                "received_at": received,
                "report_day": received.astimezone(cfg.service.timezone).date(),
                "from_address": "bench@example.gov.vn",
                "subject": f"Báo cáo {i}",
                "kind": "report",
                "unit_code": codes[i % len(codes)],
                "readable": True,
                "created_at": now,
                "analysed_at": now,
                "content_sha256": sha,
                "identity_sha256": sha,
            }
        )
        bookkeeping.append(
            {
                "account": mb.account,
                "folder": cfg.imap.folder,
                "uidvalidity": uidvalidity,
                "uid": uid,
                "message_pk": i + 1,
                "action": "none",
                "done": True,
                "seen_at": now,
            }
        )
    with sessions() as s:
        s.execute(insert(Message), messages)
        s.execute(insert(MailboxMessage), bookkeeping)
        s.add(
            MailboxState(
                account=mb.account, folder=cfg.imap.folder, uidvalidity=uidvalidity, last_uid=max(uids), updated_at=now
            )
        )
        s.commit()
    sessions.kw["bind"].dispose()


def run_once(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return seconds


def slowest_imports(cmd: list[str], env: dict[str, str], cwd: Path = ROOT, top: int = 12) -> list[tuple[str, int]]:
    """The modules with the largest cumulative import time (µs) in one run of `cmd`."""
    proc = subprocess.run(cmd, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, cwd=cwd, capture_output=True)
    rows = []
    for line in proc.stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
            if cumulative.isdigit() and name.split(".")[0] == name.strip():  # top-level packages only
                rows.append((name.strip(), int(cumulative)))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="1000,20000")
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--module", action="store_true")
    parser.add_argument("--compare", type=Path, metavar="DIR")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    # Byte-code written as in production (a development shell may set PYTHONDONTWRITEBYTECODE).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    baocao = baocao_command(args.module or args.compare is not None)
    commands: dict[str, tuple[list[str], dict[str, str], Path]] = {
        "bare": ([sys.executable, "-c", "pass"], env, ROOT),
        "help": ([*baocao, "--help"], env, ROOT),
    }
    with ExitStack() as stack:
        for n in sizes:
            server, user, _ = stack.enter_context(seeded_dovecot(n))
            work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            path, secrets, cfg = config_for(server, user, work, processed=None)
            seed_processed(cfg, server, user, n)
            run_env = {**env, **secrets}
            if n == sizes[0]:
                commands["status"] = ([*baocao, "--config", str(path), "status"], run_env, ROOT)
            commands[f"poll_{n}"] = ([*baocao, "--config", str(path), "poll"], run_env, ROOT)
        if args.compare is not None:
            for name, (cmd, cmd_env, _) in list(commands.items()):
                if name != "bare":
                    commands[f"{name}@before"] = (cmd, cmd_env, args.compare.resolve())
        for cmd, cmd_env, cwd in commands.values():
            run_once(cmd, cmd_env, cwd)  # untimed: byte-code, page cache, Dovecot's index
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (cmd, cmd_env, cwd) in commands.items():
                times[name].append(run_once(cmd, cmd_env, cwd))
        if args.importtime:
            for name, (cmd, cmd_env, cwd) in commands.items():
                print_result(bench="startup_imports", command=name, slowest_us=slowest_imports(cmd, cmd_env, cwd))
    bare = statistics.median(times["bare"])
    polls = {n: statistics.median(times[f"poll_{n}"]) for n in sizes}
    polls_before = {n: statistics.median(times[f"poll_{n}@before"]) for n in sizes if f"poll_{n}@before" in times}
    for name, values in times.items():
        median = statistics.median(values)
        print_result(
            bench="startup",
            command=name,
            messages_processed=int(name.split("_")[1].split("@")[0]) if name.startswith("poll_") else None,
            runs=len(values),
            median_s=round(median, 3),
            min_s=round(min(values), 3),
            max_s=round(max(values), 3),
            over_bare_s=round(median - bare, 3),
            cpus=os.cpu_count(),
            load=round(os.getloadavg()[0], 1),
        )
    if len(sizes) > 1:
        print_result(
            bench="startup_empty_poll_flat",
            sizes=sizes,
            ratio=round(polls[sizes[-1]] / polls[sizes[0]], 2),
            ratio_before=round(polls_before[sizes[-1]] / polls_before[sizes[0]], 2) if polls_before else None,
        )


if __name__ == "__main__":
    main()
