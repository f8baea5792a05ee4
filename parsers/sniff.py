"""Tell what kind of file an attachment is, from its bytes first.

Units rename files and mail clients mislabel them (`application/octet-stream`, an
HTML page saved as `.xls`), so the content decides; the name and MIME type only
break ties. Pure: bytes in, a short format name out.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import xml.etree.ElementTree as ET
import zipfile

from defusedxml import DefusedXmlException

from parsers.readers.ooxml import xml_root
from parsers.smime import cms_kind

# Formats the report reader opens itself.
READABLE_FORMATS = frozenset({"xlsx", "xlsm", "xls", "csv", "docx", "html", "ods", "fods"})
# Formats kept as evidence for the coordinator ("cannot be read automatically").
EVIDENCE_FORMATS = frozenset(
    {
        "pdf",
        "image",
        "doc",
        "archive",
        "unknown",
        "xlsb",
        "odt",
        "pptx",
        "ppt",
        "rtf",
        "xml_spreadsheet",
        "text",
    }
)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTENT_TYPES_MAX_BYTES = 1_000_000

# Main-part content types of the OOXML family, most specific first.
_OOXML_TYPES: tuple[tuple[str, str], ...] = (
    ("application/vnd.ms-excel.sheet.binary.macroenabled.main", "xlsb"),
    ("application/vnd.ms-excel.sheet.macroenabled.main+xml", "xlsm"),
    ("application/vnd.ms-excel.template.macroenabled.main+xml", "xlsm"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "xlsx"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml", "xlsx"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", "docx"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml", "docx"),
    ("application/vnd.ms-word.document.macroenabled.main+xml", "docx"),
    ("application/vnd.ms-word.template.macroenabledtemplate.main+xml", "docx"),
    ("application/vnd.openxmlformats-officedocument.presentationml", "pptx"),
)

_EXTENSION_FORMATS = {
    "xlsx": "xlsx",
    "xltx": "xlsx",
    "xlsm": "xlsm",
    "xltm": "xlsm",
    "xls": "xls",
    "xlt": "xls",
    "csv": "csv",
    "docx": "docx",
    "docm": "docx",
    "doc": "doc",
    "pdf": "pdf",
    "xlsb": "xlsb",
    "ods": "ods",
    "fods": "fods",
    "odt": "odt",
}

_MIME_FORMATS = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": "xlsm",
    "application/vnd.ms-excel": "xls",
    "text/csv": "csv",
    "application/csv": "csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/msword": "doc",
    "application/pdf": "pdf",
}


def _extension(filename: str) -> str:
    name = (filename or "").strip().strip('"').lower()
    return name.rsplit(".", 1)[-1] if "." in name else ""


def sniff_hint(filename: str, content_type: str) -> str | None:
    """The format the name or MIME type claims, used only to break ties."""
    by_ext = _EXTENSION_FORMATS.get(_extension(filename))
    if by_ext:
        return by_ext
    return _MIME_FORMATS.get(content_type.split(";", 1)[0].strip().lower())


def _sniff_zip(data: bytes, hint: str | None) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                info = zf.getinfo("mimetype")
                if info.file_size < 200:
                    mimetype = zf.read("mimetype").decode("ascii", "replace")
                    if "opendocument.spreadsheet" in mimetype:
                        return "ods"
                    if "opendocument.text" in mimetype:
                        return "odt"
            if "[Content_Types].xml" in names:
                fmt = _ooxml_format(zf, names)
                if fmt is not None:
                    return fmt
            # A package whose content types are missing or odd: go by its parts.
            if "xl/workbook.xml" in names:
                return "xlsm" if hint == "xlsm" else "xlsx"
            if "xl/workbook.bin" in names:
                return "xlsb"
            if "word/document.xml" in names:
                return "docx"
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        KeyError,
        NotImplementedError,
        EOFError,
        RuntimeError,
    ):
        # A truncated or damaged package: trust the name so the reader names the
        # damage ("file_unreadable") instead of calling it an archive.
        if hint in ("xlsx", "xlsm", "docx"):
            return hint
    return "archive"


_OFFICE_DOCUMENT = "/officeDocument"  # the end of the main part's relationship type (both OOXML flavours)


def _small_part(zf: zipfile.ZipFile, name: str) -> ET.Element | None:
    info = zf.getinfo(name)
    if info.file_size > _CONTENT_TYPES_MAX_BYTES:
        return None
    try:
        root: ET.Element = xml_root(zf.read(info))
    except (ET.ParseError, DefusedXmlException):
        return None
    return root


def _ooxml_format(zf: zipfile.ZipFile, names: set[str]) -> str | None:
    """The format the package's main part (the target of its officeDocument relationship)
    declares in [Content_Types].xml, whatever that part is called; without a readable
    relationship, the first main-part type among the overrides. Never the mere mention
    of a type: an .xlsx declaring a default for .bin parts is no .xlsb."""
    types = _small_part(zf, "[Content_Types].xml")
    if types is None:
        return None
    overrides = {
        (el.get("PartName") or "").lstrip("/").lower(): (el.get("ContentType") or "").lower()
        for el in types
        if _local(el.tag) == "Override"
    }
    defaults = {
        (el.get("Extension") or "").lower(): (el.get("ContentType") or "").lower()
        for el in types
        if _local(el.tag) == "Default"
    }
    main = _main_part(zf, names)
    if main is not None:
        declared = overrides.get(main.lower()) or defaults.get(main.rpartition(".")[2].lower(), "")
        return _type_format(declared)
    for declared in overrides.values():
        fmt = _type_format(declared)
        if fmt is not None:
            return fmt
    return None


def _main_part(zf: zipfile.ZipFile, names: set[str]) -> str | None:
    if "_rels/.rels" not in names:
        return None
    rels = _small_part(zf, "_rels/.rels")
    for rel in rels if rels is not None else ():
        if _local(rel.tag) == "Relationship" and (rel.get("Type") or "").endswith(_OFFICE_DOCUMENT):
            target = (rel.get("Target") or "").lstrip("/")
            return posixpath.normpath(target) if target else None
    return None


def _local(tag: object) -> str:
    """An element's name without its namespace (a hand-made package may omit it)."""
    return str(tag).rsplit("}", 1)[-1]


