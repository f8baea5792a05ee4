"""Seconds per scanned page and per photo (parsers.ocr), one core, and the peak memory
of a recognition worker.

Reads the public sample scans and photos (../shared/samples-documents, attachments
taken out of the .eml files) and two documents made from them: a four-page scanned PDF
(the k4 and k5 scans' pages in one file) and a 12-megapixel phone photo (a k6 photo
enlarged to 4000 x 3000). The process first imports what a recognition worker imports
(`service.ingest.analysis`) and sets the allocator up as a worker does, then reads
every document once (warm-up: Tesseract's models loaded, the allocator's pools as in a
worker that has read others already), then each document `--runs` times. The
documents wait on disk and each is read into memory before its reads (a worker holds
the one message it reads). One JSON line per document: median seconds per page and
the peak resident memory (VmHWM, reset before each document's reads) in MiB. Run from the repository root:
`taskset -c 0 .venv/bin/python bench/ocr.py --runs 3`.
"""

from __future__ import annotations

import argparse
import email
import gc
import io
import json
import os
import statistics
import tempfile
import time
from email import policy
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # Tesseract on one core


def _status() -> dict[str, int]:
    """VmRSS and VmHWM of this process in MiB (Linux)."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line[:5]] = int(line.split()[1]) // 1024
    return out


def _reset_peak() -> None:
    """VmHWM back to the current VmRSS (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")


START = _status()

import service.ingest.analysis  # noqa: E402, F401  (what a recognition worker imports)
from parsers.model import ReadLimits  # noqa: E402
from parsers.ocr import read_scan  # noqa: E402
from parsers.ocr.pages import release_memory, tune_allocator, use_one_thread  # noqa: E402

IMPORTED = _status()
tune_allocator()  # as service.ingest.workers sets up a recognition worker
use_one_thread()

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


def _made(scans: list[tuple[str, str, str, bytes]]) -> list[tuple[str, str, str, bytes]]:
    """A four-page scanned PDF and a 12-megapixel photo made from the samples."""
    import pypdfium2 as pdfium
    from PIL import Image

    merged = pdfium.PdfDocument.new()
    for data in [d for k, _, f, d in scans if f == "pdf" and k in ("k4", "k5")][:4]:
        src = pdfium.PdfDocument(data)
        merged.import_pages(src)
        src.close()
    buf = io.BytesIO()
    merged.save(buf)
    merged.close()
    photo = next(d for k, _, f, d in scans if k == "k6")
    with Image.open(io.BytesIO(photo)) as img:
        big = img.resize((4000, 3000) if img.width > img.height else (3000, 4000), Image.Resampling.LANCZOS)
    jpg = io.BytesIO()
    big.save(jpg, "JPEG", quality=90)
    return [
        ("multi", "four_scanned_pages.pdf", "pdf", buf.getvalue()),
        ("12mp", "photo_12mp.jpg", "image", jpg.getvalue()),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="", help="read only the documents whose name contains this")
    args = ap.parse_args()
    limits = ReadLimits()
    found = _scans()
    found += _made(found)
    # On disk, each read from there before its reads: a worker holds the one message it
    # reads, not 15 documents (9 MiB).
    store = tempfile.TemporaryDirectory(prefix="bench-ocr-")
    docs = []
    for n, (kind, name, fmt, data) in enumerate(found):
        if args.only in name:
            path = Path(store.name) / str(n)
            path.write_bytes(data)
            docs.append((kind, name, fmt, path))
    del found
    gc.collect()
    release_memory()
    pages_of = {}
    for _, name, fmt, path in docs:  # warm-up
        pages_of[name] = max(1, len(read_scan(path.read_bytes(), fmt, limits, name).sheets))
    release_memory()
    warm = _status()
    print(
        json.dumps(
            {"rss_mib_at_start": START["VmRSS"], "after_imports": IMPORTED["VmRSS"], "after_warm_up": warm["VmRSS"]}
        )
    )
    per_page: list[float] = []
    peaks: list[int] = []
    for kind, name, fmt, path in docs:
        pages = pages_of[name]
        times = []
        data = path.read_bytes()
        _reset_peak()
        for _ in range(args.runs):
            t = time.perf_counter()
            read_scan(data, fmt, limits, name)
            times.append((time.perf_counter() - t) / pages)
        peak = _status()["VmHWM"]
        median = statistics.median(times)
        per_page.append(median)
        peaks.append(peak)
        print(
            json.dumps(
                {"kind": kind, "file": name, "pages": pages, "s_per_page": round(median, 2), "peak_rss_mib": peak}
            )
        )
    print(
        json.dumps(
            {
                "all": len(per_page),
                "median_s_per_page": round(statistics.median(per_page), 2),
                "max_s_per_page": round(max(per_page), 2),
                "max_peak_rss_mib": max(peaks),
                "rss_mib_at_end": _status()["VmRSS"],
            }
        )
    )
    store.cleanup()


if __name__ == "__main__":
    main()
