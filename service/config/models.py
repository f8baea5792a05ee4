"""The config file's keys: one pydantic model per TOML table, each field documenting its key.

These models are the reference of config.toml (config.example.toml shows them with
examples; a test checks that every key it writes is a field here and that every field
has a description). Values are converted by the functions of `values.py`, strict
about TOML types; a converter's `Invalid` becomes a pydantic error whose message is
the "what is wrong" half of a problem. `loading.py` adds the key path and the line.

Every table is read to the end, so every problem is reported at once: a table's
rules that involve several keys (`Table.rules`) and its unknown keys are reported
next to the errors of its values, and the rules across entries ([[units]] codes and
names, checks naming measures) run even when an entry has a bad value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo

import service.config.values as v
from parsers.model import ReadLimits
from parsers.text import did_you_mean
from service.config.calendar import check_calendar_name
from service.config.objects import Secret
from service.config.table import (
    Check,
    CheckIn,
    Dates,
    Email,
    Emails,
    Loc,
    Recipients,
    Section,
    Senders,
    Table,
    Text,
    Texts,
    Times,
    Weekdays,
    array,
    context_of,
    path_of,
    tables,
    unique,
)
from service.mail.loopback import is_loopback
from templates import languages

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_DATABASE_URL = "sqlite:///data/baocao.db"
DEFAULT_ARCHIVE_DIR = "data/archive"
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# ---- [service] -------------------------------------------------------------------------------


class ServiceModel(Table):
    """[service]: where the service keeps its data and how it runs."""

    timezone: Annotated[ZoneInfo, Check(v.timezone)] = Field(
        ZoneInfo(DEFAULT_TIMEZONE),
        description="IANA time zone name; arrival times, the deadline and the reporting day are taken in it.",
    )
    database_url: Annotated[str, CheckIn(lambda value, info: context_of(info).database_url(value))] = Field(
        DEFAULT_DATABASE_URL,
        validate_default=True,
        description="SQLAlchemy URL of the database: sqlite:///FILE (relative to the config file's folder) "
        "or postgresql://USER@HOST/DATABASE (no password in it).",
    )
    archive_dir: Annotated[Path, CheckIn(lambda value, info: context_of(info).path(value))] = Field(
        DEFAULT_ARCHIVE_DIR,
        validate_default=True,
        description="Folder where every fetched message is archived byte for byte (relative to the config "
        "file's folder).",
    )
    poll_interval_minutes: Annotated[int, Check(v.integer(1, 24 * 60))] = Field(
        5, description="Minutes between two polls of the mailbox by `baocao run` (1..1440)."
    )
    language: Annotated[str, Check(v.choice(*languages()))] = Field(
        "vi", description="Language of everything units and the coordinator read: one of templates/lang/ (vi, en)."
    )


# ---- [imap] and [smtp] -----------------------------------------------------------------------


def _security(value: Any, info: ValidationInfo) -> str:
    security = v.choice("ssl", "starttls", "none")(value)
    host = info.data.get("host")
    if security == "none" and host is not None and not is_loopback(host):
        # A password and the reports would cross the network in clear text.
        raise v.Invalid(
            f"'none' (no encryption) is only allowed to a loopback host "
            f"(127.0.0.1, ::1, localhost), not '{host}'; use ssl or starttls"
        )
    return security


def _refuse_password(value: Any) -> None:
    raise v.Invalid(
        "a password must not be written in the config file; use "
        'password_env = "VARIABLE" or password_file = "/path/to/file"'
    )


def _secret_from_env(value: Any, info: ValidationInfo) -> Secret:
    name = v.env_name(value)
    ctx = context_of(info)
    secret = ctx.env.get(name, "")
    if not secret and ctx.require_secrets:
        raise v.Invalid(f"environment variable {name} is {'empty' if name in ctx.env else 'not set'}")
    return Secret(secret, f"env {name}")


def _secret_from_file(value: Any, info: ValidationInfo) -> Secret:
    ctx = context_of(info)
    file = ctx.path(value)
    try:
        secret = v.read_password_file(file)
    except v.Invalid:
        if ctx.require_secrets:
            raise
        secret = ""
    return Secret(secret, f"file {file}")


class EndpointModel(Table):
    """What [imap] and [smtp] share: the server and how to reach it."""

    host: Annotated[str, Check(v.host)] = Field(description="Host name of the server (no scheme, no :port).")
    security: Annotated[Literal["ssl", "starttls", "none"], CheckIn(_security)] = Field(
        "ssl", description="ssl (TLS from the first byte), starttls, or none (only to a loopback host)."
    )
    port: Annotated[int | None, Check(v.port)] = Field(
        None, description="TCP port; default by security (IMAP 993/143, SMTP 465/587/25)."
    )
    ca_file: Annotated[Path | None, CheckIn(lambda value, info: context_of(info).existing_file(value))] = Field(
        None, description="PEM file of the certificate authority to trust instead of the system ones; must exist."
    )
    timeout_seconds: Annotated[float, Check(v.positive_number)] = Field(
        60.0, description="Seconds to wait for the server before giving up on one operation."
    )
    password: Annotated[None, Check(_refuse_password)] = Field(
        None, description="Refused: a password is never written in the file (use password_env or password_file)."
    )
    password_env: Annotated[Secret | None, CheckIn(_secret_from_env)] = Field(
        None, description="Name of the environment variable holding the password."
    )
    password_file: Annotated[Secret | None, CheckIn(_secret_from_file)] = Field(
        None,
        description="File holding only the password (one trailing newline ignored); "
        "set only one of password_env and password_file.",
    )

    @classmethod
    def rules(cls, data: Mapping[str, Any], info: ValidationInfo) -> Iterator[tuple[Loc, str]]:
        if "password_env" in data and "password_file" in data:
            yield (), "set only one of password_env and password_file"

    @property
    def secret(self) -> Secret | None:
        return self.password_env or self.password_file


class ImapModel(EndpointModel):
    """[imap]: the mailbox the units send their reports to."""

    username: Text = Field(description="Login name.")
    folder: Text = Field("INBOX", description="Folder the reports arrive in.")
    processed_folder: Annotated[
        str | None, CheckIn(lambda value, info: _differs(v.plain_text(value), info.data.get("folder")))
    ] = Field(None, description="Folder messages are moved to once stored; default none (they stay in folder).")
    idle: Annotated[bool, Check(v.boolean)] = Field(
        False, description="Use IMAP IDLE to notice new mail at once between polls."
    )

    @classmethod
    def rules(cls, data: Mapping[str, Any], info: ValidationInfo) -> Iterator[tuple[Loc, str]]:
        yield from super().rules(data, info)
        if not {"password", "password_env", "password_file"} & data.keys():
            yield ("password_env",), "required key is missing (or set password_file)"


def _differs(processed: str, folder: str | None) -> str:
    if processed == folder:
        raise v.Invalid(f"must differ from folder ('{folder}')")
    return processed


class SmtpModel(EndpointModel):
    """[smtp]: the account the digest, acknowledgements and reminders are sent from."""

    username: Annotated[str | None, Check(v.plain_text)] = Field(
        None, description="Login name; with a password source, or neither for a relay without login."
    )
    from_address: Email = Field(description="Sender address of every message sent.")
    from_name: Annotated[str | None, Check(v.plain_text)] = Field(
        None, description="Display name shown with from_address."
    )

    @classmethod
    def rules(cls, data: Mapping[str, Any], info: ValidationInfo) -> Iterator[tuple[Loc, str]]:
        yield from super().rules(data, info)
        has_password = "password_env" in data or "password_file" in data
        if "username" in data and not has_password and "password" not in data:
            yield ("password_env",), "required when username is set (or set password_file)"
        if has_password and "username" not in data:
            yield ("username",), "required when a password is set"


# ---- [schedule], [digest], [campaign] -------------------------------------------------------


def _holiday_calendar(value: Any) -> str:
    try:
        return check_calendar_name(v.plain_text(value))
    except ValueError as e:
        raise v.Invalid(str(e)) from None


def _not_a_holiday(value: Any, info: ValidationInfo) -> dt.date:
    day = v.date(value)
    if day in info.data.get("holidays", ()):
        raise v.Invalid(f"{day} is also in holidays: a date is either a day off or a make-up working day")
    return day


MakeUpDays = Annotated[tuple[Annotated[dt.date, CheckIn(_not_a_holiday)], ...], array(), AfterValidator(unique)]


class ScheduleModel(Table):
    """[schedule]: when reports are due, when the digest and the reminders go."""

    deadline: Annotated[dt.time, Check(v.time)] = Field(
        dt.time(15, 0), description='Time of day ("HH:MM") by which the day\'s report is due.'
    )
    digest_at: Annotated[dt.time | None, Check(v.time)] = Field(
        None, description="Time of day the digest is built and sent; default the deadline."
    )
    report_days: Weekdays = Field(
        ALL_DAYS,
        validate_default=True,
        description="Days a report is expected: mon..sun (also t2..t7, cn, full names); default every day.",
    )
    holidays: Dates = Field((), description="Dates on which no report is expected.")
    holiday_calendar: Annotated[str | None, Check(_holiday_calendar)] = Field(
        None,
        description='Public holidays on which no report is expected, from a calendar: "VN" (Vietnam: Tết and '
        "Giỗ Tổ Hùng Vương by the lunar calendar, 30/4, 1/5, 2/9 and the days off around them); default none. "
        "holidays still applies.",
    )
    working_days: MakeUpDays = Field(
        (),
        description="Make-up working days (ngày làm bù): reporting days even when their weekday is not in "
        "report_days or the calendar has a holiday on them; none may be in holidays.",
    )
    reminders_at: Times = Field((), description="Times of day a reminder goes to units that have not reported yet.")


class DigestModel(Table):
    """[digest]: the coordinator's daily digest."""

    to: Recipients = Field(description="Who receives the digest: a non-empty list of addresses.")
    cc: Emails = Field((), description="Copies of the digest.")
    subject: Annotated[str | None, Check(v.digest_subject)] = Field(
        None, description="Subject line; {date} is the reporting day, no other {...} field. Default by language."
    )
    attach_workbook: Annotated[bool, Check(v.boolean)] = Field(
        True, description="Attach the consolidated workbook (.xlsx) to the digest."
    )
    copy_to: Annotated[str | None, Check(v.email_or_nothing)] = Field(
        None,
        description="The service's own Bcc copy of each digest; default the [imap] username when it is "
        'an address, "" for none.',
    )