def _type_format(declared: str) -> str | None:
    for needle, fmt in _OOXML_TYPES:
        if declared.startswith(needle):
            return fmt
    return None


def _ole_stream_names(data: bytes) -> set[str]:
    """Names of directory entries in an OLE2 compound file (best effort).

    Directory entries are 128-byte records holding a UTF-16LE name and its byte
    length; looking for the few names we care about at record boundaries avoids a
    full FAT walk and never reads outside the buffer.
    """
    found: set[str] = set()
    if len(data) < 512:
        return found
    try:
        sector_shift = struct.unpack_from("<H", data, 30)[0]
    except struct.error:
        return found
    sector = 1 << sector_shift if 7 <= sector_shift <= 16 else 512
    for name in ("Workbook", "Book", "WordDocument", "EncryptedPackage", "EncryptionInfo", "PowerPoint Document"):
        needle = name.encode("utf-16-le") + b"\x00\x00"
        start = 0
        while True:
            pos = data.find(needle, start)
            if pos < 0:
                break
            start = pos + 1
            if (pos - sector) % 128 != 0 or pos + 68 > len(data):
                continue
            name_len = struct.unpack_from("<H", data, pos + 64)[0]
            entry_type = data[pos + 66]
            if name_len == len(needle) and entry_type in (1, 2):
                found.add(name)
                break
    return found


def _sniff_ole(data: bytes, hint: str | None) -> str:
    names = _ole_stream_names(data)
    if "EncryptedPackage" in names or "EncryptionInfo" in names:
        return "encrypted"
    if "Workbook" in names or "Book" in names:
        return "xls"
    if "WordDocument" in names:
        return "doc"
    if "PowerPoint Document" in names:
        return "ppt"
    if hint in ("xls", "doc"):
        return hint
    return "unknown"


# The BOF record that starts a workbook stream outside an OLE container: BIFF2, 3, 4, 5+.
_BIFF_BOF_IDS = (0x0009, 0x0209, 0x0409, 0x0809)
_BIFF_SUBSTREAMS = (0x0005, 0x0010, 0x0020, 0x0040, 0x0100)  # globals, sheet, chart, macro, BIFF4W


def _raw_biff(head: bytes) -> bool:
    """An Excel file from before Excel 97 saved as a bare BIFF stream (no OLE container)."""
    if len(head) < 8:
        return False
    record, length, _version, substream = struct.unpack_from("<HHHH", head)
    return record in _BIFF_BOF_IDS and 4 <= length <= 20 and substream in _BIFF_SUBSTREAMS


