"""The command line's cache of validated configurations (service.config.loading.ConfigCache):
the same Config as a validation, taken again whenever anything it was made from changed,
never holding a password, and an invalid file refused with every problem as always."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from service.config import load_config
from service.config.loading import ConfigCache, _Unpickler, cache_dir_for
from service.errors import ConfigError
from tests.mailbuilders import write_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
PASSWORD = "s3cr3t-Đ"


def config_file(folder: Path, extra: str = "", **secret: str) -> Path:
    imap = {"host": "mail.example.gov.vn", "username": "u@example.gov.vn", **(secret or {"password_env": "T_IMAP_PW"})}
    return write_config(
        folder / "config.toml",
        imap=imap,
        smtp=None,
        database_url=f"sqlite:///{folder / 'b.db'}",
        archive_dir=folder / "archive",
        extra=extra,
    )


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_a_cached_configuration_is_the_validated_one(tmp_path: Path, cache: Path) -> None:
    path = config_file(tmp_path)
    env = {"T_IMAP_PW": PASSWORD}
    first = load_config(path, env=env, cache_dir=cache)
    entries = list(cache.glob("config-*.pickle"))
    assert len(entries) == 1
    assert PASSWORD.encode() not in entries[0].read_bytes()
    assert PASSWORD.encode("utf-16-le") not in entries[0].read_bytes()
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    again = load_config(path, env=env, cache_dir=cache)
    assert again == first == load_config(path, env=env)
    assert again is not first
    assert again.imap is not None and again.imap.password.reveal() == PASSWORD


def test_a_hit_imports_neither_pydantic_nor_sqlalchemy(tmp_path: Path, cache: Path) -> None:
    path = config_file(tmp_path)
    load_config(path, env={"T_IMAP_PW": PASSWORD}, cache_dir=cache)
    code = (
        "import sys\nfrom pathlib import Path\nfrom service.config import load_config\n"
        f"cfg = load_config({str(path)!r}, env={{'T_IMAP_PW': 'x'}}, cache_dir=Path({str(cache)!r}))\n"
        "print(cfg.imap.password.reveal(), sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'sqlalchemy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["x", "[]"]  # the secret read again, nothing heavy imported


def test_every_change_is_validated_again(tmp_path: Path, cache: Path) -> None:
    path = config_file(tmp_path)
    env = {"T_IMAP_PW": PASSWORD}
    load_config(path, env=env, cache_dir=cache)
    path.write_text(path.read_text(encoding="utf-8").replace('host = "mail.', 'host = "imap.'), encoding="utf-8")
    changed = load_config(path, env=env, cache_dir=cache)
    assert changed.imap is not None and changed.imap.host == "imap.example.gov.vn"
    # an invalid file after a valid one: refused with every problem, as without a cache
    text = path.read_text(encoding="utf-8")
    bad = text.replace('host = "imap.', 'host = "https://x/').replace('deadline = "15:00"', 'deadline = "25:00"')
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path, env=env, cache_dir=cache)
    with pytest.raises(ConfigError) as plain:
        load_config(path, env=env)
    assert str(refused.value) == str(plain.value) and "imap.host" in str(plain.value)
    assert "schedule.deadline" in str(plain.value)


def test_secrets_are_read_again_and_a_missing_one_is_refused(tmp_path: Path, cache: Path) -> None:
    path = config_file(tmp_path)
    load_config(path, env={"T_IMAP_PW": PASSWORD}, cache_dir=cache)
    cfg = load_config(path, env={"T_IMAP_PW": "other"}, cache_dir=cache)
    assert cfg.imap is not None and cfg.imap.password.reveal() == "other"
    with pytest.raises(ConfigError, match="T_IMAP_PW is not set"):
        load_config(path, env={}, cache_dir=cache)
    quiet = load_config(path, env={}, require_secrets=False, cache_dir=cache)
    assert quiet.imap is not None and quiet.imap.password.reveal() == ""


def test_a_password_file_is_read_again(tmp_path: Path, cache: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("one\n", encoding="utf-8")
    path = config_file(tmp_path, password_file=str(secret))
    assert load_config(path, env={}, cache_dir=cache).imap.password.reveal() == "one"  # type: ignore[union-attr]
    secret.write_text("two\n", encoding="utf-8")
    assert load_config(path, env={}, cache_dir=cache).imap.password.reveal() == "two"  # type: ignore[union-attr]
    secret.unlink()
    with pytest.raises(ConfigError, match="does not exist|cannot read"):
        load_config(path, env={}, cache_dir=cache)


def test_files_the_configuration_names_are_looked_at_again(tmp_path: Path, cache: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x", encoding="utf-8")
    path = config_file(tmp_path, password_env="T_IMAP_PW", ca_file=str(ca))
    env = {"T_IMAP_PW": PASSWORD}
    load_config(path, env=env, cache_dir=cache)
    ca.unlink()
    with pytest.raises(ConfigError, match="ca_file"):
        load_config(path, env=env, cache_dir=cache)


def test_the_validations_warnings_are_said_again(tmp_path: Path, cache: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert 'digest_at = "15:00"' in text
    path = tmp_path / "config.toml"
    path.write_text(text.replace('digest_at = "15:00"', 'digest_at = "14:00"'), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="service.config"):
        load_config(path, env={}, require_secrets=False, cache_dir=cache)
        first = [r.getMessage() for r in caplog.records if "digest_at" in r.getMessage()]
        caplog.clear()
        load_config(path, env={}, require_secrets=False, cache_dir=cache)
        again = [r.getMessage() for r in caplog.records if "digest_at" in r.getMessage()]
    assert first and again == first


def test_an_entry_others_could_write_or_a_broken_one_is_ignored(tmp_path: Path, cache: Path) -> None:
    path = config_file(tmp_path)
    env = {"T_IMAP_PW": PASSWORD}
    expected = load_config(path, env=env, cache_dir=cache)
    entry = ConfigCache(cache, path.resolve(), env, True).entry
    os.chmod(entry, 0o666)
    assert ConfigCache(cache, path.resolve(), env, True).load(path.read_bytes()) is None
    entry.write_bytes(b"x" * 64 + b"garbage")
    os.chmod(entry, 0o600)
    assert load_config(path, env=env, cache_dir=cache) == expected


def test_the_unpickler_makes_only_a_configurations_classes() -> None:
    evil = pickle.dumps(subprocess.Popen)
    with pytest.raises(pickle.UnpicklingError):
        _Unpickler(evil, {}, False).load()


def test_the_cache_folder() -> None:
    assert cache_dir_for({"BAOCAO_CACHE_DIR": "/x"}) == Path("/x")
    assert cache_dir_for({"BAOCAO_CACHE_DIR": ""}) is None
    assert cache_dir_for({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == Path("/c/baocao")
    assert cache_dir_for({"HOME": "/h"}) == Path("/h/.cache/baocao")
    assert cache_dir_for({}) is None


def test_the_unpickler_calls_no_function() -> None:
    import pathlib

    with pytest.raises(pickle.UnpicklingError):
        _Unpickler(pickle.dumps(getattr), {}, False).load()
    with pytest.raises(pickle.UnpicklingError):
        _Unpickler(pickle.dumps(pathlib.Path.write_text), {}, False).load()
