"""The configuration: one TOML file loaded once into typed, frozen objects.

`load_config(path)` validates everything and raises `ConfigError` listing every
problem at once (key path + what is wrong). Secrets are `Secret` objects that
never print.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import string
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from parsers.model import CheckSpec, FormSpec, IndicatorSpec, MeasureSpec, ReadLimits
from parsers.numbers import SCALES, scale_by_name
from parsers.text import did_you_mean
from service.errors import ConfigError
from service.mail.loopback import is_loopback
from service.targets import MAX_FILE_BYTES as MAX_TARGETS_FILE_BYTES
from service.targets import Target, parse_targets

Security = Literal["ssl", "starttls", "none"]


class Secret:
    """A password read from the environment or a file; its value never prints."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source  # e.g. "env BAOCAO_IMAP_PASSWORD" (safe to show)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret(<hidden>, from {self.source})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self.source)

    def __reduce__(self):  # never pickled into a worker or a log
        raise TypeError("Secret cannot be pickled")


@dataclass(frozen=True)
class ServiceConfig:
    timezone: ZoneInfo
    database_url: str
    archive_dir: Path
    poll_interval_minutes: int = 5
    language: Literal["vi", "en"] = "vi"


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    security: Security
    username: str
    password: Secret
    ca_file: Path | None = None
    folder: str = "INBOX"
    processed_folder: str | None = None
    timeout_seconds: float = 60.0
    idle: bool = False


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Security
    username: str | None
    password: Secret | None
    from_address: str
    from_name: str | None = None
    ca_file: Path | None = None
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class ScheduleConfig:
    deadline: dt.time = dt.time(15, 0)
    digest_at: dt.time = dt.time(15, 0)
    report_days: frozenset[int] = frozenset(range(7))  # Monday = 0
    holidays: frozenset[dt.date] = frozenset()
    reminders_at: tuple[dt.time, ...] = ()


@dataclass(frozen=True)
class DigestConfig:
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    subject: str = "Tổng hợp báo cáo ngày {date}"
    attach_workbook: bool = True
    # The service's own copy of each digest (Bcc); None: the [imap] username when it is an
    # address; "": none (service.dispatch.copy_address).
    copy_to: str | None = None


@dataclass(frozen=True)
class CampaignConfig:
    title: str = ""
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    targets_file: Path | None = None
    targets: tuple[Target, ...] = ()  # read from targets_file; money in đồng


@dataclass(frozen=True)
class UnitConfig:
    code: str
    name: str
    group: str | None = None
    aliases: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()  # lower-cased; "*@domain" allowed
    reminder_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class AcknowledgementsConfig:
    enabled: bool = False
    reply_unknown: bool = False
    daily_cap_per_address: int = 10


@dataclass(frozen=True)
class RemindersConfig:
    enabled: bool = False