def _image_kind(head: bytes) -> bool:
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")):
        return True
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return True
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif"):
        return True
    if head.startswith(b"BM") and len(head) >= 14:
        declared: int = struct.unpack_from("<I", head, 2)[0]
        reserved: int = struct.unpack_from("<I", head, 6)[0]
        return reserved == 0 and declared > 14
    return False


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels of a PNG, GIF, JPEG or BMP image from its header;
    None for another format or a header that does not say."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            w, h = struct.unpack_from(">II", data, 16)
            return int(w), int(h)
        if data.startswith((b"GIF87a", b"GIF89a")):
            w, h = struct.unpack_from("<HH", data, 6)
            return int(w), int(h)
        if data.startswith(b"BM"):
            w, h = struct.unpack_from("<ii", data, 18)
            return abs(int(w)), abs(int(h))
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The frame size of a JPEG: its segments walked up to the start-of-frame marker."""
    pos = 2
    for _ in range(1000):  # a real file reaches its frame header within a few segments
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos + 3 > len(data):
            return None
        marker = data[pos]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 1
            continue
        length = struct.unpack_from(">H", data, pos + 1)[0]
        if marker in _JPEG_SOF:
            h, w = struct.unpack_from(">HH", data, pos + 4)
            return int(w), int(h)
        if length < 2:
            return None
        pos += 1 + length
    return None


_DELIMITERS = (",", ";", "\t")


def decode_text(data: bytes) -> tuple[str, str] | None:
    """Decode bytes that look like text: (text, encoding), or None for binary.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are tried first, then
    windows-1258, the Vietnamese ANSI code page of Excel's "CSV" export.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            return None
    sample = data[:65536]
    if b"\x00" in sample:
        return None
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 12))
    if controls > max(2, len(sample) // 200):
        return None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1258"), "cp1258"
    except UnicodeDecodeError:
        # The few bytes cp1258 leaves undefined: still text, read what we can.
        return data.decode("cp1258", errors="replace"), "cp1258"


def _looks_delimited(text: str) -> bool:
    """At least two lines split into the same number (>1) of fields by one delimiter."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if len(lines) < 2:
        return False
    for delim in _DELIMITERS:
        counts = [ln.count(delim) for ln in lines]
        common = max((counts.count(c) for c in set(counts) if c > 0), default=0)
        if common >= 2 and sum(1 for c in counts if c > 0) * 2 >= len(lines):
            return True
    return False


# The root of a flat OpenDocument spreadsheet (.fods) names its type.
_FLAT_ODS_RE = re.compile(r"<office:document\b[^>]*opendocument\.spreadsheet", re.S)
_MARKUP_RE = re.compile(rb"<\s*(html|table|!doctype\s+html|meta|body|head)\b", re.I)


def sniff_format(data: bytes, filename: str = "", content_type: str = "") -> str:
    """Name the format of `data`: xlsx, xlsm, xls, csv, docx (read), or pdf, image,
    doc, archive, html, encrypted, empty, unknown and a few more (not read)."""
    hint = sniff_hint(filename, content_type)
    if not data:
        return "empty"
    head = data[:64]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _sniff_zip(data, hint)
    if head.startswith(_OLE_MAGIC):
        return _sniff_ole(data, hint)
    if _raw_biff(head):
        return "xls"  # Excel 2.x-4.0 (and a bare Excel 5+ stream): xlrd reads them
    if head.startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return "pdf"
    if _image_kind(head):
        return "image"
    if head.startswith((b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"PK\x07\x08")):
        return "archive"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head[:1] == b"\x30" and cms_kind(data) == "encrypted":
        return "encrypted"  # S/MIME encrypted mail (smime.p7m): no key to read it
    decoded = decode_text(data)
    if decoded is None:
        return "unknown"
    text = decoded[0]
    start = text[:4096].lstrip("\ufeff \t\r\n").lower()
    if start.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in text[:8192]:
        return "xml_spreadsheet"
    if start.startswith("<?xml") and _FLAT_ODS_RE.search(text[:8192]):
        return "fods"
    if start.startswith("<") and _MARKUP_RE.search(data[:8192]):
        return "html"
    if start.startswith("mime-version:") and "multipart/related" in text[:4096].lower():
        return "html"  # Excel's "single file web page" saved with an .xls name
    if _looks_delimited(text) or hint == "csv":
        return "csv"
    return "text"