def _after_start(end: Any, info: ValidationInfo) -> dt.date:
    last = v.date(end)
    start = info.data.get("start_date")
    if start is not None and start > last:
        raise v.Invalid(f"{last} is before start_date {start}")
    return last


class CampaignModel(Table):
    """[campaign]: what the campaign is, and its planned targets."""

    title: Text = Field("", description="Title shown in the digest.")
    start_date: Annotated[dt.date | None, Check(v.date)] = Field(None, description="First day of the campaign.")
    end_date: Annotated[dt.date | None, CheckIn(_after_start)] = Field(
        None, description="Last day of the campaign (not before start_date); the digest counts down to it."
    )
    targets_file: Annotated[Path | None, CheckIn(lambda value, info: context_of(info).existing_file(value))] = Field(
        None, description="CSV file of the planned targets (unit, indicator, measure, target); must exist."
    )


# ---- the form: [[measures]], [[indicators]], [[checks]], [limits] -----------------------------


def _money_only(value: Any, info: ValidationInfo) -> int:
    if info.data.get("kind") == "count":
        raise v.Invalid('only applies to kind = "money"')
    return v.scale(value)


class MeasureModel(Table):
    """[[measures]]: one column of the report form."""

    code: Annotated[str, Check(v.code)] = Field(description="Identifier: a-z, 0-9 and _.")
    label: Text = Field(description="The column's heading as units write it.")
    aliases: Texts = Field((), description="Other headings that mean this column.")
    kind: Annotated[Literal["count", "money"], Check(v.choice("count", "money"))] = Field(
        "count", description="count (whole numbers) or money (kept in đồng)."
    )
    default_scale: Annotated[int, CheckIn(_money_only)] = Field(
        1, description='Money only: the scale of a figure whose heading states none ("triệu đồng" or 1000000).'
    )


