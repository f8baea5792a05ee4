"""Digest benchmark: build and render the digest and its workbook for a large campaign.

    python bench/digest.py [--units 1000] [--indicators 12] [--measures 5]

Fills a SQLite database with one report per unit for two days (every indicator ×
measure), then times build_day_view + render_digest (HTML, text, workbook) for the
second day. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from parsers.model import IndicatorSpec, MeasureSpec  # noqa: E402
from service.config import UnitConfig, load_config  # noqa: E402
from service.day.dayview import build_day_view  # noqa: E402
from service.outputs.digest import render_digest  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.models import Figure, Message  # noqa: E402

DAY = dt.date(2021, 8, 12)


def big_config(units: int, indicators: int, measures: int, db: Path):
    cfg = load_config(ROOT / "config.example.toml", require_secrets=False)
    ms = tuple(
        MeasureSpec(
            code=f"m{j}",
            label=f"Cột số {j}",
            kind="money" if j % 2 else "count",
            default_scale=1_000_000 if j % 2 else 1,
        )
        for j in range(measures)
    )
    inds = tuple(
        IndicatorSpec(code=f"i{k}", label=f"Chỉ tiêu số {k}", group=f"Nhóm {k % 3}") for k in range(indicators)
    )
    us = tuple(
        UnitConfig(code=f"U{n:04d}", name=f"UBND xã số {n}", group=f"Huyện {n % 9}", senders=(f"u{n}@example.gov.vn",))
        for n in range(units)
    )
    return replace(
        cfg,
        units=us,
        form=replace(cfg.form, measures=ms, indicators=inds),
        service=replace(cfg.service, database_url=f"sqlite:///{db}"),
    )


def fill(cfg, sessions, rng: random.Random) -> None:
    tz = cfg.service.timezone
    now = dt.datetime.now(dt.UTC)
    base = {
        (u.code, i.code, m.code): rng.randint(1, 500)
        for u in cfg.units
        for i in cfg.form.indicators
        for m in cfg.form.measures
    }
    with sessions() as s:
        for offset, day in enumerate((DAY - dt.timedelta(days=1), DAY)):
            for n, unit in enumerate(cfg.units):
                if day == DAY and n % 17 == 0:
                    continue  # some units silent on the day
                received = dt.datetime.combine(day, dt.time(8 + n % 7, n % 60), tzinfo=tz)
                sha = hashlib.sha256(f"{unit.code}{day}".encode()).hexdigest()
                pk = s.execute(
                    insert(Message).values(
                        sha256=sha,
                        message_id=f"{sha[:20]}@x",
                        size=1,
                        archive_path="x",
                        source="imap",
                        received_at=received,
                        report_day=day,
                        from_address=unit.senders[0],
                        subject="BC",
                        kind="report",
                        unit_code=unit.code,
                        readable=True,
                        created_at=now,
                        analysed_at=now,
                    )
                ).inserted_primary_key[0]
                s.execute(
                    insert(Figure),
                    [
                        {
                            "message_pk": pk,
                            "indicator": i.code,
                            "measure": m.code,
                            # cumulative: the second day's figures are at least the first day's
                            "value": Decimal(
                                (base[unit.code, i.code, m.code] + offset * rng.randint(0, 20))
                                * (1_000_000 if m.kind == "money" else 1)
                            ),
                        }
                        for i in cfg.form.indicators
                        for m in cfg.form.measures
                    ],
                )
        s.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--indicators", type=int, default=12)
    parser.add_argument("--measures", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = big_config(args.units, args.indicators, args.measures, Path(tmp) / "b.db")
        sessions = open_database(cfg.service.database_url)
        fill(cfg, sessions, random.Random(7))
        now = dt.datetime.combine(DAY, dt.time(15, 0), tzinfo=cfg.service.timezone)
        build, render, sizes = [], [], {}
        for _ in range(args.repeats):
            with sessions() as s:
                t0 = time.perf_counter()
                view = build_day_view(s, cfg, DAY, until=now)
                t1 = time.perf_counter()
                content = render_digest(view, cfg, now=now)
                t2 = time.perf_counter()
            build.append(t1 - t0)
            render.append(t2 - t1)
            sizes = {
                "html_kb": round(len(content.html) / 1024),
                "workbook_kb": round(sum(len(f.data) for f in content.files) / 1024),
            }
    total = [b + r for b, r in zip(build, render)]
    print(
        {
            "bench": "digest",
            "units": args.units,
            "indicators": args.indicators,
            "measures": args.measures,
            "build_s": round(statistics.median(build), 3),
            "render_s": round(statistics.median(render), 3),
            "total_s": round(statistics.median(total), 3),
            **sizes,
        }
    )


if __name__ == "__main__":
    main()
