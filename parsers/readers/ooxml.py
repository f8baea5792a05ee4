"""Office Open XML packages (.xlsx, .docx): the zip container checked before any
parser touches it, and package parts read safely (no DTD ever reaches a parser).
"""

from __future__ import annotations

import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from typing import IO

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as defused

from parsers.model import ReadLimits
from parsers.readers.common import GridError

MAX_ZIP_ENTRIES = 10_000
XML_HEAD_BYTES = 8192
_DTD_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)
# A comment's start, or an element's start tag: once the root has begun, no DTD may follow.
_PROLOG_TOKEN_RE = re.compile(rb"<!--|<[A-Za-z_]")
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def damaged_file(exc: Exception, filename: str) -> GridError:
    """file_unreadable, named by the library error that found the damage."""
    return GridError("file_unreadable", file=filename, error=type(exc).__name__, detail=str(exc)[:200])


def open_zip(data: bytes, filename: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise damaged_file(exc, filename) from exc


def has_dtd(head: bytes) -> bool:
    """Whether `head` (part of an XML part) declares a DTD or an entity."""
    # NULs dropped so a UTF-16 part is checked too (its ASCII markup is then plain).
    return _DTD_RE.search(_ascii_markup(head)) is not None


def _ascii_markup(data: bytes) -> bytes:
    return data.replace(b"\x00", b"") if b"\x00" in data else data


def _prolog_has_dtd(fh: IO[bytes]) -> bool:
    """Whether a DTD is declared before the part's root element begins (comments and
    processing instructions may come first, however long), read in chunks."""
    carry = tail = b""
    in_comment = False
    while True:
        chunk = _ascii_markup(fh.read(XML_HEAD_BYTES))
        if not chunk:
            return False
        if _DTD_RE.search(tail + chunk):
            return True
        tail = chunk[-32:]
        data = carry + chunk
        pos = 0
        while True:
            if in_comment:
                end = data.find(b"-->", pos)
                if end < 0:
                    carry = data[-2:]
                    break
                pos, in_comment = end + 3, False
            m = _PROLOG_TOKEN_RE.search(data, pos)
            if m is None:
                carry = data[-9:]  # a token cut by the chunk's end
                break
            if m.group() != b"<!--":
                return False  # the root element: nothing after it may be a DTD
            pos, in_comment = m.end(), True


def check_zip_container(zf: zipfile.ZipFile, limits: ReadLimits, filename: str, *, xml_heads: bool = True) -> None:
    """Refuse a zip package that would cost too much to open, before any parser
    touches it: total declared size, overall ratio, entry count, and (`xml_heads`)
    DTDs at the start of XML parts; a caller whose every XML parse refuses DTDs
    itself passes False and calls `check_xml_heads` for the parts it did not read.

    Python's zipfile never inflates an entry past its declared size, so the
    declared sizes checked here also bound the real work.
    """
    try:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise GridError("over_limit", file=filename, limit="zip_entries", detail=str(MAX_ZIP_ENTRIES))
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        if total > limits.max_decompressed_bytes:
            raise GridError(
                "over_limit", file=filename, limit="decompressed_bytes", detail=str(limits.max_decompressed_bytes)
            )
        if total > 1_000_000 and total > limits.max_compression_ratio * max(packed, 1):
            raise GridError(
                "over_limit", file=filename, limit="compression_ratio", detail=str(limits.max_compression_ratio)
            )
    except zipfile.BadZipFile as exc:
        raise damaged_file(exc, filename) from exc
    if xml_heads:
        check_xml_heads(zf, filename)


def check_xml_heads(zf: zipfile.ZipFile, filename: str, skip: frozenset[str] = frozenset()) -> None:
    """Refuse the package if the prolog of an XML part (all before its root element, where
    a DTD may stand) holds a DTD; parts in `skip` were checked whole by their reader.

    At least the first XML_HEAD_BYTES are looked at, more while the root has not begun
    (a long comment may come first); the declared sizes bound the reading."""
    try:
        for info in zf.infolist():
            name = info.filename.lower()
            if not info.file_size or not name.endswith((".xml", ".rels", ".vml")) or info.filename in skip:
                continue
            with zf.open(info) as fh:
                if _prolog_has_dtd(fh):
                    raise GridError("unsafe_file", file=filename, detail="DTD")
    except zipfile.BadZipFile as exc:
        raise damaged_file(exc, filename) from exc


def xml_root(data: bytes) -> ET.Element:
    """The root element of an XML part; a DTD raises defusedxml's DTDForbidden.

    A part with no DTD or entity declaration anywhere (`has_dtd`: the check the parts
    handed to calamine and openpyxl pass) has nothing for defusedxml to refuse and is
    parsed by the standard library's C parser, the same expat, at half the cost; any
    other part goes through defusedxml."""
    if not has_dtd(data):
        return ET.fromstring(data)
    root: ET.Element = defused.fromstring(data, forbid_dtd=True)
    return root


def parse_xml(data: bytes, filename: str) -> ET.Element:
    """`xml_root`, a DTD named as the problem unsafe_file."""
    try:
        return xml_root(data)
    except DefusedXmlException as exc:
        raise GridError("unsafe_file", file=filename, detail="DTD") from exc


def part_root(zf: zipfile.ZipFile, path: str, filename: str) -> ET.Element:
    """The root element of a small package part (see `parse_xml`)."""
    return parse_xml(zf.read(path), filename)  # bounded by the package checks


def grandchildren(root: ET.Element) -> Iterator[tuple[str, ET.Element]]:
    """(tag of the root's child, element) for every child of the root's children."""
    for section in root:
        tag = section.tag
        for el in section:
            yield tag, el


def stream_grandchildren(zf: zipfile.ZipFile, path: str, filename: str) -> Iterator[tuple[str, ET.Element]]:
    """What `grandchildren` gives, streamed from a part of any size by defusedxml (a DTD
    is refused); each element is cleared once passed on, so memory stays bounded."""
    depth = 0
    section = ""
    try:
        with zf.open(path) as fh:
            for event, el in defused.iterparse(fh, events=("start", "end"), forbid_dtd=True):
                if event == "start":
                    depth += 1
                    if depth == 2:
                        section = el.tag
                    continue
                if depth == 3:
                    yield section, el
                if depth <= 3:
                    el.clear()
                depth -= 1
    except DefusedXmlException as exc:
        raise GridError("unsafe_file", file=filename, detail="DTD") from exc


def package_target(zf: zipfile.ZipFile, rels_path: str, base: str, rel_type: str, filename: str) -> str | None:
    """The part the first relationship of `rel_type` in `rels_path` points to."""
    if rels_path not in zf.namelist():
        return None
    for rel in part_root(zf, rels_path, filename):
        if rel.get("Type") == rel_type and rel.get("TargetMode") != "External":
            target = rel.get("Target") or ""
            path = target[1:] if target.startswith("/") else posixpath.join(base, target)
            return posixpath.normpath(path).lstrip("/")
    return None


def content_type(zf: zipfile.ZipFile, part: str, filename: str) -> str | None:
    """A part's content type from [Content_Types].xml: its override, else its extension's."""
    overrides: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for el in part_root(zf, "[Content_Types].xml", filename):
        if el.tag == CT_NS + "Override":
            overrides[(el.get("PartName") or "").lower()] = el.get("ContentType") or ""
        elif el.tag == CT_NS + "Default":
            defaults[(el.get("Extension") or "").lower()] = el.get("ContentType") or ""
    return overrides.get("/" + part.lower()) or defaults.get(part.rpartition(".")[2].lower())