class IndicatorModel(Table):
    """[[indicators]]: one row of the report form."""

    code: Annotated[str, Check(v.code)] = Field(description="Identifier: a-z, 0-9 and _.")
    label: Text = Field(description="The row's label as units write it.")
    aliases: Texts = Field((), description="Other labels that mean this row.")
    group: Annotated[str | None, Check(v.plain_text)] = Field(None, description="Group heading the row is under.")


class CheckModel(Table):
    """[[checks]]: a comparison between two measures of the same row."""

    rule: Annotated[tuple[str, v.CheckOp, str], Check(lambda value: v.check_rule(v.plain_text(value)))] = Field(
        description="measure OP measure, OP one of <=, <, >=, >, ==, !=, e.g. phe_duyet <= de_nghi."
    )
    message: Text = Field(description="What the problem says when a row breaks the rule.")


_LIMIT = Annotated[int, Check(v.integer(1))]


class LimitsModel(Table):
    """[limits]: caps against hostile or runaway files (parsers.model.ReadLimits)."""

    max_attachment_bytes: _LIMIT = Field(
        ReadLimits.max_attachment_bytes, description="Largest attachment read, in bytes."
    )
    max_decompressed_bytes: _LIMIT = Field(
        ReadLimits.max_decompressed_bytes, description="Largest decompressed size of a zipped file, in bytes."
    )
    max_compression_ratio: _LIMIT = Field(
        ReadLimits.max_compression_ratio, description="Largest ratio of decompressed to compressed size."
    )
    max_sheets: _LIMIT = Field(ReadLimits.max_sheets, description="Most sheets read in one workbook.")
    max_rows: _LIMIT = Field(ReadLimits.max_rows, description="Most rows read in one sheet or table.")
    max_columns: _LIMIT = Field(ReadLimits.max_columns, description="Most columns read in one sheet or table.")
    max_csv_cells: _LIMIT = Field(ReadLimits.max_csv_cells, description="Most cells read in one CSV file.")
    max_pages: _LIMIT = Field(ReadLimits.max_pages, description="Most pages read from one PDF (text or scanned).")
    max_page_megapixels: _LIMIT = Field(
        ReadLimits.max_page_megapixels,
        description="Most megapixels of one scanned page or photo (as rendered at 300 dpi, or as stored).",
    )
    max_document_seconds: _LIMIT = Field(
        ReadLimits.max_document_seconds, description="Most seconds of recognition spent on one scan or photo."
    )


