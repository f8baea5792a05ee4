"""Figures, money scales and dates as Vietnamese reports write them.

Pure functions: a cell value in, an exact `Decimal` (or a `date`) out.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Literal

from parsers.vntext import fold, fold_spaces, nfc, strip_diacritics, unify_d

__all__ = [
    "FigureError",
    "NumberLocale",
    "document_locale",
    "is_locale_ambiguous",
    "locale_evidence",
    "is_count_unit",
    "parse_figure",
    "parse_figure_with_unit",
    "MONEY_SCALES",
    "SCALES",
    "scale_by_name",
    "scale_from_header",
    "scale_name",
    "to_dong",
    "as_exact_int",
    "parse_vn_date",
    "parse_as_of_date",
    "parse_day_month",
]

FigureKind = Literal["count", "money"]
# How a document writes its numbers: "vi" 1.234,5 (Vietnamese: '.' groups, ',' is the decimal
# mark), "en" 1,234.5 (a PDF printed on a machine with English regional settings).
NumberLocale = Literal["vi", "en"]


class FigureError(ValueError):
    """A cell value that is not a figure. `reason` is a stable code:

    not_a_number  text that is no number ("ba trăm", "12a", "1.2.3,4,5")
    wrong_type    a bool or a date/time where a figure belongs
    not_finite    NaN or infinity
    excel_error   an Excel error value (#VALUE!, #REF!, #DIV/0!, #N/A ...)
    formula       formula text with no value ("=SUM(C5:C9)")
    """

    def __init__(self, reason: str, value: object = None) -> None:
        super().__init__(f"{reason}: {value!r}")
        self.reason = reason
        self.value = value


# Cell texts that mean "no value" (the form's "nothing to report" marks).
_EMPTY_MARKS = frozenset(
    {
        "",
        "-",
        "--",
        "---",
        "–",
        "—",
        "−",
        "x",
        "xx",
        "…",
        "...",
        "..",
        ".",
        "/",
        "_",
        "(-)",
        "n/a",
    }
)
_EXCEL_ERROR = re.compile(r"#(?:null!|div/0!|value!|ref!|name\?|num!|n/a|getting_data|spill!|calc!)")
_FLOAT_PLACES = Decimal("1e-10")
_MAX_TEXT = 64  # no real figure is longer; bounds the work on hostile cells

# Trailing unit words allowed after a figure, compared without diacritics.
_COUNT_UNITS = frozenset(
    strip_diacritics(u)
    for u in (
        "người",
        "người lao động",
        "lao động",
        "lđ",
        "nlđ",
        "hồ sơ",
        "hs",
        "hộ",
        "hộ kinh doanh",
        "hkd",
        "lượt",
        "lượt người",
        "đối tượng",
        "trường hợp",
        "th",
        "doanh nghiệp",
        "dn",
        "cơ sở",
        "đơn vị",
        "trẻ",
        "trẻ em",
        "cháu",
        "suất",
        "người/lượt",
    )
)


def is_count_unit(text: str) -> bool:
    """Whether `text` is a word a count is written with ("người", "hộ", "trường hợp")."""
    return strip_diacritics(unify_d(nfc(text)).casefold()).rstrip(".").strip() in _COUNT_UNITS


# The one money-scale table: every way a report cell, a header or the config names a
# scale of money, by its factor in đồng. The first name of each is the one written.
MONEY_SCALES: Mapping[int, tuple[str, ...]] = MappingProxyType(
    {
        1: ("đồng", "đ", "vnđ", "vnd"),
        1_000: ("nghìn đồng", "nghìn", "ngàn", "ngàn đồng", "nghìn đ", "ng.đ", "k"),
        1_000_000: ("triệu đồng", "triệu", "triệu đ", "tr", "trđ", "tr.đ", "tr đ", "tr đồng", "tr.đồng", "tr. đồng"),
        1_000_000_000: ("tỷ đồng", "tỷ", "tỉ", "tỉ đồng", "tỷ đ"),
    }
)
# The names the service writes (config, forms), by factor.
SCALES: Mapping[str, int] = MappingProxyType({names[0]: factor for factor, names in MONEY_SCALES.items()})


def _scale_key(text: str) -> str:
    """A scale name as compared: NFC, case, diacritics, Ð/đ, a final "." and spacing ignored."""
    return " ".join(strip_diacritics(unify_d(nfc(text)).casefold()).rstrip(".").split())


_SCALE_OF_KEY = {_scale_key(name): factor for factor, names in MONEY_SCALES.items() for name in names}


def scale_by_name(text: str) -> int | None:
    """The factor in đồng of a scale named as in MONEY_SCALES ("Triệu đồng", "tr.đ"), or None."""
    return _SCALE_OF_KEY.get(_scale_key(text))


def scale_name(factor: int) -> str:
    """The name written for a scale ("triệu đồng"); "<factor> đồng" for one not in the table."""
    names = MONEY_SCALES.get(factor)
    return names[0] if names else f"{factor} đồng"


_DIGITS = frozenset("0123456789")
_NUM_CHARS = frozenset("0123456789., ")
_SPACE_GROUPED = re.compile(r"\d{1,3}(?: \d{3})+(?:[.,]\d+)?")
_SCIENTIFIC = re.compile(r"\d+(?:[.,]\d+)?e[+-]?\d{1,3}", re.IGNORECASE)
_MINUS = "-−–"
# Full-width digits and separators (typed with an East-Asian IME) -> ASCII.
_FULLWIDTH = {0xFF10 + i: str(i) for i in range(10)} | {0xFF0C: ",", 0xFF0E: "."}
_FULLWIDTH_RE = re.compile("[\uff0c\uff0e\uff10-\uff19]")


def _halfwidth(text: str) -> str:
    """`text` with its full-width digits, comma and full stop made ASCII."""
    return text.translate(_FULLWIDTH) if _FULLWIDTH_RE.search(text) else text


def tidy_decimal(value: Decimal) -> Decimal:
    """Drop trailing fractional zeros without exponent notation and without rounding
    (tuple arithmetic, not the 28-digit context); -0 becomes 0."""
    if value.is_zero():
        return Decimal(0)
    sign, digits, exp = value.as_tuple()
    if not isinstance(exp, int):  # NaN/inf: callers reject them before
        return value
    coeff = list(digits)
    while exp < 0 and len(coeff) > 1 and coeff[-1] == 0:
        coeff.pop()
        exp += 1
    if exp > 0:
        coeff.extend([0] * exp)
        exp = 0
    return Decimal((sign, tuple(coeff), exp))


def _grouped(text: str, sep: str) -> bool:
    """True if `text` is digits grouped by `sep` in threes: 1.234.567."""
    parts = text.split(sep)
    return 1 <= len(parts[0]) <= 3 and parts[0].isdigit() and all(len(p) == 3 and p.isdigit() for p in parts[1:])


def _parse_digits(num: str, kind: FigureKind, value: object, locale: NumberLocale | None = None) -> Decimal:
    """Digits with '.', ',' or ' ' separators -> Decimal (rules in parse_figure); with a
    `locale` the separators mean what that locale says."""
    if locale == "en":
        num = num.translate(_SWAP_SEPARATORS)  # then read as Vietnamese
    if " " in num:
        if not _SPACE_GROUPED.fullmatch(num):
            raise FigureError("not_a_number", value)
        # Spaces group the thousands, so a separator left is the decimal mark.
        return _decimal(num.replace(" ", "").replace(",", "."), value)
    dots, commas = num.count("."), num.count(",")
    if dots and commas:
        last = max(num.rfind("."), num.rfind(","))
        dec_sep = num[last]
        group_sep = "," if dec_sep == "." else "."
        int_part, frac = num[:last], num[last + 1 :]
        if num.count(dec_sep) != 1 or not frac.isdigit() or not _grouped(int_part, group_sep):
            raise FigureError("not_a_number", value)
        return _decimal(int_part.replace(group_sep, "") + "." + frac, value)
    if not dots and not commas:
        return _decimal(num, value)
    sep = "." if dots else ","
    if dots + commas > 1:
        if not _grouped(num, sep):
            raise FigureError("not_a_number", value)
        return _decimal(num.replace(sep, ""), value)
    int_part, frac = num.split(sep)
    if not frac.isdigit() or (int_part and not int_part.isdigit()):
        raise FigureError("not_a_number", value)
    if len(frac) == 3 and 1 <= len(int_part) <= 3 and int_part[0] != "0":
        # 1.236 / 1,236: a thousands group or a decimal fraction?
        if sep == "." or (kind == "count" and locale is None):
            return _decimal(int_part + frac, value)
    return _decimal((int_part or "0") + "." + frac, value)


def _decimal(text: str, value: object) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise FigureError("not_a_number", value) from exc


def _split_unit(text: str) -> tuple[str, str]:
    """Split "1.234 người" into ("1.234", "người"); the unit may be empty."""
    for i, ch in enumerate(text):
        if ch not in _NUM_CHARS:
            return text[:i].strip(), text[i:].strip()
    return text.strip(), ""


def parse_figure_with_unit(
    value: object, kind: FigureKind, locale: NumberLocale | None = None
) -> tuple[Decimal | None, int | None]:
    """Like `parse_figure`, also returning the money scale a trailing unit states
    ("500 triệu" -> (500, 1_000_000); "530.530.000 đ" -> (530530000, 1)); the scale is
    None when the cell states none (and always for counts).

    `locale` is how the whole document writes numbers (`document_locale`): with "en",
    "1,212" is 1212 and "220.5" is 220.5; with "vi", "1,500" is 1.5 whatever the kind.
    None keeps the rules of `parse_figure` (spreadsheets, CSV, the email body).
    """
    if value is None:
        return None, None
    if isinstance(value, bool) or isinstance(value, (dt.date, dt.time, dt.timedelta)):
        raise FigureError("wrong_type", value)
    if isinstance(value, int):
        return Decimal(value), None
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise FigureError("not_finite", value)
        return tidy_decimal(value), None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FigureError("not_finite", value)
        # repr() is the shortest text that reads back as the same float: 126.14 stays
        # 126.14; rounding to 10 places removes arithmetic noise (3.7100000000000004).
        d = Decimal(repr(value))
        if d.as_tuple().exponent < -10:  # type: ignore[operator]
            d = d.quantize(_FLOAT_PLACES, rounding=ROUND_HALF_EVEN)
        return tidy_decimal(d), None
    if not isinstance(value, str):
        raise FigureError("wrong_type", value)
    return _parse_text(value, kind, locale)


def _parse_text(value: str, kind: FigureKind, locale: NumberLocale | None = None) -> tuple[Decimal | None, int | None]:
    s = fold_spaces(_halfwidth(value))
    if len(s) > _MAX_TEXT:
        raise FigureError("not_a_number", value)
    low = s.casefold()
    if low in _EMPTY_MARKS:
        return None, None
    if _EXCEL_ERROR.fullmatch(low):
        raise FigureError("excel_error", value)
    if s.startswith("="):
        raise FigureError("formula", value)
    if s.startswith("'"):  # Excel's "store as text" mark
        s = s[1:].strip()
        if s.casefold() in _EMPTY_MARKS:
            return None, None
    negative = False
    if len(s) > 2 and s[0] == "(" and s[-1] == ")":
        negative, s = True, s[1:-1].strip()  # accounting style (1.234)
    if s[:1] and s[:1] in _MINUS + "+":
        negative ^= s[0] in _MINUS
        s = s[1:].strip()
    if s[:1] not in _DIGITS and not (s[:1] in ".," and s[1:2] in _DIGITS):
        raise FigureError("not_a_number", value)
    if _SCIENTIFIC.fullmatch(s):
        number, unit = _decimal(s.replace(",", "."), value), ""
    else:
        num, unit = _split_unit(s)
        number = _parse_digits(num, kind, value, locale)
    scale = None
    if unit:
        key = strip_diacritics(unify_d(nfc(unit)).casefold()).rstrip(".").strip()
        if kind == "count" and key in _COUNT_UNITS:
            pass
        elif kind == "money" and (named := scale_by_name(unit)) is not None:
            scale = named
        else:
            raise FigureError("not_a_number", value)
    if negative:
        number = -number
    return tidy_decimal(number), scale


def parse_figure(value: object, kind: FigureKind) -> Decimal | None:
    """Read one cell as a figure: a `Decimal`, or None when the cell holds no value.

    - None, "", whitespace, "-", "–", "—", "x", "…", "...", "n/a", "(-)" -> None.
    - int / Decimal -> Decimal; float -> Decimal of its shortest repr, rounded to 10
      decimal places (126.14 -> 126.14, 3.7100000000000004 -> 3.71).
    - bool, date, time -> FigureError("wrong_type"); NaN/inf -> "not_finite";
      "#VALUE!" etc. -> "excel_error"; "=..." -> "formula".
    - Text: NBSP/thin spaces, a leading "+" or "-" (also "−", "–"), accounting
      negatives "(1.234)" -> -1234, a leading apostrophe, "1,5e3".
    - Separators (Vietnamese convention: '.' groups thousands, ',' marks decimals,
      unless the pattern proves otherwise):
        * both '.' and ',' -> the last one is the decimal mark ("1,855.5",
          "1.855,5" -> 1855.5); the other must group in threes;
        * one kind, several times -> grouping ("1.234.567", "1,234,567");
        * one separator once with exactly 3 digits after and 1-3 digits (not a leading
          0) before: '.' -> grouping ("1.236" -> 1236); ',' -> grouping for a count,
          decimal for money ("1,500" money -> 1.5);
        * otherwise a decimal mark ("3,71", "126,14", "97,4", "1.5");
        * space groups ("1 234 567"; "1 234,5" -> 1234.5).
    - A short trailing unit is allowed: for counts "người", "hồ sơ", "hộ", "lượt",
      "đối tượng", "lao động", "doanh nghiệp"...; for money "đ", "đồng", "VNĐ",
      "nghìn", "ngàn", "tr", "trđ", "triệu", "tỷ" (with or without "đồng"). The unit
      is NOT applied here: use `parse_figure_with_unit` to get the scale it states.
    - Anything else ("ba trăm", "12a", "1.2.3,4,5", "5%") -> FigureError.

    Counts are not forced to be whole: "1,5" for a count is 1.5 and the caller flags it.
    """
    number, _scale = parse_figure_with_unit(value, kind)
    return number


# ---------------------------------------------------------------------------
# Number locale of a document
# ---------------------------------------------------------------------------

_SWAP_SEPARATORS = str.maketrans({".": ",", ",": "."})
_NUMBER_PART = re.compile(r"^[(+\-−–]?\s*(\d[\d.,]*)")


def _number_part(text: str) -> str | None:
    """The digits-and-separators part of a figure's text ("1.234,5 người" -> "1.234,5")."""
    m = _NUMBER_PART.match(fold_spaces(_halfwidth(text)))
    return m.group(1).rstrip(".,") if m else None


def is_locale_ambiguous(text: str) -> bool:
    """Whether `text` reads differently in the two locales and says nothing of which:
    one separator, once, with 1-3 digits before (no leading 0) and exactly 3 after
    ("1,212" is 1212 in English and 1.212 in Vietnamese; "1.500" the other way round)."""
    num = _number_part(text)
    if num is None or (num.count(".") + num.count(",")) != 1:
        return False
    int_part, frac = re.split(r"[.,]", num)
    return len(frac) == 3 and 1 <= len(int_part) <= 3 and int_part[0] != "0"


def locale_evidence(text: str) -> NumberLocale | None:
    """The locale one figure's text proves, or None when it proves none.

    "1.234,5", "1.234.567", "57,06", "0,500", "47.000" are Vietnamese; "1,234.5",
    "1,234,567", "220.5", "1,000" English; "1,212", "1.500" (either locale), "454" (no
    separator) prove nothing.
    """
    num = _number_part(text)
    if num is None:
        return None
    if is_locale_ambiguous(text):
        # "47.000", "1,000": a figure's decimals are not printed as ",000" / ".000" (a
        # whole number shows none), so three zeros after the one separator are a group.
        return ("vi" if "." in num else "en") if num.endswith("000") else None
    dots, commas = num.count("."), num.count(",")
    if dots and commas:
        dec = num[max(num.rfind("."), num.rfind(","))]
        group = "," if dec == "." else "."
        if num.count(dec) != 1 or not _grouped(num[: num.rfind(dec)], group):
            return None
        return "vi" if dec == "," else "en"
    if dots + commas == 0:
        return None
    sep = "." if dots else ","
    if dots + commas > 1:  # repeated: only a thousands separator repeats
        if not _grouped(num, sep):
            return None
        return "vi" if sep == "." else "en"
    return "vi" if sep == "," else "en"  # once, not 3 digits after: the decimal mark


def document_locale(texts: Iterable[str]) -> NumberLocale | None:
    """How one document writes its numbers, decided from all of them (`locale_evidence`):
    "vi" or "en" when its figures prove one and none proves the other; None when nothing
    proves either, or both are seen (each figure is then read as `parse_figure` reads it,
    and one that `is_locale_ambiguous` must be flagged)."""
    seen: set[NumberLocale] = set()
    for text in texts:
        got = locale_evidence(text)
        if got is not None:
            seen.add(got)
            if len(seen) > 1:
                return None
    return next(iter(seen)) if len(seen) == 1 else None


# ---------------------------------------------------------------------------
# Money scale stated in a header
# ---------------------------------------------------------------------------

_CUR = r"(?:đồng|đ|vnđ|vnd)"
_SCALE_RE = re.compile(
    r"(?P<num>(?<![\d.,])1[0.,\s]*0\s*" + _CUR + r"(?!\w))"
    r"|(?P<ty>(?<!\w)t[ỷỉ](?:\s*" + _CUR + r")?(?!\w))"
    r"|(?P<trieu>(?<!\w)(?:triệu(?:\s*" + _CUR + r")?|tr\.?\s*" + _CUR + r"|tr\.?(?=\s*\)))(?!\w))"
    r"|(?P<nghin>(?<!\w)(?:nghìn|ngàn)(?:\s*" + _CUR + r")?(?!\w))"
    r"|(?P<dong>(?<!\w)" + _CUR + r"(?!\w))"
)
# Words before "đồng" that make it another word (hợp đồng = contract ...).
_NOT_CURRENCY_BEFORE = frozenset({"hợp", "hội", "cộng", "bất", "tương", "đại", "mục", "cánh", "đồng"})
# What may follow a scale phrase that names both its scale and its currency ("nghìn
# đồng", "triệu đ", "1.000đ") at the end of a recognised header: one or two letters of
# noise (a closing bracket read 'í', 'l', 'j') and no other word after them.
_STRAY_LETTERS = re.compile(r"[^\W\d_]{1,2}(?![\w])[^\w]*")


def scale_from_header(text: str) -> int | None:
    """The money scale a header states, in đồng per unit; None when it states none.

    "(đồng)", "VNĐ" -> 1; "(nghìn đồng)", "ngàn đồng", "1.000đ", "1000 đồng" -> 1_000;
    "(triệu đồng)", "Tr.đ", "trđ", "tr. đồng", "(Đơn vị tính: triệu đồng)" ->
    1_000_000; "(tỷ đồng)" -> 1_000_000_000. NFC/NFD, Ð and case do not matter.
    A scale word followed by another word ("triệu người", "tỷ lệ", "hợp đồng",
    "đồng ý") is not a money scale. A phrase naming its scale and its currency both
    ("nghìn đồng", "tr.đ", "1.000đ") may end the text followed by one or two stray
    letters and nothing else worded ('(nghìn đồng í': a recognised bracket misread);
    a scale or currency word alone may not ("tỷ lệ", "đồng ý").
    """
    t = fold_spaces(unify_d(nfc(text)).casefold())
    for m in _SCALE_RE.finditer(t):
        rest = t[m.end() :].lstrip()
        if rest[:1].isalpha() and not (_names_currency(m) and _STRAY_LETTERS.fullmatch(rest)):
            continue  # "triệu người", "tỷ lệ", "đồng ý": not a unit of money
        if m.group("num"):
            digits = re.sub(r"\D", "", m.group("num"))
            if digits.strip("0") == "1":  # 1.000đ, 1000 đồng, 1.000.000 đ
                return int(digits)
            continue
        if m.group("ty"):
            return 1_000_000_000
        if m.group("trieu"):
            return 1_000_000
        if m.group("nghin"):
            return 1_000
        before = t[: m.start()].split()
        if before and before[-1] in _NOT_CURRENCY_BEFORE:
            continue
        return 1
    return None


def _names_currency(m: re.Match[str]) -> bool:
    """Whether a `_SCALE_RE` match names a scale and its currency both ("nghìn đồng",
    "triệu đ", "tr.đ", "1.000đ"): unambiguous, unlike "tỷ" or "đồng" alone."""
    if m.group("num"):
        return True
    for name in ("ty", "trieu", "nghin"):
        if m.group(name):
            return re.search(_CUR + r"$", m.group(name)) is not None
    return False


def to_dong(value: Decimal, scale: int) -> Decimal:
    """`value` in units of `scale` đồng, converted to đồng exactly."""
    return tidy_decimal(value * Decimal(scale))


def as_exact_int(value: Decimal) -> int | None:
    """The integer `value` equals, or None if it is not a whole number."""
    if not value.is_finite() or value != value.to_integral_value():
        return None
    return int(value)


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

_DMY = re.compile(r"(?<![\d.,/-])(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})(?![\d])")
_YMD = re.compile(r"(?<![\d.,/-])(\d{4})([/.\-])(\d{1,2})\2(\d{1,2})(?![\d])")
_WORDS = re.compile(r"(?<!\d)(\d{1,2})\s*thang\s*(\d{1,2})\s*(?:nam|,)?\s*(\d{4})(?!\d)")
_DM = re.compile(r"(?<![\d.,])(\d{1,2})\s*(?:[./\-_]|thang)\s*(\d{1,2})(?![\d.,])")
_AS_OF = re.compile(r"\bden\b|\bas of\b")


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    if not 1900 <= year <= 2200:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _all_dates(folded: str) -> list[tuple[int, dt.date]]:
    """Every full date in `folded`, as (position, date), in text order."""
    found: list[tuple[int, dt.date]] = []
    for m in _DMY.finditer(folded):
        year = int(m.group(4))
        year += 2000 if year < 100 else 0
        d = _date_or_none(year, int(m.group(3)), int(m.group(1)))
        if d:
            found.append((m.start(), d))
    for m in _YMD.finditer(folded):
        d = _date_or_none(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        if d:
            found.append((m.start(), d))
    for m in _WORDS.finditer(folded):
        d = _date_or_none(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if d:
            found.append((m.start(), d))
    found.sort(key=lambda pair: pair[0])
    return found


def parse_as_of_date(text: str) -> dt.date | None:
    """The date after "đến" in an as-of line ("Số liệu tính đến ngày 11/08/2021",
    "Từ ngày 01/8 đến ngày 11/8/2021"); None if the text has no "đến ... date".
    Dates elsewhere in the text (a resolution's date) are not taken.
    """
    folded = fold(text)
    anchors = [m.end() for m in _AS_OF.finditer(folded)]
    if not anchors:
        return None
    for pos, d in _all_dates(folded):
        if pos >= anchors[0]:
            return d
    return None


def parse_vn_date(text: str, default_year: int | None = None) -> dt.date | None:
    """Find a date in `text`: "11/08/2021", "11/8/2021", "11-8-2021", "11.8.2021",
    "ngày 11 tháng 8 năm 2021", ISO "2021-08-11"; two-digit years are 20xx.

    A date after "đến" is preferred ("tính đến ngày ..."), else the first one. With
    `default_year`, a day and month alone ("11.8", "ngày 11/8") are read in that year.
    """
    anchored = parse_as_of_date(text)
    if anchored:
        return anchored
    found = _all_dates(fold(text))
    if found:
        return found[0][1]
    if default_year is not None:
        return parse_day_month(text, default_year)
    return None


def parse_day_month(text: str, year: int) -> dt.date | None:
    """The day a sheet name stands for: "11.8", "11/8", "11-08", "11_8", "Ngày 11.8",
    "N11.8", "11 tháng 8" -> date(year, 8, 11); a full date in the name wins.
    """
    folded = fold(text)
    found = _all_dates(folded)
    if found:
        return found[0][1]
    for m in _DM.finditer(folded):
        d = _date_or_none(year, int(m.group(2)), int(m.group(1)))
        if d:
            return d
    return None
