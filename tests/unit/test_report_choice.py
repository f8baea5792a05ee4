"""Tests for service.ingest.choice: which report a document carries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from parsers.model import FormSpec, IndicatorSpec, MeasureSpec
from parsers.report import render_problem
from service.config.objects import ReportConfig
from service.ingest.choice import choose_report, union_form
from templates import catalog

M = tuple(MeasureSpec(code=c, label=c) for c in ("de_nghi", "da_chi"))
IND = {c: IndicatorSpec(code=c, label=c) for c in ("a", "b", "c", "d")}


def report(
    code: str, indicators: str, period: str = "day", units: tuple[str, ...] = ("X", "Y"), **kw: object
) -> ReportConfig:
    form = FormSpec(measures=M, indicators=tuple(IND[c] for c in indicators))
    return ReportConfig(code=code, title=f"Báo cáo {code}", form=form, units=units, period=period, **kw)  # type: ignore[arg-type]


DAILY = report("ngay", "abcd")
WEEKLY = report("tuan", "ab", "week", deadline_day=4, subject_keywords=("báo cáo tuần",))
MONTHLY = report("thang", "cd", "month", deadline_day=20, units=("X",), subject_keywords=("tháng",))
REPORTS = (DAILY, WEEKLY, MONTHLY)
DAY = dt.date(2021, 8, 18)


def values(*cells: str) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = {}
    for cell in cells:
        ind, meas = cell.split(".")
        out.setdefault(ind, {})[meas] = Decimal(1)
    return out


def choose(
    unit: str | None = "X", cells: tuple[str, ...] = (), sheet: str | None = None, subject: str = "", reports=REPORTS
):
    return choose_report(reports, unit, DAY, filename="bc.xlsx", values=values(*cells), sheet=sheet, subject=subject)


def test_the_form_the_figures_fill_best_decides() -> None:
    every_row = tuple(f"{i}.{m}" for i in "abcd" for m in ("de_nghi", "da_chi"))
    assert choose(cells=every_row).code == "ngay"
    # rows a and b only: inside the daily form too, but they fill the whole weekly form
    assert choose(cells=("a.de_nghi", "a.da_chi", "b.de_nghi", "b.da_chi")).code == "tuan"
    assert choose(cells=("c.de_nghi", "d.da_chi", "d.de_nghi")).how == "figures"


def test_the_tables_rows_and_columns_decide_filled_or_not() -> None:
    # a daily form with one figure filled: its table still has the daily form's rows
    found = choose_report(
        REPORTS,
        "X",
        DAY,
        filename="f",
        values=values("a.de_nghi"),
        sheet=None,
        subject="",
        rows=("a", "b", "c", "d"),
        columns=("de_nghi", "da_chi"),
    )
    assert (found.code, found.how) == ("ngay", "figures")
    found = choose_report(
        REPORTS,
        "X",
        DAY,
        filename="f",
        values={},
        sheet=None,
        subject="",
        rows=("a", "b"),
        columns=("de_nghi", "da_chi"),
    )
    assert found.code == "tuan"  # every cell of the weekly form, none it lacks


def test_the_generated_forms_code_in_the_sheet_name_decides_first() -> None:
    found = choose(cells=("a.de_nghi",), sheet="Mẫu báo cáo (thang)")
    assert (found.code, found.how) == ("thang", "sheet")
    assert choose(unit="Y", cells=("a.de_nghi",), sheet="(thang)").code != "thang"  # not one of Y's reports


def test_equal_fits_go_to_the_subject_then_to_the_only_report_due() -> None:
    # a daily report on the monthly report's rows: the figures fit both alike
    one_cell = ("c.de_nghi",)
    same_rows = report("ngay", "cd")
    tie = choose(cells=one_cell, reports=(same_rows, MONTHLY))
    assert tie.code is None and tie.problem is not None and tie.problem.code == "report_undetermined"
    found = choose(cells=one_cell, subject="V/v báo cáo THÁNG 8", reports=(same_rows, MONTHLY))
    assert (found.code, found.how) == ("thang", "subject")
    once = report("nhanh", "cd", "once", start_date=dt.date(2021, 8, 20), deadline_day=dt.date(2021, 8, 21))
    found = choose(cells=one_cell, reports=(same_rows, once))  # the one-off is not open yet
    assert (found.code, found.how) == ("ngay", "due")


def test_a_document_without_figures_goes_by_the_subject_or_the_only_report_due() -> None:
    assert choose(subject="Báo cáo tuần 16-22/8").code == "tuan"
    assert choose(unit="Y", reports=(DAILY, MONTHLY)).code == "ngay"  # Y sends only the daily one
    assert choose().problem is not None


def test_figures_of_no_report_of_the_unit_are_a_problem_never_another_report() -> None:
    found = choose(unit="Y", cells=("c.de_nghi", "d.da_chi"), reports=(WEEKLY, MONTHLY))
    assert found.code is None and found.problem is not None
    assert found.problem.code == "report_unmatched"
    text = render_problem(found.problem, catalog("vi")["problems"])
    assert text.startswith("Tệp bc.xlsx: số liệu không khớp với mẫu báo cáo nào đơn vị phải gửi (Báo cáo tuan (tuan))")


def test_a_document_of_no_report_could_be_the_reports_it_tied_or_any_when_it_matched_none() -> None:
    from storage.reports import ANY_REPORT, could_be, stands_under

    # tied: the reports its problem names, whatever brackets and commas their titles hold
    odd = dataclasses.replace(
        report("nhanh", "cd", "once", start_date=DAY, deadline_day=DAY), title="Báo cáo nhanh (tuan), đến 20/8"
    )
    tie = choose(cells=("c.de_nghi",), reports=(report("ngay", "cd"), MONTHLY, odd))
    assert tie.problem is not None and tie.problem.code == "report_undetermined"
    found = could_be(False, [(tie.problem.code, tie.problem.params)])
    assert found == {"ngay", "thang", "nhanh"}
    assert stands_under("thang", found) and not stands_under("tuan", found)
    # stored before the problem listed its codes: read from the names
    older = {k: v for k, v in tie.problem.params.items() if k != "report_codes"}
    assert could_be(False, [("report_undetermined", older)]) >= {"ngay", "thang", "nhanh"}
    # beside a report the message carries, the tied document still stands under its own three
    assert could_be(True, [(tie.problem.code, tie.problem.params), ("file_unreadable", {})]) == found
    # matching none: any report of the unit when the message carries none; beside a report
    # it carries (a list sent with the report), none other
    none = choose(unit="Y", cells=("c.de_nghi", "d.da_chi"), reports=(WEEKLY, MONTHLY))
    assert none.problem is not None and could_be(False, [(none.problem.code, none.problem.params)]) == {ANY_REPORT}
    assert could_be(True, [(none.problem.code, none.problem.params)]) == frozenset()
    # a message carrying no report for no such reason (a file no one could read): any
    assert could_be(False, [("file_unreadable", {"file": "bc.xlsx"})]) == {ANY_REPORT}
    assert could_be(True, [("file_unreadable", {"file": "bc.xlsx"})]) == frozenset()


def test_the_union_form_has_every_row_column_and_check_once() -> None:
    form = union_form(REPORTS, DAILY.form)
    assert [i.code for i in form.indicators] == ["a", "b", "c", "d"]
    assert [m.code for m in form.measures] == ["de_nghi", "da_chi"]
