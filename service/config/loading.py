"""Loading config.toml: read it, validate it against `models.ConfigModel`, build a `Config`.

`load_config(path)` raises `ConfigError` listing every problem at once, each one
sentence naming the key path and the line of the file ("units[3].senders[1]: 'abc'
is not an email address or *@domain (line 57)"). The targets file is read once the
form and units are known; its problems name its own line and column.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import pickle
import re
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from parsers.model import CheckSpec, FormSpec, IndicatorSpec, MeasureSpec, ReadLimits
from service.config.objects import (
    AcknowledgementsConfig,
    CampaignConfig,
    Config,
    DigestConfig,
    ImapConfig,
    RemindersConfig,
    ReportConfig,
    ScheduleConfig,
    Secret,
    SecurityConfig,
    ServiceConfig,
    SmtpConfig,
    UnitConfig,
    UpwardConfig,
)
from service.errors import ConfigError
from templates import catalog

if TYPE_CHECKING:  # the validation's modules (pydantic) are imported when a file is validated
    from pydantic import BaseModel

    import service.config.values as v
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
        UpwardModel,
    )
    from service.config.table import Loc
    from service.config.targets import Target

log = logging.getLogger("service.config")

CONFIG_ENV = "BAOCAO_CONFIG"
DEFAULT_CONFIG_FILE = "config.toml"
M = TypeVar("M", bound="BaseModel")
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
    cache_dir: Path | None = None,
) -> Config:
    """Read and validate the config file; raise `ConfigError` listing every problem.

    Relative paths in the file (SQLite database, archive, ca_file, password_file,
    targets_file) are taken relative to the file's folder. With `require_secrets=False`
    (commands that talk to no mail server) a password whose variable or file is missing
    is not a problem; its `Secret` is then empty.

    With `cache_dir` (the command line's), a configuration validated before is taken
    from there when nothing it was made from has changed (see `ConfigCache`): a command
    then starts without pydantic and without parsing the file again.
    """
    file = Path(os.path.abspath(resolve_config_path(os.fspath(path) if path is not None else None, env)))
    cache = ConfigCache(cache_dir, file, env, require_secrets) if cache_dir is not None else None
    if cache is not None:
        raw = cache.read_source()
        if raw is not None:
            cached = cache.load(raw)
            if cached is not None:
                return cached
    with _recording(env) as (seen_env, messages):
        config = _validated(file, seen_env, require_secrets)
    if cache is not None:
        cache.save(config, seen_env.names, messages)
    return config


def _validated(file: Path, env: Mapping[str, str], require_secrets: bool) -> Config:
    from pydantic import ValidationError

    import service.config.values as v
    from service.config.models import ConfigModel

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


# ---- the validated configuration, cached ------------------------------------------------------

CACHE_FORMAT = 1
MAX_HASHED_BYTES = 4 * 1024 * 1024  # a bigger file a config names is compared by size and time
_PICKLE_MODULES = ("pathlib", "zoneinfo", "datetime", "decimal", "collections")
_PICKLE_BUILTINS = frozenset({"frozenset", "set", "tuple", "list", "dict"})


def cache_dir_for(env: Mapping[str, str] = os.environ) -> Path | None:
    """Where the command line keeps validated configurations: $BAOCAO_CACHE_DIR, else
    $XDG_CACHE_HOME/baocao, else ~/.cache/baocao; None (no cache) when
    BAOCAO_CACHE_DIR is set empty or there is no home folder."""
    chosen = env.get("BAOCAO_CACHE_DIR")
    if chosen is not None:
        return Path(chosen).expanduser() if chosen else None
    base = env.get("XDG_CACHE_HOME") or (os.path.join(env["HOME"], ".cache") if env.get("HOME") else None)
    return Path(base) / "baocao" if base else None


class _RecordingEnv(Mapping[str, str]):
    """The environment, noting the names the validation looked up."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.names: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        return self.env[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.names.add(name)
        return name in self.env

    def __iter__(self) -> Iterator[str]:
        return iter(self.env)

    def __len__(self) -> int:
        return len(self.env)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.INFO:
            self.found.append((record.name, record.levelno, record.getMessage()))


@contextmanager
def _recording(env: Mapping[str, str]) -> Iterator[tuple[_RecordingEnv, list[tuple[str, int, str]]]]:
    """The environment names and the log messages (INFO and up) of one validation, which
    a cached configuration has to look up again and say again."""
    seen = _RecordingEnv(env)
    handler = _Collect()
    logger = logging.getLogger("service.config")
    logger.addHandler(handler)
    try:
        yield seen, handler.found
    finally:
        logger.removeHandler(handler)


def _digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_state(path: Path) -> tuple[str, str]:
    """What a file a configuration depends on is now: its content's hash, or missing."""
    try:
        if path.is_dir():
            return ("dir", "")
        size = path.stat().st_size
        if size > MAX_HASHED_BYTES:
            stat = path.stat()
            return ("big", f"{stat.st_size}:{stat.st_mtime_ns}")
        return ("file", _digest_of(path.read_bytes()))
    except FileNotFoundError:
        return ("missing", "")
    except OSError as e:
        return ("error", type(e).__name__)


def _paths_in(obj: object, found: set[Path]) -> None:
    if isinstance(obj, Path):
        found.add(obj)
    elif is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            _paths_in(getattr(obj, f.name), found)
    elif isinstance(obj, (tuple, list, frozenset, set)):
        for item in obj:
            _paths_in(item, found)
    elif isinstance(obj, dict):
        for item in obj.values():
            _paths_in(item, found)


def _code_files() -> list[Path]:
    """The project's source files loaded now (the validation's among them) and its
    catalogs: a configuration validated by other code is validated again."""
    root = Path(__file__).resolve().parent.parent.parent
    files = set()
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if name and name.endswith(".py") and Path(name).resolve().is_relative_to(root):
            files.add(Path(name).resolve())
    files.update((root / "templates" / "lang").glob("*.toml"))
    return sorted(f for f in files if ".venv" not in f.parts and "site-packages" not in f.parts)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: object) -> Any:
        if isinstance(obj, Secret):  # never written: read again from where it came from
            return ("secret", obj.source)
        return None

    def reducer_override(self, obj: object) -> Any:
        if type(obj) is ZoneInfo:  # by its name, through the class (no getattr to unpickle)
            return ZoneInfo, (obj.key,)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    """Only the classes a configuration is made of; a secret read again from its source."""

    def __init__(self, data: bytes, env: Mapping[str, str], require_secrets: bool) -> None:
        super().__init__(io.BytesIO(data))
        self.env = env
        self.require_secrets = require_secrets

    def find_class(self, module: str, name: str) -> Any:
        if (
            module in _PICKLE_MODULES
            or module == "builtins"
            and name in _PICKLE_BUILTINS
            or module.startswith(("service.config.", "parsers."))
        ):
            found = super().find_class(module, name)
            if isinstance(found, type):  # classes only: no function is ever called
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a configuration")

    def persistent_load(self, pid: Any) -> Any:
        kind, source = pid
        if kind != "secret":
            raise pickle.UnpicklingError(f"unknown reference {kind}")
        how, _, where = source.partition(" ")
        if how == "env":
            value = self.env.get(where, "")
        elif how == "file":
            import service.config.values as v

            try:
                value = v.read_password_file(Path(where))
            except v.Invalid:
                value = ""
        else:
            raise pickle.UnpicklingError(f"a secret from {source}")
        if not value and self.require_secrets:
            raise _Stale  # validated again: that says what is missing
        return Secret(value, source)


