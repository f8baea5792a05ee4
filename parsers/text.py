"""Untrusted text made safe to show and store, the one way every part of baocao does it.

`clean_text` (one line of text: subjects, names, cells), `safe_filename` (a display
name for a file), `closest_match`/`did_you_mean` (the hint after an unknown name) and
`sniff_delimiter` (the delimiter of a CSV file). Pure functions.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator

# Characters never shown: C0/C1 controls, bidi overrides and isolates (a file name
# "bc\u202exslx.exe" reads as "bcexe.xlsx"), zero-width and invisible formatting
# characters, the BOM, lone surrogates (undecodable bytes; no database stores them)
# and Unicode tag characters (invisible text smuggled into a string). A run of them
# counts as one.
CONTROL_CHARS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffb\ud800-\udfff"
    "\U000e0000-\U000e007f]+"
)
_SPACES = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")
MAX_FILENAME_CHARS = 200


def fix_surrogates(text: str) -> str:
    """Bytes the email package could not decode (lone surrogates) read as UTF-8, else
    windows-1258; any other lone surrogate removed."""
    if not _SURROGATES.search(text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _SURROGATES.sub("", text)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1258", "replace")


def clean_text(text: object, max_chars: int, *, fold_spaces: bool = True, ellipsis: bool = False) -> str:
    """`text` on one line: NFC, undecodable bytes decoded, invisible characters removed,
    white space folded (runs of spaces kept as written with `fold_spaces=False`),
    capped at `max_chars` (the last one "…" with `ellipsis`). None is ""."""
    if text is None:
        return ""
    # NFC and folding only shrink it further: the cut bounds the work on a huge text.
    cleaned = str(text)[: max_chars * 4 + 64]
    if cleaned.isascii() and cleaned.isprintable() and not (fold_spaces and "  " in cleaned):
        # printable ASCII (most addresses, codes, file names): already NFC, no control
        # character, its only white space single spaces, so the steps below change nothing
        cleaned = cleaned.strip()
    else:
        cleaned = CONTROL_CHARS.sub(" ", unicodedata.normalize("NFC", fix_surrogates(cleaned)))
        cleaned = (_SPACES.sub(" ", cleaned) if fold_spaces else cleaned).strip()
    if len(cleaned) <= max_chars:
        return cleaned
    return cleaned[: max_chars - 1].rstrip() + "…" if ellipsis else cleaned[:max_chars]


def safe_filename(name: str | None, default: str, max_chars: int = MAX_FILENAME_CHARS) -> str:
    """A display name for a file: no folders, no control characters, spaces as sent, at
    most `max_chars` (its extension kept), `default` when nothing is left.

    Never used to build a path on disk (the archive names files by content hash).
    """
    cleaned = clean_text(name or "", 10 * max_chars, fold_spaces=False)
    cleaned = re.split(r"[\\/]", cleaned)[-1].strip(' ."')
    if not cleaned:
        return default
    if len(cleaned) > max_chars:
        _, dot, ext = cleaned.rpartition(".")
        ext = ext[:10] if dot and len(ext) <= 10 else ""
        cleaned = cleaned[: max_chars - len(ext) - 1].rstrip(" .") + ("." + ext if ext else "")
    return cleaned


def closest_match(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` is most probably a misspelling of (difflib's ratio), or None."""
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean X?)" after an unknown name, or "" when nothing is close."""
    close = closest_match(word, choices)
    return f" (did you mean {close}?)" if close else ""


# --------------------------------------------------------------------------- csv

DELIMITERS = (",", ";", "\t")
_SAMPLE_LINES = 50
_SAMPLE_LINE_CHARS = 4096  # a hostile line of millions of delimiters costs nothing
_SEP_LINE = re.compile(r"\s*sep=(.)\s*")


def split_delimited(text: str, delimiter: str) -> Iterator[list[str]]:
    """The records of delimited text (a quoted field may hold delimiters and lines)."""
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')


def sniff_delimiter(text: str, known_column: Callable[[str], bool] | None = None) -> tuple[str, str]:
    """The delimiter of delimited text, and the text without Excel's "sep=;" line.

    That line decides when there is one. Otherwise each of ",", ";" and tab splits
    the first lines, and the one wins that gives the most columns `known_column`
    recognises in one line (when the caller knows its columns), then splits the
    most lines, then gives the most lines of one width; "," on a tie.
    """
    first, _, rest = text.partition("\n")
    m = _SEP_LINE.fullmatch(first)
    if m:
        return m.group(1), rest
    sample = "\n".join(line[:_SAMPLE_LINE_CHARS] for line in text.splitlines()[:_SAMPLE_LINES])
    best, best_score = ",", (-1, -1, -1)
    for delimiter in DELIMITERS:
        try:
            # A line of delimiters alone (";;;") is evidence too; a blank line is none.
            rows = [r for r in split_delimited(sample, delimiter) if len(r) > 1 or "".join(r).strip()]
        except csv.Error:
            continue
        known = max((sum(1 for f in r if known_column(f)) for r in rows), default=0) if known_column else 0
        widths = [len(r) for r in rows]
        split_rows = sum(1 for w in widths if w > 1)
        common = max((widths.count(w) for w in set(widths) if w > 1), default=0)
        score = (known, split_rows, common)
        if score > best_score:
            best, best_score = delimiter, score
    return best, text
