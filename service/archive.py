"""The archive: every raw message, byte-for-byte, named by its SHA-256.

Written before anything else is done with a message: temp file, fsync, rename,
fsync of the directory. Nothing from the message itself ever becomes part of a path.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
from pathlib import Path

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
            raise ArchiveError(f"the archive folder {self.root} cannot be written: "
                               f"{exc.strerror or exc}") from exc

    def store(self, raw: bytes, sha256: str | None = None) -> str:
        """Write `raw` durably (idempotent); return its path relative to the archive root."""
        sha256 = sha256 or content_hash(raw)
        rel = relative_path(sha256)
        final = self.root / rel
        if final.exists() and final.stat().st_size == len(raw):
            return rel
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
            _fsync_dir(final.parent)
        except OSError as exc:
            try:
                tmp.unlink()
            except OSError:
                pass
            what = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            raise ArchiveError(f"cannot archive a message in {self.root}: {what}") from exc
        return rel

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
