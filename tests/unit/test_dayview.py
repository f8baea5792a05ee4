"""Status semantics for one unit on one day (pure: transient rows, no database)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from service.config import UnitConfig
from service.dayview import decreases, number, sum_values, unit_status
from storage.models import Figure, Message, ProblemRow

TZ7 = dt.timezone(dt.timedelta(hours=7))
DAY = dt.date(2021, 8, 12)
DEADLINE = dt.datetime(2021, 8, 12, 15, 0, tzinfo=TZ7)
UNIT = UnitConfig(code="SONG_CAU", name="UBND phường Sông Cầu")


def msg(hh, mm, ss=0, day=DAY, readable=True, figures=None, problems=()):
    m = Message(kind="report", unit_code=UNIT.code, readable=readable, report_day=day,
                received_at=dt.datetime.combine(day, dt.time(hh, mm, ss), tzinfo=TZ7), subject="s")
    m.figures = [Figure(indicator=i, measure=k, value=Decimal(v)) for (i, k), v in (figures or {}).items()]
    m.problems = [ProblemRow(code=c, params={}) for c in problems]
    return m


def test_at_the_deadline_is_on_time_and_a_second_later_is_late():
    on = msg(15, 0, 0, figures={("a", "x"): 1})
    assert unit_status(UNIT, DAY, True, DEADLINE, (on,), on, None).status == "on_time"
    late = msg(15, 0, 1, figures={("a", "x"): 1})
    assert unit_status(UNIT, DAY, True, DEADLINE, (late,), late, None).status == "late"


def test_unreadable_when_only_unreadable_messages():
    bad = msg(9, 0, readable=False, problems=["no_attachment"])
    u = unit_status(UNIT, DAY, True, DEADLINE, (bad,), None, None)
    assert u.status == "unreadable" and u.message is bad and [p.code for p in u.problems] == ["no_attachment"]


def test_missing_keeps_latest_figures_for_totals_as_stale():
    old = msg(9, 0, day=DAY - dt.timedelta(days=1), figures={("a", "x"): 5})
    u = unit_status(UNIT, DAY, True, DEADLINE, (), old, None)
    assert u.status == "missing" and u.values == {} and u.stale
    assert u.latest_values == {"a": {"x": Decimal(5)}}


def test_not_a_reporting_day():
    assert unit_status(UNIT, DAY, False, DEADLINE, (), None, None).status == "not_expected"


def test_cumulative_decrease_is_flagged_and_figures_kept():
    prev = msg(9, 0, day=DAY - dt.timedelta(days=1), figures={("ngung_viec", "phe_duyet"): 52})
    now = msg(10, 0, figures={("ngung_viec", "phe_duyet"): 50})
    u = unit_status(UNIT, DAY, True, DEADLINE, (now,), now, prev)
    assert u.values == {"ngung_viec": {"phe_duyet": Decimal(50)}}
    [p] = u.problems
    assert p.code == "cumulative_decrease" and p.params["previous"] == "52" and p.params["current"] == "50"


def test_decreases_ignores_new_and_equal_cells():
    assert decreases({"a": {"x": Decimal(3), "y": Decimal(1)}}, {"a": {"x": Decimal(3)}}, None) == []


def test_sum_and_number():
    total = sum_values([{"a": {"x": Decimal("1.5")}}, {"a": {"x": Decimal("2.5"), "y": Decimal(1)}}])
    assert total == {"a": {"x": Decimal(4), "y": Decimal(1)}}
    assert number(Decimal("4.0")) == 4 and isinstance(number(Decimal("4.0")), int)
    assert number(Decimal("3.71")) == 3.71
