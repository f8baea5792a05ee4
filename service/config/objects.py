"""What the rest of the service reads: the configuration as typed, frozen dataclasses.

`service.config.loading` builds a `Config` from the pydantic models of `models.py`
(which validate the file and document each key). The service works on these plain
frozen dataclasses, never on the models: code and tests build them directly (a test's
`ImapConfig(host=..., password=Secret(...))`), they compare and hash by value, and
the parsers' `FormSpec` they hold is a pure dataclass of parsers/. `Secret` never
prints and refuses to be pickled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn
from zoneinfo import ZoneInfo

from parsers.model import FormSpec

if TYPE_CHECKING:
    from service.config.targets import Target

Security = Literal["ssl", "starttls", "none"]
Period = Literal["day", "week", "month", "once"]
LAST_DAY = -1  # a monthly report's deadline_day "last": the month's last day
DEFAULT_REPORT_CODE = "daily"  # the one report of a config without [[reports]]


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

    def __reduce__(self) -> NoReturn:  # never pickled into a worker or a log
        raise TypeError("Secret cannot be pickled")


@dataclass(frozen=True)
class ServiceConfig:
    timezone: ZoneInfo
    database_url: str
    archive_dir: Path
    poll_interval_minutes: int = 5
    language: str = "vi"  # a catalog in templates/lang/


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
    # The reporting calendar beyond report_days and holidays (service/config/calendar.py):
    # make-up working days (ngày làm bù), and the public holidays of a calendar ("VN").
    working_days: frozenset[dt.date] = frozenset()
    holiday_calendar: str | None = None


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
class UpwardConfig:
    """[upward]: the superior's own form, filled from the figures and attached to the digest."""

    template: Path  # an existing .xlsx or .docx (absolute)
    sheet: str | None = None  # the sheet (or, in a .docx, the table number) the form is on
    title: str = ""  # how the digest names the form; default the template's file name
    # The attached file's name without its extension; {date} is the day (YYYY-MM-DD).
    filename: str = "bieu-mau-cap-tren-{date}"


@dataclass(frozen=True)
class ReportConfig:
    """One report the units send: its form, who sends it, and when it is due.

    A config without [[reports]] is one daily report built from the top-level keys
    (`Config.default_report`). The day of the period a report is due depends on it:
    a weekday (Monday = 0) for a week, a day of the month (or LAST_DAY) for a month,
    a date for a one-off (`once`), None for a day (due every reporting day).
    """

    code: str
    title: str
    form: FormSpec
    units: tuple[str, ...]  # the codes of the units that must send it, in config order
    period: Period = "day"
    deadline: dt.time = dt.time(15, 0)
    digest_at: dt.time = dt.time(15, 0)
    deadline_day: int | dt.date | None = None
    digest_day: int | dt.date | None = None  # the digest's day in the period; None: deadline_day
    start_date: dt.date | None = None  # once: the first day of its period
    reminder_day: int | dt.date | None = None  # its reminders' day in the period, as deadline_day
    reminders_at: tuple[dt.time, ...] = ()  # the times of its reminders on that day; none: no reminders
    cumulative: bool = True
    subject_keywords: tuple[str, ...] = ()
    digest: DigestConfig | None = None  # None: the top-level [digest]
    upward: UpwardConfig | None = None  # its superior's form ([reports.upward]), when configured


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
    upward: UpwardConfig | None = None  # the superior's form ([upward]), when configured

    # [[reports]]; empty: one daily report from the top-level keys (all_reports()).
    reports: tuple[ReportConfig, ...] = ()

    def unit(self, code: str) -> UnitConfig:
        for u in self.units:
            if u.code == code:
                return u
        raise KeyError(code)

    def default_report(self) -> ReportConfig:
        """The one daily report of a config without [[reports]]: the top-level form,
        schedule and digest, every unit."""
        return ReportConfig(
            code=DEFAULT_REPORT_CODE,
            title=self.campaign.title,
            form=self.form,
            units=tuple(u.code for u in self.units),
            deadline=self.schedule.deadline,
            digest_at=self.schedule.digest_at,
            reminders_at=self.schedule.reminders_at,
            digest=self.digest,
        )

    def all_reports(self) -> tuple[ReportConfig, ...]:
        return self.reports or (self.default_report(),)

    def report(self, code: str | None = None) -> ReportConfig:
        """The report `code`; without one, the only report, else the only daily one.

        Raises KeyError naming the choices when `code` is unknown or none is implied.
        """
        reports = self.all_reports()
        if code is None:
            daily = [r for r in reports if r.period == "day"]
            if len(reports) == 1 or len(daily) == 1:
                return reports[0] if len(reports) == 1 else daily[0]
            raise KeyError(f"choose a report with --report: {', '.join(r.code for r in reports)}")
        for r in reports:
            if r.code == code:
                return r
        raise KeyError(f"no report '{code}'; the reports are: {', '.join(r.code for r in reports)}")
