"""Bound what parsing a raw message may cost, before any MIME parser sees it.

`bound_message` caps header fields, header blocks and the number of parts, leaves
out parts too big to decode (a marker stands in for each) and makes header bytes
valid UTF-8; an ordinary message passes unchanged. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

# MIME parts handed to mail-parser. It takes ~60 µs a part and keeps every part in
# memory, so a message of a million empty parts (7 MB) would take 16 s and 350 MB.
MAX_MIME_PARTS = 200
# One header block (the message's or a part's) and one header field, folded lines
# included. mail-parser decodes encoded-words in quadratic time: 1 MB of them in a
# Subject takes 20 s, 32 KB takes 20 ms. Real fields are under 10 KB (a long To).
MAX_HEADER_BYTES = 256 * 1024
MAX_FIELD_BYTES = 32 * 1024
# A header block longer than this is cut before it is even looked at (no real one is).
MAX_HEADER_SCAN_BYTES = 4 * 1024 * 1024
MAX_BOUNDARIES = 64


@dataclass(frozen=True)
class BoundedMessage:
    """`raw` as mail-parser may parse it, and what was left out on the way."""

    raw: bytes
    marker: str  # the body that stands in for a part too big to decode
    omitted_sizes: Mapping[int, int] = field(default_factory=dict)  # marker index -> encoded bytes
    parts_total: int = 0  # MIME parts seen (delimiter lines), 0 for a single-part message
    parts_cut: int = 0  # parts after MAX_MIME_PARTS, not handed to the parser


_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.IGNORECASE)
_READ_FIELDS = frozenset(
    (
        b"from",
        b"subject",
        b"message-id",
        b"date",
        b"in-reply-to",
        b"mime-version",
        b"content-type",
        b"content-transfer-encoding",
        b"content-disposition",
        b"auto-submitted",
        b"precedence",
        b"list-id",
        b"return-path",
        b"authentication-results",
        b"x-autoreply",
        b"x-autorespond",
        b"x-auto-reply",
    )
)
_FIELD_START = re.compile(rb"[!-9;-~]+[ \t]*:")
_CTE = re.compile(rb"^content-transfer-encoding[ \t]*:[ \t]*([!-~]+)", re.IGNORECASE | re.MULTILINE)


def bound_message(raw: bytes, max_part_bytes: int) -> BoundedMessage:
    """Cap what a parser would spend on `raw`, keeping everything a report needs.

    Header blocks are tidied (see `_tidy_header_block`); at most MAX_MIME_PARTS parts
    are kept; a part whose decoded body must be over `max_part_bytes` gets a marker
    in place of its body. The message is returned unchanged when nothing applies,
    which is the case for every ordinary message.
    """
    marker = ""  # made only when a part is left out: hashing costs ~2 ms a megabyte
    chunks: list[bytes | memoryview] = []
    view = memoryview(raw)
    changed = False
    omitted: dict[int, int] = {}

    def entity(start: int, end: int, top: bool, preamble: bool = False) -> None:
        """Append the entity raw[start:end] (header block, blank line, body), bounded.

        With `preamble`, the "body" is the top-level preamble before the first part,
        which parsers ignore: a huge one is dropped rather than marked."""
        nonlocal changed, marker
        head_end, body_start = header_end(raw, start, end)
        header = raw[start : min(head_end, start + MAX_HEADER_SCAN_BYTES)]
        tidy = _tidy_header_block(header, keep_unixfrom=top)
        if tidy is not None or head_end - start > len(header):
            changed = True
            block = tidy if tidy is not None else header
            chunks.append(block + b"\r\n" if block else b"")
            chunks.append(b"\r\n" if body_start > head_end or not block else b"")
        else:
            chunks.append(view[start:body_start])
        body_len = end - body_start
        if body_len <= _encoded_cap(header, max_part_bytes):
            chunks.append(view[body_start:end])
        elif preamble:
            changed = True
        else:
            if not marker:
                marker = "BAOCAOOMITTED" + hashlib.sha256(raw).hexdigest()[:24].upper()
            index = len(omitted)
            omitted[index] = body_len
            chunks.append(f"{marker}{index:06d}\r\n".encode("ascii"))
            changed = True

    boundaries = _boundaries(raw)
    delimiters: list[tuple[int, int, bool]] = []  # (line start, line end, is the close delimiter)
    parts_total = parts_cut = 0
    cut_at = len(raw)
    if boundaries:
        pattern = re.compile(
            rb"^--(?:" + b"|".join(re.escape(b) for b in boundaries) + rb")(--)?[ \t]*\r?$", re.MULTILINE
        )
        for m in _delimiter_lines(raw, boundaries, pattern):
            closing = m.group(1) is not None
            if not closing:
                parts_total += 1
                if parts_total > MAX_MIME_PARTS:
                    cut_at = m.start()
                    parts_cut = 1 + sum(
                        raw.count(b"\n--" + b, m.end()) - raw.count(b"\n--" + b + b"--", m.end()) for b in boundaries
                    )
                    parts_total += parts_cut - 1
                    break
            end = m.end() + (1 if raw[m.end() : m.end() + 1] == b"\n" else 0)
            delimiters.append((m.start(), end, closing))
    if not delimiters:
        entity(0, len(raw), True)
    else:
        first = delimiters[0][0]
        entity(0, first, True, preamble=True)  # the top header block and the preamble
        for i, (start, end, closing) in enumerate(delimiters):
            chunks.append(view[start:end])
            stop = delimiters[i + 1][0] if i + 1 < len(delimiters) else cut_at
            if closing:  # an epilogue: parsers ignore it, unless it is all a hostile one is
                if stop - end > max_part_bytes:
                    changed = True
                else:
                    chunks.append(view[end:stop])
            else:
                entity(end, stop, False)
        if parts_cut:
            changed = True
            chunks.append(b"\r\n")
    if not changed:
        return BoundedMessage(raw, marker, {}, parts_total, 0)
    return BoundedMessage(b"".join(chunks), marker, omitted, parts_total, parts_cut)


def _delimiter_lines(raw: bytes, boundaries: list[bytes], pattern: re.Pattern[bytes]) -> Iterator[re.Match[bytes]]:
    """`pattern.finditer(raw)`, where `pattern` matches a delimiter line of one of
    `boundaries`: it is tried only where a line starts with "--" and a boundary (found by
    `bytes.find`, not by the regex engine trying every position of the bodies), in order."""
    last = -1
    for start in heapq.merge(*(_line_starts(raw, b"--" + b) for b in boundaries)):
        if start == last:
            continue  # (one boundary the start of another: the same line twice)
        last = start
        m = pattern.match(raw, start)  # a delimiter is a whole line: matches never overlap
        if m is not None:
            yield m


def _line_starts(raw: bytes, prefix: bytes) -> Iterator[int]:
    """The positions, in order, of the lines of `raw` starting with `prefix`."""
    if raw.startswith(prefix):
        yield 0
    needle = b"\n" + prefix
    pos = raw.find(needle)
    while pos >= 0:
        yield pos + 1
        pos = raw.find(needle, pos + 1)


def _boundaries(raw: bytes) -> list[bytes]:
    """Every multipart boundary declared anywhere, longest first (so none shadows another)."""
    found: dict[bytes, None] = {}
    for m in _boundary_params(raw):
        value = (m.group(1) or m.group(2)).rstrip()
        if value:
            found[value] = None
            if len(found) >= MAX_BOUNDARIES:
                break
    return sorted(found, key=len, reverse=True)


def _boundary_params(raw: bytes) -> Iterator[re.Match[bytes]]:
    """`_BOUNDARY_PARAM.finditer(raw)`, tried only where "boundary" is written (in any
    case): the ignore-case regex would be tried at every position of the bodies."""
    folded = raw.lower()  # (ASCII only, as the regex's IGNORECASE for bytes)
    end = 0
    pos = folded.find(b"boundary")
    while pos >= 0:
        if pos >= end:
            m = _BOUNDARY_PARAM.match(raw, pos)
            if m is not None:
                end = m.end()
                yield m
        pos = folded.find(b"boundary", pos + 1)


def header_end(raw: bytes, start: int, end: int) -> tuple[int, int]:
    """(end of the header block, start of the body) of the entity raw[start:end]."""
    if start >= end:
        return end, end
    if raw.startswith(b"\r\n", start, end) or raw.startswith(b"\n", start, end):
        return start, start + (2 if raw.startswith(b"\r\n", start) else 1)
    hits = [(p, p + n) for p, n in ((raw.find(b"\n\r\n", start, end), 3), (raw.find(b"\n\n", start, end), 2)) if p >= 0]
    if not hits:
        return end, end
    p, body = min(hits)
    return p + 1, body


def _encoded_cap(header: bytes, max_part_bytes: int) -> int:
    """Encoded body size above which the decoded body is surely over `max_part_bytes`."""
    m = _CTE.search(header)
    cte = m.group(1).lower() if m else b""
    if cte == b"base64":
        return max_part_bytes * 78 // 57 + 4096  # 57 bytes per 76-character line + CRLF
    if cte == b"quoted-printable":
        return max_part_bytes * 3 + 4096
    return max_part_bytes + 4096


def _tidy_header_block(block: bytes, keep_unixfrom: bool) -> bytes | None:
    """The header block made safe to parse, or None when it already is.

    Lines that are neither a field nor a continuation are dropped (a parser would
    take the first such line for the start of the body and lose every field after
    it); NUL and other control bytes go; a field not in UTF-8 is read as
    windows-1258, the Vietnamese legacy code page; fields are cut at MAX_FIELD_BYTES
    and the block at MAX_HEADER_BYTES.
    """
    lines = block.split(b"\n")
    if lines and lines[-1] in (b"", b"\r"):
        lines.pop()
    fields: list[list[bytes]] = []
    dirty = len(block) > MAX_HEADER_BYTES
    for i, line in enumerate(lines):
        line = line[:-1] if line.endswith(b"\r") else line
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        elif _FIELD_START.match(line) or (i == 0 and keep_unixfrom and line.startswith(b"From ")):
            fields.append([line])
        else:
            dirty = True  # a line with no colon, or a continuation with nothing to continue
    out: list[bytes] = []
    size = 0
    for lines_of_field in fields:
        raw_field = b"\r\n".join(lines_of_field)
        text = _tidy_field(raw_field)
        if text != raw_field:
            dirty = True
        # Past the budget only the fields this module reads are kept, so a huge To or
        # thousands of X- fields cannot push the Subject out.
        name = raw_field.split(b":", 1)[0].strip().lower()
        budget = 2 * MAX_HEADER_BYTES if name in _READ_FIELDS else MAX_HEADER_BYTES
        if size + len(text) + 2 > budget:
            dirty = True
            continue
        out.append(text)
        size += len(text) + 2
    if not dirty:
        return None
    return b"\r\n".join(out)


def _tidy_field(raw_field: bytes) -> bytes:
    if len(raw_field) > MAX_FIELD_BYTES:
        cut = max(raw_field.rfind(b" ", 0, MAX_FIELD_BYTES), raw_field.rfind(b"\t", 0, MAX_FIELD_BYTES))
        raw_field = raw_field[: cut if cut > MAX_FIELD_BYTES // 2 else MAX_FIELD_BYTES].rstrip(b"\r\n")
    if re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)", raw_field):
        raw_field = re.sub(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)", b"", raw_field)
    if max(raw_field, default=0) >= 0x80:
        try:
            raw_field.decode("utf-8")
        except UnicodeDecodeError:
            raw_field = raw_field.decode("windows-1258", "replace").encode("utf-8")
    return raw_field
