"""Status semantics for one unit on one day (pure: transient rows, no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from parsers.model import FormSpec, IndicatorSpec, MeasureSpec
from service.config import UnitConfig
from service.day.dayview import day_view, decreases, number, on_time, sum_values, unit_status
from storage.models import Figure, Message, ProblemRow

TZ7 = dt.timezone(dt.timedelta(hours=7))
DAY = dt.date(2021, 8, 12)
DEADLINE = dt.datetime(2021, 8, 12, 15, 0, tzinfo=TZ7)
UNIT = UnitConfig(code="SONG_CAU", name="UBND phường Sông Cầu")


def msg(hh, mm, ss=0, day=DAY, readable=True, figures=None, problems=()):
    m = Message(
        kind="report",
        unit_code=UNIT.code,
        readable=readable,
        report_day=day,
        received_at=dt.datetime.combine(day, dt.time(hh, mm, ss), tzinfo=TZ7),
        subject="s",
    )
    m.figures = [Figure(indicator=i, measure=k, value=Decimal(v)) for (i, k), v in (figures or {}).items()]
    m.problems = [ProblemRow(code=c, params={}) for c in problems]
    return m


def test_on_time_is_decided_at_the_minute_the_deadline_is_given_in():
    # The deadline and the arrival are shown to the minute: 15:00:59 reads "15:00", on time.
    for on in (msg(15, 0, 0, figures={("a", "x"): 1}), msg(15, 0, 59, figures={("a", "x"): 1})):
        assert unit_status(UNIT, DAY, True, DEADLINE, (on,), on, None).status == "on_time"
    late = msg(15, 1, 0, figures={("a", "x"): 1})
    assert unit_status(UNIT, DAY, True, DEADLINE, (late,), late, None).status == "late"


def test_the_one_on_time_rule_at_the_precision_of_the_deadline():
    assert on_time(DEADLINE + dt.timedelta(seconds=59, microseconds=999_999), DEADLINE)
    assert not on_time(DEADLINE + dt.timedelta(minutes=1), DEADLINE)
    # the same instant in another zone is the same arrival
    assert on_time((DEADLINE + dt.timedelta(seconds=30)).astimezone(dt.UTC), DEADLINE)
    # a deadline given to the second is compared to the second
    exact = DEADLINE.replace(second=30)
    assert on_time(exact + dt.timedelta(microseconds=999_999), exact)
    assert not on_time(exact + dt.timedelta(seconds=1), exact)


def test_a_correction_after_the_deadline_keeps_an_on_time_unit_on_time():
    first = msg(10, 0, figures={("a", "x"): 1})
    correction = msg(16, 0, figures={("a", "x"): 2})
    u = unit_status(UNIT, DAY, True, DEADLINE, (first, correction), correction, None)
    assert u.status == "on_time"  # timeliness from the first readable report of the day
    assert u.message is correction and u.values == {"a": {"x": Decimal(2)}}  # figures from the latest
    assert u.first_received_at == first.received_at
    assert u.correction_at == correction.received_at


def test_a_correction_before_the_deadline_is_no_note():
    first, correction = msg(9, 0, figures={("a", "x"): 1}), msg(14, 59, 59, figures={("a", "x"): 2})
    u = unit_status(UNIT, DAY, True, DEADLINE, (first, correction), correction, None)
    assert u.status == "on_time" and u.correction_at is None


def test_timeliness_comes_from_the_first_readable_report_not_the_first_message():
    unreadable = msg(10, 0, readable=False, problems=["no_attachment"])
    readable = msg(16, 0, figures={("a", "x"): 2})
    u = unit_status(UNIT, DAY, True, DEADLINE, (unreadable, readable), readable, None)
    assert u.status == "late" and u.first_received_at == readable.received_at and u.correction_at is None
    # late, then corrected later still: late, with the correction noted
    again = msg(17, 30, figures={("a", "x"): 3})
    u = unit_status(UNIT, DAY, True, DEADLINE, (unreadable, readable, again), again, None)
    assert u.status == "late" and u.correction_at == again.received_at


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


# -- figures that fail a format check: in the unit's row, out of the totals ----------------------

FORM = FormSpec(
    measures=(
        MeasureSpec("de_nghi", "Số đối tượng đề nghị", kind="count"),
        MeasureSpec("phe_duyet", "Số đối tượng được phê duyệt", kind="count"),
    ),
    indicators=(IndicatorSpec("ngung_viec", "Hỗ trợ người lao động ngừng việc"),),
)
OTHER = UnitConfig(code="DUC_XUAN", name="UBND phường Đức Xuân")


def flagged(hh, figures, code, cell_params, unit=UNIT, day=DAY):
    m = msg(hh, 0, day=day, figures=figures)
    m.unit_code = unit.code
    m.problems = [ProblemRow(code=code, params={"file": "bc.xlsx", "cell": "C9", **cell_params})]
    return m


def view(*statuses):
    return day_view(DAY, True, DEADLINE, statuses, ())


@pytest.mark.parametrize("code, value", [("fractional_count", "1234.5"), ("negative_value", "-3")])
def test_a_figure_failing_a_format_check_stays_in_the_row_and_out_of_the_totals(code, value):
    bad = flagged(
        9,
        {("ngung_viec", "de_nghi"): value, ("ngung_viec", "phe_duyet"): 10},
        code,
        {"indicator_code": "ngung_viec", "measure_code": "de_nghi", "text": value},
    )
    good = msg(10, 0, figures={("ngung_viec", "de_nghi"): 7, ("ngung_viec", "phe_duyet"): 5})
    a = unit_status(UNIT, DAY, True, DEADLINE, (bad,), bad, None, form=FORM)
    b = unit_status(OTHER, DAY, True, DEADLINE, (good,), good, None, form=FORM)
    assert a.values["ngung_viec"]["de_nghi"] == Decimal(value)  # the unit's row keeps it
    assert [p.code for p in a.problems] == [code]  # flagged
    v = view(a, b)
    assert v.totals == {"ngung_viec": {"de_nghi": Decimal(7), "phe_duyet": Decimal(15)}}
    [x] = v.excluded
    assert (x.unit.code, x.indicator, x.measure, x.value, x.problem.code) == (
        UNIT.code,
        "ngung_viec",
        "de_nghi",
        Decimal(value),
        code,
    )


def test_a_check_between_measures_flags_and_still_counts():
    bad = flagged(
        9,
        {("ngung_viec", "de_nghi"): 5, ("ngung_viec", "phe_duyet"): 8},
        "check_failed",
        {"indicator": "Hỗ trợ người lao động ngừng việc", "rule": "phe_duyet <= de_nghi"},
    )
    u = unit_status(UNIT, DAY, True, DEADLINE, (bad,), bad, None, form=FORM)
    v = view(u)
    assert v.totals == {"ngung_viec": {"de_nghi": Decimal(5), "phe_duyet": Decimal(8)}} and v.excluded == ()


def test_a_figure_that_is_no_number_is_named_among_what_the_totals_leave_out():
    bad = flagged(
        9,
        {("ngung_viec", "phe_duyet"): 4},
        "not_a_number",
        {"indicator_code": "ngung_viec", "measure_code": "de_nghi", "text": "ba trăm"},
    )
    v = view(unit_status(UNIT, DAY, True, DEADLINE, (bad,), bad, None, form=FORM))
    assert v.totals == {"ngung_viec": {"phe_duyet": Decimal(4)}}
    [x] = v.excluded
    assert (x.measure, x.value) == ("de_nghi", None)


def test_problems_stored_before_codes_were_kept_are_placed_by_their_labels():
    bad = flagged(
        9,
        {("ngung_viec", "de_nghi"): "2.5"},
        "fractional_count",
        {"indicator": "Hỗ trợ người lao động ngừng việc", "measure": "Số đối tượng đề nghị"},
    )
    v = view(unit_status(UNIT, DAY, True, DEADLINE, (bad,), bad, None, form=FORM))
    assert v.totals == {} and [x.measure for x in v.excluded] == ["de_nghi"]


def test_stale_figures_leave_out_what_failed_then_and_the_change_compares_like_with_like():
    yesterday = DAY - dt.timedelta(days=1)
    old = flagged(
        9,
        {("ngung_viec", "de_nghi"): "2.5", ("ngung_viec", "phe_duyet"): 2},
        "fractional_count",
        {"indicator_code": "ngung_viec", "measure_code": "de_nghi"},
        day=yesterday,
    )
    stale = unit_status(UNIT, DAY, True, DEADLINE, (), old, None, form=FORM)
    today = msg(10, 0, figures={("ngung_viec", "de_nghi"): 3, ("ngung_viec", "phe_duyet"): 3})
    fresh = unit_status(OTHER, DAY, True, DEADLINE, (today,), today, old, form=FORM)
    v = view(stale, fresh)
    assert v.totals == {"ngung_viec": {"de_nghi": Decimal(3), "phe_duyet": Decimal(5)}}
    # yesterday's totals: the stale unit's counted figures, and the fresh unit's previous report
    # (the same flagged message) without the cell that failed
    assert v.previous_totals == {"ngung_viec": {"phe_duyet": Decimal(4)}}


# -- a scan or photo still being recognised ------------------------------------------------------


def pending(hh, mm, day=DAY):
    """A message stored before its scan or photo is recognised (service.ingest.analysis.pending_result)."""
    m = msg(hh, mm, day=day, readable=False)
    m.problems = [ProblemRow(code="recognition_pending", params={"file": "IMG_0412.jpg"})]
    return m


def test_a_report_being_recognised_is_on_time_or_late_by_its_arrival_without_figures():
    for when, status in (((14, 59), "on_time"), ((15, 1), "late")):
        m = pending(*when)
        u = unit_status(UNIT, DAY, True, DEADLINE, (m,), None, None)
        assert u.status == status and u.message is m and u.first_received_at == m.received_at
        assert u.values == {} and u.latest_values == {} and u.correction_at is None
        assert [(p.code, p.params["file"]) for p in u.problems] == [("recognition_pending", "IMG_0412.jpg")]


def test_a_report_being_recognised_keeps_the_earlier_days_figures_as_stale():
    old = msg(9, 0, day=DAY - dt.timedelta(days=1), figures={("a", "x"): 5})
    now = pending(10, 0)
    u = unit_status(UNIT, DAY, True, DEADLINE, (now,), old, None)
    assert u.status == "on_time" and u.values == {} and u.stale
    assert u.latest_values == {"a": {"x": Decimal(5)}} and u.counted_values == {"a": {"x": Decimal(5)}}
    view = day_view(DAY, True, DEADLINE, [u])
    assert view.totals == {"a": {"x": Decimal(5)}} and view.counts == {"on_time": 1}


def test_an_earlier_readable_report_gives_the_figures_while_a_later_one_is_recognised():
    readable = msg(9, 0, figures={("a", "x"): 1})
    later = pending(16, 0)
    u = unit_status(UNIT, DAY, True, DEADLINE, (readable, later), readable, None)
    assert u.status == "on_time" and u.message is readable and u.values == {"a": {"x": Decimal(1)}}
    assert [p.code for p in u.problems] == ["recognition_pending"] and u.correction_at is None


def test_a_report_being_recognised_before_a_late_readable_one_decides_the_timeliness():
    scan = pending(14, 0)
    book = msg(16, 0, figures={("a", "x"): 2})
    u = unit_status(UNIT, DAY, True, DEADLINE, (scan, book), book, None)
    assert u.status == "on_time" and u.first_received_at == scan.received_at
    assert u.values == {"a": {"x": Decimal(2)}} and u.problems == ()  # the later file counts
    assert u.correction_at == book.received_at


def test_once_recognised_the_report_counts_as_any_other():
    read = msg(10, 0, figures={("a", "x"): 3})  # the same message, read: no pending problem left
    u = unit_status(UNIT, DAY, True, DEADLINE, (read,), read, None)
    assert u.status == "on_time" and u.values == {"a": {"x": Decimal(3)}} and u.problems == ()
    unread = msg(10, 0, readable=False, problems=["unreadable_image"])  # or found unreadable
    u = unit_status(UNIT, DAY, True, DEADLINE, (unread,), None, None)
    assert u.status == "unreadable" and [p.code for p in u.problems] == ["unreadable_image"]
