"""S/MIME "opaque-signed" mail (application/pkcs7-mime; smime-type=signed-data): the
signed MIME entity, the report inside it, taken out of its CMS wrapper (asn1crypto).

The signature is not checked (the sender is checked by Authentication-Results); the
content of a SignedData is stored in clear, so reading it needs no key. An encrypted
one (EnvelopedData) cannot be read: it is only recognised, to be named as such.
"""

from __future__ import annotations

from typing import Any

from asn1crypto import cms

_ENCRYPTED = ("enveloped_data", "authenticated_enveloped_data", "encrypted_data")
# What asn1crypto raises on a malformed or hostile DER/BER object (it parses lazily:
# a field's errors come when it is read).
_BROKEN = (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError)


def _content_type(data: bytes) -> tuple[Any, str] | None:
    """The parsed CMS ContentInfo and its content type's name, or None."""
    if data[:1] != b"\x30":
        return None
    try:
        info = cms.ContentInfo.load(data)
        return info, info["content_type"].native
    except _BROKEN:
        return None


def cms_kind(data: bytes) -> str | None:
    """ "signed" or "encrypted" for a CMS (PKCS #7) object, else None."""
    found = _content_type(data)
    if found is None:
        return None
    if found[1] == "signed_data":
        return "signed"
    return "encrypted" if found[1] in _ENCRYPTED else None


def signed_content(data: bytes) -> bytes | None:
    """The signed content of a CMS SignedData (the MIME entity of an opaque-signed
    mail), or None when `data` is not one or carries no content (a detached signature)."""
    found = _content_type(data)
    if found is None or found[1] != "signed_data":
        return None
    try:
        encap = found[0]["content"]["encap_content_info"]
        if encap["content_type"].native != "data":
            return None
        content = encap["content"].native
    except _BROKEN:
        return None
    return content if isinstance(content, bytes) and content else None
