"""The worker pool survives a worker being killed (OOM killer, a stray signal); a message
that needs recognition is analysed in a worker process even alone; a recognised file that
comes again is not recognised again."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import threading

from PIL import Image

from service.config import load_config
from service.ingest.pipeline import Analyser, routing_for
from storage.kinds import UNASSIGNED
from tests.mailbuilders import EXAMPLE_CONFIG, email_bytes, simple_report


def test_killed_worker_is_replaced_and_nothing_is_lost():
    cfg = load_config(EXAMPLE_CONFIG, require_secrets=False)
    analyser = Analyser(routing_for(cfg), workers=2)
    items = [(simple_report(de_nghi=i), dt.date(2021, 8, 11)) for i in range(10)]
    try:
        assert len(analyser.analyse(items)) == 10  # the pool is up
        for pid in list(analyser._pool._processes):
            os.kill(pid, signal.SIGKILL)
        futures = analyser.submit(items)
        results = analyser.results(items, futures)
        assert [r.values["dao_tao"]["de_nghi"] for r in results] == list(range(10))
        again = analyser.analyse(items)  # and the next batch runs on new workers
        assert len(again) == 10 and analyser._pool is not None
    finally:
        analyser.close()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(buf, "PNG")
    return buf.getvalue()


def test_a_single_scanned_message_is_analysed_in_a_worker_process(monkeypatch):
    from service.ingest import workers

    def here(*args, **kwargs):
        raise RuntimeError("analysed in the polling process")

    # the polling process cannot analyse (its analyse_message raises); a worker can
    monkeypatch.setattr(workers, "analyse_message", here)
    cfg = load_config(EXAMPLE_CONFIG, require_secrets=False)
    analyser = Analyser(routing_for(cfg), workers=2)
    day = dt.date(2021, 8, 11)
    # a photo without a telling name or type: known by its content
    photo = email_bytes(attachments=[("bao-cao", "application/octet-stream", _png())])
    plain = simple_report()
    assert workers.may_need_recognition(photo) and not workers.may_need_recognition(plain)
    try:
        [scanned] = analyser.analyse([(photo, day)])
        assert scanned.reason != "analysis_failed"
        assert [a.result.source for a in scanned.attachments] == ["photo"]
        # its worker killed (the OOM killer): the next one is analysed in a new worker
        for pid in list(analyser._scan_pool._processes):
            os.kill(pid, signal.SIGKILL)
        [again] = analyser.analyse([(photo, day)])
        assert again.reason != "analysis_failed" and again.attachments[0].result.source == "photo"
        # a message with a spreadsheet alone stays in-process (here it fails, and is kept)
        [quick] = analyser.analyse([(plain, day)])
        assert quick.kind == UNASSIGNED and quick.reason == "analysis_failed"
    finally:
        analyser.close()


def _count_reads(monkeypatch) -> list[str]:
    """The names of the files parsers.report.read_attachment reads from now on."""
    import parsers.report

    calls: list[str] = []
    real = parsers.report.read_attachment

    def counted(filename, *args, **kwargs):
        calls.append(filename)
        return real(filename, *args, **kwargs)

    monkeypatch.setattr(parsers.report, "read_attachment", counted)
    return calls


def test_a_photo_that_comes_again_is_recognised_once(monkeypatch):
    from service.ingest import analysis
    from service.ingest.analysis import analyse_message

    monkeypatch.setattr(analysis, "_recognised", {})
    calls = _count_reads(monkeypatch)
    routing = routing_for(load_config(EXAMPLE_CONFIG, require_secrets=False))
    day = dt.date(2021, 8, 11)
    photo = _png()
    first = analyse_message(email_bytes(attachments=[("anh-1.png", "image/png", photo)]), routing, day)
    again = analyse_message(email_bytes(attachments=[("anh-1.png", "image/png", photo)]), routing, day)
    other = analyse_message(email_bytes(attachments=[("anh-2.png", "image/png", photo)]), routing, day)
    assert calls == ["anh-1.png", "anh-2.png"]  # the second copy's reading is the first one's
    assert first.attachments[0].result == again.attachments[0].result
    assert first.attachments[0].result.source == "photo" and other.attachments[0].result.filename == "anh-2.png"


def test_a_recognition_started_from_the_first_reading_is_the_full_reading():
    from service.ingest.workers import _analyse_safely

    routing = routing_for(load_config(EXAMPLE_CONFIG, require_secrets=False))
    day = dt.date(2021, 8, 11)
    raw = email_bytes(attachments=[("anh-1.png", "image/png", _png())])
    first = _analyse_safely(raw, routing, day, recognise=False)
    assert first.pending == ("anh-1.png",) and first.parsed.attachments  # kept for the recognition
    full = _analyse_safely(raw, routing, day, recognise=True)
    assert not full.parsed.attachments  # a finished reading carries no bytes back
    assert _analyse_safely(b"", routing, day, True, first) == full
    analyser = Analyser(routing, workers=1)
    try:  # in the recognition worker, sent the first reading instead of the bytes
        [future] = analyser.recognise([(raw, day)], [first])
        assert analyser.results([(raw, day)], [future]) == [full]
    finally:
        analyser.close()


def test_the_recognition_reads_again_only_what_the_first_reading_left(monkeypatch):
    """A spreadsheet beside a photo: the full reading started from the first one reads the
    photo alone, and is the reading of the whole message."""
    from service.ingest import analysis
    from service.ingest.workers import _analyse_safely
    from tests.mailbuilders import XLSX, report_workbook

    monkeypatch.setattr(analysis, "_recognised", {})
    routing = routing_for(load_config(EXAMPLE_CONFIG, require_secrets=False))
    day = dt.date(2021, 8, 11)
    book = report_workbook({"Hỗ trợ đào tạo": {"Số đối tượng đề nghị hỗ trợ": 46}})
    raw = email_bytes(attachments=[("bao-cao.xlsx", XLSX, book), ("anh-1.png", "image/png", _png())])
    first = _analyse_safely(raw, routing, day, recognise=False)
    assert first.pending == ("anh-1.png",) and first.attachments[0].result.outcome == "read"
    full = _analyse_safely(raw, routing, day, recognise=True)
    monkeypatch.setattr(analysis, "_recognised", {})
    calls = _count_reads(monkeypatch)
    assert _analyse_safely(b"", routing, day, True, first) == full
    assert calls == ["anh-1.png"]


def test_the_recognising_worker_is_one_of_the_two_readers(monkeypatch):
    """Two reading processes, no third one for recognition: the scan pool's worker reads
    its share of a big batch, but none while it has a scan to recognise (the poll must
    never wait behind a scan)."""
    cfg = load_config(EXAMPLE_CONFIG, require_secrets=False)
    analyser = Analyser(routing_for(cfg), workers=2)
    day = dt.date(2021, 8, 11)
    items = [(simple_report(de_nghi=i), day) for i in range(16)]
    sent_to_scan_pool: list[bool] = []
    real = analyser._chunk_in_worker

    def spy(chunk, recognise, scan=False):
        sent_to_scan_pool.append(scan)
        return real(chunk, recognise, scan)

    monkeypatch.setattr(analyser, "_chunk_in_worker", spy)
    try:
        results = analyser.analyse(items, recognise=False)
        assert [r.values["dao_tao"]["de_nghi"] for r in results] == list(range(16))
        assert True in sent_to_scan_pool and False in sent_to_scan_pool
        assert analyser._pool is not None and analyser._scan_pool is not None
        assert len(analyser._pool._processes) + len(analyser._scan_pool._processes) == 2
        # a photo being recognised: the next batch goes to the other worker only
        raw = email_bytes(attachments=[("anh-1.png", "image/png", _png())])
        finished = analyser._recognised
        held: list = []  # its end told to the analyser only when this test says
        told = threading.Event()

        def hold(f):
            held.append(f)
            told.set()

        monkeypatch.setattr(analyser, "_recognised", hold)
        [future] = analyser.recognise([(raw, day)])
        sent_to_scan_pool.clear()
        analyser.submit(items, recognise=False)
        assert sent_to_scan_pool and not any(sent_to_scan_pool)
        [photo] = analyser.results([(raw, day)], [future])
        assert photo.attachments[0].result.source == "photo"
        assert told.wait(30)  # (the callback runs in the pool's thread, just after the result)
        for f in held:
            finished(f)
        assert analyser._recognising == 0
        sent_to_scan_pool.clear()
        analyser.submit(items, recognise=False)
        assert any(sent_to_scan_pool)  # done: it reads again
    finally:
        analyser.close()


def _opencv_loaded() -> bool:
    """OpenCV imported in this worker, and then on one thread (the other core reads)."""
    import sys

    if "cv2" not in sys.modules:
        return False
    assert sys.modules["cv2"].getNumThreads() == 1
    return True


def test_the_recognising_worker_loads_opencv_only_for_a_scan():
    """A batch of spreadsheets read in part by the scan pool's worker does not make it
    import OpenCV; a scan or `warm_recognition` does, once."""
    cfg = load_config(EXAMPLE_CONFIG, require_secrets=False)
    analyser = Analyser(routing_for(cfg), workers=2)
    day = dt.date(2021, 8, 11)
    items = [(simple_report(de_nghi=i), day) for i in range(16)]
    try:
        analyser.analyse(items, recognise=False)
        assert analyser._scan_pool is not None and not analyser.recognition_started
        assert not analyser._scan_pool.submit(_opencv_loaded).result()
        analyser.warm_recognition()
        assert analyser.recognition_started
        assert analyser._scan_pool.submit(_opencv_loaded).result()
        analyser.retire_recognition()
        assert not analyser.recognition_started
        # a new worker, started to read, loads it for its first scan
        analyser.analyse(items, recognise=False)
        assert not analyser._scan_pool.submit(_opencv_loaded).result()
        raw = email_bytes(attachments=[("anh-1.png", "image/png", _png())])
        [photo] = analyser.analyse([(raw, day)])
        assert photo.attachments[0].result.source == "photo"
        assert analyser._scan_pool.submit(_opencv_loaded).result()
    finally:
        analyser.close()


def test_a_message_that_may_carry_a_scan_is_told_whatever_the_case_and_line():
    from service.ingest.workers import may_need_recognition

    may = [
        b"Content-Type: IMAGE/png\r\n\r\nx",  # the first line
        b"Subject: a\r\ncontent-TYPE:\t application/PDF\r\n\r\n",
        b"Subject: a\nContent-Type: application/vnd.ms-tnef\n\n",
        b'Content-Disposition: attachment; filename="Bao Cao.PDF"\r\n',
        b"Content-Disposition: attachment; filename*=utf-8''anh.jpeg\r\n",
        b"JVBERi0xLjQK",  # a PDF's base64 at the start
        b"\r\n\r\n/9j/4AAQSkZJRg==\r\n",  # a JPEG's on a line of its own
        b"\niVBORw0KGgoAAAA\n",
    ]
    never = [
        b"Subject: Content-Type: image/png\r\n",  # not at a line's start
        b"Content-Type: text/plain; name=bao-cao.pdfx\r\n",
        b"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n",
        b"xJVBERi0xLjQK",
        b"",
    ]
    assert [may_need_recognition(m) for m in may] == [True] * len(may)
    assert [may_need_recognition(m) for m in never] == [False] * len(never)
