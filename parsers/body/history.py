"""What a unit wrote in this message, without the mail it quotes or forwards and
without its signature: only that part of a body may state the day's figures.

Plain text is cut at the first line that starts quoted or forwarded history (a "> "
line, "Vào ... đã viết:", "On ... wrote:", "-----Original Message-----", an Outlook
"From: ... Sent: ..." header block, "---------- Forwarded message") and at the
signature ("-- " or a closing line such as "Trân trọng!"). In HTML the quote
containers the mail clients write (blockquote, Gmail's gmail_quote, Outlook's
divRplyFwdMsg, Thunderbird's moz-cite-prefix, ...) are removed before the same cut
is made on the page's lines.
"""

from __future__ import annotations

import re
from typing import Any

from parsers.vntext import fold

_Element = Any  # an lxml element

# Lines that start the history: everything from them on is someone else's mail.
_QUOTE_RE = re.compile(r"^\s*>")
_WROTE_RE = re.compile(r"(?:\bwrote|\bda viet|\bviet|\bschrieb|\ba ecrit)\s*:\s*$")
_WROTE_START_RE = re.compile(r"^\s*(?:on|vao|luc|ngay|le|am)\b")
_SEPARATOR_RE = re.compile(
    r"^\s*[-_=*]{2,}\s*(?:original message|forwarded message|thu goc|thu chuyen tiep|"
    r"thu da chuyen tiep|thu duoc chuyen tiep|tin nhan chuyen tiep|tin nhan goc|message transfere|"
    r"urspr[a-z]*\s+nachricht|weitergeleitete nachricht)\b",
)
_BEGIN_FORWARD_RE = re.compile(r"^\s*(?:begin forwarded message|bat dau thu chuyen tiep)\s*:?\s*$")
_UNDERSCORES_RE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_RE = re.compile(r"^\s*\*?\s*(from|tu|sent|date|ngay|da gui|to|den|cc|subject|chu de|tieu de)\s*\*?\s*:")
_FROM_NAMES = frozenset({"from", "tu"})
# The signature: "-- " on its own line (RFC 3676), or a closing formula alone on its line.
_SIG_DASHES_RE = re.compile(r"^\s*--\s*$")
_CLOSING_RE = re.compile(
    r"^\s*(?:tran trong(?: cam on| kinh chao| bao cao)?|xin (?:tran trong )?cam on|cam on(?: anh| chi| a)*|"
    r"kinh chao|than ai|best regards|kind regards|regards|thanks|thank you|sincerely)"
    r"\s*(?:[!.,;:/]+\s*)*$"
)


def history_start(lines: list[str]) -> int:
    """Index of the first line of quoted or forwarded history (len(lines) if none)."""
    for i, line in enumerate(lines):
        if _QUOTE_RE.match(line):
            return i
        folded = fold(line)
        if _SEPARATOR_RE.match(folded) or _BEGIN_FORWARD_RE.match(folded):
            return i
        if _WROTE_RE.search(folded):
            # "On Mon, ... wrote:" may be wrapped over two lines
            if _WROTE_START_RE.match(folded):
                return i
            if i > 0 and _WROTE_START_RE.match(fold(lines[i - 1])):
                return i - 1
        if _UNDERSCORES_RE.match(line) and _header_block_at(lines, i + 1):
            return i
        if _header_block_at(lines, i):
            return i
    return len(lines)