@dataclass(frozen=True)
class SecurityConfig:
    """Whether a report must prove its From address (Authentication-Results, RFC 8601)."""
    require_authentication: bool = False
    # The receiving server's authserv-id(s): only its Authentication-Results are believed.
    authserv_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    service: ServiceConfig
    imap: ImapConfig | None
    smtp: SmtpConfig | None
    schedule: ScheduleConfig
    digest: DigestConfig
    campaign: CampaignConfig
    form: FormSpec
    units: tuple[UnitConfig, ...]
    acknowledgements: AcknowledgementsConfig = field(default_factory=AcknowledgementsConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    source: Path | None = None  # the file it was loaded from
    security: SecurityConfig = field(default_factory=SecurityConfig)

    def unit(self, code: str) -> UnitConfig:
        for u in self.units:
            if u.code == code:
                return u
        raise KeyError(code)


# ---------------------------------------------------------------------------------------
# Loading and validation.
#
# Every section is read through `_Table`, whose getters convert a value or record a
# problem (never raise), and remember which keys were read so that whatever is left
# is reported as an unknown key. Converters are plain functions that raise `_Invalid`
# with the "what is wrong" half of a problem; `_Table` adds the key path. So the whole
# file is always read to the end and every problem is reported at once.

log = logging.getLogger(__name__)

CONFIG_ENV = "BAOCAO_CONFIG"
DEFAULT_CONFIG_FILE = "config.toml"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_DATABASE_URL = "sqlite:///data/baocao.db"
DEFAULT_ARCHIVE_DIR = "data/archive"
# The digest subject when the file sets none; it is configuration, not a template,
# because administrators override it in [digest] subject.
DEFAULT_DIGEST_SUBJECT = {"vi": DigestConfig.subject, "en": "Report digest for {date}"}
DEFAULT_PORTS: Mapping[str, Mapping[str, int]] = {
    "imap": {"ssl": 993, "starttls": 143, "none": 143},
    "smtp": {"ssl": 465, "starttls": 587, "none": 25},
}
MAX_PASSWORD_FILE_BYTES = 64 * 1024

T = TypeVar("T")
_REQUIRED: Any = object()  # `default=` marker: the key must be present


class _Invalid(ValueError):
    """A converter's verdict on one value: says what is wrong, never the key path."""


def resolve_config_path(arg: str | None, env: Mapping[str, str] = os.environ) -> Path:
    """The config file to use: `--config PATH`, else `$BAOCAO_CONFIG`, else `./config.toml`."""
    chosen = arg or env.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE
    return Path(chosen).expanduser()


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    require_secrets: bool = True,
) -> Config:
    """Read and validate the config file; raise `ConfigError` listing every problem.

    Relative paths in the file (SQLite database, archive, ca_file, password_file,
    targets_file) are taken relative to the file's folder. With `require_secrets=False`
    (commands that talk to no mail server) a password whose variable or file is missing
    is not a problem; its `Secret` is then empty.
    """
    file = Path(os.path.abspath(resolve_config_path(os.fspath(path) if path is not None else None, env)))
    data = _read_toml(file)
    problems: list[str] = []
    ctx = _Context(base=file.parent, env=env, require_secrets=require_secrets)
    config = _build_config(_Table(data, "", problems), ctx, file)
    if problems:
        raise ConfigError(file, problems)
    log.debug("loaded %s: %d units, %d indicators, %d measures",
              file, len(config.units), len(config.form.indicators), len(config.form.measures))
    return config


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        raw = file.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(file, [
            f"the file does not exist (give --config PATH or set {CONFIG_ENV})"]) from e
    except OSError as e:
        raise ConfigError(file, [f"cannot read the file: {e.strerror or e}"]) from e
    try:
        text = raw.decode("utf-8-sig")  # Windows Notepad saves UTF-8 with a BOM
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ConfigError(file, [f"line {line}: the file is not UTF-8 text; save it as UTF-8"]) from e
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(file, [f"not valid TOML: {e}"]) from e


# ---- reading typed values --------------------------------------------------------------

def _toml_type(value: object) -> str:
    # Order matters: bool is an int, datetime is a date.
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"),
                       (str, "a string"), (dt.datetime, "a date-time"), (dt.date, "a date"),
                       (dt.time, "a time"), (list, "an array"), (dict, "a table")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _expect(value: object, kind: type | tuple[type, ...], expected: str) -> None:
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise _Invalid(f"expected {expected}, got {_toml_type(value)}")


