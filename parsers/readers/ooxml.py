"""Office Open XML packages (.xlsx, .docx): the zip container checked before any
parser touches it, and package parts read safely (no DTD ever reaches a parser).
"""
from __future__ import annotations

import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from typing import IO, Iterator

from parsers.model import ReadLimits
from parsers.readers.common import GridError

MAX_ZIP_ENTRIES = 10_000
XML_HEAD_BYTES = 8192
_DTD_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)
WHOLE_PART_BYTES = 1 << 20  # an XML part up to this size is parsed in one call
_STREAM_CHUNK = 1 << 16  # bytes fed to the parser at a time when streaming a part
# Elements one streamed element may hold (all kept until it ends): a row has at most
# 16,384 cells of a few elements each.
_MAX_DESCENDANTS = 1 << 18
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"




def damaged_file(exc: Exception, filename: str) -> GridError:
    """file_unreadable, named by the library error that found the damage."""
    return GridError("file_unreadable", file=filename, error=type(exc).__name__,
                     detail=str(exc)[:200])


def open_zip(data: bytes, filename: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise damaged_file(exc, filename) from exc


def has_dtd(head: bytes) -> bool:
    # NULs dropped so a UTF-16 part is checked too (its ASCII markup is then plain).
    return _DTD_RE.search(head.replace(b"\x00", b"") if b"\x00" in head else head) is not None


def check_zip_container(zf: zipfile.ZipFile, limits: ReadLimits, filename: str, *,
                        xml_heads: bool = True) -> None:
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
            raise GridError("over_limit", file=filename, limit="zip_entries",
                            detail=str(MAX_ZIP_ENTRIES))
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        if total > limits.max_decompressed_bytes:
            raise GridError("over_limit", file=filename, limit="decompressed_bytes",
                            detail=str(limits.max_decompressed_bytes))
        if total > 1_000_000 and total > limits.max_compression_ratio * max(packed, 1):
            raise GridError("over_limit", file=filename, limit="compression_ratio",
                            detail=str(limits.max_compression_ratio))
    except zipfile.BadZipFile as exc:
        raise damaged_file(exc, filename) from exc
    if xml_heads:
        check_xml_heads(zf, filename)


def check_xml_heads(zf: zipfile.ZipFile, filename: str, skip: frozenset[str] = frozenset()
                    ) -> None:
    """Refuse the package if the start of an XML part holds a DTD; parts in `skip` were
    parsed by a reader that refuses DTDs itself and are not inflated again."""
    try:
        for info in zf.infolist():
            name = info.filename.lower()
            if (info.file_size and name.endswith((".xml", ".rels", ".vml"))
                    and info.filename not in skip):
                with zf.open(info) as fh:
                    head = fh.read(XML_HEAD_BYTES)
                if has_dtd(head):
                    raise GridError("unsafe_file", file=filename, detail="DTD")
    except zipfile.BadZipFile as exc:
        raise damaged_file(exc, filename) from exc


def shallow_xml(zf: zipfile.ZipFile, path: str, filename: str, depth: int = 3
                 ) -> Iterator[tuple[str, ET.Element]]:
    """The elements at `depth` of one XML part (2: the root's children, 3: their
    children), each whole, with the tag of the root's child it belongs to. Read what
    you need before asking for the next one: each is cleared once passed on.

    The C parser underneath is safe because no DTD reaches it (no DTD, no entities to
    expand: what defusedxml guarantees, at the C parser's speed). A small part is
    parsed in one call, a fraction of the cost of handling its events one by one; a
    big one is streamed, every element dropped once passed on, so memory stays bounded.
    """
    with zf.open(path) as fh:
        if zf.getinfo(path).file_size > WHOLE_PART_BYTES:
            yield from _stream_shallow_xml(fh, filename, depth)
            return
        data = fh.read(WHOLE_PART_BYTES + 1)
    if has_dtd(data):
        raise GridError("unsafe_file", file=filename, detail="DTD")
    root = ET.fromstring(data)
    if depth == 2:
        yield from ((section.tag, section) for section in root)
    else:
        yield from grandchildren(root)


def grandchildren(root: ET.Element) -> Iterator[tuple[str, ET.Element]]:
    for section in root:
        tag = section.tag
        for el in section:
            yield tag, el


def _stream_shallow_xml(fh: IO[bytes], filename: str, want: int
                        ) -> Iterator[tuple[str, ET.Element]]:
    parser = ET.XMLPullParser(events=("start", "end"))
    depth = passed = held = 0
    section: ET.Element | None = None
    section_tag = ""
    tail = b""
    while True:
        chunk = fh.read(_STREAM_CHUNK)
        if chunk:
            if has_dtd(tail + chunk):
                raise GridError("unsafe_file", file=filename, detail="DTD")
            tail = chunk[-32:]
            parser.feed(chunk)
        else:
            parser.close()
        for event, el in parser.read_events():
            if event == "start":
                depth += 1
                if depth == 2:
                    section, section_tag = el, el.tag
                elif depth > want:
                    held += 1
                    if held > _MAX_DESCENDANTS:
                        raise GridError("over_limit", file=filename, limit="columns",
                                        detail=str(_MAX_DESCENDANTS))
                continue
            if depth == want:
                held = 0
                yield section_tag, el
                el.clear()
                passed += 1
                if not passed & 1023 and depth == 3 and section is not None:
                    del section[:]  # drop the cleared husks; queued elements stay alive
            elif depth == 2:
                el.clear()  # a part of the root we do not read, or the husk of one we did
            depth -= 1
        if not chunk:
            return


def part_root(zf: zipfile.ZipFile, path: str, filename: str) -> ET.Element:
    """The root element of a small package part, parsed safely (see `shallow_xml`)."""
    data = zf.read(path)  # bounded by the package checks
    if has_dtd(data):
        raise GridError("unsafe_file", file=filename, detail="DTD")
    return ET.fromstring(data)



def package_target(zf: zipfile.ZipFile, rels_path: str, base: str, rel_type: str,
                    filename: str) -> str | None:
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

