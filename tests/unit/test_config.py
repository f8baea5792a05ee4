"""Tests for service.config: loading, every validation rule, secrets, path resolution."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import tomllib
import typing
import unicodedata
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from parsers.model import ReadLimits
from service.config import (
    AcknowledgementsConfig,
    CampaignConfig,
    Config,
    DigestConfig,
    ImapConfig,
    RemindersConfig,
    ScheduleConfig,
    Secret,
    SmtpConfig,
    UnitConfig,
    load_config,
    resolve_config_path,
)
from service.config.loading import key_lines
from service.config.models import ConfigModel, LimitsModel
from service.config.values import Context
from service.errors import ConfigError
from tests.conftest import SAMPLES

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.toml"
SAMPLE = SAMPLES / "config.toml"
needs_sample = pytest.mark.usefixtures("samples")  # skipped without ../shared; failed under CI=true

SAMPLE_ENV = {"BAOCAO_IMAP_PASSWORD": "imap-pw-7Qx", "BAOCAO_SMTP_PASSWORD": "smtp-pw-9Lz"}
PASSWORD = "Zz-very-secret-42"

# A small valid config, section by section; a test overrides the sections it is about.
BASE = {
    "digest": 'to = ["dieuphoi@example.gov.vn"]',
    "measures": """
[[measures]]
code = "de_nghi"
label = "Số đề nghị"

[[measures]]
code = "phe_duyet"
label = "Số được phê duyệt"

[[measures]]
code = "kinh_phi"
label = "Kinh phí"
kind = "money"
""",
    "indicators": """
[[indicators]]
code = "ho_kinh_doanh"
label = "Hỗ trợ hộ kinh doanh"
aliases = ["Hộ kinh doanh"]

[[indicators]]
code = "ngung_viec"
label = "Hỗ trợ người lao động ngừng việc"
""",
    "units": """
[[units]]
code = "BHXH"
name = "Bảo hiểm xã hội thành phố"
senders = ["bhxh@example.gov.vn"]
""",
}
IMAP = """host = "mail.example.gov.vn"
username = "baocao@example.gov.vn"
password_env = "IMAP_PW"
"""
SMTP = """host = "mail.example.gov.vn"
from_address = "baocao@example.gov.vn"
"""
ENV = {"IMAP_PW": PASSWORD, "SMTP_PW": PASSWORD}


def toml(**sections: str | None) -> str:
    """The BASE config with some sections replaced (None drops one); arrays carry headers."""
    parts = []
    for name, body in {**BASE, **sections}.items():
        if body is None:
            continue
        parts.append(body if body.lstrip().startswith("[[") else f"[{name}]\n{body}")
    return "\n\n".join(parts) + "\n"


def write(folder: Path, text: str, name: str = "config.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None, **kw: object) -> Config:
    return load_config(write(tmp_path, text), env=ENV if env is None else env, **kw)


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None, **kw: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env, **kw)
    return info.value.problems


def one_problem(tmp_path: Path, text: str, **kw: object) -> str:
    found = problems(tmp_path, text, **kw)
    assert len(found) == 1, found
    return found[0]


# ---- the shipped files --------------------------------------------------------------------


@needs_sample
def test_sample_config_loads_unchanged_with_the_right_values() -> None:
    cfg = load_config(SAMPLE, env=SAMPLE_ENV)
    folder = SAMPLE.parent  # as given: ../shared may be a link, and the loader keeps the path it was given
    assert cfg.source == SAMPLE
    assert cfg.service.timezone.key == "Asia/Ho_Chi_Minh"
    assert cfg.service.database_url == f"sqlite:///{folder}/data/baocao.db"
    assert cfg.service.archive_dir == folder / "data" / "archive"
    assert (cfg.service.poll_interval_minutes, cfg.service.language) == (5, "vi")
    assert (cfg.imap.host, cfg.imap.port, cfg.imap.security) == ("mail.example.gov.vn", 993, "ssl")
    assert cfg.imap.password.reveal() == "imap-pw-7Qx"
    assert cfg.imap.processed_folder == "Đã xử lý" and cfg.imap.folder == "INBOX"
    assert (cfg.smtp.port, cfg.smtp.security) == (587, "starttls")
    assert cfg.smtp.password.reveal() == "smtp-pw-9Lz"
    assert cfg.schedule.deadline == dt.time(15, 0) == cfg.schedule.digest_at
    assert cfg.schedule.report_days == frozenset(range(7))
    assert cfg.schedule.holidays == {dt.date(2021, 9, 2), dt.date(2021, 9, 3)}
    assert cfg.schedule.reminders_at == (dt.time(10), dt.time(14))
    assert cfg.digest.to == ("dieuphoi.ldtbxh@example.gov.vn",)
    assert "{date}" in cfg.digest.subject
    assert (cfg.campaign.start_date, cfg.campaign.end_date) == (dt.date(2021, 7, 30), dt.date(2021, 8, 25))
    assert len(cfg.units) == 14
    assert len(cfg.form.indicators) == 12
    assert len(cfg.form.measures) == 5
    assert [c.rule for c in cfg.form.checks] == [
        "phe_duyet <= de_nghi",
        "da_chi <= phe_duyet",
        "tien_da_chi <= kinh_phi",
    ]
    assert cfg.form.measure("kinh_phi").default_scale == 1_000_000
    assert cfg.form.measure("tien_da_chi").kind == "money"
    assert cfg.form.measure("de_nghi").default_scale == 1
    shared = "vanphong.hai.xa@example.gov.vn"
    assert [u.code for u in cfg.units if shared in u.senders] == ["DUONG_QUANG", "NONG_THUONG"]
    assert cfg.unit("THUE").senders == ("*@thue.example.gov.vn",)
    assert cfg.unit("XUAT_HOA").aliases == ("phường Xuất Hóa", "phường Xuất Hoá")
    assert cfg.acknowledgements.enabled and cfg.reminders.enabled
    assert cfg.form.limits == ReadLimits()


def test_example_config_loads() -> None:
    cfg = load_config(EXAMPLE, env=SAMPLE_ENV)
    assert len(cfg.units) == 14 and cfg.imap is not None and cfg.smtp is not None


@needs_sample
def test_example_config_gives_the_same_config_as_the_sample(tmp_path: Path) -> None:
    # Both in one folder, so the paths relative to the config folder agree too.
    sample = load_config(shutil.copy(SAMPLE, tmp_path / "sample.toml"), env=SAMPLE_ENV)
    example = load_config(shutil.copy(EXAMPLE, tmp_path / "example.toml"), env=SAMPLE_ENV)
    assert dataclasses.replace(example, source=None) == dataclasses.replace(sample, source=None)


def _tables(model: type[BaseModel] = ConfigModel) -> dict[str, type[BaseModel]]:
    """Every table model under `model`, by its key path ("units", "imap", ...)."""
    found = {"": model}
    for name, info in model.model_fields.items():
        for arg in typing.get_args(info.annotation) or (info.annotation,):
            inner = typing.get_args(arg)[0] if typing.get_origin(arg) is tuple else arg
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                found.update({f"{name}.{k}".rstrip("."): m for k, m in _tables(inner).items()})
    return found


def test_every_key_of_the_models_has_a_description() -> None:
    tables = _tables()
    assert {"service", "imap", "smtp", "units", "measures", "checks", "limits", "security"} <= tables.keys()
    missing = [
        f"{path}.{name}".lstrip(".")
        for path, model in tables.items()
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert missing == []
    assert [f.name for f in dataclasses.fields(ReadLimits)] == list(LimitsModel.model_fields)
    assert {f.name: f.default for f in dataclasses.fields(ReadLimits)} == LimitsModel().model_dump()


def uncomment(text: str) -> str:
    """The example with its optional keys and tables ("# ca_file = ...", "# [[reports]]") written."""
    return re.sub(r"^# ?([a-z_]+ = |\[\[?[a-z_.]+\]\]?$)", r"\1", text, flags=re.M)


def test_example_config_is_checked_against_the_models() -> None:
    """Every key the example writes, commented out or not, is a key of the models, and every key is shown."""
    text = EXAMPLE.read_text(encoding="utf-8")
    # The optional keys shown commented out ("# ca_file = ...") are keys too.
    uncommented = tomllib.loads(uncomment(text))
    tables = _tables()

    def keys(data: dict, path: str) -> set[str]:
        out = set()
        for key, value in data.items():
            where = f"{path}.{key}".lstrip(".")
            out.add(where)
            for item in value if isinstance(value, list) and value and isinstance(value[0], dict) else [value]:
                if isinstance(item, dict):
                    out |= keys(item, where)
        return out

    written = keys(uncommented, "")
    known = {f"{path}.{name}".lstrip(".") for path, model in tables.items() for name in model.model_fields}
    assert written - known == set()
    # Keys never written in it are documented in a comment ("#   code   identifier...").
    documented = {
        f"{path}.{name}".lstrip(".")
        for path, model in tables.items()
        for name in model.model_fields
        if re.search(rf"^#\s+{name}\s{{2,}}", text, re.M)
    }
    assert known - written - documented == {"imap.password", "smtp.password"}  # refused, never shown
    for section in ("[limits]", "[imap]", "[smtp]", "[acknowledgements]", "[reminders]", "[campaign]"):
        assert section in text


def test_every_problem_names_the_line_of_its_key_or_table(tmp_path: Path) -> None:
    text = toml(
        units=units(
            'code = "A"\nname = "A"\nsenders = [\n  "a@example.gov.vn",\n  "abc",\n]',
            'code = "B"\nsenders = ["b@example.gov.vn"]',
        ),
        service='timezone = \'Mars/Olympus\'\nnotes = """\nx = 1\n"""\nlanguage = \'fr\'',
    )
    lines = text.splitlines()

    def line(written: str, nth: int = 0) -> int:
        return [i for i, ln in enumerate(lines) if ln.startswith(written)][nth] + 1

    assert problems(tmp_path, text) == [
        "service.timezone: 'Mars/Olympus' is not an IANA time zone name such as Asia/Ho_Chi_Minh "
        f"(line {line('timezone =')})",
        f"service.language: 'fr' is not one of en, vi (line {line('language =')})",
        f"service.notes: unknown key (line {line('notes =')})",  # its x = 1 is text, not a key
        f"units[0].senders[1]: 'abc' is not an email address or *@domain (line {line('senders = [')})",
        # A missing key: the line of its table's header.
        f"units[1].name: required key is missing (line {line('[[units]]', 1)})",
    ]


def test_key_lines_follows_tables_arrays_of_tables_dotted_keys_and_multiline_strings() -> None:
    text = """top = 1