class _Table:
    """One TOML table being read; `path` is its key path ("imap", "units[3]").

    A getter that records a problem returns None in place of the value. Typing it as
    the value is safe: a Config built from any None is never returned, since
    load_config raises when there is any problem.
    """

    def __init__(self, data: Mapping[str, Any], path: str, problems: list[str]) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self._read: set[str] = set()

    def where(self, key: str | None = None) -> str:
        if key is None:
            return self.path or "(top level)"
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str | None, text: str) -> None:
        self.problems.append(f"{self.where(key)}: {text}")

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def mark(self, key: str) -> None:
        """Count `key` as known without reading it (it is handled by hand)."""
        self._read.add(key)

    def get(self, key: str, convert: Callable[[Any], T], default: Any = None) -> T:
        """The converted value, `default` when absent, None after recording a problem."""
        self._read.add(key)
        if key not in self.data:
            if default is _REQUIRED:
                self.problem(key, "required key is missing")
                return None  # type: ignore[return-value]
            return default  # type: ignore[no-any-return]
        try:
            return convert(self.data[key])
        except _Invalid as e:
            self.problem(key, str(e))
            return None  # type: ignore[return-value]

    def get_list(self, key: str, convert: Callable[[Any], T], default: Any = (),
                 *, nonempty: bool = False) -> tuple[T, ...]:
        """An array converted item by item (duplicates dropped, order kept)."""
        self._read.add(key)
        if key not in self.data:
            if default is _REQUIRED:
                self.problem(key, "required key is missing")
                return None  # type: ignore[return-value]
            return default  # type: ignore[no-any-return]
        value = self.data[key]
        if not isinstance(value, list):
            self.problem(key, f"expected an array, got {_toml_type(value)}")
            return None  # type: ignore[return-value]
        if nonempty and not value:
            self.problem(key, "must list at least one value")
        items: list[T] = []
        for i, item in enumerate(value):
            try:
                items.append(convert(item))
            except _Invalid as e:
                self.problems.append(f"{self.where(key)}[{i}]: {e}")
        return tuple(dict.fromkeys(items))

    def section(self, key: str) -> _Table | None:
        """A sub-table, or None when absent (or not a table: a problem)."""
        self._read.add(key)
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, dict):
            self.problem(key, f"expected a table [{self.where(key)}], got {_toml_type(value)}")
            return None
        return _Table(value, self.where(key), self.problems)

    def section_or_empty(self, key: str) -> _Table:
        return self.section(key) or _Table({}, self.where(key), self.problems)

    def sections(self, key: str, *, required: bool = False) -> list[_Table]:
        """The tables of an array of tables ([[key]])."""
        self._read.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list):
            self.problem(key, f"expected an array of tables [[{key}]], got {_toml_type(value)}")
            return []
        if required and not value:
            self.problem(key, f"at least one [[{key}]] entry is required")
        tables = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                tables.append(_Table(item, f"{self.where(key)}[{i}]", self.problems))
            else:
                self.problems.append(f"{self.where(key)}[{i}]: expected a table, got {_toml_type(item)}")
        return tables

    def read(self, build: Callable[[_Table], T]) -> T:
        """`build(self)`, then report the keys it did not read."""
        value = build(self)
        self.finish()
        return value

    def entries(self, key: str, build: Callable[[_Table], T], *, required: bool = False,
                ) -> list[tuple[_Table, T]]:
        """One value built from each table of [[key]], with the table it came from."""
        return [(t, t.read(build)) for t in self.sections(key, required=required)]

    def finish(self) -> None:
        """Report every key that no getter read."""
        noun = "section" if not self.path else "key"
        suggestions = self._read - {"password"}  # never steer anyone towards a plain password
        for key in self.data:
            if key not in self._read:
                self.problem(key, f"unknown {noun}{did_you_mean(key, suggestions)}")


# ---- converters: value -> typed value, or _Invalid ---------------------------------------

def _text(value: Any) -> str:
    """A non-empty string, stripped."""
    _expect(value, str, "a string")
    text = value.strip()
    if not text:
        raise _Invalid("must not be empty")
    return text


def _boolean(value: Any) -> bool:
    _expect(value, bool, "true or false")
    return value


def _integer(low: int, high: int | None = None) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        _expect(value, int, "an integer")
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise _Invalid(f"{value} is out of range: must be {bound}")
        return value
    return convert


_port = _integer(1, 65535)


def _positive_number(value: Any) -> float:
    _expect(value, (int, float), "a number")
    if not value > 0:  # also catches nan
        raise _Invalid(f"{value} must be greater than 0")
    return float(value)


def _choice(*options: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = _text(value).lower()
        if text not in options:
            raise _Invalid(f"'{value}' is not one of {', '.join(options)}")
        return text
    return convert


# "15:00"; also "15h00"/"15h", as Vietnamese write times.
_TIME_RE = re.compile(r"(\d{1,2})(?::(\d{2})|h(\d{2})?)", re.IGNORECASE)


def _time(value: Any) -> dt.time:
    """"HH:MM" or a TOML local time (15:00:00)."""
    if isinstance(value, dt.time):
        return value
    _expect(value, str, 'a time "HH:MM"')
    m = _TIME_RE.fullmatch(value.strip())
    hour, minute = (int(m[1]), int(m[2] or m[3] or 0)) if m else (99, 99)
    if hour > 23 or minute > 59:
        raise _Invalid(f"'{value}' is not a time HH:MM")
    return dt.time(hour, minute)


_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: Any) -> dt.date:
    """A TOML date (2021-09-02) or the string "YYYY-MM-DD"."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    _expect(value, str, 'a date (2021-09-02 or "2021-09-02")')
    text = value.strip()
    try:
        if _DATE_RE.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise _Invalid(f"'{value}' is not a date YYYY-MM-DD")


def _fold(text: str) -> str:
    """Text as a reader compares it: NFC, case-folded, Ð read as Đ, runs of spaces as one."""
    text = unicodedata.normalize("NFC", text).replace("\u00d0", "\u0110")
    return " ".join(text.casefold().split())


_WEEKDAY_NAMES = (  # Monday = 0; English and Vietnamese, compared after _fold
    ("mon", "monday", "t2", "thứ 2", "thứ hai"),
    ("tue", "tuesday", "t3", "thứ 3", "thứ ba"),
    ("wed", "wednesday", "t4", "thứ 4", "thứ tư"),
    ("thu", "thursday", "t5", "thứ 5", "thứ năm"),
    ("fri", "friday", "t6", "thứ 6", "thứ sáu"),
    ("sat", "saturday", "t7", "thứ 7", "thứ bảy", "thứ bẩy"),
    ("sun", "sunday", "cn", "chủ nhật"),
)
_WEEKDAYS = {_fold(name): day for day, names in enumerate(_WEEKDAY_NAMES) for name in names}


def _weekday(value: Any) -> int:
    day = _WEEKDAYS.get(_fold(_text(value)))
    if day is None:
        raise _Invalid(f"'{value}' is not a day of the week (mon, tue, wed, thu, fri, sat, sun)")
    return day


def _scale(value: Any) -> int:
    """A money scale name ("triệu đồng") or its factor in đồng (1000000)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in SCALES.values():
        return value
    _expect(value, str, "a money scale name")
    factor = scale_by_name(value)
    if factor is None:
        raise _Invalid(f"'{value}' is not a money scale (one of: {', '.join(SCALES)})")
    return factor


