"""Parsing benchmark: our attachment reader against a bare library open of the same
bytes, and reprocessing an archive the way `baocao reprocess` analyses it.

    python bench/parse.py formats [--repeats 9]          # per attachment, by format
    python bench/parse.py reprocess [--n 5000]           # 2 worker processes vs bare serial
    python bench/parse.py all

The attachments are those of the public sample reports (../shared/samples/emails);
the archive is made of them by bench/common.generate_messages. Other processes on the
machine disturb timings: every figure is a median of repeats, the runs interleaved.
Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import generate_messages, load_templates, print_result  # noqa: E402

from parsers.message import parse_message  # noqa: E402
from parsers.model import FormSpec, MailAttachment  # noqa: E402
from parsers.report import read_attachment  # noqa: E402
from parsers.sniff import sniff_format  # noqa: E402
from service.config import Config, load_config  # noqa: E402
from service.ingest.archive import Archive  # noqa: E402
from service.ingest.pipeline import Analyser, report_day_of, routing_for  # noqa: E402
from tests.mailbuilders import write_config  # noqa: E402

FORMATS = ("xlsx", "xls", "csv", "docx", "pdf")
REPORT_DAY = dt.date(2021, 8, 12)
REPROCESS_BATCH = 100  # messages per Analyser call, as service.ingest.reprocess.reprocess does


# -- the bare library opens (what a script without our reader would do) -------------------


def bare_xlsx(data: bytes) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return sum(len(row) for ws in wb.worksheets for row in ws.iter_rows(values_only=True))
    finally:
        wb.close()


def bare_xls(data: bytes) -> int:
    import xlrd

    book = xlrd.open_workbook(file_contents=data, logfile=io.StringIO())
    return sum(len(sh.row_values(r)) for sh in book.sheets() for r in range(sh.nrows))


def bare_docx(data: bytes) -> int:
    import docx

    document = docx.Document(io.BytesIO(data))
    return sum(
        len(row.cells) for table in document.tables for row in table.rows for _ in [cell.text for cell in row.cells]
    )


def bare_csv(data: bytes) -> int:
    return sum(len(row) for row in csv.reader(io.StringIO(data.decode("utf-8-sig", "replace"))))


BARE: dict[str, Callable[[bytes], int]] = {
    "xlsx": bare_xlsx,
    "xlsm": bare_xlsx,
    "xls": bare_xls,
    "docx": bare_docx,
    "csv": bare_csv,
}


# -- setup -------------------------------------------------------------------------------


def bench_config(work: Path) -> Config:
    """The shipped example config (the Bắc Kạn form and units), as bench/ingest.py uses it."""
    path = write_config(
        work / "config.toml",
        imap=None,
        smtp=None,
        database_url=f"sqlite:///{work / 'baocao.db'}",
        archive_dir=work / "archive",
    )
    return load_config(path, env={})


def sample_attachments() -> dict[str, list[MailAttachment]]:
    """The sample reports' attachments by sniffed format."""
    by_format: dict[str, list[MailAttachment]] = {}
    for raw in load_templates():
        for att in parse_message(raw).attachments:
            fmt = sniff_format(att.data, att.filename, att.content_type)
            by_format.setdefault("pdf" if fmt not in BARE else fmt, []).append(att)
    return by_format


def per_item_ms(fn: Callable[[], object], n_items: int, loops: int) -> float:
    started = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - started) / loops / n_items * 1000


# -- (1) one attachment, by format --------------------------------------------------------