# ---- [[units]], [acknowledgements], [reminders], [security] -----------------------------------


class UnitModel(Table):
    """[[units]]: one unit that reports."""

    code: Annotated[str, Check(v.unit_code)] = Field(description="Short code: letters, digits, _ . - (no spaces).")
    name: Text = Field(description="Full name; a report's 'Đơn vị: ...' line matches it or an alias.")
    group: Annotated[str | None, Check(v.plain_text)] = Field(None, description="Group the unit is listed under.")
    aliases: Texts = Field((), description="Other names of the unit.")
    senders: Senders = Field(description='Addresses its reports come from: exact addresses or "*@domain".')
    reminder_to: Emails = Field((), description="Where its reminders go; default its exact sender addresses.")


class AcknowledgementsModel(Table):
    """[acknowledgements]: the reply each report gets."""

    enabled: Annotated[bool, Check(v.boolean)] = Field(False, description="Reply to every report received.")
    reply_unknown: Annotated[bool, Check(v.boolean)] = Field(
        False, description="Also reply to a sender that belongs to no unit."
    )
    daily_cap_per_address: Annotated[int, Check(v.integer(1))] = Field(
        10,
        description="Most acknowledgements (and, with [[reports]], most reminders of each report) sent to one "
        "address in one day.",
    )


class RemindersModel(Table):
    """[reminders]: reminders to units that have not reported yet."""

    enabled: Annotated[bool, Check(v.boolean)] = Field(False, description="Send reminders at [schedule] reminders_at.")


def _one_or_many(value: Any) -> Any:
    return [v.authserv_id(value)] if not isinstance(value, list) else value


class SecurityModel(Table):
    """[security]: whether a report must prove its From address (Authentication-Results, RFC 8601)."""

    require_authentication: Annotated[bool, Check(v.boolean)] = Field(
        False, description="Believe a From address only when the receiving server authenticated it."
    )
    authserv_id: Annotated[
        tuple[Annotated[str, Check(v.authserv_id)], ...],
        array(nonempty=True),
        BeforeValidator(_one_or_many),
        AfterValidator(unique),
    ] = Field(
        (),
        description="The receiving server's authserv-id(s), e.g. mx.example.gov.vn; only its "
        "Authentication-Results are believed. Required with require_authentication.",
    )

    @classmethod
    def rules(cls, data: Mapping[str, Any], info: ValidationInfo) -> Iterator[tuple[Loc, str]]:
        if data.get("require_authentication") is True and "authserv_id" not in data:
            yield (
                ("authserv_id",),
                (
                    "required when require_authentication = true: the name the receiving mail "
                    "server writes first in its Authentication-Results header, e.g. mx.example.gov.vn"
                ),
            )


