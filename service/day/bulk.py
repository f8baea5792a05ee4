"""Building a day in bulk without the cyclic garbage collector.

A province's day is hundreds of thousands of live objects (figures, records, workbook
cells) made in one go, none of them garbage; each full collection the allocations
trigger walks them all again, which measured at about half of the digest's time. The
collector is paused while a day view or one of its renderings is built, and resumed
(as it was) afterwards; garbage in cycles made meanwhile waits for the next collection.

A command-line process that ends once its command is done (`service.cli.run`) goes
further: the collector stays off, and what `kept` is given (a day view, the digest's
model, a JSON document) is never freed object by object: the process exits without it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

# What `kept` was given, when the process exits without freeing it (None: it does not).
_until_exit: list[object] | None = None


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


def keep_until_exit() -> None:
    """This process ends when its command is done, by `os._exit` (service.cli.run): the
    cyclic collector is turned off for good, and from now on `kept` keeps what it is given
    for the exit to drop. Freeing a province's day one object at a time costs about a
    tenth of a second of a 1-second command; cycles left uncollected die with the process."""
    global _until_exit
    gc.disable()
    if _until_exit is None:
        _until_exit = []


def kept(obj: T) -> T:
    """`obj`, kept alive until the process exits when `keep_until_exit` was called."""
    if _until_exit is not None:
        _until_exit.append(obj)
    return obj


def keeping() -> bool:
    """Whether `keep_until_exit` was called (the process leaves by `os._exit`)."""
    return _until_exit is not None
