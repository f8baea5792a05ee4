"""Building a day in bulk without the cyclic garbage collector.

A province's day is hundreds of thousands of live objects (figures, records, workbook
cells) made in one go, none of them garbage; each full collection the allocations
trigger walks them all again, which measured at about half of the digest's time. The
collector is paused while a day view or one of its renderings is built, and resumed
(as it was) afterwards; garbage in cycles made meanwhile waits for the next collection.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (nested blocks: the outer one resumes it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
