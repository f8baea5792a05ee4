"""Shared fixtures: a throwaway Dovecot, an SMTP capture and fresh databases, all on 127.0.0.1,
and the way to the shared samples (`../shared` beside the repository).

A server that cannot be had here (not root, no dovecot, PostgreSQL down) or samples that
are absent skip the tests that need them, except under CI=true, where that is a failure:
CI must run them. Under CI=true every skip is a failure (see pytest_runtest_makereport),
unless the test carries `@pytest.mark.ci_skip_allowed(reason=...)` with a reason that
applies on CI (none does today).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from service.demo.localmail import LocalDovecot, SmtpCapture, dovecot_unavailable_reason

if TYPE_CHECKING:
    from imapclient import IMAPClient

PG_ADMIN_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"

REPO = Path(__file__).resolve().parents[1]
# `../shared` from the repository root (a worktree's `../shared` is a link to the same folder).
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "samples"


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> NoReturn:
    if on_ci():
        pytest.fail(f"{reason} (CI=true: the CI machine must provide it)", pytrace=False)
    pytest.skip(reason)


def shared_samples(folder: str = "samples") -> Path:
    """`../shared/<folder>` beside the repository: skipped without it, a failure under CI=true."""
    path = SHARED / folder
    if not path.is_dir():
        _unavailable(f"the shared samples are not at {path} (`../shared` beside the repository root)")
    return path


@pytest.fixture(autouse=True, scope="session")
def _config_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The command line's cache of validated configurations in a folder of the test run,
    not the user's ~/.cache (every command-line test goes through it)."""
    before = os.environ.get("BAOCAO_CACHE_DIR")
    os.environ["BAOCAO_CACHE_DIR"] = str(tmp_path_factory.mktemp("config-cache"))
    yield
    if before is None:
        os.environ.pop("BAOCAO_CACHE_DIR", None)
    else:
        os.environ["BAOCAO_CACHE_DIR"] = before


@pytest.fixture
def samples() -> Path:
    """The public sample scenario folder, `../shared/samples`."""
    return shared_samples()


# -- no skip under CI=true, no test without a time limit ----------------------------------


def pytest_configure(config: pytest.Config) -> None:
    # pyproject's `timeout` bounds every test only if pytest-timeout is loaded (`-p no:timeout`
    # or a virtualenv without it would silently let a hung test stall CI).
    limited = config.pluginmanager.hasplugin("timeout") and float(config.getini("timeout") or 0) > 0
    if on_ci() and not limited:
        raise pytest.UsageError("CI=true needs pytest-timeout and its `timeout` (pyproject.toml)")


def _skip_reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true a skipped test is a failed one: CI must run everything it has."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not (report.skipped and on_ci()) or hasattr(report, "wasxfail"):
        return
    allowed = item.get_closest_marker("ci_skip_allowed")
    if allowed is not None and allowed.kwargs.get("reason"):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, which must run every test: {_skip_reason(report.longrepr)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """A whole module skipped at collection is a failure under CI=true too."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and on_ci():
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run every test: {_skip_reason(report.longrepr)}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Mark by fixture so `-m "not dovecot"` / `-m "not postgres"` select without
    # every test having to remember its marker.
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"dovecot", "mailbox"}:
            item.add_marker(pytest.mark.dovecot)
        if "pg_url" in names:
            item.add_marker(pytest.mark.postgres)


# -- IMAP --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mailbox:
    """A fresh IMAP account (empty INBOX) on the session's Dovecot."""

    server: LocalDovecot
    user: str
    password: str

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def ssl_port(self) -> int | None:
        return self.server.ssl_port

    @property
    def cert_path(self) -> Path | None:
        return self.server.cert_path

    def connect(self) -> IMAPClient:
        return self.server.connect(self.user)

    def append(self, raw: bytes, internaldate: dt.datetime, folder: str = "INBOX", flags: Iterable[str] = ()) -> int:
        return self.server.append(self.user, folder, raw, internaldate, flags)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[LocalDovecot]:
    """One Dovecot with TLS for the whole run; user `baocao` with a random password."""
    reason = dovecot_unavailable_reason()
    if reason:
        _unavailable(reason)
    server = LocalDovecot().start({"baocao": secrets.token_urlsafe(16)}, tls=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mailbox(dovecot: LocalDovecot) -> Mailbox:
    """A new user per test, so every test starts with an empty mailbox."""
    user = f"t{secrets.token_hex(6)}"
    password = secrets.token_urlsafe(16)
    dovecot.add_user(user, password)
    return Mailbox(dovecot, user, password)


# -- SMTP --------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpCapture]:
    """A plain SMTP capture (no TLS, no AUTH); set `.fail = True` to answer 451."""
    with SmtpCapture() as server:
        yield server


# -- databases ---------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"baocao_t_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(PG_ADMIN_CONNINFO, autocommit=True)
    except psycopg.OperationalError as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        _unavailable(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {first_line}")
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_CONNINFO, autocommit=True) as admin:
            # FORCE: a connection pool the test left open must not keep the database.
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'baocao.sqlite3'}"
    return request.getfixturevalue("pg_url")
