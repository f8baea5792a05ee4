"""Which number formats show a date, decided as openpyxl 3.1 decides it
(`openpyxl.styles.numbers`: `builtin_format_code`, `is_date_format`,
`is_timedelta_format`), without importing openpyxl.

Importing `openpyxl.styles.numbers` imports the whole package (and NumPy under it):
about 0.23 s of CPU in every reading process that opens its first .xlsx, for three
functions and a table. openpyxl stays for writing and for the sheets calamine must not
read (parsers/readers/xlsx.py imports it then). tests/test_xlsx_numfmt.py checks these
against openpyxl's own.
"""

from __future__ import annotations

import re

# The built-in number formats by id (ECMA-376 18.8.30), as openpyxl lists them.
BUILTIN_FORMATS: dict[int, str] = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)',
    6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    37: "#,##0_);(#,##0)",
    38: "#,##0_);[Red](#,##0)",
    39: "#,##0.00_);(#,##0.00)",
    40: "#,##0.00_);[Red](#,##0.00)",
    41: r'_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)',
    42: r'_("$"* #,##0_);_("$"* \(#,##0\);_("$"* "-"_);_(@_)',
    43: r'_(* #,##0.00_);_(* \(#,##0.00\);_(* "-"??_);_(@_)',
    44: r'_("$"* #,##0.00_)_("$"* \(#,##0.00\)_("$"* "-"??_)_(@_)',
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
    48: "##0.0E+0",
    49: "@",
}

_LITERAL_GROUP = r'".*?"'  # anything in quotes
_LOCALE_GROUP = r"\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]"  # in square brackets, but hours, minutes, seconds
_STRIP_RE = re.compile(f"{_LITERAL_GROUP}|{_LOCALE_GROUP}")
_TIMEDELTA_RE = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)
_DATE_PART_RE = re.compile(r"(?<![_\\])[dmhysDMHYS]")


def builtin_format_code(index: int) -> str | None:
    """The built-in format code `index`, or None."""
    return BUILTIN_FORMATS.get(index)


def is_date_format(fmt: str | None) -> bool:
    """Whether the first section of `fmt` shows a date or time part (quoted text and
    bracketed locales or colours aside)."""
    if fmt is None:
        return False
    fmt = _STRIP_RE.sub("", fmt.split(";")[0])
    return _DATE_PART_RE.search(fmt) is not None


def is_timedelta_format(fmt: str | None) -> bool:
    """Whether the first section of `fmt` shows elapsed hours, minutes or seconds ([h]...)."""
    if fmt is None:
        return False
    return _TIMEDELTA_RE.search(fmt.split(";")[0]) is not None
