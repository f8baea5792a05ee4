"""`baocao backup`: a consistent copy of the SQLite database, the archive and the config.

The SQLite copy uses SQLite's online backup API (consistent while the daemon writes).
A PostgreSQL database is backed up with pg_dump instead; the file then holds the
archive and the config, and the command says how to dump the database.

Each backup starts with a small manifest member; `keep` prunes only files that have it
and whose name follows the new backup's name with other numbers (dates), so a file the
command did not write is never deleted.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from sqlalchemy.engine import make_url

from service.config import Config
from service.errors import ArchiveError, StorageError, UsageError

log = logging.getLogger(__name__)

MANIFEST = "baocao-backup.json"  # the first member of every backup: what wrote it, and when
MANIFEST_FORMAT = 1
MAX_MANIFEST_BYTES = 64 * 1024


@dataclass(frozen=True)
class BackupFile:
    path: Path
    created: dt.datetime


def write_backup(cfg: Config, out: Path, now: dt.datetime, keep: int | None = None) -> str:
    """Write `out` (.tar.gz); return a sentence saying what it holds.

    With `keep`, the `keep` newest backups of the same series stay in `out`'s folder (the
    new one counts) and older ones are removed (see `backup_series`)."""
    url = make_url(cfg.service.database_url)
    out = out.resolve()
    if keep is not None and not re.search(r"\d", out.name):
        raise UsageError(
            f"--keep needs a backup name with a date or number in it (e.g. "
            f"baocao-$(date +%F).tar.gz) to tell the copies apart; '{out.name}' has none"
        )
    tmp_out = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(tmp_out, "w:gz") as tar:
            _add_manifest(tar, now, database=url.get_backend_name())
            if url.get_backend_name() == "sqlite":
                copy = Path(tmp) / "baocao.db"
                _sqlite_copy(Path(cast(str, url.database)), copy)
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
        text = f"Backup written to {out}: the database, the archive and the config."
    else:
        text = (
            f"Backup written to {out}: the archive and the config. The database is on PostgreSQL "
            f"({url.host}/{url.database}); back it up with: pg_dump -Fc -h {url.host} "
            f"-U {url.username or 'USER'} {url.database} > baocao.pgdump"
        )
    if keep is not None:
        removed = prune_backups(out, keep)
        text += (
            f" Removed {len(removed)} older backup(s): {', '.join(p.name for p in removed)}."
            if removed
            else f" No older backup to remove (keeping {keep})."
        )
    return text


def _add_manifest(tar: tarfile.TarFile, now: dt.datetime, *, database: str) -> None:
    data = json.dumps(
        {"format": MANIFEST_FORMAT, "created": now.isoformat(), "database": database}, ensure_ascii=False
    ).encode("utf-8")
    info = tarfile.TarInfo(MANIFEST)
    info.size, info.mtime, info.mode = len(data), int(now.timestamp()), 0o644
    tar.addfile(info, io.BytesIO(data))


def read_manifest(path: Path) -> BackupFile | None:
    """The backup `path` as written by `write_backup`, or None for any other file."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile() or first.size > MAX_MANIFEST_BYTES:
                return None
            fh = tar.extractfile(first)
            doc = json.loads(fh.read()) if fh is not None else None
        if doc is None:
            return None
        created = dt.datetime.fromisoformat(doc["created"])
    except (OSError, EOFError, tarfile.TarError, zlib.error, ValueError, KeyError, TypeError):
        return None
    if created.tzinfo is None:
        return None
    return BackupFile(path, created)


def backup_series(out: Path) -> list[BackupFile]:
    """The backups beside `out` named like it with other numbers (baocao-2026-12-01.tar.gz
    for baocao-2026-12-03.tar.gz), newest first; files without the manifest are left out."""
    pattern = re.compile(re.sub(r"\d+", lambda _m: r"\d+", re.escape(out.name)))
    found = []
    for path in out.parent.iterdir():
        if pattern.fullmatch(path.name) and path.is_file() and not path.is_symlink():
            backup = read_manifest(path)
            if backup is not None:
                found.append(backup)
    return sorted(found, key=lambda b: (b.created, b.path.name), reverse=True)


def prune_backups(out: Path, keep: int) -> list[Path]:
    """Remove the backups of `out`'s series beyond the `keep` newest; `out` itself always
    stays (even if a file in the folder claims to be newer). Returns what was removed."""
    older = [b.path for b in backup_series(out) if b.path != out][max(keep - 1, 0) :]
    removed, failed = [], []
    for path in older:
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass  # another run removed it first
        except OSError as exc:
            failed.append(f"{path}: {exc.strerror or exc}")
    for path in removed:
        log.info("removed the old backup %s", path)
    if failed:
        raise ArchiveError(
            f"the backup {out} was written, but {len(failed)} older backup(s) could not be removed ({failed[0]})"
        )
    return removed


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
