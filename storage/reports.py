"""The reads of several [[reports]] (issue 15): which reports messages carry, and each
report's figures of them. Rows stored for a config without [[reports]] carry none.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.days import CHUNK, Values
from storage.models import Figure, MessageReport


def reports_of(session: Session, message_ids: Collection[int]) -> dict[int, dict[str, bool]]:
    """The reports each message carries (code -> readable), for the messages that carry any."""
    ids = list(message_ids)
    out: dict[int, dict[str, bool]] = {}
    for first in range(0, len(ids), CHUNK):
        stmt = select(MessageReport.message_pk, MessageReport.report_code, MessageReport.readable).where(
            MessageReport.message_pk.in_(ids[first : first + CHUNK])
        )
        for pk, code, readable in session.execute(stmt).tuples():
            out.setdefault(pk, {})[code] = bool(readable)
    return out


def report_values(session: Session, message_ids: Collection[int], report_code: str) -> dict[int, Values]:
    """The figures of `report_code` in each message ("" for the config's one report)."""
    ids = list(message_ids)
    out: dict[int, Values] = {}
    for first in range(0, len(ids), CHUNK):
        stmt = select(Figure.message_pk, Figure.indicator, Figure.measure, Figure.value).where(
            Figure.message_pk.in_(ids[first : first + CHUNK]), Figure.report_code == report_code
        )
        for pk, ind, meas, value in session.execute(stmt).tuples():
            out.setdefault(pk, {}).setdefault(ind, {})[meas] = Decimal(value)
    return out
