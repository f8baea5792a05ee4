"""The xlsx reader tells date cells by their number format as openpyxl does, without
importing openpyxl (parsers/readers/numfmt.py)."""

from __future__ import annotations

import pytest
from openpyxl.styles import numbers as theirs

from parsers.readers import numfmt

FORMATS = [
    *theirs.BUILTIN_FORMATS.values(),
    "dd/mm/yyyy",
    "d/m/yyyy;@",
    "[$-42A]dd/mm/yyyy",
    "[$-F800]dddd\\,\\ mmmm\\ dd\\,\\ yyyy",
    "[h]:mm",
    "[mm]:ss",
    "[ss].00",
    "[hh]:mm:ss",
    "h:mm:ss;@",
    '"ngày" dd "tháng" mm',
    '"Tháng" 0',
    "#,##0_);[Red](#,##0)",
    '#,##0\\ "đ"',
    '_-* #,##0\\ _₫_-;\\-* #,##0\\ _₫_-;_-* "-"??\\ _₫_-;_-@_-',
    "[Red]0.00",
    "[BLUE]yyyy",
    "0.0_s",
    "0\\d",
    "",
    "General",
    "@",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_date_and_elapsed_time_as_openpyxl(fmt: str) -> None:
    assert numfmt.is_date_format(fmt) == theirs.is_date_format(fmt)
    assert numfmt.is_timedelta_format(fmt) == theirs.is_timedelta_format(fmt)


def test_no_format_is_no_date() -> None:
    assert numfmt.is_date_format(None) is theirs.is_date_format(None) is False
    assert numfmt.is_timedelta_format(None) is theirs.is_timedelta_format(None) is False


def test_builtin_codes_as_openpyxl() -> None:
    for index in range(-1, 200):
        assert numfmt.builtin_format_code(index) == theirs.builtin_format_code(index)
