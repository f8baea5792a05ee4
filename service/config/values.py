"""Converters: one TOML value in, its typed value out, or `Invalid` saying what is wrong.

Each says only the "what is wrong" half of a problem ("'25:00' is not a time HH:MM");
`models.py` attaches them to the keys and `loading.py` adds the key path and line.
They are strict about TOML types: a string is never read as a number, nor a number
as a string.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from parsers.numbers import SCALES, scale_by_name
from parsers.text import did_you_mean
from service.config.objects import LAST_DAY

MAX_PASSWORD_FILE_BYTES = 64 * 1024
CheckOp = Literal["<=", "<", ">=", ">", "==", "!="]


class Invalid(ValueError):
    """A converter's verdict on one value: says what is wrong, never the key path."""


def check_rule(rule: str) -> tuple[str, CheckOp, str]:
    """A check's rule "left OP right" split, or `Invalid`."""
    m = CHECK_RE.fullmatch(rule)
    if not m:
        raise Invalid(f"'{rule}' is not a comparison 'measure OP measure' with OP one of <=, <, >=, >, ==, !=")
    left, op, right = m.groups()
    if left == right:
        raise Invalid(f"'{rule}' compares {left} with itself")
    return left, cast(CheckOp, op), right


def toml_type(value: object) -> str:
    # Order matters: bool is an int, datetime is a date.
    for kind, name in (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (dt.datetime, "a date-time"),
        (dt.date, "a date"),
        (dt.time, "a time"),
        (list, "an array"),
        (dict, "a table"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def expect(value: object, kind: type | tuple[type, ...], expected: str) -> None:
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise Invalid(f"expected {expected}, got {toml_type(value)}")


def plain_text(value: Any) -> str:
    """A non-empty string, stripped."""
    expect(value, str, "a string")
    text: str = value.strip()
    if not text:
        raise Invalid("must not be empty")
    return text


def boolean(value: Any) -> bool:
    expect(value, bool, "true or false")
    return bool(value)


def integer(low: int, high: int | None = None) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        expect(value, int, "an integer")
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise Invalid(f"{value} is out of range: must be {bound}")
        return int(value)

    return convert


port = integer(1, 65535)


def positive_number(value: Any) -> float:
    expect(value, (int, float), "a number")
    if not value > 0:  # also catches nan
        raise Invalid(f"{value} must be greater than 0")
    return float(value)


def choice(*options: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = plain_text(value).lower()
        if text not in options:
            raise Invalid(f"'{value}' is not one of {', '.join(options)}")
        return text

    return convert


# "15:00"; also "15h00"/"15h", as Vietnamese write times.
_TIME_RE = re.compile(r"(\d{1,2})(?::(\d{2})|h(\d{2})?)", re.IGNORECASE)


def time(value: Any) -> dt.time:
    """ "HH:MM" or a TOML local time (15:00:00)."""
    if isinstance(value, dt.time):
        return value
    expect(value, str, 'a time "HH:MM"')
    m = _TIME_RE.fullmatch(value.strip())
    hour, minute = (int(m[1]), int(m[2] or m[3] or 0)) if m else (99, 99)
    if hour > 23 or minute > 59:
        raise Invalid(f"'{value}' is not a time HH:MM")
    return dt.time(hour, minute)


_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def date(value: Any) -> dt.date:
    """A TOML date (2021-09-02) or the string "YYYY-MM-DD"."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    expect(value, str, 'a date (2021-09-02 or "2021-09-02")')
    text = value.strip()
    try:
        if _DATE_RE.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise Invalid(f"'{value}' is not a date YYYY-MM-DD")


def fold(text: str) -> str:
    """Text as a reader compares it: NFC, case-folded, Ð read as Đ, runs of spaces as one."""
    text = unicodedata.normalize("NFC", text).replace("\u00d0", "\u0110")
    return " ".join(text.casefold().split())


_WEEKDAY_NAMES = (  # Monday = 0; English and Vietnamese, compared after fold
    ("mon", "monday", "t2", "thứ 2", "thứ hai"),
    ("tue", "tuesday", "t3", "thứ 3", "thứ ba"),
    ("wed", "wednesday", "t4", "thứ 4", "thứ tư"),
    ("thu", "thursday", "t5", "thứ 5", "thứ năm"),
    ("fri", "friday", "t6", "thứ 6", "thứ sáu"),
    ("sat", "saturday", "t7", "thứ 7", "thứ bảy", "thứ bẩy"),
    ("sun", "sunday", "cn", "chủ nhật"),
)
_WEEKDAYS = {fold(name): day for day, names in enumerate(_WEEKDAY_NAMES) for name in names}


def weekday(value: Any) -> int:
    day = _WEEKDAYS.get(fold(plain_text(value)))
    if day is None:
        raise Invalid(f"'{value}' is not a day of the week (mon, tue, wed, thu, fri, sat, sun)")
    return day


def scale(value: Any) -> int:
    """A money scale name ("triệu đồng") or its factor in đồng (1000000)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in SCALES.values():
        return value
    expect(value, str, "a money scale name")
    factor = scale_by_name(value)
    if factor is None:
        raise Invalid(f"'{value}' is not a money scale (one of: {', '.join(SCALES)})")
    return factor


_CODE_RE = re.compile(r"[a-z0-9_]+")
_UNIT_CODE_RE = re.compile(r"\w[\w.-]*")


def code(value: Any) -> str:
    """A measure or indicator code: lower-case letters, digits and _."""
    text = plain_text(value)
    if not _CODE_RE.fullmatch(text):
        raise Invalid(f"'{text}' is not a code: use only a-z, 0-9 and _")
    return text


def unit_code(value: Any) -> str:
    text = plain_text(value)
    if not _UNIT_CODE_RE.fullmatch(text) or len(text) > 64:
        raise Invalid(f"'{text}' is not a unit code: use letters, digits, _ . - (no spaces)")
    return text


_LOCAL_PART_RE = re.compile(r"[^\s@<>()\[\]\\,;:\"]+")
_DOMAIN_RE = re.compile(
    r"(?:(?!-)[\w-]{1,63}(?<!-)\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})|localhost|\[[0-9a-f:.]+\]", re.IGNORECASE
)


def is_domain(text: str) -> bool:
    return bool(_DOMAIN_RE.fullmatch(text))


def is_email(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return (
        bool(at)
        and bool(_LOCAL_PART_RE.fullmatch(local))
        and not local.startswith(".")
        and not local.endswith(".")
        and ".." not in local
        and is_domain(domain)
    )


def email(value: Any) -> str:
    text = plain_text(value)
    if not is_email(text):
        raise Invalid(f"'{text}' is not an email address")
    return text


def email_or_nothing(value: Any) -> str:
    """An address, or "" for none."""
    expect(value, str, "a string")
    return email(value) if value.strip() else ""


def sender(value: Any) -> str:
    """An exact address or "*@domain", lower-cased (addresses compare case-insensitively)."""
    text = plain_text(value)
    lowered = text.lower()
    if lowered.startswith("*@") and is_domain(lowered[2:]) or "*" not in lowered and is_email(lowered):
        return lowered
    raise Invalid(f"'{text}' is not an email address or *@domain")


_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_name(value: Any) -> str:
    text = plain_text(value)
    if not _ENV_NAME_RE.fullmatch(text):
        # Not echoed: a value that is not a variable name may be the password itself.
        raise Invalid("is not an environment variable name (letters, digits and _)")
    return text


def host(value: Any) -> str:
    text = plain_text(value)
    if "://" in text or "/" in text:
        raise Invalid(f"'{text}' is a URL; give only the host name, e.g. mail.example.gov.vn")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]  # an IPv6 literal as written in URLs
    if any(c.isspace() for c in text):
        raise Invalid(f"'{text}' is not a host name")
    if text.count(":") == 1:
        raise Invalid(f"'{text}' looks like host:port; put the port in 'port'")
    return text


def timezone(value: Any) -> ZoneInfo:
    name = plain_text(value)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    known = {z.lower(): z for z in available_timezones()}
    hint = (
        f" (did you mean {known[name.lower()]}?)" if name.lower() in known else did_you_mean(name, set(known.values()))
    )
    raise Invalid(f"'{name}' is not an IANA time zone name such as Asia/Ho_Chi_Minh{hint}")


def subject(*allowed: str) -> Callable[[Any], str]:
    """A one-line subject whose only {...} fields are `allowed`."""
    only = ", ".join("{" + name + "}" for name in allowed)

    def convert(value: Any) -> str:
        text = plain_text(value)
        if "\r" in text or "\n" in text:
            raise Invalid("must be one line")
        try:
            fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
        except ValueError as e:
            raise Invalid("has an unmatched '{' or '}' (write {{ or }} for a literal brace)") from e
        for name, spec, conv in fields:
            if name not in allowed or spec or conv:
                written = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
                raise Invalid(f"unknown field {written}; only {only} may be used")
        return text

    return convert


digest_subject = subject("date")


def day_of_month(value: Any) -> int:
    """A day of the month 1..31, or "last" (returned as LAST_DAY)."""
    if isinstance(value, str) and fold(value) in ("last", "cuối tháng", "cuoi thang"):
        return LAST_DAY
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 31:
        return int(value)
    raise Invalid(f'{value!r} is not a day of the month: 1..31 or "last"')


@dataclass(frozen=True)
class Context:
    """What converters need beyond the value: the config folder and the environment."""

    base: Path
    env: Mapping[str, str]
    require_secrets: bool

    def path(self, value: object) -> Path:
        """A path; a relative one is relative to the config file's folder."""
        return Path(os.path.abspath(self.base / Path(plain_text(value)).expanduser()))

    def existing_file(self, value: object) -> Path:
        path = self.path(value)
        if not path.is_file():
            raise Invalid(f"file '{path}' does not exist" if not path.exists() else f"'{path}' is not a file")
        return path

    def database_url(self, value: object) -> str:
        """A SQLAlchemy URL: SQLite (relative file made absolute) or PostgreSQL via psycopg."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        text = plain_text(value)
        try:
            url = make_url(text)
        except ArgumentError:
            # The URL itself is not echoed: it may hold a password.
            raise Invalid("is not a database URL; use sqlite:///FILE or postgresql://USER@HOST/DATABASE") from None
        backend, _, driver = url.drivername.partition("+")
        if backend == "sqlite" and driver in ("", "pysqlite"):
            database = url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                url = url.set(database=str(self.path(database)))
            return url.render_as_string(hide_password=False)
        if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
            if url.password is not None:
                raise Invalid(
                    "must not contain a password; set the PGPASSWORD environment "
                    "variable or use a PGPASSFILE (~/.pgpass) instead"
                )
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        raise Invalid(f"unsupported database '{url.drivername}'; use sqlite:///FILE or postgresql://USER@HOST/DATABASE")


def read_password_file(file: Path) -> str:
    try:
        with open(file, "rb") as f:
            raw = f.read(MAX_PASSWORD_FILE_BYTES + 1)
    except OSError as e:
        raise Invalid(f"cannot read '{file}': {e.strerror or e}") from None
    if len(raw) > MAX_PASSWORD_FILE_BYTES:
        raise Invalid(f"'{file}' is too large to be a password file")
    try:
        value = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(f"'{file}' is not UTF-8 text") from None
    # `echo secret > file` adds one newline that is not part of the password.
    value = value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value
    if not value:
        raise Invalid(f"'{file}' is empty")
    return value


CHECK_RE = re.compile(r"\s*(\S+?)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*")


_AUTHSERV_ID_RE = re.compile(r"[^\s;()\"=\\]{1,255}")


def authserv_id(value: Any) -> str:
    """An authserv-id as the server writes it first in its Authentication-Results."""
    text = plain_text(value)
    if not _AUTHSERV_ID_RE.fullmatch(text):
        raise Invalid(
            f"'{text}' is not an authserv-id (one word such as mx.example.gov.vn: "
            "no spaces, ';', '(', ')', '=' or quotes)"
        )
    return text.lower()
