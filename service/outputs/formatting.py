"""Numbers, times and dates as the reader's language writes them (vi: 1.234,5; 70 triệu; 15:00 11/08/2021)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from service.config import Config
from service.day.dayview import number
from service.outputs.i18n import fill, labels


@dataclass(frozen=True)
class Numbers:
    """Numbers written the way the reader's language writes them (vi: 1.234,5; 70 triệu)."""

    decimal: str
    thousands: str
    money_min_decimals: int = 1  # vi: 0, "70" and never "70,0"
    money_amount: str = "{number}"  # an amount on its own: vi "{number} triệu"

    @classmethod
    def for_language(cls, language: str) -> Numbers:
        t = labels(language)
        return cls(
            t.get("decimal_separator", ","),
            t.get("thousands_separator", "."),
            int(t.get("money_min_decimals", 1)),
            t.get("money_amount", "{number}"),
        )

    def format(
        self, value: Decimal | int | float, min_decimals: int = 0, max_decimals: int = 0, sign: bool = False
    ) -> str:
        q = Decimal(value).quantize(Decimal(1).scaleb(-max_decimals), rounding=ROUND_HALF_UP)
        whole, _, frac = f"{abs(q):,.{max_decimals}f}".partition(".")
        frac = frac.rstrip("0").ljust(min_decimals, "0")
        text = whole.replace(",", self.thousands) + (self.decimal + frac if frac else "")
        if q < 0:
            return "-" + text
        return ("+" + text) if sign and q > 0 else text

    def count(self, value: Decimal, sign: bool = False) -> str:
        integral = value == value.to_integral_value()
        return self.format(value, 0, 0 if integral else 2, sign)

    def money(self, value_dong: Decimal, sign: bool = False) -> str:
        """Money in triệu đồng, at most two decimals (vi: 70; 1.234,5; 3,71), where a heading or
        a label already says "triệu đồng"; the workbook keeps every đồng."""
        return self.format(value_dong / MILLION, self.money_min_decimals, 2, sign)

    def money_words(self, value_dong: Decimal, sign: bool = False) -> str:
        """An amount that stands on its own in a line of text (vi: "70 triệu")."""
        return fill(self.money_amount, {"number": self.money(value_dong, sign)})

    def percent(self, value: float) -> str:
        return self.format(Decimal(str(round(value, 1))), 0, 1)

    def size(self, n_bytes: int) -> str:
        if n_bytes >= 1024 * 1024:
            return self.format(Decimal(n_bytes) / (1024 * 1024), 0, 1) + " MB"
        return self.format(Decimal(max(1, round(n_bytes / 1024))), 0, 0) + " KB"


MILLION = Decimal(1_000_000)


def local_time(when: dt.datetime, cfg: Config) -> dt.datetime:
    return when.astimezone(cfg.service.timezone)


def hour_minute(when: dt.datetime | None, cfg: Config) -> str:
    return clock_text(local_time(when, cfg)) if when else ""


def clock_text(at: dt.datetime) -> str:
    """ "HH:MM" of a local time: strftime("%H:%M") in a quarter of its time (30,000 a
    province's digest)."""
    return f"{at.hour:02d}:{at.minute:02d}"


def day_month_year(day: dt.date | None) -> str:
    if not day:
        return ""
    if day.__class__ is not dt.date:  # a datetime: equal instants in two zones are two days
        return day.strftime("%d/%m/%Y")
    text = _DAYS.get(day)
    if text is None:
        if len(_DAYS) > 1000:
            _DAYS.clear()
        text = _DAYS[day] = day.strftime("%d/%m/%Y")
    return text


# day_month_year's texts: a province's digest writes a handful of days 6,000 times
_DAYS: dict[dt.date, str] = {}


def value_text(value: Decimal | None, money: bool, num: Numbers, sign: bool = False, words: bool = False) -> str:
    if value is None:
        return ""
    if money:
        return num.money_words(value, sign) if words else num.money(value, sign)
    return num.count(value, sign)


def sheet_number(value: Decimal | None, money: bool) -> int | float | None:
    """The value as the workbook shows it: money in triệu đồng, counts as they are."""
    if value is None:
        return None
    return number(value / MILLION if money else value)