# ---- [upward] --------------------------------------------------------------------------------

UPWARD_FORMATS = (".xlsx", ".docx")


def _upward_template(value: Any, info: ValidationInfo) -> Path:
    path = context_of(info).path(value)
    if not path.is_file():
        raise v.Invalid(
            f"the superior's form '{path}' does not exist" if not path.exists() else f"'{path}' is not a file"
        )
    if path.suffix.lower() not in UPWARD_FORMATS:
        raise v.Invalid(f"the superior's form '{path}' is not an .xlsx or .docx file")
    return path


def _upward_filename(value: Any) -> str:
    text = v.digest_subject(value)  # one line, {date} the only field
    if any(ch in text for ch in '/\\:*?"<>|'):
        raise v.Invalid(f"'{text}' is not a file name: it must not contain / \\ : * ? \" < > |")
    return text


class UpwardModel(Table):
    """[upward]: the superior's own form, filled from the figures and attached to the digest."""

    template: Annotated[Path, CheckIn(_upward_template)] = Field(
        description="The superior's own form, an .xlsx or .docx file (relative to the config file's folder); "
        "must exist. Its table is found like a unit's report: rows are indicators or units, columns measures."
    )
    sheet: Annotated[str | None, Check(v.plain_text)] = Field(
        None,
        description="The sheet the form is on (in a .docx, the table's number: 1, 2...); default all that match.",
    )
    title: Annotated[str | None, Check(v.plain_text)] = Field(
        None, description="How the digest names the form; default the template's file name."
    )
    filename: Annotated[str | None, Check(_upward_filename)] = Field(
        None,
        description="Name of the filled file without extension; {date} is the day (YYYY-MM-DD). "
        "Default bieu-mau-cap-tren-{date}.",
    )


# ---- [[reports]] -----------------------------------------------------------------------------

PERIODS = ("day", "week", "month", "once")


def _period_day(value: Any, info: ValidationInfo) -> int | dt.date:
    """deadline_day / digest_day as the report's period reads it."""
    period = info.data.get("period")
    if period == "week":
        return v.weekday(value)
    if period == "month":
        return v.day_of_month(value)
    if period == "once":
        return v.date(value)
    if period == "day":
        raise v.Invalid("a daily report is due every reporting day; leave it out (or set period)")
    raise v.Invalid("depends on period, which is not valid")


def _once_start(value: Any, info: ValidationInfo) -> dt.date:
    if info.data.get("period") not in (None, "once"):
        raise v.Invalid('only applies to period = "once"; other periods start by the calendar')
    return v.date(value)


class ReportDigestModel(Table):
    """[reports.digest]: the report's own digest; a key left out is taken from [digest]."""

    to: Annotated[tuple[Email, ...] | None, array(nonempty=True), AfterValidator(unique)] = Field(
        None, description="Who receives this report's digest; default [digest] to."
    )
    cc: Annotated[tuple[Email, ...] | None, array(), AfterValidator(unique)] = Field(
        None, description="Copies of this report's digest; default [digest] cc."
    )
    subject: Annotated[str | None, Check(v.subject("date", "period"))] = Field(
        None,
        description="Subject line; {period} is the report's period (tuần 16/08–22/08/2021), {date} the "
        "digest's day. Default by language.",
    )


