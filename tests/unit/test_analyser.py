"""The worker pool survives a worker being killed (OOM killer, a stray signal)."""

from __future__ import annotations

import datetime as dt
import os
import signal

from service.config import load_config
from service.ingest.pipeline import Analyser, routing_for
from tests.mailbuilders import EXAMPLE_CONFIG, simple_report


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