[service]
timezone = "UTC"  # a comment
"quoted key" = 2
[[units]]
code = "A"
text = '''
code = "not a key"
'''
[[units]]
  code = "B"
inline = { host = "h" }
[a.b]
c.d = 3
"""
    assert key_lines(text) == {
        ("top",): 1,
        ("service",): 2,
        ("service", "timezone"): 3,
        ("service", "quoted key"): 4,
        ("units", 0): 5,
        ("units", 0, "code"): 6,
        ("units", 0, "text"): 7,
        ("units", 1): 10,
        ("units", 1, "code"): 11,
        ("units", 1, "inline"): 12,
        ("a", "b"): 13,
        ("a", "b", "c", "d"): 14,
    }
    # Windows line ends; a form feed inside a string is no line end to TOML.
    assert key_lines('a = "x\fy"\r\n[b]\r\nc = 2\r\n') == {("a",): 1, ("b",): 2, ("b", "c"): 3}


# ---- file level -----------------------------------------------------------------------------


def test_missing_file_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml", env={})
    assert info.value.path == tmp_path / "nope.toml"
    assert len(info.value.problems) == 1 and "does not exist" in info.value.problems[0]


def test_invalid_toml_is_one_problem_with_line_and_column(tmp_path: Path) -> None:
    text = toml() + "\n[service]\ntimezone = Asia/Ho_Chi_Minh\n"
    found = problems(tmp_path, text)
    assert len(found) == 1
    assert "not valid TOML" in found[0] and re.search(r"line \d+, column \d+", found[0])


def test_file_not_utf8_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"# Ph\xf2ng L\xd0TBXH (a legacy 8-bit encoding)\n" + toml().encode())
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    assert info.value.problems == ["line 1: the file is not UTF-8 text; save it as UTF-8"]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + toml().encode())
    assert load_config(path, env=ENV).units[0].code == "BHXH"


def test_many_errors_are_listed_at_once(tmp_path: Path) -> None:
    text = (
        toml(
            service='timezone = "Mars/Olympus"\npoll_interval_minutes = 0\nlanguage = "fr"',
            imap='host = "mail.example.gov.vn"\nport = "993"\npasword_env = "X"\nusername = "u"',
            schedule='deadline = "25:00"\nreport_days = ["mon", "funday"]',
            digest='to = ["not-an-address"]\nsubject = "Báo cáo {unit}"',
            units="""
