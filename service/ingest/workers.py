"""Reading messages on both cores: `Analyser` runs `analyse_message` for a batch in worker
processes (in-process when the batch is small and needs no recognition), and never loses a
message to a reader bug.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from parsers.model import Problem
from service.ingest.analysis import Analysis, Routing, analyse_message
from service.ingest.archive import content_hash
from storage.kinds import UNASSIGNED

log = logging.getLogger(__name__)

# Below this many messages a batch is analysed in-process: starting workers costs more.
# A message that may need recognition (a scan or photo: seconds, not milliseconds) is
# analysed in a worker process even alone, so it never holds the poll, the IDLE thread
# or the digest job.
PARALLEL_MIN_BATCH = 8
# Each worker keeps its Tesseract engines (~100-150 MB): at most this many workers.
MAX_WORKERS = 4

# An attachment that may need recognition, told from the raw message without parsing it:
# a PDF or image by its type or name, a TNEF winmail.dat (it may hold one), or a base64
# body line that starts a PDF (%PDF-), JPEG, PNG or TIFF whatever the part is called.
_RECOGNITION_HINT = re.compile(
    rb"(?im)^content-type:[ \t]*(?:image/|application/(?:pdf|x-pdf|ms-tnef|vnd\.ms-tnef))"
    rb"|name\*?=[^;\r\n]*\.(?:pdf|jpe?g|png|tiff?|bmp|gif|webp|heic|dat)\b"
    rb"|^(?:JVBERi0|/9j/|iVBORw0KGgo|SUkqA|TU0AK)"
)


def may_need_recognition(raw: bytes) -> bool:
    """Whether a message may carry a scan or photo (a PDF or image attachment): cheap,
    and erring towards yes (a text PDF or an inline logo only costs a trip to a worker)."""
    return _RECOGNITION_HINT.search(raw) is not None


class Analyser:
    """Runs `analyse_message` for a batch, on both cores when the batch is big enough."""

    def __init__(self, routing: Routing, workers: int | None = None) -> None:
        self.routing = routing
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, MAX_WORKERS)
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, items: Sequence[tuple[bytes, dt.date]]) -> list[Future[Analysis]]:
        """Start analysing `items`; the futures complete in the workers (or already here).

        A big batch goes to the workers; of a small one, the messages that may need
        recognition do (`may_need_recognition`) and the others are analysed here."""
        if self.workers >= 1 and (
            (self.workers > 1 and len(items) >= PARALLEL_MIN_BATCH)
            or any(may_need_recognition(raw) for raw, _ in items)
        ):
            try:
                return self._submit_mixed(items)
            except BrokenProcessPool:
                self.reset()  # a worker was killed earlier: start new ones
                return self._submit_mixed(items)
        return [self._done(raw, day) for raw, day in items]

    def _submit_mixed(self, items: Sequence[tuple[bytes, dt.date]]) -> list[Future[Analysis]]:
        pool = self._get_pool()
        everything = self.workers > 1 and len(items) >= PARALLEL_MIN_BATCH
        # the workers start on their messages before the quick ones are analysed here
        futures: list[Future[Analysis] | None] = [
            pool.submit(_analyse_safely, raw, self.routing, day) if everything or may_need_recognition(raw) else None
            for raw, day in items
        ]
        return [f if f is not None else self._done(raw, day) for f, (raw, day) in zip(futures, items)]

    def _done(self, raw: bytes, day: dt.date) -> Future[Analysis]:
        f: Future[Analysis] = Future()
        f.set_result(_analyse_safely(raw, self.routing, day))
        return f

    def analyse(self, items: Sequence[tuple[bytes, dt.date]]) -> list[Analysis]:
        return self.results(items, self.submit(items))

    def results(self, items: Sequence[tuple[bytes, dt.date]], futures: Sequence[Future[Analysis]]) -> list[Analysis]:
        """The analyses of `items`; when a worker died (OOM killer, a stray signal) the
        pool is replaced and the lost ones are analysed here, so ingestion goes on."""
        out = []
        for (raw, day), future in zip(items, futures):
            try:
                out.append(future.result())
            except BrokenProcessPool:
                log.warning("an analysis worker process died; starting new ones")
                self.reset()
                out.append(_analyse_safely(raw, self.routing, day))
        return out

    def reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_watch_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _watch_parent(parent_pid: int) -> None:
    """In a worker: exit when the main process is gone (e.g. SIGKILLed), never linger.

    A killed parent stays a zombie until reaped, and a zombie still answers kill(pid, 0),
    so its state is read from /proc where there is one.
    """

    def alive() -> bool:
        try:
            with open(f"/proc/{parent_pid}/stat", "rb") as fh:
                return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
        except FileNotFoundError:
            return False
        except OSError:
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                pass
            return True

    def watch() -> None:
        while alive():
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _analyse_safely(raw: bytes, routing: Routing, day: dt.date) -> Analysis:
    """Never lose a message to a reader bug: record it as unassigned with the error."""
    try:
        analysis = analyse_message(raw, routing, day)
    except Exception as exc:  # noqa: BLE001 - the boundary that keeps the message
        log.exception("analysis failed for a message of %d bytes", len(raw))
        from parsers.message import parse_message

        try:
            parsed = parse_message(raw)
        except Exception:  # noqa: BLE001
            parsed = None
        from parsers.model import ParsedMessage

        parsed = parsed or ParsedMessage(None, None, None, "", None, None, (), "")
        return Analysis(
            sha256=content_hash(raw),
            size=len(raw),
            parsed=replace(parsed, attachments=()),
            kind=UNASSIGNED,
            unit_code=None,
            reason="analysis_failed",
            reason_detail=type(exc).__name__,
            attachments=(),
            values={},
            problems=(Problem("analysis_failed", {"detail": type(exc).__name__}),),
            readable=False,
            as_of=None,
            unit_text=None,
        )
    # The attachment bytes are in the archive; don't carry them back from a worker.
    return replace(analysis, parsed=replace(analysis.parsed, attachments=()))
