"""The `baocao` command line as an administrator runs it: exit codes and one-sentence errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from tests.mailbuilders import EXAMPLE_CONFIG, email_bytes, simple_report, write_config

TZ7 = dt.timezone(dt.timedelta(hours=7))


def baocao(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        cwd=cwd,
    )


def assert_one_sentence(r: subprocess.CompletedProcess, code: int, pattern: str) -> None:
    import re

    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("baocao:")]
    assert len(lines) == 1 and re.search(pattern, lines[0]), r.stderr


@pytest.fixture
def cfg_file(mailbox, tmp_path):
    path = write_config(
        tmp_path / "config.toml",
        imap={
            "host": "127.0.0.1",
            "port": mailbox.port,
            "security": "none",
            "username": mailbox.user,
            "password_env": "T_IMAP_PW",
            "folder": "INBOX",
            "processed_folder": "Đã xử lý",
        },
        smtp={"host": "127.0.0.1", "port": 2525, "security": "none", "from_address": "baocao@example.gov.vn"},
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
    )
    return path, {"T_IMAP_PW": mailbox.password}


def test_check_valid_and_invalid(tmp_path):
    r = baocao("check", "--config", str(EXAMPLE_CONFIG))
    assert r.returncode == 0 and "14 units" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(
        EXAMPLE_CONFIG.read_text(encoding="utf-8")
        .replace('deadline = "15:00"', 'deadline = "25:00"')
        .replace("poll_interval_minutes = 5", "poll_interval_minutes = 0"),
        encoding="utf-8",
    )
    r = baocao("check", "--config", str(bad))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "schedule.deadline" in r.stderr and "service.poll_interval_minutes" in r.stderr
    # Each problem names the line it is on.
    lines = bad.read_text(encoding="utf-8").splitlines()
    for key, written in (
        ("schedule.deadline", 'deadline = "25:00"'),
        ("service.poll_interval_minutes", "poll_interval_minutes = 0"),
    ):
        problem = next(ln for ln in r.stderr.splitlines() if key in ln)
        assert problem.endswith(f"(line {lines.index(written) + 1})"), problem


def test_config_from_environment_variable(tmp_path):
    r = baocao("check", env={"BAOCAO_CONFIG": str(EXAMPLE_CONFIG)}, cwd=tmp_path)
    assert r.returncode == 0
    r = baocao("check", env={"BAOCAO_CONFIG": ""}, cwd=tmp_path)  # ./config.toml is missing
    assert r.returncode == 2 and "config.toml" in r.stderr


def test_poll_status_and_export(cfg_file, mailbox):
    path, env = cfg_file
    mailbox.append(simple_report(), dt.datetime(2021, 8, 11, 8, 5, 12, tzinfo=TZ7))
    mailbox.append(
        email_bytes(sender="citizen@gmail.com", subject="Hỏi về hỗ trợ"), dt.datetime(2021, 8, 11, 14, 45, tzinfo=TZ7)
    )
    r = baocao("--config", str(path), "poll", env=env)
    assert r.returncode == 0, r.stderr
    assert "BHXH" in r.stdout and "Stored 2 new message(s)" in r.stdout

    r = baocao("status", "--date", "2021-08-11", "--config", str(path), env=env)
    assert r.returncode == 0 and "BHXH" in r.stdout and "Chưa báo cáo" in r.stdout

    r = baocao("--config", str(path), "export", "--date", "2021-08-11", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["date"] == "2021-08-11" and doc["deadline"] == "2021-08-11T15:00:00+07:00"
    units = {u["code"]: u for u in doc["units"]}
    assert len(units) == 14
    b = units["BHXH"]
    assert b["status"] == "on_time" and b["received_at"] == "2021-08-11T08:05:12+07:00"
    assert b["values"] == {"dao_tao": {"de_nghi": 46, "phe_duyet": 33, "kinh_phi": 49_500_000}}
    assert units["YTE"]["status"] == "missing" and units["YTE"]["values"] == {}
    assert doc["totals"]["dao_tao"]["kinh_phi"] == 49_500_000
    [ua] = doc["unassigned"]
    assert ua["from"] == "citizen@gmail.com" and ua["subject"] == "Hỏi về hỗ trợ" and ua["reason"]


def test_a_poll_with_nothing_new_loads_no_database_layer(cfg_file, mailbox):
    """An empty poll is told by STATUS and the driver's queries (service.schedule.quiet):
    no SQLAlchemy, pydantic (the configuration comes from the cache) or readers; a message
    arriving after that is polled in full."""
    path, env = cfg_file
    mailbox.append(simple_report(), dt.datetime(2021, 8, 11, 8, 5, 12, tzinfo=TZ7))
    r = baocao("--config", str(path), "poll", env=env)
    assert r.returncode == 0 and "Stored 1 new message(s)" in r.stdout, r.stderr
    # (the archive folder the first poll made is part of what the cached configuration is checked against)
    assert "Stored 0 new message(s)" in baocao("--config", str(path), "poll", env=env).stdout
    probe = (
        "import json, sys, service.cli\n"
        f"code = service.cli.main(['--config', {str(path)!r}, 'poll'])\n"
        "print(json.dumps([code, sorted({m.split('.')[0] for m in sys.modules})]))"
    )
    r = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env={**os.environ, **env}, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "Stored 0 new message(s), 0 already known" in r.stdout
    code, loaded = json.loads(r.stdout.splitlines()[-1])
    assert code == 0 and "imapclient" in loaded
    assert not set(loaded) & {"sqlalchemy", "pydantic", "alembic", "openpyxl", "mailparser", "jinja2"}, sorted(
        set(loaded) & {"sqlalchemy", "pydantic", "alembic", "openpyxl", "mailparser", "jinja2"}
    )
    mailbox.append(
        email_bytes(sender="citizen@gmail.com", subject="Hỏi về hỗ trợ"), dt.datetime(2021, 8, 11, 14, 45, tzinfo=TZ7)
    )
    r = baocao("--config", str(path), "poll", env=env)
    assert r.returncode == 0 and "Stored 1 new message(s)" in r.stdout, r.stderr


def test_import_eml_files(cfg_file, tmp_path):
    path, env = cfg_file
    f = tmp_path / "a.eml"
    f.write_bytes(simple_report(date=dt.datetime(2021, 8, 12, 16, 20, tzinfo=TZ7)))
    r = baocao("--config", str(path), "import", str(f), str(f))
    assert r.returncode == 0, r.stderr
    assert "already stored" in r.stdout
    r = baocao("--config", str(path), "export", "--date", "2021-08-12")
    units = {u["code"]: u for u in json.loads(r.stdout)["units"]}
    assert units["BHXH"]["status"] == "late"  # arrival = the Date header for imports


def test_wrong_password_exit_1_one_sentence(cfg_file):
    path, _ = cfg_file
    r = baocao("--config", str(path), "poll", env={"T_IMAP_PW": "wrong"})
    assert_one_sentence(r, 1, "refused the login")


def test_missing_password_variable_is_a_config_error(cfg_file):
    path, _ = cfg_file
    r = baocao("--config", str(path), "poll", env={"T_IMAP_PW": ""})
    assert r.returncode == 2 and "T_IMAP_PW" in r.stderr and "Traceback" not in r.stderr


def test_unreachable_host(mailbox, tmp_path):
    from service.demo.localmail import free_port

    path = write_config(
        tmp_path / "config.toml",
        imap={
            "host": "127.0.0.1",
            "port": free_port(),
            "security": "none",
            "username": "u",
            "password_env": "T_IMAP_PW",
        },
        smtp=None,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
    )
    r = baocao("--config", str(path), "poll", env={"T_IMAP_PW": "x"})
    assert_one_sentence(r, 1, r"cannot reach the IMAP server 127\.0\.0\.1")


def test_unwritable_archive_directory(cfg_file, tmp_path):
    path, env = cfg_file
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    text = path.read_text(encoding="utf-8").replace(str(tmp_path / "archive"), str(blocker / "archive"))
    path.write_text(text, encoding="utf-8")
    r = baocao("--config", str(path), "poll", env=env)
    assert_one_sentence(r, 1, "archive folder .* cannot be written")


def test_corrupt_database(cfg_file, tmp_path):
    path, env = cfg_file
    (tmp_path / "db.sqlite3").write_bytes(b"this is not a database" * 100)
    r = baocao("--config", str(path), "status")
    assert_one_sentence(r, 1, "corrupt")


def test_locked_database(cfg_file, tmp_path):
    path, env = cfg_file
    assert baocao("--config", str(path), "status").returncode == 0  # creates the schema
    text = path.read_text(encoding="utf-8").replace("db.sqlite3", "db.sqlite3?timeout=0.2")
    path.write_text(text, encoding="utf-8")
    f = tmp_path / "a.eml"
    f.write_bytes(simple_report())
    holder = sqlite3.connect(tmp_path / "db.sqlite3")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        r = baocao("--config", str(path), "import", str(f))
    finally:
        holder.rollback()
        holder.close()
    assert_one_sentence(r, 1, "locked")


def test_debug_shows_the_traceback(cfg_file):
    path, _ = cfg_file
    r = baocao("--config", str(path), "--debug", "poll", env={"T_IMAP_PW": "wrong"})
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_password_never_printed(cfg_file):
    path, env = cfg_file
    for args in (["check"], ["poll"], ["status"], ["--debug", "check", "--connect"]):
        r = baocao("--config", str(path), *args, env=env)
        assert env["T_IMAP_PW"] not in r.stdout + r.stderr, args


def test_digest_dry_run_writes_files_and_sends_nothing(cfg_file, mailbox, tmp_path, smtp):
    path, env = cfg_file
    text = path.read_text(encoding="utf-8").replace("port = 2525", f"port = {smtp.port}")
    path.write_text(text, encoding="utf-8")
    mailbox.append(simple_report(), dt.datetime(2021, 8, 11, 8, 5, tzinfo=TZ7))
    assert baocao("--config", str(path), "poll", env=env).returncode == 0
    out = tmp_path / "out"
    r = baocao("--config", str(path), "digest", "--date", "2021-08-11", "--dry-run", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert {p.suffix for p in out.iterdir()} >= {".eml", ".html", ".xlsx", ".txt"}
    assert smtp.messages == []
    r = baocao("--config", str(path), "digest", "--date", "2021-08-11", env=env)
    assert r.returncode == 0 and "sent to" in r.stdout
    r = baocao("--config", str(path), "digest", "--date", "2021-08-11", env=env)
    assert r.returncode == 0 and "already sent" in r.stdout
    r = baocao("--config", str(path), "digest", "--date", "2021-08-11", "--resend", env=env)
    assert r.returncode == 0 and len(smtp.messages) == 2
    r = baocao("--config", str(path), "status", "--date", "2021-08-11")
    assert "Bản tổng hợp đã gửi lúc" in r.stdout


def test_digest_dry_run_needs_no_smtp_section(tmp_path):
    # a dry run sends nothing: without [smtp] it still writes every file, the .eml without a From
    path = write_config(
        tmp_path / "config.toml", database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", archive_dir=tmp_path / "archive"
    )
    f = tmp_path / "a.eml"
    f.write_bytes(simple_report(date=dt.datetime(2021, 8, 12, 10, 0, tzinfo=TZ7)))
    assert baocao("--config", str(path), "import", str(f)).returncode == 0
    out = tmp_path / "d"
    r = baocao("--config", str(path), "digest", "--date", "2021-08-12", "--dry-run", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "built, not sent" in r.stdout
    assert {p.suffix for p in out.iterdir()} >= {".eml", ".html", ".xlsx", ".txt"}
    eml = (out / "digest-2021-08-12.eml").read_bytes()
    assert b"To: dieuphoi.ldtbxh@example.gov.vn" in eml and b"\nFrom:" not in eml and not eml.startswith(b"From:")
    # sending still needs it
    r = baocao("--config", str(path), "digest", "--date", "2021-08-12")
    assert_one_sentence(r, 2, r"no \[smtp\] section")


def test_digest_with_smtp_down_exits_1_and_status_shows_it(cfg_file, tmp_path, smtp):
    path, env = cfg_file
    text = path.read_text(encoding="utf-8").replace("port = 2525", f"port = {smtp.port}")
    path.write_text(text, encoding="utf-8")
    smtp.fail = True
    r = baocao("--config", str(path), "digest", "--date", "2021-08-11", env=env)
    assert_one_sentence(r, 1, "was not sent: .*451")
    r = baocao("--config", str(path), "status", "--date", "2021-08-11")
    assert "CHƯA GỬI ĐƯỢC sau 1 lần thử" in r.stdout


def test_upward_fills_the_superiors_form_and_lists_what_did_not_match(tmp_path):
    import openpyxl

    from tests.unit.upward_forms import province_xlsx

    (tmp_path / "bieu-01.xlsx").write_bytes(province_xlsx())
    path = write_config(
        tmp_path / "config.toml",
        smtp={"host": "127.0.0.1", "port": 2525, "security": "none", "from_address": "baocao@example.gov.vn"},
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        archive_dir=tmp_path / "archive",
        extra='[upward]\ntemplate = "bieu-01.xlsx"\n',
    )
    f = tmp_path / "a.eml"
    f.write_bytes(simple_report(date=dt.datetime(2021, 8, 12, 10, 0, tzinfo=TZ7)))
    assert baocao("--config", str(path), "import", str(f)).returncode == 0
    out = tmp_path / "out.xlsx"
    r = baocao("--config", str(path), "upward", "--date", "2021-08-12", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"Đã điền 3 ô của biểu mẫu cấp trên bieu-01.xlsx (số liệu ngày 12/08/2021) vào {out}." in r.stdout
    assert "Chưa điền được (2), cần điền tay:" in r.stdout
    assert "ô H8: cột 'Tỷ lệ giải ngân (%)'" in r.stdout and "ô B18: dòng 'Hỗ trợ khác" in r.stdout
    ws = openpyxl.load_workbook(out)["Biểu 01"]
    assert (ws["G14"].value, ws["C14"].value, ws["F14"].value) == (46, 33, 49.5)  # dao_tao: người, triệu đồng
    assert ws["A6"].value == "(Số liệu tính đến ngày 12/08/2021)"
    # the digest attaches the same form (to the coordinator: the digest's own recipients)
    r = baocao("--config", str(path), "digest", "--date", "2021-08-12", "--dry-run", "--out", str(tmp_path / "d"))
    assert r.returncode == 0, r.stderr
    attached = tmp_path / "d" / "bieu-mau-cap-tren-2021-08-12.xlsx"
    got = openpyxl.load_workbook(attached)["Biểu 01"]
    assert [[c.value for c in row] for row in got.iter_rows()] == [[c.value for c in row] for row in ws.iter_rows()]
    eml = (tmp_path / "d" / "digest-2021-08-12.eml").read_bytes()
    assert b"bieu-mau-cap-tren-2021-08-12.xlsx" in eml and b"To: dieuphoi.ldtbxh@example.gov.vn" in eml
    # usage errors: one sentence, exit 2
    r = baocao("--config", str(path), "upward", "--date", "2021-08-12", "--out", str(tmp_path / "out.docx"))
    assert_one_sentence(r, 2, r"--out .*out\.docx must end in \.xlsx")
    plain = write_config(
        tmp_path / "plain.toml", database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", archive_dir=tmp_path / "archive"
    )
    r = baocao("--config", str(plain), "upward", "--out", str(out))
    assert_one_sentence(r, 2, r"has no \[upward\] section")
    (tmp_path / "bieu-01.xlsx").write_bytes(b"PK\x03\x04 broken")
    r = baocao("--config", str(path), "upward", "--date", "2021-08-12", "--out", str(out))
    assert_one_sentence(r, 2, r"Không đọc được biểu mẫu cấp trên bieu-01.xlsx")


def test_a_one_shot_command_leaves_at_once_with_its_output_whole(tmp_path):
    # status, export and a dry run read through the driver and then end: `run` leaves by
    # os._exit once stdout and stderr are flushed (no atexit handler, no freeing of the day
    # object by object); any other command, or one that went through SQLAlchemy, exits as usual
    path = write_config(
        tmp_path / "config.toml", database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", archive_dir=tmp_path / "archive"
    )
    f = tmp_path / "a.eml"
    f.write_bytes(simple_report(date=dt.datetime(2021, 8, 12, 10, 0, tzinfo=TZ7)))
    assert baocao("--config", str(path), "import", str(f)).returncode == 0

    def run(*args: str) -> subprocess.CompletedProcess:
        probe = (
            "import atexit, sys, service.cli\n"
            "atexit.register(lambda: print('left the usual way', file=sys.stderr))\n"
            f"sys.argv = ['baocao', '--config', {str(path)!r}, *{list(args)!r}]\n"
            "service.cli.run()\n"
        )
        env = {**os.environ, "BAOCAO_CACHE_DIR": str(tmp_path / "cache")}
        return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env)

    # (validating the configuration the first time imports SQLAlchemy: that run exits the usual way)
    assert run("status", "--date", "2021-08-12").returncode == 0
    r = run("export", "--date", "2021-08-12", "--format", "json")
    assert r.returncode == 0 and "left the usual way" not in r.stderr, r.stderr
    assert json.loads(r.stdout)["units"][0]["code"]  # the whole document, flushed
    out = tmp_path / "d"
    r = run("digest", "--date", "2021-08-12", "--dry-run", "--out", str(out))
    assert r.returncode == 0 and "left the usual way" not in r.stderr and "built, not sent" in r.stdout
    assert (out / "digest-2021-08-12.eml").stat().st_size > 0 and len(list(out.glob("*.xlsx"))) == 1
    r = run("status", "--date", "2021-08-12", "--json")
    assert r.returncode == 0 and "left the usual way" not in r.stderr and json.loads(r.stdout)["units"]
    # an error: its sentence on stderr and its exit code, as ever
    r = run("status", "--date", "32/13/2021")
    assert_one_sentence(r, 2, "is not a date")
    r = run("check")
    assert r.returncode == 0 and "left the usual way" in r.stderr
    # a database behind the migrations is read through SQLAlchemy (which migrates it): the usual exit
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    conn.execute("ALTER TABLE outbox DROP COLUMN report_code")  # (as before revision 0010)
    conn.execute("UPDATE alembic_version SET version_num = '0009'")
    conn.commit()
    conn.close()
    r = run("status", "--date", "2021-08-12")
    assert r.returncode == 0 and "BHXH" in r.stdout and "left the usual way" in r.stderr