_CODE_RE = re.compile(r"[a-z0-9_]+")
_UNIT_CODE_RE = re.compile(r"\w[\w.-]*")


def _code(value: Any) -> str:
    """A measure or indicator code: lower-case letters, digits and _."""
    text = _text(value)
    if not _CODE_RE.fullmatch(text):
        raise _Invalid(f"'{text}' is not a code: use only a-z, 0-9 and _")
    return text


def _unit_code(value: Any) -> str:
    text = _text(value)
    if not _UNIT_CODE_RE.fullmatch(text) or len(text) > 64:
        raise _Invalid(f"'{text}' is not a unit code: use letters, digits, _ . - (no spaces)")
    return text


_LOCAL_PART_RE = re.compile(r"[^\s@<>()\[\]\\,;:\"]+")
_DOMAIN_RE = re.compile(
    r"(?:(?!-)[\w-]{1,63}(?<!-)\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})|localhost|\[[0-9a-f:.]+\]",
    re.IGNORECASE)


def _is_domain(text: str) -> bool:
    return bool(_DOMAIN_RE.fullmatch(text))


def _is_email(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return (bool(at) and bool(_LOCAL_PART_RE.fullmatch(local)) and not local.startswith(".")
            and not local.endswith(".") and ".." not in local and _is_domain(domain))


def _email(value: Any) -> str:
    text = _text(value)
    if not _is_email(text):
        raise _Invalid(f"'{text}' is not an email address")
    return text


def _email_or_nothing(value: Any) -> str:
    """An address, or "" for none."""
    _expect(value, str, "a string")
    return _email(value) if value.strip() else ""


def _sender(value: Any) -> str:
    """An exact address or "*@domain", lower-cased (addresses compare case-insensitively)."""
    text = _text(value)
    lowered = text.lower()
    if lowered.startswith("*@") and _is_domain(lowered[2:]) or "*" not in lowered and _is_email(lowered):
        return lowered
    raise _Invalid(f"'{text}' is not an email address or *@domain")


_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(value: Any) -> str:
    text = _text(value)
    if not _ENV_NAME_RE.fullmatch(text):
        # Not echoed: a value that is not a variable name may be the password itself.
        raise _Invalid("is not an environment variable name (letters, digits and _)")
    return text


def _host(value: Any) -> str:
    text = _text(value)
    if "://" in text or "/" in text:
        raise _Invalid(f"'{text}' is a URL; give only the host name, e.g. mail.example.gov.vn")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]  # an IPv6 literal as written in URLs
    if any(c.isspace() for c in text):
        raise _Invalid(f"'{text}' is not a host name")
    if text.count(":") == 1:
        raise _Invalid(f"'{text}' looks like host:port; put the port in 'port'")
    return text


def _timezone(value: Any) -> ZoneInfo:
    name = _text(value)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    known = {z.lower(): z for z in available_timezones()}
    hint = f" (did you mean {known[name.lower()]}?)" if name.lower() in known else \
        did_you_mean(name, set(known.values()))
    raise _Invalid(f"'{name}' is not an IANA time zone name such as Asia/Ho_Chi_Minh{hint}")


