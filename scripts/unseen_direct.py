#!/usr/bin/env python3
"""Read the scans and photos of generated unseen document sets directly, without the
IMAP harness, and compare every figure with the set's truth.

    .venv/bin/python scripts/unseen_direct.py DIR [DIR ...] [--kinds k4,k5,k6] [-v]

A set is made with `scripts/unseen_documents.py --seed N --out DIR --generate-only`.
Each message of the chosen kinds goes through `analyse_message` (recognition included)
with the set's config; per set and kind it prints truth / exact / wrong+flag / wrong
silent / missing / extra+flag / extra silent, as score.py counts them ("flagged": the
message carries a problem), and the messages whose as-of date is not the one the set
states; `-v` lists every figure that is not exact.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLUMNS = ("truth", "exact", "wrong+flag", "wrong silent", "missing", "extra+flag", "extra silent", "as_of wrong")


def main() -> None:
    from service.config.loading import load_config
    from service.ingest.analysis import analyse_message
    from service.ingest.pipeline import routing_for

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--kinds", default="k4,k5,k6")
    ap.add_argument("-v", action="store_true", help="list every figure that is not exact")
    args = ap.parse_args()
    kinds = set(args.kinds.split(","))
    grand: Counter[str] = Counter()
    for s in args.sets:
        root = s / "samples-documents" if (s / "samples-documents").exists() else s
        env = {"BAOCAO_IMAP_PASSWORD": "x", "BAOCAO_SMTP_PASSWORD": "x"}
        routing = routing_for(load_config(root / "config.toml", env=env, require_secrets=False))
        per: dict[str, Counter[str]] = defaultdict(Counter)
        for m in json.loads((root / "documents.json").read_text())["messages"]:
            if m["kind"] not in kinds:
                continue
            an = analyse_message((root / m["file"]).read_bytes(), routing, dt.date.fromisoformat(m["day"]))
            truth = {
                (ind, meas): Decimal(v) for p in m["parts"] for ind, ms in p["values"].items() for meas, v in ms.items()
            }
            got = {(i, mm): v for i, ms in an.values.items() for mm, v in ms.items()}
            flagged = bool(an.problems)
            c = per[m["kind"]]
            for k, v in truth.items():
                c["truth"] += 1
                if got.get(k) == v:
                    c["exact"] += 1
                    continue
                tag = "missing" if k not in got else ("wrong+flag" if flagged else "wrong silent")
                c[tag] += 1
                if args.v:
                    print(f"  {s.name} {m['file']} {k} truth={v} got={got.get(k)} {tag}")
            for k in got.keys() - truth.keys():
                c["extra+flag" if flagged else "extra silent"] += 1
                if args.v:
                    print(f"  {s.name} {m['file']} {k} extra got={got[k]} flagged={flagged}")
            want = json.loads((root / "expected" / f"{m['day']}.json").read_text())["units"][m["unit"]]
            if "as_of" in want and str(an.as_of) != want["as_of"]:
                c["as_of wrong"] += 1
                if args.v:
                    print(f"  {s.name} {m['file']} as_of {want['as_of']} -> {an.as_of}")
            if args.v and not an.readable:
                print(f"  {s.name} {m['file']} unreadable: {[p.code for p in an.problems][:5]}")
        for kind in sorted(per):
            grand.update(per[kind])
            print(f"{s.name} {kind}: " + ", ".join(f"{k} {per[kind][k]}" for k in COLUMNS))
    print("ALL: " + ", ".join(f"{k} {grand[k]}" for k in COLUMNS))


if __name__ == "__main__":
    main()
