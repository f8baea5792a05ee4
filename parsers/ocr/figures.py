"""The shape of a figure as it is written, for the readings of a recognised cell.

A figure is written either plain (`1234`, `12,5`; at most three decimals) or in groups of exactly three digits
after a first group of one to three (`1.234.567`, `2.998,8`; `1,234.5` on an
English-locale machine), with at most one decimal part after the other separator. A
reading of another shape (`482.580.6000`, `3.-540.150.000`, `3.876.36`, `,65`) is no
figure a form states: a recognition error somewhere in it. These functions only tell
and mend shapes; a mended reading is never certain (the caller flags it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# a decimal part of at most three digits: a longer one ('1.30625707000', '224.7359') is
# groups of a figure with their marks misread, not a form's decimals
_PLAIN = re.compile(r"^-?\d+(?:[.,]\d{1,3})?$")
_GROUPED = re.compile(r"^-?\d{1,3}(?P<g>[.,])\d{3}(?:(?P=g)\d{3})*(?:(?!(?P=g))[.,]\d+)?$")
# groups of three then a short tail after the same kind of mark: '3.876.36', '2,998,8'
_SHORT_TAIL = re.compile(r"^(?P<head>-?\d{1,3}(?:[.,]\d{3})+)[.,](?P<tail>\d{1,2})$")
_SEPARATORS = ".,"


def compact(text: str) -> str:
    """A reading without its spaces; a space between groups of three of a figure that
    also groups with a mark ('885 180.000', '81.020 000') is that mark."""
    spaced = " ".join(text.split())
    if " " in spaced:
        for mark in _SEPARATORS:
            if mark in spaced and re.fullmatch(rf"-?\d{{1,3}}(?:[ {re.escape(mark)}]\d{{3}})+", spaced):
                return spaced.replace(" ", mark)
    return spaced.replace(" ", "")


def well_formed(text: str) -> bool:
    """Whether `text` (no spaces) is written as a figure is: plain, or in groups of three."""
    return bool(_PLAIN.match(text) or _GROUPED.match(text))


def stripped(text: str) -> str:
    """`text` without separators at either end (a speck or a stamp's dot read as a
    comma beside the figure: ',65', '1.180,'); no figure starts or ends with one."""
    return text.strip(_SEPARATORS)


def decimal_mark(texts: Iterable[str]) -> str | None:
    """The decimal mark ('.' or ',') the well-formed figures among `texts` (a column)
    write before a decimal part, or None when none has one or both are seen as often:
    the last of two different marks, or a lone mark before other than three digits. A
    column of whole figures ('1.125.140') tells none: a figure of it read '1.892.89'
    lost a digit, it has no decimal part."""
    votes = {".": 0, ",": 0}
    for text in texts:
        if not well_formed(text):
            continue
        marks = [ch for ch in text if ch in _SEPARATORS]
        if len(set(marks)) == 2:
            votes[marks[-1]] += 1
        elif len(marks) == 1 and len(text) - text.index(marks[0]) - 1 != 3:
            votes[marks[0]] += 1
    if votes["."] == votes[","]:
        return None
    return "." if votes["."] > votes[","] else ","


def with_decimal_mark(text: str, mark: str) -> str | None:
    """A reading of groups of three and a short tail behind the same kind of mark
    ('3.876.36') written with `mark` before the tail and the other mark between the
    groups ('3.876,36' when the table's figures use a decimal comma); None when the
    reading has not that shape."""
    got = _SHORT_TAIL.match(text)
    if got is None:
        return None
    group = "." if mark == "," else ","
    head = re.sub(r"[.,]", group, got.group("head"))
    mended = f"{head}{mark}{got.group('tail')}"
    return mended if well_formed(mended) else None
