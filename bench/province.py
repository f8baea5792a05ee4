"""Province-size day: 2,000 units, one day of 2,000 reports and 18,000 other messages.

    python bench/province.py [--repeats 3] [--only status,digest] [--rebuild] [--cache DIR]

Writes a configuration (../shared/samples/config.toml with its 14 units replaced by
2,000 communes: code, name, group, aliases, two sender addresses each) and a SQLite
database plus archive, cached under /tmp/baocao-province-v<VERSION> (rebuilt when
VERSION changes or with --rebuild), then times each command as a subprocess of this
working tree's virtualenv (`baocao status`, `status --json`, `export --format json`,
`export --format xlsx`, `digest --dry-run --out DIR`), median of --repeats runs, and
prints one JSON line per command (seconds and peak RSS of the child).

How the data is made (stored through storage/ functions directly, not through
ingest: a `baocao poll` of this mailbox takes minutes):

* the day (2021-08-12): 1,960 units report, 40 of them twice (a correction after the
  deadline), 40 units are silent. Each report email carries the unit's filled-in
  form, written by the product's own template writer (service.outputs.template), and
  is archived as-is; its 60 figures are stored as the reader would store them. 50 of
  the reports are unreadable (a corrupt .xlsx, archived, attached to the digest), 30
  carry a figure that failed a format check, and 1 in 7 arrives after 15:00.
* 18,000 others: 6,000 readable reports of the three days before (the previous
  figures, for the daily change; archived as plain emails, their workbooks are not
  rendered), 4,000 auto-replies and 4,000 unrelated messages (unknown senders) on the
  day, 2,000 unrelated messages on earlier days, and 2,000 duplicate deliveries (the
  mailbox rows of a second copy of one of the day's reports, stored once).
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VERSION = 1
UNITS = 2000
DAY = dt.date(2021, 8, 12)
EARLIER_DAYS = 3
SILENT = 40  # units with no report on the day
TWICE = 40  # units that send a corrected report after the deadline
UNREADABLE = 50
FLAGGED = 30  # a figure that failed a format check
AUTOMATIC, UNRELATED, UNRELATED_EARLIER, DUPLICATES = 4000, 4000, 2000, 2000
SAMPLE_CONFIG = ROOT.parent / "shared" / "samples" / "config.toml"
CACHE = Path(f"/tmp/baocao-province-v{VERSION}")
ICT = dt.timezone(dt.timedelta(hours=7))
DISTRICTS = ["Ba Bể", "Bạch Thông", "Chợ Đồn", "Chợ Mới", "Na Rì", "Ngân Sơn", "Pác Nặm", "Bắc Kạn"]


# -- the configuration -----------------------------------------------------------------


def unit_rows(n: int = UNITS) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        district = DISTRICTS[i % len(DISTRICTS)]
        out.append(
            {
                "code": f"XA{i:04d}",
                "name": f"UBND xã Phúc Lộc {i}",
                "group": f"Huyện {district}",
                "aliases": [f"Xã Phúc Lộc {i}", f"UBND xã số {i}"],
                "senders": [f"vanthu.xa{i:04d}@bac-kan.example.gov.vn", f"ketoan.xa{i:04d}@gmail.com"],
            }
        )
    return out


def toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def write_config(work: Path) -> Path:
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    text = text[: text.index("[[units]]")]
    text = re.sub(r'database_url = ".*"', f'database_url = "sqlite:///{work / "baocao.db"}"', text)
    text = re.sub(r'archive_dir = ".*"', f'archive_dir = "{work / "archive"}"', text)
    parts = [text.rstrip() + "\n"]
    for u in unit_rows():
        parts.append(
            "\n[[units]]\n"
            f"code = {toml_str(str(u['code']))}\n"
            f"name = {toml_str(str(u['name']))}\n"
            f"group = {toml_str(str(u['group']))}\n"
            f"aliases = [{', '.join(toml_str(a) for a in u['aliases'])}]\n"  # type: ignore[attr-defined]
            f"senders = [{', '.join(toml_str(a) for a in u['senders'])}]\n"  # type: ignore[attr-defined]
        )
    path = work / "config.toml"
    path.write_text("".join(parts), encoding="utf-8")
    return path


# -- the database ------------------------------------------------------------------------


def email_bytes(sender: str, subject: str, when: dt.datetime, body: str, seq: int, xlsx: bytes | None = None) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = "baocao.ldtbxh@example.gov.vn"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when)
    msg["Message-ID"] = f"<province-{seq}@bench.example.gov.vn>"
    msg.set_content(body)
    if xlsx is not None:
        msg.add_attachment(
            xlsx,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"Bao cao {when:%d.%m}.xlsx",
        )
    return msg.as_bytes()


def build(work: Path) -> None:
    """Config, database and archive of the province-size day in `work` (emptied first)."""
    from service.config import load_config
    from service.ingest.archive import Archive
    from service.outputs.template import render_form
    from storage.db import open_database
    from storage.messages import add_message, insert_children
    from storage.models import MailboxMessage

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    cfg = load_config(write_config(work), require_secrets=False)
    sessions = open_database(cfg.service.database_url)
    archive = Archive(cfg.service.archive_dir)
    rng = random.Random(14)
    now = dt.datetime(2021, 8, 12, 16, 0, tzinfo=ICT)
    seq = 0
    inds, meas = cfg.form.indicators, cfg.form.measures
    base = {u.code: {i.code: {m.code: rng.randint(5, 400) for m in meas} for i in inds} for u in cfg.units}

    def figures_on(code: str, offset: int) -> dict[str, dict[str, Decimal]]:
        """A unit's cumulative figures `offset` days before DAY (money in đồng)."""
        return {
            i: {
                m.code: Decimal((v[m.code] + 7 * (EARLIER_DAYS - offset)) * (1_000_000 if m.kind == "money" else 1))
                for m in meas
            }
            for i, v in base[code].items()
        }

    def store(session, raw: bytes, values: dict, attachments=(), figures=(), problems=(), children=None) -> int:
        sha = hashlib.sha256(raw).hexdigest()
        rel = archive.store(raw, sha, sync=False)
        row = {
            "sha256": sha,
            "size": len(raw),
            "archive_path": rel,
            "source": "imap",
            "created_at": now,
            "analysed_at": now,
            "subject": "",
            **values,
        }
        pk = add_message(session, row, attachments, figures, problems, children)
        assert pk is not None
        return pk

    def report_values(unit, when: dt.datetime, day: dt.date, sender: str, subject: str, seq: int) -> dict:
        return {
            "message_id": f"province-{seq}@bench.example.gov.vn",
            "received_at": when,
            "report_day": day,
            "from_address": sender,
            "from_name": unit.name,
            "subject": subject,
            "date_header": when - dt.timedelta(seconds=40),
            "kind": "report",
            "unit_code": unit.code,
            "readable": True,
            "as_of": day,
            "unit_text": f"Đơn vị: {unit.name}",
        }

    def fig_rows(values: dict) -> list[dict]:
        return [
            {"indicator": i, "measure": m, "value": v, "source": "spreadsheet"}
            for i, row in values.items()
            for m, v in row.items()
        ]

    day_reports: list[int] = []
    with sessions() as s:
        children: dict = {}
        # earlier days: readable reports, archived as plain emails
        for offset in range(EARLIER_DAYS, 0, -1):
            day = DAY - dt.timedelta(days=offset)
            for n, unit in enumerate(cfg.units):
                seq += 1
                when = dt.datetime.combine(day, dt.time(8 + n % 6, n % 60, n % 47), tzinfo=ICT)
                subject = f"Báo cáo tiến độ NQ 68 ngày {day:%d/%m/%Y} - {unit.name}"
                raw = email_bytes(unit.senders[0], subject, when, "Đơn vị gửi báo cáo (file đính kèm).", seq)
                vals = figures_on(unit.code, offset)
                store(
                    s,
                    raw,
                    report_values(unit, when, day, unit.senders[0], subject, seq),
                    (),
                    fig_rows(vals),
                    (),
                    children,
                )
            for n in range(UNRELATED_EARLIER // EARLIER_DAYS + (offset == 1) * (UNRELATED_EARLIER % EARLIER_DAYS)):
                seq += 1
                when = dt.datetime.combine(day, dt.time(7 + n % 12, n % 60), tzinfo=ICT)
                sender = f"nguoi.gui{n}@other.example.vn"
                raw = email_bytes(sender, f"Thư mời họp {n}", when, "Kính mời đồng chí dự họp.", seq)
                store(s, raw, other_values(sender, f"Thư mời họp {n}", when, day, seq, "unassigned"), children=children)
            insert_children(s, children)
        s.commit()

        # the day: reports, with their workbooks
        reporting = cfg.units[: UNITS - SILENT]
        for n, unit in enumerate(reporting):
            sends = 2 if n % (len(reporting) // TWICE) == 0 and n // (len(reporting) // TWICE) < TWICE else 1
            for k in range(sends):
                seq += 1
                hour = 16 if k else (15 if n % 7 == 6 else 8 + n % 6)
                when = dt.datetime.combine(DAY, dt.time(hour, n % 60, n % 53), tzinfo=ICT)
                sender = unit.senders[n % 2]
                subject = f"Báo cáo tiến độ NQ 68 ngày {DAY:%d/%m/%Y} - {unit.name}"
                vals = figures_on(unit.code, 0)
                if k:
                    vals = {i: {m: v + 1 for m, v in row.items()} for i, row in vals.items()}
                unreadable = (
                    n % (len(reporting) // UNREADABLE) == 1 and n // (len(reporting) // UNREADABLE) < UNREADABLE
                )
                xlsx = b"PK\x03\x04 broken" + bytes(200) if unreadable else render_form(cfg, unit, vals, DAY)
                raw = email_bytes(sender, subject, when, "Kính gửi Phòng LĐTBXH, đơn vị gửi báo cáo.", seq, xlsx)
                att = {
                    "position": 0,
                    "filename": f"Bao cao {when:%d.%m}.xlsx",
                    "content_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "detected_format": "xlsx",
                    "size": len(xlsx),
                    "sha256": hashlib.sha256(xlsx).hexdigest(),
                    "outcome": "unreadable" if unreadable else "read",
                    "sheet": None if unreadable else "Báo cáo",
                    "sheet_reason": None if unreadable else "only",
                }
                values = report_values(unit, when, DAY, sender, subject, seq)
                problems: list[dict] = []
                if unreadable:
                    values.update(readable=False, as_of=None, unit_text=None)
                    vals = {}
                    problems.append({"code": "unreadable_file", "params": {"file": att["filename"]}})
                    problems.append({"code": "no_readable_attachment", "params": {}})
                elif n % (len(reporting) // FLAGGED) == 2 and n // (len(reporting) // FLAGGED) < FLAGGED:
                    ind, m = inds[n % len(inds)], meas[0]
                    problems.append(
                        {
                            "code": "fractional_count",
                            "params": {
                                "file": att["filename"],
                                "cell": "D10",
                                "indicator": ind.label,
                                "measure": m.label,
                                "indicator_code": ind.code,
                                "measure_code": m.code,
                                "value": "12,5",
                            },
                        }
                    )
                pk = store(s, raw, values, [att], fig_rows(vals), problems, children)
                if k == 0:
                    day_reports.append(pk)
            if n % 200 == 199:
                insert_children(s, children)
        insert_children(s, children)
        s.commit()

        # the day: auto-replies and unrelated mail
        for n in range(AUTOMATIC + UNRELATED):
            seq += 1
            automatic = n < AUTOMATIC
            when = dt.datetime.combine(DAY, dt.time(7 + n % 14, n % 60, n % 59), tzinfo=ICT)
            if automatic:
                sender = cfg.units[n % UNITS].senders[0]
                subject = f"Trả lời tự động: Nhắc báo cáo ngày {DAY:%d/%m/%Y}"
                body = "Tôi đang nghỉ phép đến hết tuần, xin liên hệ văn thư."
            else:
                sender = f"thong.bao{n}@tin-tuc.example.vn"
                subject = f"Bản tin tổng hợp số {n}"
                body = "Bản tin hằng ngày. " * 20
            raw = email_bytes(sender, subject, when, body, seq)
            kind = "automatic" if automatic else "unassigned"
            store(s, raw, other_values(sender, subject, when, DAY, seq, kind), children=children)
        insert_children(s, children)

        # duplicate deliveries: a second copy of one of the day's reports, stored once
        seen = now.astimezone(dt.UTC)
        s.execute(
            MailboxMessage.__table__.insert(),
            [
                {
                    "account": "baocao.ldtbxh@example.gov.vn@mail.example.gov.vn:993",
                    "folder": "INBOX",
                    "uidvalidity": 1,
                    "uid": uid,
                    "message_pk": day_reports[uid % len(day_reports)],
                    "duplicate": True,
                    "action": "move",
                    "done": True,
                    "seen_at": seen,
                }
                for uid in range(1, DUPLICATES + 1)
            ],
        )
        s.commit()
    (work / "VERSION").write_text(str(VERSION))


def other_values(sender: str, subject: str, when: dt.datetime, day: dt.date, seq: int, kind: str) -> dict:
    return {
        "message_id": f"province-{seq}@bench.example.gov.vn",
        "received_at": when,
        "report_day": day,
        "from_address": sender,
        "from_name": None,
        "subject": subject,
        "date_header": when - dt.timedelta(seconds=30),
        "kind": kind,
        "unit_code": None,
        "reason": "automatic" if kind == "automatic" else "unknown_sender",
        "readable": False,
    }


def prepared(rebuild: bool = False, cache: Path = CACHE) -> Path:
    if rebuild or not (cache / "VERSION").is_file() or (cache / "VERSION").read_text() != str(VERSION):
        started = time.perf_counter()
        build(cache)
        print(f"built {cache} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return cache


# -- timing ------------------------------------------------------------------------------


def commands(work: Path) -> dict[str, list[str]]:
    cfg = ["--config", str(work / "config.toml")]
    day = ["--date", DAY.isoformat()]
    return {
        "status": ["status", *cfg, *day],
        "status_json": ["status", *cfg, *day, "--json"],
        "export_json": ["export", *cfg, *day, "--format", "json"],
        "export_xlsx": ["export", *cfg, *day, "--format", "xlsx", "--out", str(work / "export.xlsx")],
        "digest": ["digest", *cfg, *day, "--dry-run", "--out", str(work / "digest")],
    }


def time_command(argv: list[str], repeats: int, tree: Path = ROOT) -> dict[str, object]:
    """`python -m service.cli ARGV` run from `tree` (this working tree, or another checkout
    to compare with), `repeats` times: median wall time and the child's peak RSS."""
    runs, peaks, cpu = [], [], []
    # Byte-code written and reused as in production, where the installed package has its
    # .pyc files (a development shell may set PYTHONDONTWRITEBYTECODE: then every run
    # compiled the project's modules again, 0.05-0.1 s of each command).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for _ in range(repeats):
        started = time.perf_counter()
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "service.cli", *argv], stdout=subprocess.DEVNULL, stderr=err, cwd=tree, env=env
            )
            _, status, usage = os.wait4(proc.pid, 0)
            runs.append(time.perf_counter() - started)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"baocao {' '.join(argv)} failed: {err.read().decode()[-2000:]}")
        peaks.append(usage.ru_maxrss)
        cpu.append(usage.ru_utime + usage.ru_stime)
    return {
        "median_s": round(statistics.median(runs), 3),
        "runs_s": [round(r, 3) for r in runs],
        "cpu_median_s": round(statistics.median(cpu), 3),
        "peak_mib": round(max(peaks) / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="comma-separated: " + ", ".join(commands(CACHE)))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose commands are timed")
    parser.add_argument("--build-only", action="store_true", help="make the cached data and stop")
    parser.add_argument("--cache", type=Path, default=CACHE, help=f"where the data is kept (default {CACHE})")
    args = parser.parse_args()
    work = prepared(args.rebuild, args.cache)
    if args.build_only:
        return
    wanted = args.only.split(",") if args.only else list(commands(work))
    env_note = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    for name in wanted:
        argv = commands(work)[name]
        print(
            json.dumps(
                {
                    "bench": "province",
                    "command": name,
                    "units": UNITS,
                    "tree": str(args.tree),
                    **time_command(argv, args.repeats, args.tree),
                    **env_note,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
