"""Figures as people type them, money scales, formulas and the checks on each row."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import pytest

from parsers.report import FIGURE_FORMAT_PROBLEMS
from tests.unit.builders import (
    SheetSpec,
    one_row_header_sheet,
    replace_part,
    two_row_header_sheet,
    with_cached_values,
    xlsx,
)
from tests.unit.test_report_layout import codes, read


def one_money_column(header: str, value: object) -> dict:
    sheet = one_row_header_sheet(["Nội dung", "Số đề nghị", header], [["Hộ kinh doanh", 1, value]])
    return read(xlsx(sheet)).values["ho_kinh_doanh"]


def test_text_numbers_with_dot_grouping() -> None:
    sheet = one_row_header_sheet(
        ["Nội dung", "Số đề nghị", "Số tiền được phê duyệt (đồng)"], [["Hộ kinh doanh", "1.236", "530.530.000"]]
    )
    assert read(xlsx(sheet)).values == {"ho_kinh_doanh": {"de_nghi": 1236, "kinh_phi": 530_530_000}}


def test_text_numbers_with_space_grouping() -> None:
    assert one_money_column("Kinh phí được phê duyệt (đồng)", "1 234 567") == {"de_nghi": 1, "kinh_phi": 1_234_567}


def test_decimal_comma_in_text_money() -> None:
    assert one_money_column("Kinh phí được phê duyệt (triệu đồng)", "126,14")["kinh_phi"] == 126_140_000


@pytest.mark.parametrize(
    "header, value, dong",
    [
        ("Kinh phí được phê duyệt (đồng)", 48_184_000, 48_184_000),
        ("Kinh phí được phê duyệt (nghìn đồng)", 48_184, 48_184_000),
        ("Kinh phí được phê duyệt (ngàn đồng)", "48.184", 48_184_000),
        ("Kinh phí được phê duyệt (triệu đồng)", 48.184, 48_184_000),
        ("Kinh phí được phê duyệt (Tr.đ)", 48.184, 48_184_000),
        ("Kinh phí được phê duyệt (1.000đ)", 48_184, 48_184_000),
        ("Kinh phí được phê duyệt (tỷ đồng)", 0.048184, 48_184_000),
        ("Kinh phí được phê duyệt", 48.184, 48_184_000),  # default_scale: triệu đồng
    ],
)
def test_money_scales_from_the_header(header: str, value: object, dong: int) -> None:
    got = one_money_column(header, value)["kinh_phi"]
    assert got == dong and isinstance(got, Decimal)


def test_money_scale_from_a_parent_header_cell() -> None:
    values = read(xlsx(two_row_header_sheet(money_header="Kinh phí (nghìn đồng)"))).values
    assert values["ngung_viec"]["kinh_phi"] == 46_000


def test_table_wide_unit_of_measure_line() -> None:
    title = [["Đơn vị tính: nghìn đồng"], []]
    sheet = one_row_header_sheet(["Nội dung", "Kinh phí được phê duyệt"], [["Hộ kinh doanh", 250]], title_rows=title)
    assert read(xlsx(sheet)).values == {"ho_kinh_doanh": {"kinh_phi": 250_000}}


def test_unit_written_in_the_cell_wins_over_the_column_scale() -> None:
    assert one_money_column("Kinh phí được phê duyệt (triệu đồng)", "500 nghìn")["kinh_phi"] == 500_000


def test_float_noise_from_excel_is_not_a_fraction_of_a_dong() -> None:
    assert one_money_column("Kinh phí được phê duyệt (triệu đồng)", 137.26999999999998)["kinh_phi"] == 137_270_000


def test_words_in_a_number_cell_are_a_named_problem() -> None:
    sheet = two_row_header_sheet([("Hỗ trợ người lao động ngừng việc", ("ba trăm", 2, 1, 2, 1))])
    result = read(xlsx(sheet), filename="HuyenTung.xlsx")
    assert result.outcome == "read"
    assert "de_nghi" not in result.values["ngung_viec"]
    assert result.values["ngung_viec"]["phe_duyet"] == 2
    [problem] = result.problems
    assert problem.code == "not_a_number"
    assert problem.params["cell"] == "B11"
    assert problem.params["text"] == "ba trăm"
    assert problem.params["file"] == "HuyenTung.xlsx"
    assert problem.params["sheet"] == "Sheet1"


def formula_sheet() -> SheetSpec:
    return one_row_header_sheet(
        ["Nội dung", "Số đề nghị", "Số được phê duyệt", "Kinh phí được phê duyệt (triệu đồng)"],
        [
            ["Hỗ trợ người lao động ngừng việc", 10, 8, "=C10*3.71"],
            ["Hộ kinh doanh", 75, 61, "=C11*3"],
            ["Tổng cộng", "=SUM(B10:B11)", "=SUM(C10:C11)", "=SUM(D10:D11)"],
        ],
    )


def test_formula_with_cached_value_uses_the_cached_value() -> None:
    data = with_cached_values(xlsx(formula_sheet()), {"D10": 29.68, "D11": 183, "D12": 212.68, "B12": 85, "C12": 69})
    result = read(data)
    assert result.values["ho_kinh_doanh"] == {"de_nghi": 75, "phe_duyet": 61, "kinh_phi": 183_000_000}
    assert result.problems == ()


def test_formula_without_cached_value_is_a_named_problem_not_a_zero() -> None:
    data = with_cached_values(xlsx(formula_sheet()), {"D10": 29.68, "D12": 212.68})  # D11 left uncached
    result = read(data)
    assert result.values["ho_kinh_doanh"] == {"de_nghi": 75, "phe_duyet": 61}
    assert codes(result) == ["formula_no_value"]
    assert result.problems[0].params["cell"] == "D11"


def test_formula_whose_result_is_empty_text_is_just_empty() -> None:
    data = xlsx(
        one_row_header_sheet(["Nội dung", "Số đề nghị", "Số được phê duyệt"], [["Hộ kinh doanh", 5, '=IF(B10>0,"",1)']])
    )
    # Excel saves a formula whose result is "" as t="str" with an empty cached value.
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    xml = re.sub(r'<c r="C10"([^>]*)><f>', r'<c r="C10"\1 t="str"><f>', xml)
    result = read(replace_part(data, "xl/worksheets/sheet1.xml", xml.encode()))
    assert result.values == {"ho_kinh_doanh": {"de_nghi": 5}}
    assert result.problems == ()


def test_check_failing_keeps_the_figures_and_names_the_cells() -> None:
    sheet = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (81, 83, 50, 249, 150))])
    result = read(xlsx(sheet))
    assert result.values["ho_kinh_doanh"]["phe_duyet"] == 83
    [problem] = result.problems
    assert problem.code == "check_failed"
    assert problem.params["cell"] == "C11, B11"
    assert problem.params["detail"] == "Số đối tượng được phê duyệt lớn hơn số đề nghị"
    assert problem.params["indicator"] == "Hỗ trợ hộ kinh doanh"
    assert "83" in problem.params["text"] and "81" in problem.params["text"]


def test_money_check_compares_in_dong_across_scales() -> None:
    sheet = one_row_header_sheet(
        ["Nội dung", "Kinh phí được phê duyệt (triệu đồng)", "Số tiền đã chi trả (nghìn đồng)"],
        [["Hộ kinh doanh", 1.5, 1600]],
    )
    result = read(xlsx(sheet))
    assert codes(result) == ["check_failed"]
    sheet = one_row_header_sheet(
        ["Nội dung", "Kinh phí được phê duyệt (triệu đồng)", "Số tiền đã chi trả (nghìn đồng)"],
        [["Hộ kinh doanh", 1.5, 1500]],
    )
    assert read(xlsx(sheet)).problems == ()


def test_check_needs_both_sides() -> None:
    sheet = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (None, 83, None, None, None))])
    assert read(xlsx(sheet)).problems == ()


def test_negative_value_is_kept_and_flagged() -> None:
    sheet = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (5, 4, -2, 1, 1))])
    result = read(xlsx(sheet))
    assert result.values["ho_kinh_doanh"]["da_chi"] == -2
    assert codes(result) == ["negative_value"]
    assert result.problems[0].params["cell"] == "D11"


def test_fractional_count_is_kept_and_flagged() -> None:
    sheet = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", ("5,5", 4, 2, 1, 1))])
    result = read(xlsx(sheet))
    assert result.values["ho_kinh_doanh"]["de_nghi"] == Decimal("5.5")
    assert codes(result) == ["fractional_count"]


@pytest.mark.parametrize(
    "row, code, measure",
    [
        (("5,5", 4, 2, 1, 1), "fractional_count", "de_nghi"),
        ((5, 4, -2, 1, 1), "negative_value", "da_chi"),
        (("ba trăm", 4, 2, 1, 1), "not_a_number", "de_nghi"),
    ],
)
def test_a_figure_failing_a_format_check_names_its_cell_by_code(row, code, measure) -> None:
    # The totals leave such a figure out (service.day.dayview): the problem must say which cell it is.
    sheet = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", row)])
    [problem] = read(xlsx(sheet)).problems
    assert problem.code == code and code in FIGURE_FORMAT_PROBLEMS
    assert (problem.params["indicator_code"], problem.params["measure_code"]) == ("ho_kinh_doanh", measure)


def test_whole_counts_from_floats_are_integers() -> None:
    sheet = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (5.0, 4.0, 2.0, 1.0, 1.0))])
    value = read(xlsx(sheet)).values["ho_kinh_doanh"]["de_nghi"]
    assert value == 5 and str(value) == "5"


def test_date_in_a_number_cell_is_not_a_number() -> None:
    sheet = two_row_header_sheet([("Hỗ trợ hộ kinh doanh", (dt.datetime(2021, 8, 11), 4, 2, 1, 1))])
    result = read(xlsx(sheet))
    assert codes(result) == ["not_a_number"]
    assert result.problems[0].params["text"] == "11/08/2021"