def _digest_subject(value: Any) -> str:
    text = _text(value)
    if "\r" in text or "\n" in text:
        raise _Invalid("must be one line")
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text)
                  if name is not None]
    except ValueError as e:
        raise _Invalid("has an unmatched '{' or '}' (write {{ or }} for a literal brace)") from e
    for name, spec, conv in fields:
        if name != "date" or spec or conv:
            written = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            raise _Invalid(f"unknown field {written}; only {{date}} may be used")
    return text


@dataclass(frozen=True)
class _Context:
    """What converters need beyond the value: the config folder and the environment."""

    base: Path
    env: Mapping[str, str]
    require_secrets: bool

    def path(self, value: object) -> Path:
        """A path; a relative one is relative to the config file's folder."""
        return Path(os.path.abspath(self.base / Path(_text(value)).expanduser()))

    def existing_file(self, value: object) -> Path:
        path = self.path(value)
        if not path.is_file():
            raise _Invalid(f"file '{path}' does not exist" if not path.exists()
                           else f"'{path}' is not a file")
        return path

    def database_url(self, value: object) -> str:
        """A SQLAlchemy URL: SQLite (relative file made absolute) or PostgreSQL via psycopg."""
        text = _text(value)
        try:
            url = make_url(text)
        except ArgumentError:
            # The URL itself is not echoed: it may hold a password.
            raise _Invalid("is not a database URL; use sqlite:///FILE or "
                           "postgresql://USER@HOST/DATABASE") from None
        backend, _, driver = url.drivername.partition("+")
        if backend == "sqlite" and driver in ("", "pysqlite"):
            database = url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                url = url.set(database=str(self.path(database)))
            return url.render_as_string(hide_password=False)
        if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
            if url.password is not None:
                raise _Invalid("must not contain a password; set the PGPASSWORD environment "
                               "variable or use a PGPASSFILE (~/.pgpass) instead")
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        raise _Invalid(f"unsupported database '{url.drivername}'; use sqlite:///FILE or "
                       "postgresql://USER@HOST/DATABASE")


# ---- sections ----------------------------------------------------------------------------

def _build_config(root: _Table, ctx: _Context, file: Path) -> Config:
    service = root.section_or_empty("service").read(lambda t: _service(t, ctx))
    imap, smtp = root.section("imap"), root.section("smtp")
    config = root.read(lambda root: Config(
        service=service,
        imap=imap.read(lambda t: _imap(t, ctx)) if imap else None,
        smtp=smtp.read(lambda t: _smtp(t, ctx)) if smtp else None,
        schedule=root.section_or_empty("schedule").read(_schedule),
        digest=root.section_or_empty("digest").read(lambda t: _digest(t, service.language)),
        campaign=root.section_or_empty("campaign").read(lambda t: _campaign(t, ctx)),
        form=_form(root),
        units=_units(root),
        acknowledgements=root.section_or_empty("acknowledgements").read(_acknowledgements),
        reminders=root.section_or_empty("reminders").read(
            lambda t: RemindersConfig(enabled=t.get("enabled", _boolean, False))),
        source=file,
        security=root.section_or_empty("security").read(_security),
    ))
    if config.campaign.targets_file is not None:
        # Targets name units, indicators and measures: read once the form and units are.
        targets = _targets(config.campaign.targets_file, config, root.problems)
        config = dataclasses.replace(config, campaign=dataclasses.replace(config.campaign, targets=targets))
    return config


def _targets(file: Path, config: Config, problems: list[str]) -> tuple[Target, ...]:
    """The targets in `file`; each problem in it is one "campaign.targets_file: line N ..." entry."""
    try:
        with open(file, "rb") as f:
            data = f.read(MAX_TARGETS_FILE_BYTES + 1)
    except OSError as e:
        problems.append(f"campaign.targets_file: cannot read '{file}': {e.strerror or e}")
        return ()
    form = config.form
    # A broken [[measures]]/[[indicators]]/[[units]] entry is reported already; checking
    # the file against what is valid keeps its own problems to the point.
    measures = tuple(m for m in form.measures if m is not None and m.code)
    indicators = tuple(i for i in form.indicators if i is not None and i.code)
    units = tuple(u for u in config.units if u is not None and u.code)
    targets, found = parse_targets(data, dataclasses.replace(form, measures=measures, indicators=indicators),
                                   units)
    problems.extend(f"campaign.targets_file: {text}" for text in found)
    return targets


