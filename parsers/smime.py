"""S/MIME "opaque-signed" mail (application/pkcs7-mime; smime-type=signed-data): the
signed MIME entity, the report inside it, taken out of its CMS wrapper.

The signature is not checked (the sender is checked by Authentication-Results); the
content of a SignedData is stored in clear, so reading it needs no key. An encrypted
one (EnvelopedData) cannot be read: it is only recognised, to be named as such.
Pure: a small BER reader of the few structures needed, bounded in depth.
"""

from __future__ import annotations

OID_DATA = bytes.fromhex("2a864886f70d010701")
OID_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")
OID_ENVELOPED_DATA = bytes.fromhex("2a864886f70d010703")
OID_AUTH_ENVELOPED_DATA = bytes.fromhex("2a864886f70d01091017")
MAX_DEPTH = 16


class _Bad(Exception):
    pass


def _read(data: bytes, i: int, depth: int = 0) -> tuple[int, int, int, int]:
    """(tag, content start, content end, next) of the BER element at data[i]."""
    if depth > MAX_DEPTH or i + 2 > len(data):
        raise _Bad
    tag, first = data[i], data[i + 1]
    if tag & 0x1F == 0x1F:
        raise _Bad  # multi-byte tags: none in the structures read here
    i += 2
    if first < 0x80:
        end = i + first
    elif first == 0x80:  # indefinite length: children up to the end-of-contents 00 00
        if not tag & 0x20:
            raise _Bad
        j = i
        while data[j : j + 2] != b"\0\0":
            j = _read(data, j, depth + 1)[3]
        return tag, i, j, j + 2
    else:
        n = first & 0x7F
        if n > 4 or i + n > len(data):
            raise _Bad
        end = i + n + int.from_bytes(data[i : i + n], "big")
        i += n
    if end > len(data):
        raise _Bad
    return tag, i, end, end


def _children(data: bytes, start: int, end: int, depth: int) -> list[tuple[int, int, int]]:
    out = []
    while start < end:
        tag, s, e, start = _read(data, start, depth)
        out.append((tag, s, e))
    return out


def _octets(data: bytes, tag: int, start: int, end: int, depth: int = 0) -> bytes:
    """An OCTET STRING's bytes, a constructed one's pieces joined."""
    if tag == 0x04:
        return data[start:end]
    if tag == 0x24 and depth <= MAX_DEPTH:
        return b"".join(_octets(data, t, s, e, depth + 1) for t, s, e in _children(data, start, end, depth + 1))
    raise _Bad


def _content_info(data: bytes) -> tuple[bytes, int, int] | None:
    """(content type OID, start, end of the [0] content) of a CMS ContentInfo."""
    tag, s, e, _ = _read(data, 0)
    if tag != 0x30:
        raise _Bad
    kids = _children(data, s, e, 1)
    if len(kids) < 2 or kids[0][0] != 0x06 or kids[1][0] != 0xA0:
        raise _Bad
    return data[kids[0][1] : kids[0][2]], kids[1][1], kids[1][2]


def cms_kind(data: bytes) -> str | None:
    """ "signed" or "encrypted" for a CMS (PKCS #7) object, else None."""
    try:
        oid = _content_info(data)
    except (_Bad, IndexError, RecursionError):
        return None
    if oid is None:
        return None
    if oid[0] == OID_SIGNED_DATA:
        return "signed"
    if oid[0] in (OID_ENVELOPED_DATA, OID_AUTH_ENVELOPED_DATA):
        return "encrypted"
    return None


def signed_content(data: bytes) -> bytes | None:
    """The signed content of a CMS SignedData (the MIME entity of an opaque-signed
    mail), or None when `data` is not one or carries no content (a detached signature)."""
    try:
        found = _content_info(data)
        if found is None or found[0] != OID_SIGNED_DATA:
            return None
        tag, s, e, _ = _read(data, found[1], 1)  # SignedData ::= SEQUENCE
        if tag != 0x30:
            return None
        kids = _children(data, s, e, 2)  # version, digestAlgorithms, encapContentInfo, ...
        if len(kids) < 3 or kids[2][0] != 0x30:
            return None
        encap = _children(data, kids[2][1], kids[2][2], 3)
        if len(encap) < 2 or encap[0][0] != 0x06 or data[encap[0][1] : encap[0][2]] != OID_DATA:
            return None
        if encap[1][0] != 0xA0:
            return None
        [(otag, os_, oe)] = _children(data, encap[1][1], encap[1][2], 4)
        return _octets(data, otag, os_, oe, 4)
    except (_Bad, IndexError, ValueError, RecursionError):
        return None
