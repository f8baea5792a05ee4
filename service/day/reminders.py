"""Who is reminded, and on which days (PRODUCT.md, reminders): the rules; planning and
sending them is service/schedule/outbox.py."""

from __future__ import annotations

import datetime as dt

from service.config import Config, UnitConfig
from service.day.dayview import is_reporting_day


def reminder_addresses(unit: UnitConfig) -> tuple[str, ...]:
    """Where a unit's reminders go: `reminder_to`, else its exact (non-wildcard) senders."""
    if unit.reminder_to:
        return tuple(a.lower() for a in unit.reminder_to)
    return tuple(a for a in unit.senders if not a.startswith("*@"))


def reminders_expected(cfg: Config, day: dt.date) -> bool:
    """A reminding day: a reporting day inside the campaign (when it has dates)."""
    c = cfg.campaign
    return (
        is_reporting_day(cfg, day)
        and not (c.start_date and day < c.start_date)
        and not (c.end_date and day > c.end_date)
    )
