"""Seconds per scanned page and per photo (parsers.ocr), one core.

Reads the public sample scans and photos (../shared/samples-documents, attachments
taken out of the .eml files), each `--runs` times after one warm-up read (Tesseract's
models loaded), and prints one JSON line per file: median seconds per page and the
process's peak RSS. Run from the repository root: `.venv/bin/python bench/ocr.py`.
"""

from __future__ import annotations

import argparse
import email
import json
import os
import resource
import statistics
import time
from email import policy
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # Tesseract on one core

from parsers.model import ReadLimits  # noqa: E402
from parsers.ocr import read_scan  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / ".." / "shared" / "samples-documents"


def _scans() -> list[tuple[str, str, str, bytes]]:
    docs = json.loads((SAMPLES / "documents.json").read_text(encoding="utf-8"))
    out = []
    for m in docs["messages"]:
        for part in m["parts"]:
            if part["role"] not in ("pdf-scan", "photo"):
                continue
            msg = email.message_from_bytes((SAMPLES / m["file"]).read_bytes(), policy=policy.default)
            for att in msg.iter_attachments():
                if att.get_filename() == part["part"]:
                    data = att.get_content()
                    fmt = "image" if part["role"] == "photo" else "pdf"
                    out.append((m["kind"], part["part"], fmt, data))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    limits = ReadLimits()
    per_page: list[float] = []
    for kind, name, fmt, data in _scans():
        grid = read_scan(data, fmt, limits, name)  # warm-up
        pages = max(1, len(grid.sheets))
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            read_scan(data, fmt, limits, name)
            times.append((time.perf_counter() - t) / pages)
        median = statistics.median(times)
        per_page.append(median)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            json.dumps(
                {"kind": kind, "file": name, "pages": pages, "s_per_page": round(median, 2), "peak_rss_mb": round(rss)}
            )
        )
    print(
        json.dumps(
            {
                "all": len(per_page),
                "median_s_per_page": round(statistics.median(per_page), 2),
                "max_s_per_page": round(max(per_page), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
