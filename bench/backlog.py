"""The digest for the public backlog's day (issue 14 goal 4): `baocao digest --dry-run`
after the 20,000-message backlog of `bench/ingest.py memory`.

    python bench/backlog.py [--repeats 3] [--tree OTHER_CHECKOUT] [--rebuild] [--build-only]

The backlog is the public sample emails with a fresh Message-ID and Date each
(bench/common.generate_messages: 17 s apart from 2021-08-11 07:30, about four days),
served by a throwaway Dovecot and ingested once by `baocao poll` into
/tmp/baocao-backlog-v<VERSION> (kept; minutes of CPU, run as root). Then
`baocao digest --dry-run --out DIR` for the day holding the most messages (with an
[smtp] section in the configuration, for the digest's From address) is timed as a
subprocess of the checkout given by --tree (default: this one), median of --repeats
runs: wall time, CPU time of the child and its peak RSS, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

VERSION = 1
MESSAGES = 20_000
CACHE = Path(f"/tmp/baocao-backlog-v{VERSION}")


def build(work: Path, n: int = MESSAGES) -> None:
    """Seed a Dovecot with the backlog and ingest it with `baocao poll` into `work`."""
    from common import seeded_dovecot
    from ingest import config_for

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    with seeded_dovecot(n) as (server, user, _):
        path, env, _cfg = config_for(server, user, work)
        subprocess.run(
            [sys.executable, "-m", "service.cli", "--config", str(path), "poll"],
            env={**os.environ, **env},
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    (work / "VERSION").write_text(str(VERSION))


def digest_config(work: Path) -> Path:
    """The backlog's configuration with an [smtp] section (the digest's From address; no
    server is contacted by a dry run) and no [imap] one: `digest.toml` in `work`."""
    from tests.mailbuilders import write_config

    return write_config(
        work / "digest.toml",
        imap=None,
        smtp={"host": "127.0.0.1", "port": 2525, "security": "none", "from_address": "baocao@example.gov.vn"},
        database_url=f"sqlite:///{work / 'baocao.db'}",
        archive_dir=work / "archive",
    )


def busiest_day(work: Path) -> str:
    conn = sqlite3.connect(work / "baocao.db")
    try:
        (day, _count), *_ = conn.execute(
            "SELECT report_day, COUNT(*) FROM messages GROUP BY report_day ORDER BY 2 DESC, 1 LIMIT 1"
        ).fetchall()
    finally:
        conn.close()
    return str(day)


def prepared(rebuild: bool = False) -> Path:
    if rebuild or not (CACHE / "VERSION").is_file() or (CACHE / "VERSION").read_text() != str(VERSION):
        started = time.perf_counter()
        build(CACHE)
        print(f"built {CACHE} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return CACHE


def main() -> None:
    from province import time_command

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose command is timed")
    parser.add_argument("--build-only", action="store_true", help="make the cached data and stop")
    args = parser.parse_args()
    work = prepared(args.rebuild)
    if args.build_only:
        return
    day = busiest_day(work)
    argv = ["digest", "--config", str(digest_config(work)), "--date", day, "--dry-run", "--out", str(work / "digest")]
    result = time_command(argv, args.repeats, args.tree)
    print(
        json.dumps(
            {
                "bench": "backlog_digest",
                "messages": MESSAGES,
                "day": day,
                "tree": str(args.tree),
                **result,
                "cpus": os.cpu_count(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