_FORWARD_SUBJECT_RE = re.compile(r"^\s*(?:(?:re|tl|aw)\s*:\s*)*(?:fwd?|tv|wg|chuyen tiep)\s*:", re.I)
_ADDRESS_RE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def forwarded_from(text: str, subject: str = "") -> tuple[str, ...]:
    """The sender addresses of the mail forwarded inline in `text` (lower-cased): the
    "From:" of the header block after a forward separator ("---------- Forwarded
    message", "Begin forwarded message:"), or, in a forward (Fwd:/FW: subject), of the
    first quoted header block. A reply's quoted mail names nobody."""
    lines = text.splitlines()
    forward = bool(_FORWARD_SUBJECT_RE.match(fold(subject)))
    out: list[str] = []
    for i, line in enumerate(lines):
        folded = fold(line)
        separator = (_SEPARATOR_RE.match(folded) and "original" not in folded and "goc" not in folded) or (
            _BEGIN_FORWARD_RE.match(folded)
        )
        if not separator and not (forward and _header_block_at(lines, i)):
            continue
        forward = False  # (only the first block of a forward: the rest is its own history)
        for head in lines[i : i + 8]:
            m = _HEADER_RE.match(fold(head))
            if m and m.group(1) in _FROM_NAMES:
                out.extend(a.lower() for a in _ADDRESS_RE.findall(head))
                break
    return tuple(dict.fromkeys(out))


def _header_block_at(lines: list[str], i: int) -> bool:
    """An Outlook reply header: "From:" followed by at least two more header fields."""
    if i >= len(lines):
        return False
    m = _HEADER_RE.match(fold(lines[i]))
    if m is None or m.group(1) not in _FROM_NAMES:
        return False
    names = set()
    for line in lines[i + 1 : i + 6]:
        h = _HEADER_RE.match(fold(line))
        if h is None:
            if line.strip():
                continue  # a wrapped address list
            break
        names.add(h.group(1))
    return len(names) >= 2


def signature_start(lines: list[str]) -> int:
    """Index of the signature's first line (len(lines) if none is found)."""
    for i, line in enumerate(lines):
        if _SIG_DASHES_RE.match(line) or _CLOSING_RE.match(fold(line)):
            return i
    return len(lines)


def own_lines(lines: list[str]) -> list[str]:
    """The lines the sender wrote for this message: before any history and signature."""
    lines = lines[: history_start(lines)]
    return lines[: signature_start(lines)]


# ---- HTML -----------------------------------------------------------------------------

_QUOTE_CLASSES = frozenset(
    {
        "gmail_quote",
        "gmail_extra",
        "gmail_attr",
        "moz-cite-prefix",
        "moz-forward-container",
        "yahoo_quoted",
        "ymail_android_signature",
        "gmail_signature",
        "moz-signature",
        "outlookmessageheader",
        "protonmail_quote",
        "zmail_extra",
    }
)
_QUOTE_IDS = frozenset(
    {"divrplyfwdmsg", "appendonsend", "divtagdefaultwrapper_quote", "mail-editor-reference-message-container"}
)


def prune_quotes(root: _Element) -> None:
    """Remove, in place, the quoted and forwarded mail and the signature containers
    that mail clients mark in HTML; for Outlook's unmarked reply header (a box with a
    top border holding "From: ... Sent: ..."), the box and everything after it."""
    doomed = []
    for el in root.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        classes = {c.lower() for c in (el.get("class") or "").split()}
        ident = (el.get("id") or "").lower()
        if tag.lower() == "blockquote" or classes & _QUOTE_CLASSES or ident in _QUOTE_IDS:
            doomed.append(el)
    for el in doomed:
        _drop_from(el, with_following=(el.get("id") or "").lower() in ("divrplyfwdmsg", "appendonsend"))


def _drop_from(el: _Element, with_following: bool) -> None:
    parent = el.getparent()
    if parent is None:
        return
    if with_following:
        # Outlook puts the reply header first and the quoted mail after it, as siblings
        # all the way up to the body.
        node = el
        while node.getparent() is not None and not _is_body(node):
            for sibling in list(node.itersiblings()):
                node.getparent().remove(sibling)
            node = node.getparent()
    prev = el.getprevious()
    tail = None if with_following else el.tail
    parent.remove(el)  # lxml removes the element's tail with it: put it back
    if tail and tail.strip():
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _is_body(el: _Element) -> bool:
    return isinstance(el.tag, str) and el.tag.lower() == "body"