class _Stale(Exception):
    """A cached configuration that no longer holds."""


class ConfigCache:
    """The validated `Config` of one file, kept between commands (issue 14: commands start
    instantly; validating builds every pydantic model, and a province's 2,000 units take
    a quarter of a second to parse).

    An entry holds the configuration pickled (secrets as where they come from, never their
    value) with what it was made from: the file's bytes, the environment names the
    validation looked up (their values' hashes; a secret's variable or file is read again
    on every load instead), every file or folder the configuration names (ca_file,
    targets_file, the archive...) as it was, the project's source files and catalogs, and
    the log messages the validation gave (said again). When any of these differ, the file
    is validated again, so an invalid configuration is refused with every problem as
    always. The folder is made private (0700); an entry not owned by this user or
    writable by others is ignored.
    """

    def __init__(self, folder: Path, file: Path, env: Mapping[str, str], require_secrets: bool) -> None:
        self.folder = folder
        self.file = file
        self.env = env
        self.require_secrets = require_secrets
        name = _digest_of(f"{file}\0{require_secrets}".encode())[:24]
        self.entry = folder / f"config-{name}.pickle"

    def read_source(self) -> bytes | None:
        try:
            return self.file.read_bytes()
        except OSError:
            return None  # the validation says why

    def _key(self, raw: bytes) -> str:
        parts = (str(CACHE_FORMAT), sys.version, str(self.file), str(self.require_secrets), os.environ.get("HOME", ""))
        return _digest_of("\0".join(parts).encode() + b"\0" + raw)

    def load(self, raw: bytes) -> Config | None:
        try:
            with open(self.entry, "rb") as f:
                stat = os.fstat(f.fileno())
                if stat.st_uid != os.getuid() or stat.st_mode & 0o022:
                    return None
                stored = f.read()
            key, rest = stored[:64].decode("ascii"), stored[64:]
            if key != self._key(raw):
                return None
            entry = _Unpickler(rest, self.env, self.require_secrets).load()
            for name, state in entry["env"].items():
                if (_digest_of(self.env[name].encode()) if name in self.env else None) != state:
                    return None
            for path, state in entry["files"]:
                if _file_state(Path(path)) != tuple(state):
                    return None
            config = entry["config"]
        except (OSError, _Stale, pickle.UnpicklingError, EOFError, ValueError, KeyError, TypeError, AttributeError):
            return None
        except Exception:  # noqa: BLE001 - a cache never stops a command: validate instead
            log.debug("cached configuration %s not usable", self.entry, exc_info=True)
            return None
        if not isinstance(config, Config):
            return None
        for name, level, message in entry["messages"]:
            logging.getLogger(name).log(level, "%s", message)
        return config

    def save(self, config: Config, env_names: Iterable[str], messages: list[tuple[str, int, str]]) -> None:
        raw = self.read_source()
        if raw is None:
            return
        secret_names = set()
        found: set[Path] = set()
        _paths_in(config, found)
        for secret in _secrets_in(config):
            how, _, where = secret.source.partition(" ")
            if how == "env":
                secret_names.add(where)
            elif how == "file":
                found.add(Path(where))
        found.discard(self.file)
        files = [(str(p), _file_state(p)) for p in sorted(found)]
        files += [(str(p), _file_state(p)) for p in _code_files()]
        env = {
            name: (_digest_of(self.env[name].encode()) if name in self.env else None)
            for name in sorted(set(env_names) - secret_names)
        }
        entry = {"config": config, "env": env, "files": files, "messages": messages}
        try:
            out = io.BytesIO()
            _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(entry)
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".config-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(self._key(raw).encode("ascii") + out.getvalue())
                os.replace(tmp, self.entry)
            except BaseException:
                os.unlink(tmp)
                raise
        except Exception as e:  # noqa: BLE001 - a cache that cannot be written: validated each time
            log.debug("configuration not cached in %s: %s", self.folder, e)