def _service(t: _Table, ctx: _Context) -> ServiceConfig:
    return ServiceConfig(
        timezone=t.get("timezone", _timezone, ZoneInfo(DEFAULT_TIMEZONE)),
        database_url=t.get("database_url", ctx.database_url, ctx.database_url(DEFAULT_DATABASE_URL)),
        archive_dir=t.get("archive_dir", ctx.path, ctx.path(DEFAULT_ARCHIVE_DIR)),
        poll_interval_minutes=t.get("poll_interval_minutes", _integer(1, 24 * 60), 5),
        language=t.get("language", _choice("vi", "en"), "vi"),
    )


@dataclass(frozen=True)
class _Endpoint:
    """What [imap] and [smtp] share."""

    host: str | None
    port: int
    security: Security | None
    ca_file: Path | None
    timeout_seconds: float | None


def _endpoint(t: _Table, ctx: _Context, protocol: str) -> _Endpoint:
    host = t.get("host", _host, _REQUIRED)
    security = t.get("security", _choice("ssl", "starttls", "none"), "ssl")
    port = t.get("port", _port)
    if security == "none" and host is not None and not is_loopback(host):
        # A password and the reports would cross the network in clear text.
        t.problem("security", f"'none' (no encryption) is only allowed to a loopback host "
                              f"(127.0.0.1, ::1, localhost), not '{host}'; use ssl or starttls")
    return _Endpoint(
        host=host,
        security=security,
        port=port if port is not None else DEFAULT_PORTS[protocol].get(security or "ssl", 0),
        ca_file=t.get("ca_file", ctx.existing_file),
        timeout_seconds=t.get("timeout_seconds", _positive_number, 60.0),
    )


def _read_secret(t: _Table, ctx: _Context, *, required: bool) -> Secret | None:
    """The password named by password_env or password_file (exactly one of them)."""
    t.mark("password")
    if "password" in t:
        t.problem("password", "a password must not be written in the config file; use "
                              'password_env = "VARIABLE" or password_file = "/path/to/file"')
    name = t.get("password_env", _env_name)
    file = t.get("password_file", ctx.path)
    if "password_env" in t and "password_file" in t:
        t.problem(None, "set only one of password_env and password_file")
        return None
    if name is not None:
        value = ctx.env.get(name, "")
        if not value and ctx.require_secrets:
            t.problem("password_env", f"environment variable {name} is "
                                      f"{'empty' if name in ctx.env else 'not set'}")
        return Secret(value, f"env {name}")
    if file is not None:
        try:
            value = _read_password_file(file)
        except _Invalid as e:
            if ctx.require_secrets:
                t.problem("password_file", str(e))
            value = ""
        return Secret(value, f"file {file}")
    if required and "password" not in t and "password_env" not in t and "password_file" not in t:
        t.problem("password_env", "required key is missing (or set password_file)")
    return None


def _read_password_file(file: Path) -> str:
    try:
        with open(file, "rb") as f:
            raw = f.read(MAX_PASSWORD_FILE_BYTES + 1)
    except OSError as e:
        raise _Invalid(f"cannot read '{file}': {e.strerror or e}") from None
    if len(raw) > MAX_PASSWORD_FILE_BYTES:
        raise _Invalid(f"'{file}' is too large to be a password file")
    try:
        value = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Invalid(f"'{file}' is not UTF-8 text") from None
    # `echo secret > file` adds one newline that is not part of the password.
    value = value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value
    if not value:
        raise _Invalid(f"'{file}' is empty")
    return value


def _imap(t: _Table, ctx: _Context) -> ImapConfig:
    end = _endpoint(t, ctx, "imap")
    folder = t.get("folder", _text, "INBOX")
    processed = t.get("processed_folder", _text)
    if processed is not None and processed == folder:
        t.problem("processed_folder", f"must differ from folder ('{folder}')")
    return ImapConfig(
        host=end.host, port=end.port, security=end.security, ca_file=end.ca_file,
        timeout_seconds=end.timeout_seconds,
        username=t.get("username", _text, _REQUIRED),
        password=_read_secret(t, ctx, required=True),
        folder=folder,
        processed_folder=processed,
        idle=t.get("idle", _boolean, False),
    )


