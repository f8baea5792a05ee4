"""Reading messages on both cores: `Analyser` runs `analyse_message` for a batch in worker
processes (in-process when the batch is small and needs no recognition), and never loses a
message to a reader bug.

The poll reads messages with recognition left for later (`submit(..., recognise=False)`):
a scan or photo is then recognised by `recognise`, in the recognition pool, while the
poll, the digest and the reminders go on (service/ingest/pipeline.py, `recognise_pending`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from parsers.model import ParsedMessage, Problem
from service.ingest.analysis import Analysis, Routing, analyse_message, analyse_parsed
from service.ingest.archive import content_hash
from storage.kinds import UNASSIGNED

log = logging.getLogger(__name__)

# Below this many messages a batch is analysed in-process: starting workers costs more.
# A message that may need recognition (a scan or photo: seconds, not milliseconds) is
# read in full in a worker process even alone; the poll reads it without recognition
# (milliseconds) and leaves the rest to that worker, so a scan never holds the poll, the
# IDLE thread or the digest job.
PARALLEL_MIN_BATCH = 8
# At most this many messages are handed to a worker as one task (`Analyser.submit`).
CHUNK = 8
MAX_WORKERS = 4
# One process recognises scans and photos (the scan pool's, also a reader): it keeps its
# Tesseract engines and peaks at 230-320 MiB on a scan or photo (docs/benchmarks.md).

# What every worker needs, imported once by the fork server the workers start from (its
# children share it) instead of by each worker: about 0.9 s of CPU a worker, as much as
# reading a hundred messages. Not OpenCV and Tesseract: only the recognition worker
# imports those.
PRELOAD = (
    "service.ingest.workers",
    "parsers.authresults",
    "parsers.body",
    "parsers.message",
    "parsers.report",
    "parsers.readers.csv",
    "parsers.readers.docx",
    "parsers.readers.html",
    "parsers.readers.pdf",
    "parsers.readers.xls",
    "parsers.readers.xlsx",
    # the libraries the readers import when they first read such a file
    "docx",
    "python_calamine",
    "xlrd",
)

# An attachment that may need recognition, told from the raw message without parsing it:
# a PDF or image by its type or name, a TNEF winmail.dat (it may hold one), or a base64
# body line that starts a PDF (%PDF-), JPEG, PNG or TIFF whatever the part is called.
# Searched in the message lower-cased (ASCII letters only: as ignoring their case), a
# line's start as the line end before it: each pattern then begins with a literal the
# search skips to, ~8x faster than one case-blind pattern tried at every byte.
_LINE_HINT = (
    rb"content-type:[ \t]*(?:image/|application/(?:pdf|x-pdf|ms-tnef|vnd\.ms-tnef))"
    rb"|(?:jvberi0|/9j/|ivborw0kggo|sukqa|tu0ak)"
)
_HINT_FIRST_LINE = re.compile(_LINE_HINT)
_HINT_LINE = re.compile(rb"\n(?:" + _LINE_HINT + rb")")
_HINT_NAME = re.compile(rb"name\*?=[^;\r\n]*\.(?:pdf|jpe?g|png|tiff?|bmp|gif|webp|heic|dat)\b")


def may_need_recognition(raw: bytes) -> bool:
    """Whether a message may carry a scan or photo (a PDF or image attachment): cheap,
    and erring towards yes (a text PDF or an inline logo only costs a trip to a worker)."""
    low = raw.lower()
    return bool(_HINT_FIRST_LINE.match(low) or _HINT_LINE.search(low) or _HINT_NAME.search(low))


class Analyser:
    """Runs `analyse_message` for a batch, on both cores when the batch is big enough.

    Of the `workers` reading processes, one (the scan pool's) is also the only one that
    recognises scans and photos: it alone imports OpenCV and Tesseract (when it gets its
    first scan) and holds their engines and page images; the others stay small. It reads
    its share of a big batch's messages while it has no recognition to do, so a scan
    never waits behind the poll's messages nor the poll behind a scan, with one process
    fewer (~70 MB of RSS) than a separate recognition worker.
    """

    def __init__(self, routing: Routing, workers: int | None = None) -> None:
        self.routing = routing
        # The workers get the routing once, when they start (`_start_worker`), and each
        # message only this token: pickling 2,000 units is ~200 KiB and 20 ms a message.
        self._token = next(_tokens)
        _routings[self._token] = routing  # (a pool of threads standing in for one reads it here)
        weakref.finalize(self, _routings.pop, self._token, None)
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, MAX_WORKERS)
        self._pool: ProcessPoolExecutor | None = None  # spreadsheets and bodies of big batches
        self._scan_pool: ProcessPoolExecutor | None = None  # messages that may need recognition
        self._warmed: ProcessPoolExecutor | None = None  # the scan pool told to load OpenCV (`warm_recognition`)
        self._pools = threading.Lock()  # the poll and the recognition job share the pools
        self._recognising = 0  # recognitions handed to the scan pool and not finished
        self._tasks = itertools.count()  # the chunks of big batches, in order (`_reader_for`)

    def submit(self, items: Sequence[tuple[bytes, dt.date]], *, recognise: bool = True) -> list[Future[Analysis]]:
        """Start analysing `items`; the futures complete in the workers (or already here).

        A message that may need recognition (`may_need_recognition`) goes to the
        recognition pool even alone; the others of a big batch to the other workers,
        those of a small one are analysed here (after the workers were given theirs).
        With `recognise` False no message needs recognition: its scans and photos are
        left for `recognise` (`Analysis.pending`)."""
        if self.workers < 1:
            return [self._done(raw, day, recognise) for raw, day in items]
        big = self.workers > 1 and len(items) >= PARALLEL_MIN_BATCH
        futures: list[Future[Analysis] | None] = []
        shared: list[int] = []  # the positions of the messages for the other workers
        for i, (raw, day) in enumerate(items):
            heavy = recognise and may_need_recognition(raw)
            futures.append(self._in_worker(heavy, raw, day, recognise) if heavy else None)
            if big and not heavy:
                shared.append(i)
        # A few messages a task: each task costs a trip through the pool's queues both
        # ways (a fraction of a millisecond of the main process), a message 5-10 ms.
        size = max(1, min(CHUNK, -(-len(shared) // (2 * self.workers))))
        for first in range(0, len(shared), size):
            chunk = shared[first : first + size]
            for i, f in zip(chunk, self._chunk_in_worker([items[i] for i in chunk], recognise, self._reader_for())):
                futures[i] = f
        return [f if f is not None else self._done(raw, day, recognise) for f, (raw, day) in zip(futures, items)]

    def recognise(
        self, items: Sequence[tuple[bytes, dt.date]], first: Sequence[Analysis | None] = ()
    ) -> list[Future[Analysis]]:
        """Start the full reading of `items` (scans and photos recognised) in the
        recognition pool, whatever their size (`results` collects them). An item's
        `first` reading (without recognition, its parsed attachments kept: `pending`)
        spares the worker parsing the message again: only it is sent, not the bytes."""
        firsts = list(first) + [None] * (len(items) - len(first))
        if self.workers < 1:
            return [self._done(raw, day, True) for raw, day in items]
        return [self._in_worker(True, raw, day, True, f) for (raw, day), f in zip(items, firsts)]

    def warm(self) -> None:
        """Start the workers now (the first start waits for the fork server to import what
        they need, about a second): called where a big batch will follow, in a thread of
        its own, so the poll fetches the first batch meanwhile."""
        if self.workers < 2:
            return
        try:
            pool = self._get_pool(False)
            for _ in range(self.workers - 1):
                pool.submit(_warm_up)
            self._get_pool(True).submit(_warm_up)  # (it reads too)
        except (BrokenProcessPool, RuntimeError):  # closed meanwhile, or a worker died: the poll starts new ones
            pass

    @property
    def recognition_started(self) -> bool:
        """Whether the recognition worker runs and was told to load OpenCV and Tesseract."""
        pool = self._scan_pool
        return pool is not None and pool is self._warmed

    def warm_recognition(self) -> None:
        """Start the recognition worker now (or have the running one, which may have
        read spreadsheets only, load its libraries), so it has loaded them by the time
        the poll hands it a scan (`recognise`)."""
        if self.workers >= 1 and not self.recognition_started:
            pool = self._get_pool(True)
            pool.submit(_load_recognition)
            self._warmed = pool

    def _in_worker(
        self, scan: bool, raw: bytes, day: dt.date, recognise: bool = True, first: Analysis | None = None
    ) -> Future[Analysis]:
        args = (self._token, raw if first is None else b"", day, recognise, first)
        try:
            future = self._get_pool(scan).submit(_analyse_in_worker, *args)
        except BrokenProcessPool:
            self._reset(scan)  # a worker was killed earlier: start new ones
            future = self._get_pool(scan).submit(_analyse_in_worker, *args)
        if scan:  # the scan pool reads no share of a batch until it is done
            with self._pools:
                self._recognising += 1
            future.add_done_callback(self._recognised)
        return future

    def _recognised(self, _: Future[Analysis]) -> None:
        with self._pools:
            self._recognising -= 1

    def _reader_for(self) -> bool:
        """Whether the next chunk of a big batch goes to the scan pool (one chunk in
        `workers`, while it has no recognition to do) rather than to the other workers."""
        turn = next(self._tasks) % self.workers == 0
        with self._pools:
            return turn and self._recognising == 0

    def _chunk_in_worker(
        self, items: list[tuple[bytes, dt.date]], recognise: bool, scan: bool = False
    ) -> list[Future[Analysis]]:
        """`items` analysed in one task of the workers (`scan`: of the scan pool's); a
        future for each."""
        try:
            whole = self._get_pool(scan).submit(_analyse_chunk_in_worker, self._token, items, recognise)
        except BrokenProcessPool:
            self._reset(scan)  # a worker was killed earlier: start new ones
            whole = self._get_pool(scan).submit(_analyse_chunk_in_worker, self._token, items, recognise)
        parts: list[Future[Analysis]] = [Future() for _ in items]

        def split(done: Future[list[Analysis]]) -> None:
            if done.cancelled():
                for part in parts:
                    part.cancel()
                    part.set_running_or_notify_cancel()
                return
            exc = done.exception()
            if exc is not None:  # a worker died: `results` analyses each again
                for part in parts:
                    part.set_exception(exc)
                return
            for part, analysis in zip(parts, done.result()):
                part.set_result(analysis)

        whole.add_done_callback(split)
        return parts

    def _done(self, raw: bytes, day: dt.date, recognise: bool = True) -> Future[Analysis]:
        f: Future[Analysis] = Future()
        f.set_result(_analyse_safely(raw, self.routing, day, recognise))
        return f

    def analyse(self, items: Sequence[tuple[bytes, dt.date]], *, recognise: bool = True) -> list[Analysis]:
        return self.results(items, self.submit(items, recognise=recognise), recognise=recognise)

    def results(
        self,
        items: Sequence[tuple[bytes, dt.date]],
        futures: Sequence[Future[Analysis]],
        *,
        recognise: bool = True,
    ) -> list[Analysis]:
        """The analyses of `items` (submitted with this `recognise`); when a worker died
        (OOM killer, a stray signal) the pool is replaced and the lost ones are analysed
        again, so ingestion goes on: here, or for a message that may need recognition in a
        new worker, and if that one dies too the message is kept as unassigned
        (`analysis_failed`)."""
        out = []
        for (raw, day), future in zip(items, futures):
            try:
                out.append(future.result())
            except BrokenProcessPool:
                log.warning("an analysis worker process died; starting new ones")
                heavy = recognise and may_need_recognition(raw)
                self._reset_broken()  # (a chunk of a batch may have been the scan pool's)
                self._reset(heavy)
                out.append(
                    self._again_in_worker(raw, day) if heavy else _analyse_safely(raw, self.routing, day, recognise)
                )
        return out

    def _again_in_worker(self, raw: bytes, day: dt.date) -> Analysis:
        try:
            return self._in_worker(True, raw, day).result()
        except BrokenProcessPool:
            log.error("an analysis worker died twice on a message of %d bytes; kept unanalysed", len(raw))
            self._reset(True)
            return failed_analysis(raw, "worker_died")

    def reset(self) -> None:
        self._reset(False)
        self._reset(True)

    def _reset_broken(self) -> None:
        """Replace the pools a dead worker broke."""
        for scan, pool in ((False, self._pool), (True, self._scan_pool)):
            if pool is not None and getattr(pool, "_broken", False):
                self._reset(scan)

    def _reset(self, scan: bool) -> None:
        with self._pools:
            if scan:
                pool, self._scan_pool = self._scan_pool, None
            else:
                pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _get_pool(self, scan: bool = False) -> ProcessPoolExecutor:
        import multiprocessing

        def start(count: int) -> ProcessPoolExecutor:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(PRELOAD))  # (before the fork server starts)
            return ProcessPoolExecutor(
                count,
                mp_context=context,
                initializer=_start_worker,
                initargs=(os.getpid(), self._token, self.routing),
            )

        with self._pools:
            if scan:
                if self._scan_pool is None:
                    self._scan_pool = start(1)
                return self._scan_pool
            if self._pool is None:  # the scan pool's worker is the last of `workers`
                self._pool = start(max(1, self.workers - 1))
            return self._pool

    def retire_recognition(self) -> None:
        """Let the recognition worker end once the work it was given is done (nothing is
        cancelled): the next scan or photo (or big batch: it reads too) starts a new one.
        Between the daemon's scans its engines, page buffers and imports (130-200 MiB) go
        back to the system."""
        with self._pools:
            pool, self._scan_pool = self._scan_pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def close(self) -> None:
        with self._pools:
            pools, self._pool, self._scan_pool = (self._pool, self._scan_pool), None, None
        for pool in pools:
            if pool is not None:
                pool.shutdown(cancel_futures=True)


_libc: object = None
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters
_M_ARENA_MAX = -8
# A block this big or bigger (a message's bytes, their pickled copy for a worker, a
# worker's answer) is mapped on its own and given back to the system when freed.
MMAP_THRESHOLD = 128 * 1024
ARENAS = 2


def _c_library() -> object:
    global _libc
    if _libc is None:
        import ctypes
        import ctypes.util

        try:
            name = ctypes.util.find_library("c")
            lib = ctypes.CDLL(name) if name else None
            _libc = lib if lib is not None and hasattr(lib, "malloc_trim") else False
        except OSError:
            _libc = False
    return _libc


def release_memory() -> None:
    """Give the C allocator's free pages back to the system: glibc keeps what a batch of
    messages freed in its pools (and each thread's arena), so a long poll's main process
    would otherwise stay at its highest. A few milliseconds; nothing without glibc."""
    if lib := _c_library():
        lib.malloc_trim(0)  # type: ignore[attr-defined]


def limit_allocator() -> None:
    """In the polling process: messages' bytes never kept in the C allocator's pools.

    glibc maps a block of 128 KiB or more on its own, but after freeing one it raises
    that threshold to the block's size (up to 32 MiB), so the next messages' bytes (tens
    to hundreds of KiB, a batch at a time, and their pickled copies for the workers) are
    served from its pools, where what a batch frees stays, fragmented between smaller
    blocks that live on. A fixed threshold keeps them mapped apart; at most two arenas
    (the pools' threads would otherwise each get one to fragment). Nothing without glibc."""
    if lib := _c_library():
        lib.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)  # type: ignore[attr-defined]
        lib.mallopt(_M_ARENA_MAX, ARENAS)  # type: ignore[attr-defined]


# Token -> routing: here, each Analyser's; in a worker, the one its pool was started with.
_routings: dict[int, Routing] = {}
_tokens = itertools.count(1)


def _start_worker(parent_pid: int, token: int, routing: Routing) -> None:
    """In a new worker: `_watch_parent`; the routing kept for every message it analyses.
    The one that may recognise scans (the scan pool's) loads what that needs only when told
    to (`_load_recognition`): until then it reads spreadsheets like the others, and a poll
    with no scan or photo never imports OpenCV (0.15 s of CPU, ~37 MB)."""
    _watch_parent(parent_pid)
    _routings[token] = routing


_recognition_loaded = False


def _load_recognition() -> None:
    """In the recognition worker, before its first scan (`warm_recognition`, or the first
    message it is to recognise): OpenCV imported and kept to one thread, and page arrays
    given back to the system as soon as they are freed (parsers.ocr.pages)."""
    global _recognition_loaded
    if not _recognition_loaded:
        from parsers.ocr.pages import tune_allocator, use_one_thread

        tune_allocator()
        use_one_thread()
        _recognition_loaded = True


def _analyse_in_worker(
    token: int, raw: bytes, day: dt.date, recognise: bool, first: Analysis | None = None
) -> Analysis:
    if recognise:
        _load_recognition()
    return _analyse_safely(raw, _routings[token], day, recognise, first)


def _analyse_chunk_in_worker(token: int, items: list[tuple[bytes, dt.date]], recognise: bool) -> list[Analysis]:
    routing = _routings[token]
    return [_analyse_safely(raw, routing, day, recognise) for raw, day in items]


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


def _warm_up() -> None:
    """In a new worker: nothing; it starts (the fork server has imported the readers)."""


def _analyse_safely(
    raw: bytes, routing: Routing, day: dt.date, recognise: bool = True, first: Analysis | None = None
) -> Analysis:
    """Never lose a message to a reader bug: record it as unassigned with the error.
    With `first` (a reading of the message left awaiting recognition, its attachments
    kept), the message is read again from it, not parsed again from `raw`."""
    try:
        if first is not None:
            analysis = analyse_parsed(
                first.parsed, first.sha256, first.size, routing, day, recognise, first.attachments
            )
        else:
            analysis = analyse_message(raw, routing, day, recognise)
    except Exception as exc:  # noqa: BLE001 - the boundary that keeps the message
        log.exception("analysis failed for a message of %d bytes", first.size if first else len(raw))
        if first is not None:
            return _failed(first.sha256, first.size, first.parsed, type(exc).__name__)
        return failed_analysis(raw, type(exc).__name__)
    # The attachment bytes are in the archive; don't carry them back from a worker, but
    # for a message awaiting recognition (a few a poll): its recognition starts from them.
    if not analysis.pending:
        analysis = replace(analysis, parsed=replace(analysis.parsed, attachments=()))
    analysis.identity  # noqa: B018 - computed here, in a worker, and sent with the analysis
    return analysis


def failed_analysis(raw: bytes, detail: str) -> Analysis:
    """The message kept as unassigned with `analysis_failed` and `detail` (nothing read)."""
    from parsers.message import parse_message

    try:
        parsed = parse_message(raw)
    except Exception:  # noqa: BLE001
        parsed = None
    parsed = parsed or ParsedMessage(None, None, None, "", None, None, (), "")
    return _failed(content_hash(raw), len(raw), parsed, detail)


def _failed(sha: str, size: int, parsed: ParsedMessage, detail: str) -> Analysis:
    return Analysis(
        sha256=sha,
        size=size,
        parsed=replace(parsed, attachments=()),
        kind=UNASSIGNED,
        unit_code=None,
        reason="analysis_failed",
        reason_detail=detail,
        attachments=(),
        values={},
        problems=(Problem("analysis_failed", {"detail": detail}),),
        readable=False,
        as_of=None,
        unit_text=None,
    )