class ReportModel(Table):
    """[[reports]]: one report the units send, with its own form, units and deadline."""

    code: Annotated[str, Check(v.code)] = Field(description="Identifier: a-z, 0-9 and _; `--report CODE`.")
    title: Text = Field(description="Its name, as the digest, the acknowledgement and the template show it.")
    period: Annotated[Literal["day", "week", "month", "once"], Check(v.choice(*PERIODS))] = Field(
        "day", description="day, week (Monday to Sunday), month, or once (a one-off request)."
    )
    deadline_day: Annotated[int | dt.date | None, CheckIn(_period_day)] = Field(
        None,
        description='Day of the period it is due: week a weekday ("fri"), month a day 1..31 or "last", '
        "once a date. Required except for day.",
    )
    deadline: Annotated[dt.time | None, Check(v.time)] = Field(
        None, description="Time of day it is due on deadline_day; default [schedule] deadline."
    )
    digest_day: Annotated[int | dt.date | None, CheckIn(_period_day)] = Field(
        None, description="Day of the period its digest goes, as deadline_day; default deadline_day."
    )
    digest_at: Annotated[dt.time | None, Check(v.time)] = Field(
        None, description="Time of day its digest goes; default its deadline."
    )
    start_date: Annotated[dt.date | None, CheckIn(_once_start)] = Field(
        None, description="once only, required: the first day its figures may be sent."
    )
    reminder_day: Annotated[int | dt.date | None, CheckIn(_period_day)] = Field(
        None,
        description="Day of the period its reminders go, as deadline_day; default deadline_day "
        "(a daily report: every reporting day).",
    )
    reminders_at: Annotated[tuple[Annotated[dt.time, Check(v.time)], ...] | None, array(), AfterValidator(unique)] = (
        Field(
            None,
            description="Times of day on reminder_day a reminder goes to its units that have sent nothing for "
            "the period; default [schedule] reminders_at, [] for none. Only when [reminders] enabled = true.",
        )
    )
    units: Annotated[tuple[Text, ...], array(nonempty=True), AfterValidator(unique)] = Field(
        ("all",), description='Who must send it: unit codes, unit group names, or "all" (the default).'
    )
    indicators: Annotated[tuple[Annotated[str, Check(v.code)], ...] | None, array(), AfterValidator(unique)] = Field(
        None,
        description="Codes of the [[indicators]] it has; default all of them, or none when it has own_indicators.",
    )
    measures: Annotated[tuple[Annotated[str, Check(v.code)], ...] | None, array(), AfterValidator(unique)] = Field(
        None, description="Codes of the [[measures]] it has; default all of them, or none when it has own_measures."
    )
    own_indicators: Annotated[tuple[IndicatorModel, ...], tables(required=False)] = Field(
        (), description="Rows only this report has, as [[indicators]] (codes unique in the whole file)."
    )
    own_measures: Annotated[tuple[MeasureModel, ...], tables(required=False)] = Field(
        (), description="Columns only this report has, as [[measures]] (codes unique in the whole file)."
    )
    checks: Annotated[tuple[CheckModel, ...] | None, tables(required=False)] = Field(
        None, description="Its checks, as [[checks]]; default the [[checks]] whose measures it has."
    )
    cumulative: Annotated[bool, Check(v.boolean)] = Field(
        True, description="Figures are running totals (lũy kế): true (the default) or false (the period's own)."
    )
    subject_keywords: Texts = Field(
        (), description="Words of a subject line that name this report, for a document that does not say."
    )
    digest: Annotated[ReportDigestModel | None, Section] = Field(
        None, description="Its own digest recipients and subject; default [digest]."
    )
    upward: Annotated[UpwardModel | None, Section] = Field(
        None,
        description="The superior's own form for this report ([reports.upward], keys as [upward]), filled with "
        "its period's figures and attached to its digest; default none ([upward] goes with the default report).",
    )

    @classmethod
    def rules(cls, data: Mapping[str, Any], info: ValidationInfo) -> Iterator[tuple[Loc, str]]:
        period = _valid(v.choice(*PERIODS), data.get("period", "day"))
        if period in ("week", "month", "once") and "deadline_day" not in data:
            example = {"week": '"fri"', "month": '20 or "last"', "once": "2021-08-20"}[period]
            yield ("deadline_day",), f"required for a {period} report (e.g. deadline_day = {example})"
        if period == "once" and "start_date" not in data:
            yield ("start_date",), "required for a once report: the first day its figures may be sent"
        if period == "once":
            start = _valid(v.date, data.get("start_date"))
            for key in ("deadline_day", "digest_day", "reminder_day"):
                day = _valid(v.date, data.get(key))
                if start is not None and day is not None and day < start:
                    yield (key,), f"{day} is before start_date {start}"


# ---- the whole file --------------------------------------------------------------------------