def _smtp(t: _Table, ctx: _Context) -> SmtpConfig:
    end = _endpoint(t, ctx, "smtp")
    username = t.get("username", _text)
    password = _read_secret(t, ctx, required=False)
    has_password = "password_env" in t or "password_file" in t
    if username is not None and not has_password and "password" not in t:
        t.problem("password_env", "required when username is set (or set password_file)")
    if has_password and "username" not in t:
        t.problem("username", "required when a password is set")
    return SmtpConfig(
        host=end.host, port=end.port, security=end.security, ca_file=end.ca_file,
        timeout_seconds=end.timeout_seconds,
        username=username, password=password,
        from_address=t.get("from_address", _email, _REQUIRED),
        from_name=t.get("from_name", _text),
    )


def _schedule(t: _Table) -> ScheduleConfig:
    deadline = t.get("deadline", _time, ScheduleConfig.deadline)
    # Without its own time, the digest goes at the deadline: any earlier would list
    # units that still have time as missing.
    digest_at = t.get("digest_at", _time, deadline)
    if deadline is not None and digest_at is not None and digest_at < deadline:
        log.warning("schedule.digest_at %s is before the deadline %s: units that report on "
                    "time after it are listed as missing", digest_at, deadline)
    return ScheduleConfig(
        deadline=deadline,
        digest_at=digest_at,
        report_days=frozenset(t.get_list("report_days", _weekday, range(7), nonempty=True) or ()),
        holidays=frozenset(t.get_list("holidays", _date) or ()),
        reminders_at=tuple(sorted(t.get_list("reminders_at", _time) or ())),
    )


def _digest(t: _Table, language: str | None) -> DigestConfig:
    return DigestConfig(
        to=t.get_list("to", _email, _REQUIRED, nonempty=True),
        cc=t.get_list("cc", _email),
        subject=t.get("subject", _digest_subject, DEFAULT_DIGEST_SUBJECT.get(language or "vi")),
        attach_workbook=t.get("attach_workbook", _boolean, True),
        copy_to=t.get("copy_to", _email_or_nothing),
    )


def _campaign(t: _Table, ctx: _Context) -> CampaignConfig:
    start, end = t.get("start_date", _date), t.get("end_date", _date)
    if start is not None and end is not None and start > end:
        t.problem("end_date", f"{end} is before start_date {start}")
    return CampaignConfig(
        title=t.get("title", _text, ""),
        start_date=start,
        end_date=end,
        targets_file=t.get("targets_file", ctx.existing_file),
    )


def _measure(t: _Table) -> MeasureSpec:
    kind = t.get("kind", _choice("count", "money"), "count")
    if "default_scale" in t and kind == "count":
        t.problem("default_scale", 'only applies to kind = "money"')
    return MeasureSpec(
        code=t.get("code", _code, _REQUIRED),
        label=t.get("label", _text, _REQUIRED),
        aliases=t.get_list("aliases", _text),
        kind=kind,
        default_scale=t.get("default_scale", _scale, 1),
    )


def _indicator(t: _Table) -> IndicatorSpec:
    return IndicatorSpec(
        code=t.get("code", _code, _REQUIRED),
        label=t.get("label", _text, _REQUIRED),
        aliases=t.get_list("aliases", _text),
        group=t.get("group", _text),
    )


def _unit(t: _Table) -> UnitConfig:
    return UnitConfig(
        code=t.get("code", _unit_code, _REQUIRED),
        name=t.get("name", _text, _REQUIRED),
        group=t.get("group", _text),
        aliases=t.get_list("aliases", _text),
        senders=t.get_list("senders", _sender, _REQUIRED, nonempty=True),
        reminder_to=t.get_list("reminder_to", _email),
    )


def _form(root: _Table) -> FormSpec:
    measures = root.entries("measures", _measure, required=True)
    indicators = root.entries("indicators", _indicator, required=True)
    _check_unique_codes(measures, fold=False)
    _check_unique_codes(indicators, fold=False)
    _check_unambiguous_names("measure", [(t, m.code, (m.label, *(m.aliases or ()))) for t, m in measures])
    _check_unambiguous_names("indicator", [(t, i.code, (i.label, *(i.aliases or ()))) for t, i in indicators])
    measure_codes = [m.code for _, m in measures if m.code]
    limits = root.section("limits")
    return FormSpec(
        measures=tuple(m for _, m in measures),
        indicators=tuple(i for _, i in indicators),
        checks=tuple(c for _, c in root.entries("checks", lambda t: _check(t, measure_codes))),
        limits=limits.read(_limits) if limits else ReadLimits(),
    )


_CHECK_RE = re.compile(r"\s*(\S+?)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*")