[[units]]
code = "A"
name = "A"
senders = ["a@example.gov.vn", "abc"]

[[units]]
code = "A"
name = "B"
senders = ["b@example.gov.vn"]
""",
            checks='[[checks]]\nrule = "phe_duyet <= de_nghj"\nmessage = "x"',
        )
        + "\n[unknown_section]\nx = 1\n"
    )
    found = problems(tmp_path, text)
    expected = [
        "service.timezone: 'Mars/Olympus' is not an IANA time zone name",
        "service.poll_interval_minutes: 0 is out of range",
        "service.language: 'fr' is not one of en, vi",
        "imap.port: expected an integer, got a string",
        "imap.pasword_env: unknown key (did you mean password_env?) (line 51)",
        "imap.password_env: required key is missing",
        "schedule.deadline: '25:00' is not a time HH:MM",
        "schedule.report_days[1]: 'funday' is not a day of the week",
        "digest.to[0]: 'not-an-address' is not an email address",
        "digest.subject: unknown field {unit}",
        "units[0].senders[1]: 'abc' is not an email address or *@domain",
        "units[1].code: 'A' is already used by units[0]",
        "checks[0].rule: 'de_nghj' is not a measure code (did you mean de_nghi?)",
        "unknown_section: unknown section",
    ]
    for want in expected:
        assert any(p.startswith(want) for p in found), (want, found)
    assert len(found) == len(expected), found
    message = str(ConfigError(tmp_path, found))
    assert all(p in message for p in found)


# ---- generic rules: unknown keys, types --------------------------------------------------------


@pytest.mark.parametrize(
    "section, body, want",
    [
        ("imap", IMAP + 'pasword_env = "X"', "imap.pasword_env: unknown key (did you mean password_env?) (line 41)"),
        ("service", 'timzone = "UTC"', "service.timzone: unknown key (did you mean timezone?) (line 38)"),
        ("schedule", 'Deadline = "15:00"', "schedule.Deadline: unknown key (did you mean deadline?) (line 38)"),
        ("digest", 'to = ["a@example.gov.vn"]\ncolour = "red"', "digest.colour: unknown key (line 3)"),
    ],
)
def test_unknown_key_is_a_problem_with_a_suggestion(tmp_path: Path, section: str, body: str, want: str) -> None:
    assert one_problem(tmp_path, toml(**{section: body})) == want


def test_unknown_section_and_unknown_key_in_an_array_entry(tmp_path: Path) -> None:
    text = toml(units=BASE["units"] + 'sender = ["x@example.gov.vn"]') + "\n[servce]\n"
    found = problems(tmp_path, text)
    assert "units[0].sender: unknown key (did you mean senders?) (line 35)" in found
    assert "servce: unknown section (did you mean service?) (line 37)" in found


@pytest.mark.parametrize(
    "section, body, want",
    [
        (
            "service",
            "poll_interval_minutes = true",
            "service.poll_interval_minutes: expected an integer, got a boolean (line 38)",
        ),
        (
            "service",
            "poll_interval_minutes = 2.5",
            "service.poll_interval_minutes: expected an integer, got a number (line 38)",
        ),
        ("imap", IMAP + 'idle = "yes"', "imap.idle: expected true or false, got a string (line 41)"),
        ("imap", IMAP + "folder = 1", "imap.folder: expected a string, got an integer (line 41)"),
        ("digest", 'to = "a@example.gov.vn"', "digest.to: expected an array, got a string (line 2)"),
        (
            "digest",
            'to = ["a@example.gov.vn"]\nattach_workbook = 1',
            "digest.attach_workbook: expected true or false, got an integer (line 3)",
        ),
        (
            "schedule",
            "holidays = [2021-09-02T10:00:00]",
            'schedule.holidays[0]: expected a date (2021-09-02 or "2021-09-02"), got a date-time (line 38)',
        ),
    ],
)
def test_wrong_type_names_the_expected_type(tmp_path: Path, section: str, body: str, want: str) -> None:
    assert one_problem(tmp_path, toml(**{section: body})) == want


def test_section_of_the_wrong_shape(tmp_path: Path) -> None:
    text = 'imap = "mail.example.gov.vn"\nmeasures = "x"\n' + toml(measures=None)
    found = problems(tmp_path, text)
    assert "imap: expected a table [imap], got a string (line 1)" in found
    assert "measures: expected an array of tables [[measures]], got a string (line 2)" in found


def test_required_sections_missing(tmp_path: Path) -> None:
    found = problems(tmp_path, toml(digest=None, measures=None, indicators=None, units=None))
    assert found == [
        "digest.to: required key is missing",
        "measures: at least one [[measures]] entry is required",
        "indicators: at least one [[indicators]] entry is required",
        "units: at least one [[units]] entry is required",
    ]


# ---- [service] ------------------------------------------------------------------------------------


def test_service_defaults(tmp_path: Path) -> None:
    cfg = load(tmp_path, toml())
    assert cfg.service.timezone.key == "Asia/Ho_Chi_Minh"
    assert cfg.service.database_url == f"sqlite:///{tmp_path}/data/baocao.db"
    assert cfg.service.archive_dir == tmp_path / "data" / "archive"
    assert (cfg.service.poll_interval_minutes, cfg.service.language) == (5, "vi")
    assert cfg.imap is None and cfg.smtp is None
    assert cfg.schedule == ScheduleConfig()
    assert cfg.acknowledgements == AcknowledgementsConfig() and cfg.reminders == RemindersConfig()
    assert cfg.digest.subject == DigestConfig.subject


def test_timezone_case_mistake_gets_a_suggestion(tmp_path: Path) -> None:
    assert one_problem(tmp_path, toml(service='timezone = "asia/ho_chi_minh"')) == (
        "service.timezone: 'asia/ho_chi_minh' is not an IANA time zone name such as "
        "Asia/Ho_Chi_Minh (did you mean Asia/Ho_Chi_Minh?) (line 38)"
    )


@pytest.mark.parametrize(
    "written, want",
    [
        ("sqlite:///db/x.sqlite3", "sqlite:///{base}/db/x.sqlite3"),
        ("sqlite:///../x.db?timeout=30", "sqlite:///{parent}/x.db?timeout=30"),
        ("sqlite:////var/lib/baocao/baocao.db", "sqlite:////var/lib/baocao/baocao.db"),
        ("sqlite://", "sqlite://"),
        ("postgresql://baocao@db.example.gov.vn/baocao", "postgresql+psycopg://baocao@db.example.gov.vn/baocao"),
        (
            "postgresql+psycopg://baocao@127.0.0.1:5432/bc?sslmode=require",
            "postgresql+psycopg://baocao@127.0.0.1:5432/bc?sslmode=require",
        ),
        ("postgres://h/db", "postgresql+psycopg://h/db"),
    ],
)
def test_database_url_is_normalised(tmp_path: Path, written: str, want: str) -> None:
    cfg = load(tmp_path / "conf", toml(service=f'database_url = "{written}"'))
    assert cfg.service.database_url == want.format(base=tmp_path / "conf", parent=tmp_path)


@pytest.mark.parametrize(
    "written, want",
    [
        ("postgresql://baocao:" + PASSWORD + "@db/baocao", "must not contain a password"),
        ("mysql://db/baocao", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://db/baocao", "unsupported database 'postgresql+psycopg2'"),
        ("just words", "is not a database URL"),
    ],
)
def test_database_url_refused(tmp_path: Path, written: str, want: str) -> None:
    found = one_problem(tmp_path, toml(service=f'database_url = "{written}"'))
    assert found.startswith("service.database_url: ") and want in found
    assert PASSWORD not in found


def test_relative_paths_are_resolved_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf" / "certs").mkdir(parents=True)
    (tmp_path / "conf" / "certs" / "ca.pem").write_text("x")
    (tmp_path / "conf" / "targets.csv").write_text("unit,indicator,measure,target\nBHXH,ngung_viec,de_nghi,10\n")
    (tmp_path / "conf" / "imap.pw").write_text(PASSWORD + "\n")
    write(
        tmp_path / "conf",
        toml(
            service='archive_dir = "store/archive"\ndatabase_url = "sqlite:///baocao.db"',
            imap='host = "h.example.gov.vn"\nusername = "u"\npassword_file = "imap.pw"\nca_file = "certs/ca.pem"',
            campaign='targets_file = "targets.csv"',
        ),
    )
    monkeypatch.chdir(tmp_path)  # the current folder must not matter
    cfg = load_config("conf/config.toml", env={})
    conf = tmp_path / "conf"
    assert cfg.source == conf / "config.toml"
    assert cfg.service.archive_dir == conf / "store" / "archive"
    assert cfg.service.database_url == f"sqlite:///{conf}/baocao.db"
    assert cfg.imap.ca_file == conf / "certs" / "ca.pem"
    assert cfg.imap.password.reveal() == PASSWORD
    assert cfg.imap.password.source == f"file {conf / 'imap.pw'}"
    assert cfg.campaign.targets_file == conf / "targets.csv"
    assert [t.unit for t in cfg.campaign.targets] == ["BHXH"]


@pytest.mark.parametrize(
    "body, want",
    [
        (
            "poll_interval_minutes = 0",
            "service.poll_interval_minutes: 0 is out of range: must be between 1 and 1440 (line 38)",
        ),
        ('language = "fr"', "service.language: 'fr' is not one of en, vi (line 38)"),
        ('archive_dir = ""', "service.archive_dir: must not be empty (line 38)"),
    ],
)
def test_service_values_refused(tmp_path: Path, body: str, want: str) -> None:
    assert one_problem(tmp_path, toml(service=body)) == want


def test_english_language_changes_the_default_subject(tmp_path: Path) -> None:
    cfg = load(tmp_path, toml(service='language = "EN"'))
    assert cfg.service.language == "en" and cfg.digest.subject == "Report digest for {date}"


# ---- [imap] / [smtp] ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "security, imap_port, smtp_port", [("ssl", 993, 465), ("starttls", 143, 587), ("none", 143, 25)]
)
def test_default_ports_follow_security(tmp_path: Path, security: str, imap_port: int, smtp_port: int) -> None:
    cfg = load(
        tmp_path,
        toml(
            imap=f'host = "127.0.0.1"\nsecurity = "{security}"\nusername = "u"\npassword_env = "IMAP_PW"',
            smtp=f'host = "localhost"\nsecurity = "{security}"\nfrom_address = "b@example.gov.vn"',
        ),
    )
    assert (cfg.imap.port, cfg.smtp.port) == (imap_port, smtp_port)
    assert cfg.imap.security == cfg.smtp.security == security


def test_mail_defaults(tmp_path: Path) -> None:
    cfg = load(tmp_path, toml(imap=IMAP, smtp=SMTP))
    assert cfg.imap == ImapConfig(
        host="mail.example.gov.vn",
        port=993,
        security="ssl",
        username="baocao@example.gov.vn",
        password=Secret(PASSWORD, "x"),
    )
    assert cfg.smtp == SmtpConfig(
        host="mail.example.gov.vn",
        port=465,
        security="ssl",
        username=None,
        password=None,
        from_address="baocao@example.gov.vn",
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_security_none_allowed_to_loopback(tmp_path: Path, host: str) -> None:
    cfg = load(tmp_path, toml(smtp=f'host = "{host}"\nsecurity = "none"\nfrom_address = "b@example.gov.vn"'))
    assert cfg.smtp.security == "none"


@pytest.mark.parametrize(
    "section, body",
    [
        ("imap", IMAP.replace("mail.example.gov.vn", "10.0.0.5") + 'security = "none"'),
        ("imap", IMAP.replace("mail.example.gov.vn", "localhost.example.com") + 'security = "none"'),
        ("smtp", SMTP + 'security = "none"'),
    ],
)
def test_security_none_refused_to_other_hosts(tmp_path: Path, section: str, body: str) -> None:
    found = one_problem(tmp_path, toml(**{section: body}))
    assert found.startswith(f"{section}.security: 'none' (no encryption) is only allowed to a loopback host")


@pytest.mark.parametrize(
    "body, want",
    [
        ('username = "u"\npassword_env = "IMAP_PW"', "imap.host: required key is missing"),
        ('host = "h.example.gov.vn"\npassword_env = "IMAP_PW"', "imap.username: required key is missing"),
        (
            IMAP.replace('"mail.example.gov.vn"', '"imaps://mail.example.gov.vn"'),
            "imap.host: 'imaps://mail.example.gov.vn' is a URL",
        ),
        (
            IMAP.replace('"mail.example.gov.vn"', '"mail.example.gov.vn:993"'),
            "imap.host: 'mail.example.gov.vn:993' looks like host:port",
        ),
        (IMAP + "port = 0", "imap.port: 0 is out of range: must be between 1 and 65535"),
        (IMAP + 'security = "tls"', "imap.security: 'tls' is not one of ssl, starttls, none"),
        (IMAP + 'ca_file = "missing.pem"', "imap.ca_file: file '{tmp}/missing.pem' does not exist"),
        (IMAP + "timeout_seconds = -1", "imap.timeout_seconds: -1 must be greater than 0"),
        (IMAP + 'processed_folder = "INBOX"', "imap.processed_folder: must differ from folder ('INBOX')"),
    ],
)
def test_imap_values_refused(tmp_path: Path, body: str, want: str) -> None:
    assert one_problem(tmp_path, toml(imap=body)).startswith(want.format(tmp=tmp_path))


def test_imap_options(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    cfg = load(
        tmp_path,
        toml(
            imap=IMAP + 'ca_file = "ca.pem"\nfolder = "Báo cáo"\n'
            'processed_folder = "Đã xử lý"\ntimeout_seconds = 12.5\nidle = true\n'
            'port = 10993\nsecurity = "STARTTLS"'
        ),
    )
    assert cfg.imap.ca_file == tmp_path / "ca.pem"
    assert (cfg.imap.folder, cfg.imap.processed_folder) == ("Báo cáo", "Đã xử lý")
    assert (cfg.imap.timeout_seconds, cfg.imap.idle, cfg.imap.port, cfg.imap.security) == (
        12.5,
        True,
        10993,
        "starttls",
    )


def test_smtp_username_and_password_go_together(tmp_path: Path) -> None:
    assert one_problem(tmp_path, toml(smtp=SMTP + 'username = "u"')) == (
        "smtp.password_env: required when username is set (or set password_file) (line 37)"
    )
    assert one_problem(tmp_path, toml(smtp=SMTP + 'password_env = "SMTP_PW"')) == (
        "smtp.username: required when a password is set (line 37)"
    )
    cfg = load(tmp_path, toml(smtp=SMTP + 'username = "u"\npassword_env = "SMTP_PW"\nfrom_name = "Hệ thống"'))
    assert (cfg.smtp.username, cfg.smtp.password.reveal(), cfg.smtp.from_name) == ("u", PASSWORD, "Hệ thống")


@pytest.mark.parametrize(
    "body, want",
    [
        ('host = "h.example.gov.vn"', "smtp.from_address: required key is missing (line 37)"),
        (
            SMTP.replace("baocao@example.gov.vn", "Báo cáo <baocao@example.gov.vn>"),
            "smtp.from_address: 'Báo cáo <baocao@example.gov.vn>' is not an email address (line 39)",
        ),
    ],
)
def test_smtp_from_address_refused(tmp_path: Path, body: str, want: str) -> None:
    assert one_problem(tmp_path, toml(smtp=body)) == want


# ---- secrets -------------------------------------------------------------------------------------------


def test_password_in_the_file_is_refused_and_not_echoed(tmp_path: Path) -> None:
    found = one_problem(tmp_path, toml(imap=IMAP.replace('password_env = "IMAP_PW"', f'password = "{PASSWORD}"')))
    assert found.startswith("imap.password: a password must not be written in the config file")
    assert "password_env" in found and "password_file" in found and PASSWORD not in found


def test_password_source_exactly_one(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("x")
    assert one_problem(tmp_path, toml(imap=IMAP + 'password_file = "pw"')) == (
        "imap: set only one of password_env and password_file (line 37)"
    )
    assert one_problem(tmp_path, toml(imap='host = "h.example.gov.vn"\nusername = "u"')) == (
        "imap.password_env: required key is missing (or set password_file) (line 37)"
    )


def test_missing_env_var_and_unreadable_file_are_named(tmp_path: Path) -> None:
    assert (
        one_problem(tmp_path, toml(imap=IMAP), env={})
        == "imap.password_env: environment variable IMAP_PW is not set (line 40)"
    )
    assert one_problem(tmp_path, toml(imap=IMAP), env={"IMAP_PW": ""}) == (
        "imap.password_env: environment variable IMAP_PW is empty (line 40)"
    )
    body = IMAP.replace('password_env = "IMAP_PW"', 'password_file = "secrets/imap"')
    assert one_problem(tmp_path, toml(imap=body)) == (
        f"imap.password_file: cannot read '{tmp_path / 'secrets' / 'imap'}': No such file or directory (line 40)"
    )


def test_a_password_written_in_the_file_is_in_no_validation_error(tmp_path: Path) -> None:
    """Not in the problems, nor in pydantic's own text of the error (a traceback would show it)."""
    written = IMAP + f'password = "{PASSWORD}"\npasswd = "{PASSWORD}"\n'
    data = tomllib.loads(toml(imap=written))
    with pytest.raises(ValidationError) as info:
        ConfigModel.model_validate(data, context=Context(base=tmp_path, env=ENV, require_secrets=True))
    assert len(info.value.errors()) == 2  # imap.password refused, imap.passwd unknown
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value.errors())