def formats(form: FormSpec, repeats: int) -> None:
    by_format = sample_attachments()
    for fmt in FORMATS:
        atts = by_format.get(fmt, [])
        if not atts:
            print_result(bench="parse_attachment", format=fmt, files=0, note="no sample of this format")
            continue
        bare = BARE.get(fmt)
        loops = max(1, 40 // len(atts))

        def ours_all() -> None:
            for a in atts:  # noqa: B023 (called within this iteration)
                read_attachment(a.filename, a.content_type, a.data, form, REPORT_DAY)

        def bare_all() -> None:
            for a in atts:  # noqa: B023 (called within this iteration)
                bare(a.data)  # type: ignore[misc]  # noqa: B023

        ours_all()  # warm up: imports, the form index, caches
        if bare:
            bare_all()
        ours_ms, bare_ms = [], []
        for _ in range(repeats):  # interleaved, so a burst of load hits both
            ours_ms.append(per_item_ms(ours_all, len(atts), loops))
            if bare:
                bare_ms.append(per_item_ms(bare_all, len(atts), loops))
        ours = statistics.median(ours_ms)
        fields: dict[str, object] = {
            "bench": "parse_attachment",
            "format": fmt,
            "files": len(atts),
            "repeats": repeats,
            "ours_ms": round(ours, 3),
        }
        if bare:
            fields.update(
                bare_ms=round(statistics.median(bare_ms), 3), ratio=round(statistics.median(bare_ms) / ours, 2)
            )
        else:
            fields.update(bare_ms=None, ratio=None, note="kept as evidence; no library opens it")
        print_result(**fields)


# -- (2) reprocessing an archive ----------------------------------------------------------


def bare_message(raw: bytes) -> int:
    """mail-parser, then each readable attachment opened with its bare library."""
    import base64

    import mailparser

    cells = 0
    for att in mailparser.parse_from_bytes(raw).attachments:
        payload = att["payload"]
        data = base64.b64decode(payload) if att["binary"] else payload.encode()
        opener = BARE.get(sniff_format(data, att.get("filename") or "", att.get("mail_content_type") or ""))
        if opener is not None:
            try:
                cells += opener(data)
            except Exception:  # noqa: BLE001 - a bare script would skip a broken file
                pass
    return cells


def reprocess(cfg: Config, n: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(Path(tmp) / "archive")
        archived: list[tuple[str, dt.date]] = []
        for raw, arrival in generate_messages(n):
            archived.append((archive.store(raw, sync=False), report_day_of(arrival, cfg)))
        analyser = Analyser(routing_for(cfg), workers=2)
        try:
            analyser.analyse([(archive.load(rel), day) for rel, day in archived[:16]])  # start workers

            def ours() -> int:
                readable = 0
                for first in range(0, len(archived), REPROCESS_BATCH):
                    batch = archived[first : first + REPROCESS_BATCH]
                    items = [(archive.load(rel), day) for rel, day in batch]
                    readable += sum(a.readable for a in analyser.analyse(items))
                return readable

            def bare() -> int:
                return sum(bare_message(archive.load(rel)) for rel, _ in archived)

            ours_s, bare_s = [], []
            for _ in range(repeats):
                started = time.perf_counter()
                readable = ours()
                ours_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                bare()
                bare_s.append(time.perf_counter() - started)
        finally:
            analyser.close()
    ours_med, bare_med = statistics.median(ours_s), statistics.median(bare_s)
    print_result(
        bench="reprocess_analysis",
        n=n,
        workers=2,
        repeats=repeats,
        ours_messages_per_second=round(n / ours_med, 1),
        bare_messages_per_second=round(n / bare_med, 1),
        ours_ms_per_message=round(ours_med / n * 1000, 3),
        bare_ms_per_message=round(bare_med / n * 1000, 3),
        ratio=round(bare_med / ours_med, 2),
        readable=readable,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("formats")
    p.add_argument("--repeats", type=int, default=9)
    p = sub.add_parser("reprocess")
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=3)
    p = sub.add_parser("all")
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # mail-parser logs every defect it tolerates
    with tempfile.TemporaryDirectory() as tmp:
        cfg = bench_config(Path(tmp))
    if args.what in ("formats", "all"):
        formats(cfg.form, args.repeats if args.what == "formats" else 9)
    if args.what in ("reprocess", "all"):
        reprocess(cfg, args.n, args.repeats)


if __name__ == "__main__":
    main()
