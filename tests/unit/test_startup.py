"""Commands start without loading what they do not use: `--help` no database, config or
readers; `status` and an empty poll no readers and no renderers, and with the
configuration cached and the schema current neither SQLAlchemy nor pydantic (an empty
poll end to end: tests/integration/test_cli.py). Checked in a fresh interpreter by what
ended up in sys.modules (the time it takes lives in bench/startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

READERS = {"cv2", "numpy", "pdfplumber", "pdfminer", "pypdfium2", "tesserocr", "PIL", "openpyxl", "xlrd", "mailparser"}
RENDERERS = {"jinja2", "openpyxl"}
SERVICE = {"sqlalchemy", "alembic", "apscheduler", "pydantic"}


def loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_help_imports_no_database_config_readers_or_renderers() -> None:
    loaded = loaded_after(
        "import contextlib, io, service.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    service.cli.main(['--help'])"
    )
    assert "service" in loaded  # the probe ran the command line
    assert not loaded & (READERS | RENDERERS | SERVICE)


def test_status_and_poll_modules_import_no_readers_or_renderers() -> None:
    # What `status` (day view, text and JSON) and an empty `poll` (ingestor, mailbox, the
    # outbox it flushes) import at start; reading a message or rendering a file imports more.
    loaded = loaded_after(
        "import service.day.dayview, service.outputs.export, storage.digests, storage.db\n"
        "import service.ingest.pipeline, service.mail.mailbox, service.schedule.outbox"
    )
    assert "sqlalchemy" in loaded  # the probe imported the database layer
    assert not loaded & (READERS | RENDERERS | {"alembic", "apscheduler"})


def test_an_empty_polls_quick_check_imports_no_database_layer_or_validation() -> None:
    # service.schedule.quiet decides "nothing to do" with STATUS and the driver's queries
    # before the ingest machinery is imported; the configuration comes from the cache.
    loaded = loaded_after(
        "import service.cli, service.config, service.schedule.quiet, storage.direct, service.ingest.archive"
    )
    assert "imapclient" in loaded  # the probe imported the mailbox
    assert not loaded & (READERS | RENDERERS | SERVICE)


def test_status_on_a_current_database_loads_neither_sqlalchemy_nor_pydantic(tmp_path: Path) -> None:
    from storage.db import open_database
    from tests.mailbuilders import write_config

    db = tmp_path / "b.db"
    path = write_config(
        tmp_path / "c.toml", imap=None, smtp=None, database_url=f"sqlite:///{db}", archive_dir=tmp_path / "a"
    )
    open_database(f"sqlite:///{db}").kw["bind"].dispose()  # created and migrated: the schema is current
    run = (
        "import contextlib, io, os, service.cli\n"
        f"os.environ['BAOCAO_CACHE_DIR'] = {str(tmp_path / 'cache')!r}\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert service.cli.main(['--config', {str(path)!r}, 'status', '--json']) == 0"
    )
    first = loaded_after(run)  # validates the file (pydantic) and caches it
    assert "pydantic" in first  # (and SQLAlchemy: the database URL is checked by its parser)
    again = loaded_after(run)
    assert "service" in again
    assert not again & (READERS | RENDERERS | SERVICE)


def test_the_migration_head_read_from_the_scripts_is_alembics() -> None:
    # storage.db skips Alembic when the stored revision is this head; a wrong head would
    # leave a database unmigrated.
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from storage.db import MIGRATIONS, head_revisions

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert head_revisions() == frozenset(ScriptDirectory.from_config(cfg).get_heads())


def test_the_daemon_imports_up_front_what_its_threads_would_import_lazily() -> None:
    """Two threads importing one package at once can deadlock on Python's import locks
    (seen: openpyxl by the outbox and by a message read in-process): `baocao run` imports
    these before its threads start, so each must exist under that name."""
    code = (
        "import sys\n"
        "from service.schedule.daemon import _DAEMON_IMPORTS, _import_what_the_threads_use\n"
        "_import_what_the_threads_use()\n"
        "print(all(n in sys.modules for n in _DAEMON_IMPORTS), 'cv2' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["True", "False"]  # all of them, and recognition stays in the workers