class ConfigModel(Table):
    """The whole config.toml."""

    noun: ClassVar[str] = "section"

    service: Annotated[ServiceModel, Section] = Field(
        {}, validate_default=True, description="Where the service keeps its data and how it runs."
    )
    imap: Annotated[ImapModel | None, Section] = Field(
        None, description="The mailbox reports arrive in; leave it out only if reports come by `baocao import`."
    )
    smtp: Annotated[SmtpModel | None, Section] = Field(
        None, description="The account mail is sent from; leave it out only if nothing is ever sent."
    )
    schedule: Annotated[ScheduleModel, Section] = Field(
        {}, validate_default=True, description="When reports are due and messages go."
    )
    digest: Annotated[DigestModel, Section] = Field(
        {}, validate_default=True, description="The coordinator's daily digest."
    )
    campaign: Annotated[CampaignModel, Section] = Field(
        {}, validate_default=True, description="What the campaign is, and its planned targets."
    )
    measures: Annotated[tuple[MeasureModel, ...], tables(required=True)] = Field(
        (), validate_default=True, description="The columns of the report form."
    )
    indicators: Annotated[tuple[IndicatorModel, ...], tables(required=True)] = Field(
        (), validate_default=True, description="The rows of the report form."
    )
    checks: Annotated[tuple[CheckModel, ...], tables(required=False)] = Field(
        (), description="Comparisons every row of a report must pass."
    )
    limits: Annotated[LimitsModel, Section] = Field(
        {}, validate_default=True, description="Caps against hostile or runaway files."
    )
    units: Annotated[tuple[UnitModel, ...], tables(required=True)] = Field(
        (), validate_default=True, description="The units that report."
    )
    acknowledgements: Annotated[AcknowledgementsModel, Section] = Field(
        {}, validate_default=True, description="The reply each report gets."
    )
    reminders: Annotated[RemindersModel, Section] = Field(
        {}, validate_default=True, description="Reminders to units that have not reported yet."
    )
    security: Annotated[SecurityModel, Section] = Field(
        {}, validate_default=True, description="Whether a report must prove its From address."
    )
    upward: Annotated[UpwardModel | None, Section] = Field(
        None, description="The superior's own form, filled and attached to the digest (never sent to the superior)."
    )
    reports: Annotated[tuple[ReportModel, ...], tables(required=False)] = Field(
        (), description="The reports units send; default one daily report from the keys above."
    )

    @classmethod
    def rules(cls, data: Mapping[str, Any], info: ValidationInfo) -> Iterator[tuple[Loc, str]]:
        """Rules across entries, checked on every entry whose own keys are valid."""
        measures = _entries(data, "measures", v.code)
        yield from _unique_codes(measures, fold=False)
        indicators = _entries(data, "indicators", v.code)
        yield from _unique_codes(indicators, fold=False)
        yield from _unambiguous_names("measure", measures)
        yield from _unambiguous_names("indicator", indicators)
        codes = [code for _, code, _ in measures if code]
        checks = data.get("checks")
        for i, check in enumerate(checks if isinstance(checks, list) else []):
            if isinstance(check, dict):
                yield from _rule_names_measures(("checks", i), check.get("rule"), codes)
        units = _entries(data, "units", v.unit_code, first_key="name")
        # "BHXH" and "bhxh" would be one unit to a person typing --unit.
        yield from _unique_codes(units, fold=True)
        # The name in "Đơn vị: ..." picks the unit when a sender is shared, so it must be unique.
        yield from _unambiguous_names("unit", units, first_key="name")
        yield from _report_rules(data, measures, indicators, units)


# ---- rules across entries, on the entries as written ---------------------------------------------

Entry = tuple[Loc, Any, tuple[str | None, ...]]  # where, its code (None when invalid), its names


def _valid(convert: Callable[[Any], Any], value: Any) -> Any:
    try:
        return convert(value)
    except v.Invalid:
        return None


def _entries(data: Mapping[str, Any], key: str, code: Callable[[Any], str], *, first_key: str = "label") -> list[Entry]:
    """Each table of [[key]] with its valid code and names (its first_key, then its aliases)."""
    entries = data.get(key)
    found: list[Entry] = []
    for i, table in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(table, dict):
            continue
        aliases = table.get("aliases")
        names = [_valid(v.plain_text, table.get(first_key))]
        names += [_valid(v.plain_text, a) for a in aliases] if isinstance(aliases, list) else []
        found.append(((key, i), _valid(code, table.get("code")), tuple(names)))
    return found


def _unique_codes(entries: list[Entry], *, fold: bool) -> Iterator[tuple[Loc, str]]:
    seen: dict[str, Loc] = {}
    for loc, code, _ in entries:
        if code is None:
            continue
        key = code.casefold() if fold else code
        if key in seen:
            yield (*loc, "code"), f"'{code}' is already used by {path_of(seen[key])}"
        else:
            seen[key] = loc


