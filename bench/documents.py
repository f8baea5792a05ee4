"""Documents benchmark: reading the figures of a PDF, per page.

    python bench/documents.py text-pdf [--repeats 7]     # text PDFs (printed to PDF, signed)
    python bench/documents.py all

Each case is one PDF attachment of the public documents scenario
(../shared/samples-documents, kinds k1 k2 k3 k9: printed from Excel or Word, two pages,
signed), or, without that folder, one made here in code. "seconds per page" is the
median over the repeats of `parsers.report.read_attachment` on the bytes (telling
text from scan, the words and ruling lines, the tables, the number locale, finding the
report and reading its figures) divided by the pages, wall clock and this process's CPU
time (less disturbed by other processes on a shared machine); "peak MiB" is what tracemalloc
saw allocated by Python during one more read (PDFium's own C memory is not in it), and
"maxrss MiB" the process's peak resident memory after all the runs.

More kinds of document (scanned pages, photos) go in their own function, registered in
MEASUREMENTS below; each prints one JSON line per case with `print_result`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import json
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import print_result  # noqa: E402

from parsers.model import FormSpec  # noqa: E402
from parsers.readers.pdf import pdf_page_count  # noqa: E402
from parsers.report import read_attachment  # noqa: E402
from tests.unit.builders import sample_form  # noqa: E402

DOCUMENTS = ROOT.parent / "shared" / "samples-documents"
TEXT_PDF_KINDS = frozenset({"k1", "k2", "k3", "k9"})


@dataclass(frozen=True)
class Document:
    kind: str  # k1..k11 of the documents scenario, or "generated"
    name: str
    filename: str
    day: dt.date
    data: bytes


def scenario_documents(kinds: frozenset[str], suffix: str = ".pdf") -> list[Document]:
    """The attachments of the documents scenario of `kinds` whose name ends with `suffix`."""
    index = DOCUMENTS / "documents.json"
    if not index.exists():
        return []
    out = []
    for msg in json.loads(index.read_text("utf-8"))["messages"]:
        if msg["kind"] not in kinds:
            continue
        parsed = email.message_from_bytes((DOCUMENTS / msg["file"]).read_bytes(), policy=email.policy.default)
        for part in parsed.iter_attachments():
            name = part.get_filename() or ""
            data = part.get_payload(decode=True)
            if name.lower().endswith(suffix) and isinstance(data, bytes):
                out.append(Document(msg["kind"], Path(msg["file"]).stem, name, dt.date.fromisoformat(msg["day"]), data))
    return out


def generated_text_pdf() -> Document:
    """A one-page ruled report table, when the scenario's folder is absent."""
    from tests.unit.pdfbuild import Page, pdf_bytes, ruled_table

    page = Page()
    page.text(40, 40, "BAO CAO TIEN DO")
    rows = [["Noi dung", "So de nghi", "Kinh phi phe duyet (trieu dong)"]]
    rows += [[f"Chinh sach {i}", str(10 * i), f"{i},5"] for i in range(1, 13)]
    ruled_table(page, 80, rows, [260, 90, 170])
    return Document("generated", "generated", "generated.pdf", dt.date(2021, 8, 16), pdf_bytes([page]))


def measure_reads(docs: list[Document], form: FormSpec, repeats: int, source: str) -> None:
    """One JSON line per document: median seconds per page, peak Python memory."""
    for doc in docs:
        pages = pdf_page_count(doc.data, form.limits, doc.filename)
        read_attachment(doc.filename, "application/pdf", doc.data, form, doc.day)  # warm caches and imports
        times, cpu_times = [], []
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            result = read_attachment(doc.filename, "application/pdf", doc.data, form, doc.day)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
        tracemalloc.start()
        read_attachment(doc.filename, "application/pdf", doc.data, form, doc.day)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        median = statistics.median(times)
        print_result(
            measure=source,
            kind=doc.kind,
            document=doc.name,
            pages=pages,
            outcome=result.outcome,
            source=result.source,
            seconds_per_page=round(median / pages, 4),
            cpu_seconds_per_page=round(statistics.median(cpu_times) / pages, 4),
            seconds=round(median, 4),
            peak_mib=round(peak / 2**20, 1),
            repeats=repeats,
        )


def text_pdf(repeats: int) -> None:
    docs = scenario_documents(TEXT_PDF_KINDS) or [generated_text_pdf()]
    measure_reads(docs, sample_form(), repeats, "text_pdf")


# name -> function(repeats): the OCR cases (scanned page, photo) add theirs here.
MEASUREMENTS: dict[str, Callable[[int], None]] = {"text-pdf": text_pdf}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=[*MEASUREMENTS, "all"])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    for name, run in MEASUREMENTS.items():
        if args.what in (name, "all"):
            run(args.repeats)
    print_result(measure="process", maxrss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))


if __name__ == "__main__":
    main()
