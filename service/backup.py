"""`baocao backup`: a consistent copy of the SQLite database, the archive and the config.

The SQLite copy uses SQLite's online backup API (consistent while the daemon writes).
A PostgreSQL database is backed up with pg_dump instead; the file then holds the
archive and the config, and the command says how to dump the database.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from service.config import Config
from service.errors import ArchiveError, StorageError

log = logging.getLogger(__name__)


def write_backup(cfg: Config, out: Path) -> str:
    """Write `out` (.tar.gz); return a sentence saying what it holds."""
    url = make_url(cfg.service.database_url)
    out = out.resolve()
    tmp_out = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(tmp_out, "w:gz") as tar:
            if url.get_backend_name() == "sqlite":
                copy = Path(tmp) / "baocao.db"
                _sqlite_copy(Path(url.database), copy)
                tar.add(copy, arcname="baocao.db")
            if cfg.service.archive_dir.is_dir():
                tar.add(cfg.service.archive_dir, arcname="archive")
            if cfg.source and cfg.source.is_file():
                tar.add(cfg.source, arcname="config.toml")
            targets = cfg.campaign.targets_file
            if targets and targets.is_file():
                tar.add(targets, arcname=targets.name)
        os.replace(tmp_out, out)
    except OSError as exc:
        tmp_out.unlink(missing_ok=True)
        raise ArchiveError(f"cannot write the backup {out}: {exc.strerror or exc}") from exc
    if url.get_backend_name() == "sqlite":
        return f"Backup written to {out}: the database, the archive and the config."
    return (f"Backup written to {out}: the archive and the config. The database is on PostgreSQL "
            f"({url.host}/{url.database}); back it up with: pg_dump -Fc -h {url.host} "
            f"-U {url.username or 'USER'} {url.database} > baocao.pgdump")


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise StorageError(f"the database file {source} does not exist")
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    except sqlite3.Error as exc:
        raise StorageError(f"cannot copy the database {source}: {exc}") from exc
