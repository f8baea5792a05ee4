"""Log lines: time stamps with their UTC offset in the service's time zone, plain or JSON."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys


class ZonedFormatter(logging.Formatter):
    """Log time stamps with their UTC offset, in the service's time zone once the config is
    read (`set_log_zone`; the machine's zone before): 2021-08-11 15:00:02.120+07:00.

    A container or a server usually runs in UTC while the schedule is in local time:
    without the offset an administrator cannot tell whether 08:00 is the 15:00 digest."""

    separator = " "

    def __init__(self, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.zone: dt.tzinfo | None = None  # None: the machine's zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        when = dt.datetime.fromtimestamp(record.created, dt.UTC).astimezone(self.zone)
        return when.isoformat(sep=self.separator, timespec="milliseconds")


class JsonFormatter(ZonedFormatter):
    """One JSON object per line, for log collectors (journald, Loki, ...)."""

    separator = "T"

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def setup_logging(command: str, *, debug: bool = False, verbose: bool = False, log_format: str = "plain") -> None:
    """Log lines on stderr: INFO for the commands that work (poll, run, ...), else WARNING."""
    level = (
        logging.DEBUG
        if debug
        else (logging.INFO if command in ("poll", "run", "import", "reprocess", "demo") or verbose else logging.WARNING)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else ZonedFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level, handlers=[handler])
    # Library chatter (migrations, scheduler bookkeeping) only when debugging.
    for noisy in ("alembic", "apscheduler.scheduler", "apscheduler.executors.default", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)


def set_log_zone(zone: dt.tzinfo) -> None:
    """From now on, log time stamps are in `zone` (the service's time zone)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, ZonedFormatter):
            handler.formatter.zone = zone