def test_env_name_that_looks_like_a_password_is_not_echoed(tmp_path: Path) -> None:
    found = one_problem(tmp_path, toml(imap=IMAP.replace('"IMAP_PW"', '"p@ss w0rd!"')))
    assert found == "imap.password_env: is not an environment variable name (letters, digits and _) (line 40)"


@pytest.mark.parametrize(
    "content, want",
    [
        (PASSWORD + "\n", PASSWORD),
        (PASSWORD + "\r\n", PASSWORD),
        (PASSWORD + "\n\n", PASSWORD + "\n"),  # only one newline is not part of the password
        (" " + PASSWORD, " " + PASSWORD),
    ],
)
def test_password_file_strips_one_trailing_newline(tmp_path: Path, content: str, want: str) -> None:
    (tmp_path / "pw").write_bytes(content.encode())
    cfg = load(tmp_path, toml(imap=IMAP.replace('password_env = "IMAP_PW"', f'password_file = "{tmp_path / "pw"}"')))
    assert cfg.imap.password.reveal() == want


def test_require_secrets_false_accepts_missing_passwords(tmp_path: Path) -> None:
    body_file = SMTP + 'username = "u"\npassword_file = "nowhere"'
    cfg = load(tmp_path, toml(imap=IMAP, smtp=body_file), env={}, require_secrets=False)
    assert cfg.imap.password.reveal() == "" and cfg.imap.password.source == "env IMAP_PW"
    assert cfg.smtp.password.reveal() == "" and cfg.smtp.password.source == f"file {tmp_path / 'nowhere'}"
    # The shape of the file is still checked.
    assert one_problem(
        tmp_path, toml(imap='host = "h.example.gov.vn"\nusername = "u"'), env={}, require_secrets=False
    ).startswith("imap.password_env: required key is missing")


