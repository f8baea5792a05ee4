"""The archive: every raw message, byte-for-byte, named by its SHA-256.

Written before anything else is done with a message: temp file, fsync, rename,
fsync of the directory. Nothing from the message itself ever becomes part of a path.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from service.errors import ArchiveError

log = logging.getLogger(__name__)


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def relative_path(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.eml"


class Archive:
    """A content-addressed folder of raw messages."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def check_writable(self) -> None:
        """Fail early, with the folder named, when the archive cannot be written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"
            with open(probe, "wb") as fh:
                fh.write(b"ok")
                fh.flush()
                os.fsync(fh.fileno())
            probe.unlink()
        except OSError as exc:
            raise ArchiveError(f"the archive folder {self.root} cannot be written: {exc.strerror or exc}") from exc

    def store(self, raw: bytes, sha256: str | None = None, *, sync: bool = True) -> str:
        """Write `raw` durably (idempotent); return its path relative to the archive root.

        With `sync=False` the caller must call `sync_all` before relying on it: one
        flush of the file system per batch instead of two fsyncs per message.
        """
        sha256 = sha256 or content_hash(raw)
        rel = relative_path(sha256)
        folder = os.path.join(self.root, rel[:5])
        final = os.path.join(folder, rel[6:])
        try:
            if os.stat(final).st_size == len(raw):
                return rel
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._error(exc) from exc
        # Unique per writer: two instances (threads, or hosts sharing the folder, where pids
        # repeat) may archive the same message at the same moment.
        tmp = os.path.join(folder, f".{rel[6:]}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        try:
            try:
                fh = open(tmp, "wb")  # noqa: SIM115 - closed below
            except FileNotFoundError:  # the folder is new (or was removed since this archive made it)
                os.makedirs(folder, exist_ok=True)
                fh = open(tmp, "wb")  # noqa: SIM115
            with fh:
                fh.write(raw)
                fh.flush()
                if sync:
                    os.fsync(fh.fileno())
            os.replace(tmp, final)
            if sync:
                _fsync_dir(Path(folder))
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise self._error(exc) from exc
        return rel

    def _error(self, exc: OSError) -> ArchiveError:
        what = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        return ArchiveError(f"cannot archive a message in {self.root}: {what}")

    def sync_all(self, rels: Iterable[str]) -> None:
        """Make the files `rels` (and their renames) durable: syncfs(2) of the archive's
        file system where available, else an fsync of each file and folder."""
        rels = list(rels)
        try:
            if _syncfs(self.root):
                return
            for rel in rels:
                fd = os.open(self.root / rel, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            for folder in sorted({(self.root / rel).parent for rel in rels}):
                _fsync_dir(folder)
        except OSError as exc:
            raise ArchiveError(f"cannot flush the archive folder {self.root} to disk: {exc.strerror or exc}") from exc

    def load(self, rel: str) -> bytes:
        path = self.root / rel
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ArchiveError(f"archived message {path} cannot be read: {exc.strerror or exc}") from exc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(path: Path) -> bool:
    """syncfs(2) on Linux: flush every dirty file of one file system in one call."""
    global _libc
    if _libc is None:
        try:
            import ctypes
            import ctypes.util

            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            _libc.syncfs  # noqa: B018 - raises AttributeError where there is none
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.syncfs(fd) != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)
    return True


_libc: Any = None  # ctypes.CDLL once loaded; False where there is no syncfs
