"""Outlook's winmail.dat (TNEF, application/ms-tnef) unpacked into the files it holds.

Outlook set to "Rich Text" wraps every attachment of a message into one winmail.dat;
without unpacking it, the report inside would be "cannot be read". tnefparse reads
the container; the objects are counted first, since tnefparse copies the rest of the
buffer for each one (a container of a million tiny objects would cost terabytes).
"""

from __future__ import annotations

import logging
import struct

from parsers.model import MailAttachment
from parsers.text import safe_filename

TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"
MAX_TNEF_OBJECTS = 5_000

logging.getLogger("tnefparse").setLevel(logging.CRITICAL)  # it logs every bad checksum


def is_winmail(data: bytes) -> bool:
    """Whether an attachment is a TNEF container, by its signature (whatever its name)."""
    return data[:4] == TNEF_SIGNATURE


def _object_count(data: bytes) -> int:
    """The TNEF objects in `data`, counted from their length fields."""
    offset, count = 6, 0
    while offset + 12 < len(data):
        length = struct.unpack_from("<I", data, offset + 5)[0] + 11
        offset += max(length, 12)
        count += 1
        if count > MAX_TNEF_OBJECTS:
            break
    return count


def unpack_winmail(data: bytes, max_bytes: int) -> list[MailAttachment] | None:
    """The files inside a winmail.dat (each at most `max_bytes`; all of them: the message's
    cap on attachments counts them), or None when it cannot be unpacked (it then stays an
    attachment as it is)."""
    if _object_count(data) > MAX_TNEF_OBJECTS:
        return None
    try:
        import tnefparse

        tnef = tnefparse.TNEF(data, do_checksum=False)
        files = []
        for n, att in enumerate(tnef.attachments, start=1):
            payload = att.data if isinstance(att.data, bytes) else b""
            if not payload or len(payload) > max_bytes:
                continue
            name = att.long_filename()
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            files.append(
                MailAttachment(
                    filename=safe_filename(str(name or "").strip("\x00"), f"winmail-{n}"),
                    content_type="application/octet-stream",
                    data=payload,
                )
            )
        return files
    except Exception:  # a damaged container: kept as the file it is
        return None
