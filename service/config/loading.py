"""Loading config.toml: read it, validate it against `models.ConfigModel`, build a `Config`.

`load_config(path)` raises `ConfigError` listing every problem at once, each one
sentence naming the key path and the line of the file ("units[3].senders[1]: 'abc'
is not an email address or *@domain (line 57)"). The targets file is read once the
form and units are known; its problems name its own line and column.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

import service.config.values as v
from parsers.model import CheckSpec, FormSpec, IndicatorSpec, MeasureSpec, ReadLimits
from service.config.models import (
    CampaignModel,
    CheckModel,
    ConfigModel,
    DigestModel,
    ImapModel,
    IndicatorModel,
    MeasureModel,
    ReportModel,
    ScheduleModel,
    SmtpModel,
    UnitModel,
)
from service.config.objects import (
    AcknowledgementsConfig,
    CampaignConfig,
    Config,
    DigestConfig,
    ImapConfig,
    RemindersConfig,
    ReportConfig,
    ScheduleConfig,
    SecurityConfig,
    ServiceConfig,
    SmtpConfig,
    UnitConfig,
)
from service.config.table import Loc, path_of
from service.config.targets import MAX_FILE_BYTES as MAX_TARGETS_FILE_BYTES
from service.config.targets import Target, parse_targets
from service.errors import ConfigError
from templates import catalog

log = logging.getLogger("service.config")

CONFIG_ENV = "BAOCAO_CONFIG"
DEFAULT_CONFIG_FILE = "config.toml"
M = TypeVar("M", bound=BaseModel)
DEFAULT_PORTS: Mapping[str, Mapping[str, int]] = {
    "imap": {"ssl": 993, "starttls": 143, "none": 143},
    "smtp": {"ssl": 465, "starttls": 587, "none": 25},
}


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
    text, data = _read_toml(file)
    ctx = v.Context(base=file.parent, env=env, require_secrets=require_secrets)
    problems: list[str] = []
    model: ConfigModel | None = None
    try:
        model = ConfigModel.model_validate(data, context=ctx)
    except ValidationError as e:
        lines = key_lines(text)
        problems.extend(_sentence(error["loc"], error["msg"], lines) for error in e.errors(include_url=False))
    targets = _targets(model, data, ctx, problems)
    if problems or model is None:
        raise ConfigError(file, problems)
    config = _build(model, file, targets)
    log.debug(
        "loaded %s: %d units, %d indicators, %d measures",
        file,
        len(config.units),
        len(config.form.indicators),
        len(config.form.measures),
    )
    return config


def _read_toml(file: Path) -> tuple[str, dict[str, Any]]:
    try:
        raw = file.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(file, [f"the file does not exist (give --config PATH or set {CONFIG_ENV})"]) from e
    except OSError as e:
        raise ConfigError(file, [f"cannot read the file: {e.strerror or e}"]) from e
    try:
        text = raw.decode("utf-8-sig")  # Windows Notepad saves UTF-8 with a BOM
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(file, [f"line {line}: the file is not UTF-8 text; save it as UTF-8"]) from e
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(file, [f"not valid TOML: {e}"]) from e


# ---- problems: key path and line ------------------------------------------------------------


def _sentence(loc: Iterable[str | int], text: str, lines: Mapping[Loc, int]) -> str:
    """ "units[0].senders[1]: 'abc' is not ... (line 12)": the line of the key, else of its table."""
    loc = tuple(loc)
    path = path_of(loc)
    line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
    return f"{path or '(top level)'}: {text}" + (f" (line {line})" if line else "")


_BARE_OR_QUOTED = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*"
_HEADER_RE = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?")
_KEY_RE = re.compile(rf"\s*({_DOTTED})\s*=(.*)")
_PART_RE = re.compile(_BARE_OR_QUOTED)


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p[1:-1] if p[0] in "\"'" else p for p in _PART_RE.findall(dotted))


def key_lines(text: str) -> dict[Loc, int]:
    """The line where each table header and key of a TOML document is written.

    Keys are paths as pydantic locates them: ("units", 2, "senders") for `senders =`
    under the third [[units]]. tomllib keeps no positions; this reads the lines that
    open a table or assign a key, skipping the inside of multi-line strings. A path not
    found here (a key inside an inline table, say) is reported with its table's line.
    """
    found: dict[Loc, int] = {}
    table: Loc = ()
    counts: dict[Loc, int] = {}
    in_string: str | None = None
    for number, line in enumerate(text.split("\n"), 1):  # TOML lines end at LF (CRLF: the CR is trailing)
        if in_string is not None:
            if line.count(in_string) % 2:
                in_string = None
            continue
        header = _HEADER_RE.fullmatch(line)
        if header:
            # [[reports.own_indicators]] belongs to the latest [[reports]]: ("reports", 2, "own_indicators", 0)
            parts = _parts(header[2])
            names: Loc = ()
            for part in parts[:-1]:
                names = (*names, part)
                if names in counts:
                    names = (*names, counts[names])
            names = (*names, *parts[-1:])
            if header[1] == "[[":
                counts[names] = counts.get(names, -1) + 1
                table = (*names, counts[names])
            else:
                table = names
            found.setdefault(table, number)
            continue
        key = _KEY_RE.match(line)
        if key:
            found.setdefault((*table, *_parts(key[1])), number)
            for quotes in ('"""', "'''"):
                if key[2].count(quotes) % 2:
                    in_string = quotes
    return found


