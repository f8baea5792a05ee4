"""parsers.numbers: figures as typed in Vietnam, money scales in headers, dates."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.numbers import (
    FigureError,
    as_exact_int,
    document_locale,
    is_locale_ambiguous,
    locale_evidence,
    parse_as_of_date,
    parse_day_month,
    parse_figure,
    parse_figure_with_unit,
    parse_vn_date,
    scale_from_header,
    to_dong,
)

D = Decimal


# -- values that are not text ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        (0, D(0)),
        (24, D(24)),
        (-3, D(-3)),
        (10**30, D(10**30)),
        (D("1.50"), D("1.5")),
        (D("-0"), D(0)),
        (D("1E+3"), D(1000)),
        (126.14, D("126.14")),
        (3.7100000000000004, D("3.71")),
        (66.78, D("66.78")),
        (38.955, D("38.955")),
        (0.1 + 0.2, D("0.3")),
        (24.0, D(24)),
        (-0.0, D(0)),
        (1e20, D(10**20)),
        (530530000.0, D(530530000)),
    ],
)
def test_non_text_values(value, expected):
    got = parse_figure(value, "money")
    assert got == expected
    if got is not None:
        assert "E" not in str(got)  # plain notation, no binary drift
        assert str(got) == str(expected)


@pytest.mark.parametrize(
    "value, reason",
    [
        (True, "wrong_type"),
        (False, "wrong_type"),
        (dt.date(2021, 8, 11), "wrong_type"),
        (dt.datetime(2021, 8, 11, 9, 0), "wrong_type"),
        (dt.time(9, 0), "wrong_type"),
        (float("nan"), "not_finite"),
        (float("inf"), "not_finite"),
        (D("NaN"), "not_finite"),
        (object(), "wrong_type"),
        (b"12", "wrong_type"),
    ],
)
def test_values_that_are_no_figure(value, reason):
    with pytest.raises(FigureError) as exc:
        parse_figure(value, "count")
    assert exc.value.reason == reason


# -- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\u00a0",
        "-",
        "--",
        "–",
        "—",
        "−",
        "x",
        "X",
        "…",
        "...",
        "n/a",
        "N/A",
        "(-)",
        "'",
        "' -",
    ],
)
def test_no_value_marks(text):
    assert parse_figure(text, "count") is None
    assert parse_figure(text, "money") is None


@pytest.mark.parametrize(
    "text, kind, expected",
    [
        ("0", "count", "0"),
        ("1234", "count", "1234"),
        ("1.234.567", "count", "1234567"),
        ("1 234 567", "count", "1234567"),
        ("1\u00a0234\u00a0567", "count", "1234567"),
        ("1\u2009234\u202f567", "count", "1234567"),
        ("1,234,567", "count", "1234567"),
        ("1.236", "count", "1236"),  # a count is whole: '.' + 3 digits groups
        ("1,236", "count", "1236"),  # ... and so does ',' for a count
        ("1.236", "money", "1236"),  # Vietnamese: '.' groups thousands
        ("1,500", "money", "1.5"),  # Vietnamese: ',' is the decimal mark
        ("3,71", "money", "3.71"),
        ("126,14", "money", "126.14"),
        ("97,4", "money", "97.4"),
        ("1,5", "money", "1.5"),
        ("1,5", "count", "1.5"),  # not whole: the caller flags it
        ("1.5", "money", "1.5"),
        ("1.23", "money", "1.23"),
        ("0,500", "money", "0.5"),  # a leading 0 is never a thousands group
        ("0.500", "money", "0.5"),
        ("1234.567", "money", "1234.567"),  # 4 digits before: not grouping
        (",5", "money", "0.5"),
        ("1,855.5", "money", "1855.5"),  # both: the last one is the decimal mark
        ("1.855,5", "money", "1855.5"),
        ("1.234.567,89", "money", "1234567.89"),
        ("1,234,567.89", "money", "1234567.89"),
        ("1.000.000,00", "money", "1000000"),
        ("1 234,5", "money", "1234.5"),  # spaces group: the separator left is decimal
        ("1 234.567", "money", "1234.567"),
        ("530.530.000", "money", "530530000"),
        ("(1.234)", "count", "-1234"),  # accounting negative
        ("-5", "count", "-5"),
        ("- 5", "count", "-5"),
        ("−5", "count", "-5"),
        ("+12", "count", "12"),
        ("'123", "count", "123"),  # Excel's text mark
        ("  42  ", "count", "42"),
        ("１２３", "count", "123"),  # full-width digits
        ("1,5e3", "money", "1500"),
        ("1.2E+6", "money", "1200000"),
        ("1.234 người", "count", "1234"),
        ("12 hồ sơ", "count", "12"),
        ("12 nguoi", "count", "12"),
        ("7 hộ", "count", "7"),
        ("530.530.000đ", "money", "530530000"),
        ("530.530.000 đồng", "money", "530530000"),
        ("500 triệu", "money", "500"),
        ("126,14 tr", "money", "126.14"),
        ("2 tỷ", "money", "2"),
        ("5 VNĐ", "money", "5"),
    ],
)
def test_text_figures(text, kind, expected):
    assert parse_figure(text, kind) == D(expected)
    assert str(parse_figure(text, kind)) == expected


@pytest.mark.parametrize(
    "text, scale",
    [
        ("500 triệu", 1_000_000),
        ("126,14 tr.", 1_000_000),
        ("530.530.000 đ", 1),
        ("12 nghìn đồng", 1_000),
        ("2 tỉ", 1_000_000_000),
        ("3,71", None),
        ("4 trđ", 1_000_000),
    ],
)
def test_parse_figure_with_unit_reports_the_cell_scale(text, scale):
    assert parse_figure_with_unit(text, "money")[1] == scale


@pytest.mark.parametrize(
    "text, kind",
    [
        ("ba trăm", "count"),
        ("12a", "count"),
        ("1.2.3,4,5", "count"),
        ("1.2.3", "count"),
        ("12 34", "count"),
        ("1,2,3", "money"),
        ("5%", "count"),
        ("1.234,5.6", "money"),
        ("5.", "count"),
        ("1..2", "count"),
        ("abc", "money"),
        ("12 người", "money"),
        ("500 triệu", "count"),
        ("1,23,456", "count"),
        ("12-", "count"),
        ("0-", "count"),
        ("1 234 56", "count"),
        ("+", "count"),
        ("()", "count"),
        ("²", "count"),
        ("1" * 100, "count"),
        ("không", "count"),
    ],
)
def test_not_a_number(text, kind):
    with pytest.raises(FigureError) as exc:
        parse_figure(text, kind)
    assert exc.value.reason == "not_a_number"
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("#VALUE!", "excel_error"),
        ("#REF!", "excel_error"),
        ("#DIV/0!", "excel_error"),
        ("#N/A", "excel_error"),
        ("#NAME?", "excel_error"),
        ("=SUM(C5:C9)", "formula"),
        ("=E14*3.71", "formula"),
    ],
)
def test_spreadsheet_leftovers(text, reason):
    with pytest.raises(FigureError) as exc:
        parse_figure(text, "money")
    assert exc.value.reason == reason


figure_like = st.text(alphabet=st.sampled_from(list("0123456789.,  -+()'=#%eE\u00a0\u2009xđtrỷ")), max_size=16)


@given(st.one_of(st.text(max_size=30), figure_like), st.sampled_from(["count", "money"]))
@settings(max_examples=200, deadline=None)
def test_parse_figure_raises_only_figure_error(text, kind):
    try:
        result = parse_figure(text, kind)
    except FigureError as exc:
        assert exc.reason
    else:
        assert result is None or (isinstance(result, Decimal) and result.is_finite())


@given(st.integers(min_value=0, max_value=10**12))
@settings(max_examples=100, deadline=None)
def test_grouped_integers_read_back(n):
    dotted = f"{n:,}".replace(",", ".")
    assert parse_figure(dotted, "count") == n
    assert parse_figure(dotted, "money") == n
    assert parse_figure(f"{n:,}".replace(",", " "), "count") == n
    assert parse_figure(f"{n:,}", "count") == n


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
@settings(max_examples=100, deadline=None)
def test_vietnamese_money_reads_back(value):
    whole, frac = f"{value:.2f}".split(".")
    text = f"{int(whole):,}".replace(",", ".") + "," + frac
    assert parse_figure(text, "money") == value


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
@settings(max_examples=100, deadline=None)
def test_floats_are_exact_decimals_of_their_repr(value):
    got = parse_figure(value, "money")
    assert got is not None and abs(got - Decimal(repr(value))) <= Decimal("1e-10")


# -- header scales -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, scale",
    [
        ("(đồng)", 1),
        ("đồng", 1),
        ("Số tiền (đ)", 1),
        ("VNĐ", 1),
        ("VND", 1),
        ("Kinh phí (Đồng)", 1),
        ("(ÐỒNG)", 1),
        ("(nghìn đồng)", 1_000),
        ("ngàn đồng", 1_000),
        ("1.000đ", 1_000),
        ("1000 đồng", 1_000),
        ("(1.000 đồng)", 1_000),
        ("Kinh phí (nghìn)", 1_000),
        ("(triệu đồng)", 1_000_000),
        ("Tr.đ", 1_000_000),
        ("trđ", 1_000_000),
        ("tr. đồng", 1_000_000),
        ("Tr.đồng", 1_000_000),
        ("(Đơn vị tính: triệu đồng)", 1_000_000),
        ("Kinh phí được phê duyệt (triệu đồng)", 1_000_000),
        ("1.000.000 đ", 1_000_000),
        ("Kinh phí (Tr)", 1_000_000),
        ("Triệu đồng/người", 1_000_000),
        ("(tỷ đồng)", 1_000_000_000),
        ("Tỉ đồng", 1_000_000_000),
        (unicodedata.normalize("NFD", "Kinh phí được phê duyệt (triệu đồng)"), 1_000_000),
        (unicodedata.normalize("NFD", "(nghìn đồng)"), 1_000),
        ("\u00d0VT: \u00d0ồng", 1),
    ],
)
def test_scale_from_header(header, scale):
    assert scale_from_header(header) == scale


@pytest.mark.parametrize(
    "header",
    [
        "Số người",
        "Số đối tượng được phê duyệt",
        "Kinh phí",
        "Số hợp đồng",
        "Tỷ lệ (%)",
        "Số triệu người",
        "Đồng ý",
        "Đã chi trả",
        "Ghi chú",
        "",
        "Cộng đồng dân cư",
    ],
)
def test_no_scale_stated(header):
    assert scale_from_header(header) is None


def test_to_dong_and_as_exact_int():
    assert to_dong(D("126.14"), 1_000_000) == D(126_140_000)
    assert str(to_dong(D("126.14"), 1_000_000)) == "126140000"
    assert to_dong(D("97.4"), 1_000) == D(97_400)
    assert to_dong(D("0.0000001"), 1_000_000) == D("0.1")
    assert as_exact_int(D("126140000")) == 126_140_000
    assert as_exact_int(D("126140000.000")) == 126_140_000
    assert as_exact_int(D("1.5")) is None
    assert as_exact_int(D("NaN")) is None


# -- dates ---------------------------------------------------------------------------------

AUG_11 = dt.date(2021, 8, 11)


@pytest.mark.parametrize(
    "text",
    [
        "Số liệu tính đến ngày 11/08/2021",
        "tính đến ngày 11/8/2021",
        "đến ngày 11-8-2021",
        "ngày 11 tháng 8 năm 2021",
        "Ngày 11 tháng 08 năm 2021",
        "11.8.2021",
        "2021-08-11",
        "11/8/21",
        unicodedata.normalize("NFD", "Số liệu tính đến ngày 11/08/2021"),
        "SỐ LIỆU TÍNH ĐẾN NGÀY 11/08/2021",
        "\u00d0ến ngày 11 / 8 / 2021",
        "(Theo NQ 68/NQ-CP ngày 01/7/2021) số liệu tính đến ngày 11/8/2021",
        "Từ ngày 01/8/2021 đến ngày 11/8/2021",
    ],
)
def test_parse_vn_date(text):
    assert parse_vn_date(text) == AUG_11


@pytest.mark.parametrize(
    "text",
    [
        "Ngày 32/8/2021",
        "ngày 29/2/2021",
        "Số liệu",
        "68/NQ-CP",
        "3,71",
        "",
        "11/8",
    ],
)
def test_parse_vn_date_none(text):
    assert parse_vn_date(text) is None


def test_parse_vn_date_prefers_the_first_date_without_an_anchor():
    assert parse_vn_date("Theo NQ ngày 01/7/2021, QĐ ngày 07/7/2021") == dt.date(2021, 7, 1)


def test_parse_vn_date_default_year_for_day_month():
    assert parse_vn_date("ngày 11/8", default_year=2021) == AUG_11
    assert parse_vn_date("11.8", default_year=2021) == AUG_11


def test_parse_as_of_date_ignores_other_dates():
    assert parse_as_of_date("Theo Nghị quyết số 68/NQ-CP ngày 01/7/2021") is None
    assert parse_as_of_date("Số liệu tính đến ngày 10/08/2021") == dt.date(2021, 8, 10)


@pytest.mark.parametrize(
    "name",
    [
        "11.8",
        "11/8",
        "Ngay 11.8",
        "Ngày 11.8",
        "11-08",
        "N11.8",
        "11_8",
        "11 tháng 8",
        "BC 11.8",
        "11.08.2021",
        "2021-08-11",
    ],
)
def test_parse_day_month(name):
    assert parse_day_month(name, 2021) == AUG_11


@pytest.mark.parametrize("name", ["Sheet1", "Tổng hợp", "31.2", "T8", "0.8", "11.13", ""])
def test_parse_day_month_none(name):
    assert parse_day_month(name, 2021) is None


# ------------------------------------------------------------------ number locale per document


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("1.234,5", "vi"),
        ("1.234.567", "vi"),
        ("57,06", "vi"),
        ("0,500", "vi"),
        ("170,66 triệu", "vi"),
        ("47.000", "vi"),
        ("819.910.000", "vi"),
        ("1234,567", "vi"),
        ("1,234.5", "en"),
        ("1,234,567", "en"),
        ("220.5", "en"),
        ("1,087.5", "en"),
        ("1,000", "en"),
        ("1,212", None),
        ("1.500", None),
        ("454", None),
        ("-", None),
        ("Tổng cộng", None),
        ("1.2.3", None),
    ],
)
def test_locale_evidence(text, locale):
    assert locale_evidence(text) == locale


@pytest.mark.parametrize(
    ("text", "ambiguous"),
    [
        ("1,212", True),
        ("1.500", True),
        ("(1.234)", True),
        ("999,999", True),
        ("1,2125", False),
        ("0,500", False),
        ("1.234.567", False),
        ("57,06", False),
        ("1234", False),
        ("-", False),
    ],
)
def test_is_locale_ambiguous(text, ambiguous):
    assert is_locale_ambiguous(text) is ambiguous


def test_document_locale_is_decided_from_all_its_figures():
    # the English-locale print of the samples: "1,212" alone says nothing, "220.5" does
    assert document_locale(["454", "1,212", "867", "220.5", "1,560"]) == "en"
    assert document_locale(["54", "57,06", "1.331"]) == "vi"
    assert document_locale(["1,212", "454"]) is None  # nothing proves either
    assert document_locale(["57,06", "220.5"]) is None  # both: undecided, never a guess
    assert document_locale([]) is None


@pytest.mark.parametrize(
    ("text", "kind", "locale", "value"),
    [
        ("1,212", "money", "en", "1212"),
        ("220.5", "money", "en", "220.5"),
        ("1,087.5", "money", "en", "1087.5"),
        ("1.500", "money", "en", "1.5"),
        ("1,234,567", "count", "en", "1234567"),
        ("1,212", "money", "vi", "1.212"),
        ("1.212", "money", "vi", "1212"),
        ("1.234,5", "money", "vi", "1234.5"),
        ("1,500", "count", "vi", "1.5"),  # a decided Vietnamese document: the comma is a decimal mark
        ("1,500", "count", None, "1500"),  # no locale: the rules of parse_figure (spreadsheets, body)
    ],
)
def test_parse_with_a_document_locale(text, kind, locale, value):
    assert parse_figure_with_unit(text, kind, locale)[0] == Decimal(value)


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
@settings(max_examples=200, deadline=None)
def test_a_figure_printed_in_either_locale_reads_back(whole, cents):
    grouped = f"{whole:,}"
    en = f"{grouped}.{cents:02d}"
    vi = grouped.replace(",", ".") + f",{cents:02d}"
    want = Decimal(whole) + Decimal(cents) / 100
    assert parse_figure_with_unit(en, "money", "en")[0] == want
    assert parse_figure_with_unit(vi, "money", "vi")[0] == want
    assert locale_evidence(en) == "en" and locale_evidence(vi) == "vi"