def test_secrets_never_print(tmp_path: Path) -> None:
    (tmp_path / "smtp.pw").write_text(PASSWORD + "\n")
    good = toml(imap=IMAP, smtp=SMTP + 'username = "u"\npassword_file = "smtp.pw"')
    cfg = load(tmp_path, good)
    assert cfg.imap.password.reveal() == cfg.smtp.password.reveal() == PASSWORD
    for shown in (repr(cfg), str(cfg), repr(cfg.imap), str(cfg.smtp), f"{cfg.imap.password}"):
        assert PASSWORD not in shown
    assert "env IMAP_PW" in repr(cfg.imap) and "<hidden>" in repr(cfg.imap)
    # A config that fails elsewhere while its secrets were read.
    bad = good.replace('to = ["dieuphoi@example.gov.vn"]', 'to = ["x"]') + f'\n[limits]\nmax_rows = "{PASSWORD[:3]}"\n'
    with pytest.raises(ConfigError) as info:
        load(tmp_path, bad)
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value)
    assert len(info.value.problems) == 2


# ---- [schedule] ------------------------------------------------------------------------------------------


def test_schedule_values(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        toml(
            schedule="""deadline = "16h30"
report_days = ["Mon", "TUESDAY", "t4", "thứ năm", "Fri", "mon"]
holidays = [2021-09-02, "2021-09-03"]
reminders_at = ["14:00", 09:30:00, "9:05"]"""
        ),
    )
    s = cfg.schedule
    assert s.deadline == s.digest_at == dt.time(16, 30)  # digest_at defaults to the deadline
    assert s.report_days == {0, 1, 2, 3, 4}
    assert s.holidays == {dt.date(2021, 9, 2), dt.date(2021, 9, 3)}
    assert s.reminders_at == (dt.time(9, 5), dt.time(9, 30), dt.time(14, 0))
    cfg = load(tmp_path, toml(schedule='report_days = ["sat", "CN", "Chủ nhật"]\ndigest_at = "17:00"'))
    assert cfg.schedule.report_days == {5, 6} and cfg.schedule.digest_at == dt.time(17)