# ---- the targets file -------------------------------------------------------------------------


def _targets(
    model: ConfigModel | None, data: Mapping[str, Any], ctx: v.Context, problems: list[str]
) -> tuple[Target, ...]:
    """The targets file's targets; its problems are "campaign.targets_file: line N ..." entries.

    Targets name units, indicators and measures: the file is checked against the valid
    ones, also when other entries have problems (those are reported already).
    """
    if model is not None:
        file = model.campaign.targets_file
        measures, indicators, units = model.measures, model.indicators, model.units
    else:
        campaign = data.get("campaign")
        written = campaign.get("targets_file") if isinstance(campaign, dict) else None
        try:
            file = ctx.existing_file(written) if written is not None else None
        except v.Invalid:
            return ()  # reported already
        measures = tuple(_valid_entries(MeasureModel, data.get("measures"), ctx))
        indicators = tuple(_valid_entries(IndicatorModel, data.get("indicators"), ctx))
        units = tuple(_valid_entries(UnitModel, data.get("units"), ctx))
    if file is None:
        return ()
    try:
        with open(file, "rb") as f:
            content = f.read(MAX_TARGETS_FILE_BYTES + 1)
    except OSError as e:
        problems.append(f"campaign.targets_file: cannot read '{file}': {e.strerror or e}")
        return ()
    form = FormSpec(measures=tuple(_measure(m) for m in measures), indicators=tuple(_indicator(i) for i in indicators))
    targets, found = parse_targets(content, form, [_unit(u) for u in units])
    problems.extend(f"campaign.targets_file: {text}" for text in found)
    return targets


def _valid_entries(model: type[M], tables: Any, ctx: v.Context) -> list[M]:
    valid: list[M] = []
    for table in tables if isinstance(tables, list) else []:
        try:
            valid.append(model.model_validate(table, context=ctx))
        except ValidationError:
            continue
    return valid


# ---- models -> the Config the service uses ---------------------------------------------------


def _build(model: ConfigModel, file: Path, targets: tuple[Target, ...]) -> Config:
    s = model.service
    schedule = _schedule(model.schedule)
    digest = _digest(model.digest, s.language)
    form = _form(model.measures, model.indicators, model.checks, model.limits.model_dump())
    units = tuple(_unit(u) for u in model.units)
    return Config(
        service=ServiceConfig(
            timezone=s.timezone,
            database_url=s.database_url,
            archive_dir=s.archive_dir,
            poll_interval_minutes=s.poll_interval_minutes,
            language=s.language,
        ),
        imap=_imap(model.imap) if model.imap else None,
        smtp=_smtp(model.smtp) if model.smtp else None,
        schedule=schedule,
        digest=digest,
        campaign=_campaign(model.campaign, targets),
        form=form,
        units=units,
        acknowledgements=AcknowledgementsConfig(**model.acknowledgements.model_dump()),
        reminders=RemindersConfig(**model.reminders.model_dump()),
        source=file,
        security=SecurityConfig(
            require_authentication=model.security.require_authentication, authserv_ids=model.security.authserv_id
        ),
        reports=tuple(_report(r, model, form, units, schedule, digest, s.language) for r in model.reports),
    )


def _form(
    measures: Iterable[MeasureModel], indicators: Iterable[IndicatorModel], checks: Iterable[CheckModel], limits: Any
) -> FormSpec:
    return FormSpec(
        measures=tuple(_measure(m) for m in measures),
        indicators=tuple(_indicator(i) for i in indicators),
        checks=tuple(
            CheckSpec(left=c.rule[0], op=c.rule[1], right=c.rule[2], message=c.message, rule=" ".join(c.rule))
            for c in checks
        ),
        limits=ReadLimits(**limits),
    )


