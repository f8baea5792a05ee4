"""Small PDFs made in the tests: text in Helvetica (WinAnsi, so ASCII labels), ruling
lines, several pages, an encrypted or damaged file. Enough to exercise the text-PDF
reader without a PDF library that writes."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

A4 = (595.0, 842.0)


@dataclass
class Page:
    size: tuple[float, float] = A4
    texts: list[tuple[float, float, str]] = field(default_factory=list)  # x, y from the top, text
    lines: list[tuple[float, float, float, float]] = field(default_factory=list)  # x0, y0, x1, y1 from the top
    # 90: a landscape page stored as a portrait one turned a quarter clockwise for display
    # (`size` is the landscape size seen; the content is drawn turned back)
    rotate: int = 0

    def text(self, x: float, y: float, text: str) -> None:
        self.texts.append((x, y, text))

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.lines.append((x0, y0, x1, y1))

    def content(self) -> bytes:
        h = self.size[1]
        out = ["0.5 w"]
        if self.rotate == 90:
            out.append(f"0 1 -1 0 {h:.2f} 0 cm")
        for x0, y0, x1, y1 in self.lines:
            out.append(f"{x0:.2f} {h - y0:.2f} m {x1:.2f} {h - y1:.2f} l S")
        for x, y, text in self.texts:
            esc = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            out.append(f"BT /F1 9 Tf {x:.2f} {h - y - 9:.2f} Td ({esc}) Tj ET")
        return "\n".join(out).encode("cp1252")


def pdf_bytes(
    pages: Sequence[Page], *, encrypt_user_password: str | None = None, padding: int = 0, extra_objects: int = 0
) -> bytes:
    """A PDF of `pages`; with `encrypt_user_password`, protected by that password (RC4,
    revision 2: the content is left as is, the password check is what is tested); with
    `padding`, each page's content is that many spaces longer and Flate-compressed (a
    small file that unpacks to a big one); with `extra_objects`, that many empty objects
    more, referred to by nothing."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for page in pages:
        data = page.content()
        if padding:
            data = zlib.compress(data + b" " * padding, 9)
            stream = add(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
        else:
            stream = add(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
        width, height = page.size[::-1] if page.rotate == 90 else page.size
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] /Rotate %d "
                b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                % (pages_obj, width, height, page.rotate, font, stream)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    objects += [b"<< >>"] * extra_objects
    file_id = hashlib.md5(b"baocao test pdf").digest()
    encrypt = None
    if encrypt_user_password is not None:
        encrypt = add(_standard_security(encrypt_user_password, "owner", file_id))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    trailer = b"<< /Size %d /Root %d 0 R /ID [<%s> <%s>]" % (
        len(objects) + 1,
        catalog,
        file_id.hex().encode(),
        file_id.hex().encode(),
    )
    if encrypt is not None:
        trailer += b" /Encrypt %d 0 R" % encrypt
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    i = j = 0
    out = bytearray()
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def _standard_security(user: str, owner: str, file_id: bytes) -> bytes:
    """The /Encrypt dictionary of the standard security handler, revision 2."""

    def padded(pw: str) -> bytes:
        return (pw.encode("latin-1") + _PAD)[:32]

    o_value = _rc4(hashlib.md5(padded(owner)).digest()[:5], padded(user))
    p_value = -4
    key = hashlib.md5(padded(user) + o_value + p_value.to_bytes(4, "little", signed=True) + file_id).digest()[:5]
    u_value = _rc4(key, _PAD)
    return b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (
        o_value.hex().encode(),
        u_value.hex().encode(),
        p_value,
    )


def ruled_table(
    page: Page,
    top: float,
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    *,
    left: float = 40.0,
    row_height: float = 18.0,
    ruled: bool = True,
) -> float:
    """Draw `rows` as a table (one text line per cell) from `top`; returns its bottom.
    An empty string leaves the cell empty; with `ruled`, every cell border is drawn."""
    y = top
    xs = [left]
    for w in widths:
        xs.append(xs[-1] + w)
    for row in rows:
        for x, text in zip(xs, row):
            if text:
                page.text(x + 3, y + 4, text)
        y += row_height
    if ruled:
        for i in range(len(rows) + 1):
            page.line(xs[0], top + i * row_height, xs[-1], top + i * row_height)
        for x in xs:
            page.line(x, top, x, y)
    return y


def with_incremental_update(data: bytes, page: Page) -> bytes:
    """`data` (made by pdf_bytes, one page or more) with an incremental update appended
    after its %%EOF that replaces the first page's content with `page`'s (as a signing
    tool or an editor appends a revision)."""
    prev = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    file_id = hashlib.md5(b"baocao test pdf").hexdigest().encode()
    body = page.content()
    offset = len(data)
    update = b"4 0 obj\n<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream\nendobj\n"
    xref = offset + len(update)
    update += b"xref\n4 1\n%010d 00000 n \n" % offset
    update += b"trailer\n<< /Size 6 /Root 1 0 R /Prev %d /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
        prev,
        file_id,
        file_id,
        xref,
    )
    return data + update