@pytest.mark.parametrize(
    "body, want",
    [
        ('deadline = "25:00"', "schedule.deadline: '25:00' is not a time HH:MM (line 38)"),
        ('digest_at = "3pm"', "schedule.digest_at: '3pm' is not a time HH:MM (line 38)"),
        ('reminders_at = ["10:00", "10:60"]', "schedule.reminders_at[1]: '10:60' is not a time HH:MM (line 38)"),
        ("report_days = []", "schedule.report_days: must list at least one value (line 38)"),
        (
            'report_days = ["mon", "mond"]',
            "schedule.report_days[1]: 'mond' is not a day of the week (mon, tue, wed, thu, fri, sat, sun) (line 38)",
        ),
        ('holidays = ["2021-02-30"]', "schedule.holidays[0]: '2021-02-30' is not a date YYYY-MM-DD (line 38)"),
        ('holidays = ["02/09/2021"]', "schedule.holidays[0]: '02/09/2021' is not a date YYYY-MM-DD (line 38)"),
    ],
)
def test_schedule_values_refused(tmp_path: Path, body: str, want: str) -> None:
    assert one_problem(tmp_path, toml(schedule=body)) == want


# ---- [digest] / [campaign] ---------------------------------------------------------------------------------


def test_digest_values(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        toml(
            digest="""to = ["a@example.gov.vn", "b@example.gov.vn"]
cc = ["lanh.dao@example.gov.vn"]
subject = "Báo cáo {{NQ 68}} - {date}"
attach_workbook = false"""
        ),
    )
    assert cfg.digest == DigestConfig(
        to=("a@example.gov.vn", "b@example.gov.vn"),
        cc=("lanh.dao@example.gov.vn",),
        subject="Báo cáo {{NQ 68}} - {date}",
        attach_workbook=False,
    )
    assert (
        load(tmp_path, toml(digest='to = ["a@example.gov.vn"]\nsubject = "Báo cáo hằng ngày"')).digest.subject
        == "Báo cáo hằng ngày"
    )


@pytest.mark.parametrize(
    "body, want",
    [
        ("to = []", "digest.to: must list at least one value (line 2)"),
        (
            'to = ["a@example.gov.vn"]\ncc = ["b@example.gov.vn", "c@gmail"]',
            "digest.cc[1]: 'c@gmail' is not an email address (line 3)",
        ),
        (
            'to = ["a@example.gov.vn"]\nsubject = "Ngày {date} {unit}"',
            "digest.subject: unknown field {unit}; only {date} may be used (line 3)",
        ),
        (
            'to = ["a@example.gov.vn"]\nsubject = "Ngày {date:%d/%m}"',
            "digest.subject: unknown field {date:%d/%m}; only {date} may be used (line 3)",
        ),
        (
            'to = ["a@example.gov.vn"]\nsubject = "Ngày {}"',
            "digest.subject: unknown field {}; only {date} may be used (line 3)",
        ),
        (
            'to = ["a@example.gov.vn"]\nsubject = "Ngày {date"',
            "digest.subject: has an unmatched '{' or '}' (write {{ or }} for a literal brace) (line 3)",
        ),
        ('to = ["a@example.gov.vn"]\nsubject = "a\\nBcc: x@example.com"', "digest.subject: must be one line (line 3)"),
    ],
)
def test_digest_values_refused(tmp_path: Path, body: str, want: str) -> None:
    assert one_problem(tmp_path, toml(digest=body)) == want


