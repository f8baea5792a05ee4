"""Baseline ingest speed: bare serial IMAP fetch + MIME parse + xlsx read, nothing stored.

    python bench/ingest_bare.py [--n 1000] [--batch 100]   (as root: it starts Dovecot)

Prints one JSON line; the full pipeline's benchmark is compared against this one.
"""

from __future__ import annotations

import argparse
import base64
import io
import logging
import time

import mailparser
import openpyxl
from common import print_result, seeded_dovecot

XLSX_TYPES = ("spreadsheetml", "ms-excel.sheet.macroenabled")


def is_xlsx(attachment: dict) -> bool:
    name = (attachment.get("filename") or "").lower()
    ctype = (attachment.get("mail_content_type") or "").lower()
    return name.endswith((".xlsx", ".xlsm")) or any(t in ctype for t in XLSX_TYPES)


def read_xlsx_cells(payload: bytes) -> int:
    """Loads the workbook the way the product does (read-only, cached values); counts cells."""
    wb = openpyxl.load_workbook(io.BytesIO(payload), read_only=True, data_only=True)
    try:
        return sum(len(row) for ws in wb.worksheets for row in ws.iter_rows(values_only=True))
    finally:
        wb.close()


def ingest(client, folder: str, batch: int) -> dict[str, int]:
    """Fetches every message of `folder` in UID batches and reads each xlsx attachment."""
    counts = {"messages": 0, "xlsx": 0, "cells": 0, "bytes": 0}
    client.select_folder(folder, readonly=True)
    uids = client.search("ALL")
    for start in range(0, len(uids), batch):
        chunk = uids[start : start + batch]
        fetched = client.fetch(chunk, ["BODY.PEEK[]"])
        for uid in chunk:
            raw = fetched[uid][b"BODY[]"]
            counts["messages"] += 1
            counts["bytes"] += len(raw)
            for attachment in mailparser.parse_from_bytes(raw).attachments:
                if not is_xlsx(attachment):
                    continue
                payload = attachment["payload"]
                data = base64.b64decode(payload) if attachment["binary"] else payload.encode()
                counts["xlsx"] += 1
                counts["cells"] += read_xlsx_cells(data)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="messages in the mailbox")
    parser.add_argument("--batch", type=int, default=100, help="UIDs per FETCH")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # mail-parser logs every defect it tolerates

    with seeded_dovecot(args.n) as (server, user, seed_seconds):
        client = server.connect(user)
        try:
            started = time.perf_counter()
            counts = ingest(client, "INBOX", args.batch)
            seconds = time.perf_counter() - started
        finally:
            client.logout()
    if counts["messages"] != args.n:
        raise SystemExit(f"fetched {counts['messages']} of {args.n} messages")
    print_result(
        bench="ingest_bare",
        n=args.n,
        batch=args.batch,
        seconds=round(seconds, 3),
        messages_per_second=round(args.n / seconds, 1),
        xlsx_read=counts["xlsx"],
        cells_read=counts["cells"],
        megabytes_fetched=round(counts["bytes"] / 1e6, 1),
        seed_seconds=round(seed_seconds, 3),
    )


if __name__ == "__main__":
    main()