def _check(t: _Table, measure_codes: list[str]) -> CheckSpec:
    rule = t.get("rule", _text, _REQUIRED)
    left = op = right = ""
    if rule is not None:
        m = _CHECK_RE.fullmatch(rule)
        if not m:
            t.problem("rule", f"'{rule}' is not a comparison 'measure OP measure' "
                              "with OP one of <=, <, >=, >, ==, !=")
        else:
            left, op, right = m.groups()
            for side in dict.fromkeys((left, right)):
                if measure_codes and side not in measure_codes:
                    t.problem("rule", f"'{side}' is not a measure code"
                                      f"{did_you_mean(side, measure_codes)}")
            if left == right:
                t.problem("rule", f"'{rule}' compares {left} with itself")
    return CheckSpec(left=left, op=op, right=right,
                     message=t.get("message", _text, _REQUIRED),
                     rule=f"{left} {op} {right}" if op else (rule or ""))


def _limits(t: _Table) -> ReadLimits:
    return ReadLimits(**{
        f.name: t.get(f.name, _integer(1), f.default) for f in dataclasses.fields(ReadLimits)})


def _units(root: _Table) -> tuple[UnitConfig, ...]:
    units = root.entries("units", _unit, required=True)
    # "BHXH" and "bhxh" would be one unit to a person typing --unit.
    _check_unique_codes(units, fold=True)
    # The name in "Đơn vị: ..." picks the unit when a sender is shared, so it must be unique.
    _check_unambiguous_names("unit", [(t, u.code, (u.name, *(u.aliases or ()))) for t, u in units],
                             first_key="name")
    return tuple(u for _, u in units)


def _acknowledgements(t: _Table) -> AcknowledgementsConfig:
    return AcknowledgementsConfig(
        enabled=t.get("enabled", _boolean, False),
        reply_unknown=t.get("reply_unknown", _boolean, False),
        daily_cap_per_address=t.get("daily_cap_per_address", _integer(1), 10),
    )


_AUTHSERV_ID_RE = re.compile(r"[^\s;()\"=\\]{1,255}")


def _authserv_id(value: Any) -> str:
    """An authserv-id as the server writes it first in its Authentication-Results."""
    text = _text(value)
    if not _AUTHSERV_ID_RE.fullmatch(text):
        raise _Invalid(f"'{text}' is not an authserv-id (one word such as mx.example.gov.vn: "
                       "no spaces, ';', '(', ')', '=' or quotes)")
    return text.lower()


def _security(t: _Table) -> SecurityConfig:
    require = t.get("require_authentication", _boolean, False)
    t.mark("authserv_id")
    ids: tuple[str, ...] = ()
    if "authserv_id" in t:
        value = t.data["authserv_id"]
        ids = (t.get_list("authserv_id", _authserv_id, nonempty=True) if isinstance(value, list)
               else (t.get("authserv_id", _authserv_id),))
        ids = tuple(i for i in ids or () if i is not None)
    elif require:
        t.problem("authserv_id", "required when require_authentication = true: the name the "
                                 "receiving mail server writes first in its Authentication-Results "
                                 "header, e.g. mx.example.gov.vn")
    return SecurityConfig(require_authentication=require, authserv_ids=ids)


def _check_unique_codes(entries: list[tuple[_Table, Any]], *, fold: bool) -> None:
    seen: dict[str, _Table] = {}
    for t, spec in entries:
        if spec.code is None:
            continue
        key = spec.code.casefold() if fold else spec.code
        if key in seen:
            t.problem("code", f"'{spec.code}' is already used by {seen[key].path}")
        else:
            seen[key] = t


def _check_unambiguous_names(what: str, entries: list[tuple[_Table, str | None, tuple[str | None, ...]]],
                             *, first_key: str = "label") -> None:
    """A label or alias that reads the same as another entry's could match either.

    `entries` hold each table, its code and its names: the label (or name) first, then
    the aliases, whose keys are `first_key` and aliases[i].
    """
    owner: dict[str, tuple[str | None, _Table]] = {}
    for t, code, names in entries:
        for i, name in enumerate(names):
            if name is None:
                continue
            first = owner.setdefault(_fold(name), (code, t))
            if first[1] is not t:
                other = f"{what} {first[0]} ({first[1].path})" if first[0] else first[1].path
                t.problem(first_key if i == 0 else f"aliases[{i - 1}]",
                          f"'{name}' is ambiguous: it reads the same as a name of {other}")
