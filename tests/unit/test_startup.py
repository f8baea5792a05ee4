"""Commands start without loading what they do not use: `--help` no database, config or
readers; `status` and an empty poll no readers and no renderers. Checked in a fresh
interpreter by what ended up in sys.modules (the time it takes lives in bench/startup.py)."""

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