def _report(
    t: ReportModel,
    model: ConfigModel,
    form: FormSpec,
    units: tuple[UnitConfig, ...],
    schedule: ScheduleConfig,
    digest: DigestConfig,
    language: str,
) -> ReportConfig:
    """A [[reports]] entry with every default filled in (ConfigModel.rules checked the codes it names)."""

    def picked(codes: tuple[str, ...] | None, top: tuple[Any, ...], own: tuple[Any, ...]) -> list[Any]:
        if codes is None:
            return [*(() if own else top), *own]
        by_code = {entry.code: entry for entry in top}
        return [*(by_code[c] for c in codes), *own]

    measures = picked(t.measures, model.measures, t.own_measures)
    codes = {m.code for m in measures}
    checks = t.checks if t.checks is not None else [c for c in model.checks if {c.rule[0], c.rule[2]} <= codes]
    wanted = {v.fold(name) for name in t.units}
    expected = tuple(
        u.code
        for u in units
        if "all" in wanted
        or u.code.casefold() in {w.casefold() for w in wanted}
        or (u.group and v.fold(u.group) in wanted)
    )
    deadline = t.deadline or schedule.deadline
    # A daily report's digest reads as today's; another names its report and period.
    subject = (t.digest.subject if t.digest else None) or (
        digest.subject
        if t.period == "day"
        else catalog(language)["defaults"]["report_digest_subject"].replace(
            "{title}", t.title.replace("{", "{{").replace("}", "}}")
        )
    )
    return ReportConfig(
        code=t.code,
        title=t.title,
        form=dataclasses.replace(
            _form(measures, picked(t.indicators, model.indicators, t.own_indicators), checks, {}), limits=form.limits
        ),
        units=expected,
        period=t.period,
        deadline=deadline,
        digest_at=t.digest_at or (schedule.digest_at if t.period == "day" and t.deadline is None else deadline),
        deadline_day=t.deadline_day,
        digest_day=t.digest_day if t.digest_day is not None else t.deadline_day,
        start_date=t.start_date,
        cumulative=t.cumulative,
        subject_keywords=t.subject_keywords,
        digest=dataclasses.replace(
            digest,
            to=(t.digest.to if t.digest and t.digest.to else digest.to),
            cc=(t.digest.cc if t.digest and t.digest.cc is not None else digest.cc),
            subject=subject,
        ),
    )


def _port(table: ImapModel | SmtpModel, protocol: str) -> int:
    return table.port if table.port is not None else DEFAULT_PORTS[protocol][table.security]


def _imap(t: ImapModel) -> ImapConfig:
    assert t.secret is not None  # ImapModel.rules: one of password_env, password_file
    return ImapConfig(
        host=t.host,
        port=_port(t, "imap"),
        security=t.security,
        username=t.username,
        password=t.secret,
        ca_file=t.ca_file,
        folder=t.folder,
        processed_folder=t.processed_folder,
        timeout_seconds=t.timeout_seconds,
        idle=t.idle,
    )


def _smtp(t: SmtpModel) -> SmtpConfig:
    return SmtpConfig(
        host=t.host,
        port=_port(t, "smtp"),
        security=t.security,
        username=t.username,
        password=t.secret,
        from_address=t.from_address,
        from_name=t.from_name,
        ca_file=t.ca_file,
        timeout_seconds=t.timeout_seconds,
    )


def _schedule(t: ScheduleModel) -> ScheduleConfig:
    # Without its own time, the digest goes at the deadline: any earlier would list
    # units that still have time as missing.
    digest_at = t.digest_at or t.deadline
    if digest_at < t.deadline:
        log.warning(
            "schedule.digest_at %s is before the deadline %s: units that report on time after it are listed as missing",
            digest_at,
            t.deadline,
        )
    return ScheduleConfig(
        deadline=t.deadline,
        digest_at=digest_at,
        report_days=frozenset(t.report_days),
        holidays=frozenset(t.holidays),
        reminders_at=tuple(sorted(t.reminders_at)),
    )


def _digest(t: DigestModel, language: str) -> DigestConfig:
    return DigestConfig(
        to=t.to,
        cc=t.cc,
        subject=t.subject or catalog(language)["defaults"]["digest_subject"],
        attach_workbook=t.attach_workbook,
        copy_to=t.copy_to,
    )


def _campaign(t: CampaignModel, targets: tuple[Target, ...]) -> CampaignConfig:
    return CampaignConfig(
        title=t.title, start_date=t.start_date, end_date=t.end_date, targets_file=t.targets_file, targets=targets
    )


def _measure(t: MeasureModel) -> MeasureSpec:
    return MeasureSpec(code=t.code, label=t.label, aliases=t.aliases, kind=t.kind, default_scale=t.default_scale)


def _indicator(t: IndicatorModel) -> IndicatorSpec:
    return IndicatorSpec(code=t.code, label=t.label, aliases=t.aliases, group=t.group)


def _unit(t: UnitModel) -> UnitConfig:
    return UnitConfig(
        code=t.code, name=t.name, group=t.group, aliases=t.aliases, senders=t.senders, reminder_to=t.reminder_to
    )