def test_campaign(tmp_path: Path) -> None:
    cfg = load(tmp_path, toml(campaign='title = "NQ 68"\nstart_date = "2021-07-30"\nend_date = 2021-08-25'))
    assert cfg.campaign == CampaignConfig("NQ 68", dt.date(2021, 7, 30), dt.date(2021, 8, 25))
    assert one_problem(tmp_path, toml(campaign="start_date = 2021-08-26\nend_date = 2021-08-25")) == (
        "campaign.end_date: 2021-08-25 is before start_date 2021-08-26 (line 39)"
    )
    assert one_problem(tmp_path, toml(campaign='targets_file = "t.xlsx"')) == (
        f"campaign.targets_file: file '{tmp_path / 't.xlsx'}' does not exist (line 38)"
    )


# ---- the form: measures, indicators, checks, limits ---------------------------------------------------------


def measures(*extra: str) -> str:
    return BASE["measures"] + "".join(f"\n[[measures]]\n{e}\n" for e in extra)


@pytest.mark.parametrize(
    "written, factor",
    [
        ('"đồng"', 1),
        ('"nghìn đồng"', 1_000),
        ('"Triệu đồng"', 1_000_000),
        ('"TỶ ĐỒNG"', 1_000_000_000),
        ('"tr.đ"', 1_000_000),
        ('"trđ"', 1_000_000),
        ('"triệu  đồng"', 1_000_000),
        ('"' + unicodedata.normalize("NFD", "triệu đồng") + '"', 1_000_000),
        ("1000", 1_000),
    ],
)
def test_default_scale_names(tmp_path: Path, written: str, factor: int) -> None:
    cfg = load(tmp_path, toml(measures=measures(f'code = "x"\nlabel = "X"\nkind = "money"\ndefault_scale = {written}')))
    assert cfg.form.measure("x").default_scale == factor
    assert cfg.form.measure("kinh_phi").default_scale == 1  # money without default_scale: đồng


@pytest.mark.parametrize(
    "extra, want",
    [
        (
            'code = "Tien-Da-Chi"\nlabel = "X"',
            "measures[3].code: 'Tien-Da-Chi' is not a code: use only a-z, 0-9 and _ (line 19)",
        ),
        ('code = "de_nghi"\nlabel = "X"', "measures[3].code: 'de_nghi' is already used by measures[0] (line 19)"),
        (
            'code = "x"\nlabel = "X"\nkind = "percent"',
            "measures[3].kind: 'percent' is not one of count, money (line 21)",
        ),
        (
            'code = "x"\nlabel = "X"\ndefault_scale = "triệu đồng"',
            'measures[3].default_scale: only applies to kind = "money" (line 21)',
        ),
        (
            'code = "x"\nlabel = "X"\nkind = "money"\ndefault_scale = "đô la"',
            "measures[3].default_scale: 'đô la' is not a money scale "
            "(one of: đồng, nghìn đồng, triệu đồng, tỷ đồng) (line 22)",
        ),
        ('code = "x"', "measures[3].label: required key is missing (line 18)"),
        ('code = "x"\nlabel = "X"\naliases = ["ok", ""]', "measures[3].aliases[1]: must not be empty (line 21)"),
        (
            'code = "x"\nlabel = "SỐ  ĐỀ NGHỊ"',
            "measures[3].label: 'SỐ  ĐỀ NGHỊ' is ambiguous: it reads the same as a name of measure de_nghi "
            "(measures[0]) (line 20)",
        ),
    ],
)
def test_measure_rules(tmp_path: Path, extra: str, want: str) -> None:
    assert one_problem(tmp_path, toml(measures=measures(extra))) == want


def test_indicator_alias_ambiguity_ignores_unicode_form_case_and_spacing(tmp_path: Path) -> None:
    alias = unicodedata.normalize("NFD", "hộ  KINH doanh")
    text = toml(
        indicators=BASE["indicators"]
        + f'\n[[indicators]]\ncode = "hkd2"\nlabel = "Khác"\naliases = ["{alias}"]\ngroup = "II"\n'
    )
    assert one_problem(tmp_path, text) == (
        f"indicators[2].aliases[0]: '{alias}' is ambiguous: it reads the same as a name of "
        "indicator ho_kinh_doanh (indicators[0]) (line 32)"
    )
    # Repeating its own label as an alias is harmless; Ð (U+00D0) reads as Đ.
    own = toml(
        indicators=BASE["indicators"]
        + '\n[[indicators]]\ncode = "dt"\nlabel = "Đào tạo"\naliases = ["\u00d0ÀO TẠO"]\ngroup = "II"\n'
    )
    assert load(tmp_path, own).form.indicators[2].group == "II"


def test_indicator_codes_unique_and_valid(tmp_path: Path) -> None:
    text = toml(
        indicators=BASE["indicators"] + '\n[[indicators]]\ncode = "ngung_viec"\nlabel = "X"\n'
        '\n[[indicators]]\ncode = "a b"\nlabel = "Y"\n'
    )
    assert problems(tmp_path, text) == [
        "indicators[3].code: 'a b' is not a code: use only a-z, 0-9 and _ (line 34)",
        "indicators[2].code: 'ngung_viec' is already used by indicators[1] (line 30)",
    ]


def test_checks_parsed(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        toml(
            checks="""
[[checks]]
rule = "phe_duyet<=de_nghi"
message = "Phê duyệt lớn hơn đề nghị"

[[checks]]
rule = "  kinh_phi   !=  de_nghi "
message = "m"
"""
        ),
    )
    c = cfg.form.checks
    assert (c[0].left, c[0].op, c[0].right, c[0].rule) == ("phe_duyet", "<=", "de_nghi", "phe_duyet <= de_nghi")
    assert c[0].message == "Phê duyệt lớn hơn đề nghị"
    assert (c[1].op, c[1].rule) == ("!=", "kinh_phi != de_nghi")


@pytest.mark.parametrize(
    "body, want",
    [
        (
            'rule = "phe_duyet =< de_nghi"\nmessage = "m"',
            "checks[0].rule: 'phe_duyet =< de_nghi' is not a comparison 'measure OP measure' "
            "with OP one of <=, <, >=, >, ==, !=",
        ),
        (
            'rule = "phe_duyet <= de_nghi + 1"\nmessage = "m"',
            "checks[0].rule: 'phe_duyet <= de_nghi + 1' is not a comparison",
        ),
        ('rule = "phe_duyet <= so_tien"\nmessage = "m"', "checks[0].rule: 'so_tien' is not a measure code"),
        (
            'rule = "phe_duyet <= phe_duyet"\nmessage = "m"',
            "checks[0].rule: 'phe_duyet <= phe_duyet' compares phe_duyet with itself",
        ),
        ('rule = "phe_duyet <= de_nghi"', "checks[0].message: required key is missing"),
    ],
)
def test_check_rules_refused(tmp_path: Path, body: str, want: str) -> None:
    assert one_problem(tmp_path, toml(checks=f"[[checks]]\n{body}")).startswith(want)