def _unambiguous_names(what: str, entries: list[Entry], *, first_key: str = "label") -> Iterator[tuple[Loc, str]]:
    """A label or alias that reads the same as another entry's could match either."""
    owner: dict[str, tuple[str | None, Loc]] = {}
    for loc, code, names in entries:
        for i, name in enumerate(names):
            if name is None:
                continue
            first = owner.setdefault(v.fold(name), (code, loc))
            if first[1] != loc:
                other = f"{what} {first[0]} ({path_of(first[1])})" if first[0] else path_of(first[1])
                yield (
                    (*loc, *((first_key,) if i == 0 else ("aliases", i - 1))),
                    f"'{name}' is ambiguous: it reads the same as a name of {other}",
                )


def _report_rules(
    data: Mapping[str, Any], measures: list[Entry], indicators: list[Entry], units: list[Entry]
) -> Iterator[tuple[Loc, str]]:
    """[[reports]]: unique codes; the units, indicators, measures and checks they name exist."""
    reports = data.get("reports")
    if not isinstance(reports, list):
        return
    entries: list[Entry] = [
        (("reports", i), _valid(v.code, r.get("code")), ()) for i, r in enumerate(reports) if isinstance(r, dict)
    ]
    yield from _unique_codes(entries, fold=False)
    unit_names = {code.casefold(): code for _, code, _ in units if code}
    groups = {
        v.fold(u["group"]) for u in data.get("units") or () if isinstance(u, dict) and isinstance(u.get("group"), str)
    }
    top = {"indicators": [c for _, c, _ in indicators if c], "measures": [c for _, c, _ in measures if c]}
    own_seen: dict[str, Loc] = {}
    for i, report in enumerate(reports):
        if not isinstance(report, dict):
            continue
        loc: Loc = ("reports", i)
        written = report.get("units")
        for j, name in enumerate(written if isinstance(written, list) else []):
            text = _valid(v.plain_text, name)
            if text is None or text.casefold() == "all" or text.casefold() in unit_names or v.fold(text) in groups:
                continue
            choices = [*unit_names.values(), "all"]
            yield (
                (*loc, "units", j),
                f"'{text}' is not a unit code, a unit group or \"all\"{did_you_mean(text, choices)}",
            )
        codes_of: dict[str, list[str]] = {}
        for kind, top_entries in (("indicators", indicators), ("measures", measures)):
            own = [((*loc, *e[0]), e[1], e[2]) for e in _entries(report, f"own_{kind}", v.code)]
            for own_loc, code, _ in own:
                if code is None:
                    continue
                if code in top[kind] or code in own_seen:
                    first = path_of(own_seen[code]) if code in own_seen else f"[[{kind}]]"
                    yield (
                        (*own_loc, "code"),
                        f"'{code}' is already used by {first}; pick it by its code in {kind} instead",
                    )
                else:
                    own_seen[code] = own_loc
            picked = report.get(kind)
            chosen: list[str] = []
            for j, written in enumerate(picked if isinstance(picked, list) else []):
                code = _valid(v.code, written)
                if code is None:
                    continue
                if code not in top[kind]:
                    yield (*loc, kind, j), f"'{code}' is not a code of [[{kind}]]{did_you_mean(code, top[kind])}"
                chosen.append(code)
            if not isinstance(picked, list):
                chosen = [] if own else list(top[kind])
            codes_of[kind] = chosen + [code for _, code, _ in own if code]
            if not codes_of[kind]:
                yield (*loc, kind), f"the report has no {kind}: list some, or add own_{kind}"
            # In one report's form a label must still pick one row or column.
            picked_entries = [e for e in top_entries if e[1] in chosen]
            yield from (
                found for found in _unambiguous_names(kind[:-1], picked_entries + own) if found[0][0] == "reports"
            )
        checks = report.get("checks")
        for j, check in enumerate(checks if isinstance(checks, list) else []):
            if isinstance(check, dict):
                yield from _rule_names_measures((*loc, "checks", j), check.get("rule"), codes_of["measures"])


def _rule_names_measures(loc: Loc, rule: Any, codes: list[str]) -> Iterator[tuple[Loc, str]]:
    parsed = _valid(lambda value: v.check_rule(v.plain_text(value)), rule)
    if parsed is None or not codes:
        return
    left, _, right = parsed
    for side in dict.fromkeys((left, right)):
        if side not in codes:
            yield (*loc, "rule"), f"'{side}' is not a measure code{did_you_mean(side, codes)}"