def _secrets_in(obj: object) -> Iterator[Secret]:
    if isinstance(obj, Secret):
        yield obj
    elif is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            yield from _secrets_in(getattr(obj, f.name))


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
    from service.config.table import path_of

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
    import service.config.values as v
    from service.config.models import IndicatorModel, MeasureModel, UnitModel
    from service.config.targets import MAX_FILE_BYTES as MAX_TARGETS_FILE_BYTES
    from service.config.targets import parse_targets

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
    from pydantic import ValidationError

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
        upward=_upward(model.upward) if model.upward else None,
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
    import service.config.values as v

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
        reminder_day=t.reminder_day if t.reminder_day is not None else t.deadline_day,
        reminders_at=tuple(sorted(t.reminders_at if t.reminders_at is not None else schedule.reminders_at)),
        cumulative=t.cumulative,
        subject_keywords=t.subject_keywords,
        digest=dataclasses.replace(
            digest,
            to=(t.digest.to if t.digest and t.digest.to else digest.to),
            cc=(t.digest.cc if t.digest and t.digest.cc is not None else digest.cc),
            subject=subject,
        ),
        upward=_upward(t.upward) if t.upward else None,
    )


def _upward(t: UpwardModel) -> UpwardConfig:
    return UpwardConfig(
        template=t.template,
        sheet=t.sheet,
        title=t.title or t.template.name,
        filename=t.filename or UpwardConfig.filename,
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
        working_days=frozenset(t.working_days),
        holiday_calendar=t.holiday_calendar,
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