def test_limits(tmp_path: Path) -> None:
    cfg = load(tmp_path, toml(limits="max_rows = 500\nmax_attachment_bytes = 1048576"))
    assert cfg.form.limits == dataclasses.replace(ReadLimits(), max_rows=500, max_attachment_bytes=1048576)
    assert problems(tmp_path, toml(limits="max_rows = 0\nmax_sheets = -2\nmax_cols = 5")) == [
        "limits.max_sheets: -2 is out of range: must be at least 1 (line 39)",
        "limits.max_rows: 0 is out of range: must be at least 1 (line 38)",
        "limits.max_cols: unknown key (did you mean max_columns?) (line 40)",
    ]


# ---- [[units]], [acknowledgements], [reminders] ---------------------------------------------------------------


def units(*entries: str) -> str:
    return "".join(f"\n[[units]]\n{e}\n" for e in entries)


def test_units_values(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        toml(
            units=units(
                'code = "DUC_XUAN"\nname = "UBND phường Đức Xuân"\ngroup = "Xã, phường"\n'
                'aliases = ["phường Đức Xuân"]\n'
                'senders = ["VanThu.DucXuan@Gmail.COM", "*@DucXuan.Example.gov.vn", "vanthu.ducxuan@gmail.com"]\n'
                'reminder_to = ["Chu.Tich@example.gov.vn"]',
                'code = "NONG_THUONG"\nname = "UBND xã Nông Thượng"\nsenders = ["vanthu.ducxuan@gmail.com"]',
            )
        ),
    )
    u = cfg.unit("DUC_XUAN")
    assert u == UnitConfig(
        code="DUC_XUAN",
        name="UBND phường Đức Xuân",
        group="Xã, phường",
        aliases=("phường Đức Xuân",),
        senders=("vanthu.ducxuan@gmail.com", "*@ducxuan.example.gov.vn"),
        reminder_to=("Chu.Tich@example.gov.vn",),
    )
    assert cfg.unit("NONG_THUONG").senders == ("vanthu.ducxuan@gmail.com",)  # one address, two units


@pytest.mark.parametrize(
    "entries, want",
    [
        (
            ['code = "A"\nname = "A"\nsenders = ["a@example.gov.vn", "abc"]'],
            "units[0].senders[1]: 'abc' is not an email address or *@domain (line 34)",
        ),
        (
            ['code = "A"\nname = "A"\nsenders = ["*.example.gov.vn"]'],
            "units[0].senders[0]: '*.example.gov.vn' is not an email address or *@domain (line 34)",
        ),
        (
            ['code = "A"\nname = "A"\nsenders = ["a*@example.gov.vn"]'],
            "units[0].senders[0]: 'a*@example.gov.vn' is not an email address or *@domain (line 34)",
        ),
        (['code = "A"\nname = "A"\nsenders = []'], "units[0].senders: must list at least one value (line 34)"),
        (['code = "A"\nname = "A"'], "units[0].senders: required key is missing (line 31)"),
        (['code = "A"\nsenders = ["a@example.gov.vn"]'], "units[0].name: required key is missing (line 31)"),
        (
            ['code = "A B"\nname = "A"\nsenders = ["a@example.gov.vn"]'],
            "units[0].code: 'A B' is not a unit code: use letters, digits, _ . - (no spaces) (line 32)",
        ),
        (
            ['code = "A"\nname = "A"\nsenders = ["a@example.gov.vn"]\nreminder_to = ["x"]'],
            "units[0].reminder_to[0]: 'x' is not an email address (line 35)",
        ),
        (
            [
                'code = "THUE"\nname = "A"\nsenders = ["a@example.gov.vn"]',
                'code = "thue"\nname = "B"\nsenders = ["b@example.gov.vn"]',
            ],
            "units[1].code: 'thue' is already used by units[0] (line 37)",
        ),
        (
            [
                'code = "A"\nname = "UBND xã Dương Quang"\nsenders = ["a@example.gov.vn"]',
                'code = "B"\nname = "B"\naliases = ["ubnd xã dương quang"]\nsenders = ["b@example.gov.vn"]',
            ],
            "units[1].aliases[0]: 'ubnd xã dương quang' is ambiguous: it reads the same as a name of unit A "
            "(units[0]) (line 39)",
        ),
    ],
)
def test_unit_rules(tmp_path: Path, entries: list[str], want: str) -> None:
    assert one_problem(tmp_path, toml(units=units(*entries))) == want


def test_acknowledgements_and_reminders(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        toml(
            acknowledgements="enabled = true\nreply_unknown = true\ndaily_cap_per_address = 3",
            reminders="enabled = true",
        ),
    )
    assert cfg.acknowledgements == AcknowledgementsConfig(True, True, 3)
    assert cfg.reminders == RemindersConfig(True)
    assert one_problem(tmp_path, toml(acknowledgements="daily_cap_per_address = 0")) == (
        "acknowledgements.daily_cap_per_address: 0 is out of range: must be at least 1 (line 38)"
    )
    assert one_problem(tmp_path, toml(reminders='enabled = "on"')) == (
        "reminders.enabled: expected true or false, got a string (line 38)"
    )


# ---- which file ---------------------------------------------------------------------------------------------


def test_resolve_config_path_order() -> None:
    env = {"BAOCAO_CONFIG": "/etc/baocao/config.toml"}
    assert resolve_config_path("/srv/x.toml", env) == Path("/srv/x.toml")
    assert resolve_config_path(None, env) == Path("/etc/baocao/config.toml")
    assert resolve_config_path(None, {}) == Path("config.toml")
    assert resolve_config_path(None, {"BAOCAO_CONFIG": ""}) == Path("config.toml")


def test_load_config_without_a_path_uses_the_environment_then_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = write(tmp_path / "etc", toml(service='language = "en"'))
    write(tmp_path / "cwd", toml())
    monkeypatch.chdir(tmp_path / "cwd")
    assert load_config(env={"BAOCAO_CONFIG": str(from_env)}).source == from_env
    assert load_config(env={}).source == tmp_path / "cwd" / "config.toml"
