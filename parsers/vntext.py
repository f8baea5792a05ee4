"""Vietnamese text as people type it: Unicode normalisation, tone placement, label keys
and the shape of a Vietnamese syllable. The legacy 8-bit encodings are in
`parsers.vnlegacy`.

Everything here is pure and cached where it is called per cell.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "nfc",
    "fold_spaces",
    "unify_d",
    "normalize_tones",
    "strip_numbering",
    "normalize_label",
    "strip_diacritics",
    "is_vietnamese_syllable",
    "looks_unicode_vietnamese",
]

# ---------------------------------------------------------------------------
# Unicode basics
# ---------------------------------------------------------------------------


def nfc(text: str) -> str:
    """Return `text` in Unicode NFC (composed) form."""
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


# Python's \s already covers NBSP, the U+2000 block, U+202F, U+3000, line/paragraph
# separators; zero-width space and BOM are not "whitespace" to Python but are word
# breaks people paste in from web pages and Word.
_SPACE_RUN = re.compile(r"[\s\u200b\u180e\ufeff]+")
# Joiners carry no break: dropping them keeps the word they sit in whole.
_JOINERS = dict.fromkeys(map(ord, "\u200c\u200d\u2060"), None)
_JOINER_RE = re.compile("[\u200c\u200d\u2060]")


def fold_spaces(text: str) -> str:
    """Collapse every run of whitespace (incl. NBSP, zero-width space, tabs, line
    breaks) to one space and strip the ends. Zero-width joiners are removed.

    U+00AD (soft hyphen) is deliberately kept: in TCVN3 text it is the letter "ư".
    """
    if _JOINER_RE.search(text):  # (rare: translating every text costs more than looking)
        text = text.translate(_JOINERS)
    return _SPACE_RUN.sub(" ", text).strip()


# Ð (U+00D0, Icelandic eth), Ɖ (U+0189, African D) look like Đ and are typed for it.
_D_TABLE = str.maketrans({"\u00d0": "\u0110", "\u0189": "\u0110", "\u00f0": "\u0111", "\u0256": "\u0111"})
_LOOKALIKE_D_RE = re.compile("[\u00d0\u0189\u00f0\u0256]")


def unify_d(text: str) -> str:
    """Replace the look-alikes of Đ/đ (Ð ð Ɖ ɖ) by the Vietnamese letters."""
    return text.translate(_D_TABLE) if _LOOKALIKE_D_RE.search(text) else text


# ---------------------------------------------------------------------------
# Tone placement
# ---------------------------------------------------------------------------

GRAVE, ACUTE, TILDE, HOOK, DOT = "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"
_TONES = frozenset((GRAVE, ACUTE, TILDE, HOOK, DOT))
CIRCUMFLEX, BREVE, HORN = "\u0302", "\u0306", "\u031b"
_VOWEL_MODS = frozenset((CIRCUMFLEX, BREVE, HORN))
_VOWELS = frozenset("aeiouy")
# A word is a run between spaces and punctuation, so it keeps every combining mark
# (NFD input, or marks with no precomposed form) whatever block the mark is from.
_WORD = re.compile(r"[^\s\-\u2010-\u2015/\\,.;:!?()\[\]{}\"'`“”‘’«»…*+=&%#@<>|~^$0-9_]+")
_VN_MARKS = _TONES | _VOWEL_MODS
# Any character that can carry a Vietnamese tone (precomposed or combining).
_TONE_BEARING = re.compile(
    "[\u00c0-\u00c3\u00c8-\u00ca\u00cc\u00cd\u00d2-\u00d5\u00d9\u00da\u00dd"
    "\u00e0-\u00e3\u00e8-\u00ea\u00ec\u00ed\u00f2-\u00f5\u00f9\u00fa\u00fd"
    "\u0128\u0129\u0168\u0169\u1ea0-\u1ef9\u0300\u0301\u0303\u0309\u0323]"
)


def _clusters(word_nfd: str) -> list[list[str]] | None:
    """Split an NFD word into [base, *marks] clusters; None if it starts with a mark."""
    out: list[list[str]] = []
    for ch in word_nfd:
        if unicodedata.combining(ch):
            if not out:
                return None
            out[-1].append(ch)
        else:
            out.append([ch])
    return out


def _tone_layout(word: str) -> tuple[list[list[str]], int, str, int, int] | None:
    """Where a one-syllable word's tone is and where it belongs.

    Returns (clusters, index of the toned letter, the tone mark, index for the "new"
    placement, index for the "old" placement), or None when the word has no single
    tone or is not shaped like one syllable.
    """
    clusters = _clusters(unicodedata.normalize("NFD", word))
    if clusters is None or any(not c[0].isalpha() or any(m not in _VN_MARKS for m in c[1:]) for c in clusters):
        return None  # a symbol, or a mark Vietnamese does not use: not a syllable
    toned = [(i, m) for i, c in enumerate(clusters) for m in c[1:] if m in _TONES]
    if len(toned) != 1:
        return None  # no tone to move, or several (not one syllable)
    tone_at, tone = toned[0]
    bases = "".join(c[0].lower() for c in clusters)
    n = len(clusters)
    is_vowel = [b in _VOWELS for b in bases]
    # Initial consonant; "qu" and "gi" + vowel count the u/i as part of the initial.
    start = 0
    while start < n and not is_vowel[start]:
        start += 1
    if start == n:
        return None
    if (
        start >= 1
        and start + 1 < n
        and is_vowel[start + 1]
        and (
            (bases[start - 1] == "q" and bases[start] == "u")
            or (start == 1 and bases[0] == "g" and bases[1] == "i" and len(clusters[1]) == 1 + (tone_at == 1))
        )
    ):
        start += 1
    end = start
    while end < n and is_vowel[end]:
        end += 1
    if any(is_vowel[end:]):
        return None  # vowels after a consonant: several syllables glued together
    nucleus = list(range(start, end))
    has_final = end < n
    with_mod = [i for i in nucleus if any(m in _VOWEL_MODS for m in clusters[i][1:])]
    if with_mod:
        new = old = with_mod[-1]  # ươ -> ơ, uyê -> ê, ưa -> ư
    elif len(nucleus) == 1:
        new = old = nucleus[0]
    elif has_final:
        new = old = nucleus[-1]  # hoàn, toán, huỳnh
    elif len(nucleus) == 2:
        pair = bases[nucleus[0]] + bases[nucleus[1]]
        # oa, oe, uy: "new" style on the second vowel (hoá), "old" on the first (hóa).
        old = nucleus[0]
        new = nucleus[1] if pair in ("oa", "oe", "uy") else nucleus[0]
    elif len(nucleus) == 3:
        new = old = nucleus[1]  # oai, oay, uya, uyu, oeo
    else:
        return None
    return clusters, tone_at, tone, new, old


@lru_cache(maxsize=65536)
def _canonical_word(word: str) -> str:
    layout = _tone_layout(word)
    if layout is None:
        return word
    clusters, tone_at, tone, target, _old = layout
    if target == tone_at:
        return word
    clusters[tone_at] = [c for c in clusters[tone_at] if c != tone]
    clusters[target].append(tone)
    return unicodedata.normalize("NFC", "".join("".join(c) for c in clusters))


def normalize_tones(text: str) -> str:
    """Move each syllable's tone mark to one canonical vowel, preserving case.

    Canonical form is the "new" placement: in open syllables with oa/oe/uy the tone sits
    on the second vowel (hoá, khoẻ, thuỷ, Hoà); a vowel with ^, ˘ or ʼ takes the tone
    (ươ -> ơ); a closed syllable puts it on the last vowel (hoàn, huỳnh); other
    diphthongs on the first (mùa, mía, tài). "hóa"/"hoá", "thủy"/"thuỷ", "khỏe"/"khoẻ",
    "ùy"/"uỳ" all become the same string. Input should be NFC; output is NFC.
    """
    if not _TONE_BEARING.search(text):
        return text
    return _WORD.sub(lambda m: _canonical_word(m.group(0)), text)


# ---------------------------------------------------------------------------
# Numbering prefixes and label keys
# ---------------------------------------------------------------------------

_ROMAN = r"(?=[ivxl])(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_NUMBERING = re.compile(
    r"""^\s*(?:
        \(\s*(?:\d{1,3}|[a-zđ]|"""
    + _ROMAN
    + r""")\s*\)        # (1) (a) (iv)
      | (?:"""
    + _ROMAN
    + r""")(?:\.\d{1,2})*\.?\s*\)           # II)  I.1)
      | (?:"""
    + _ROMAN
    + r""")(?:\.\d{1,2})*\.(?=\s|$)         # I.  I.1.
      | (?:"""
    + _ROMAN
    + r""")(?:\.\d{1,2})+(?=\s|$)           # I.1
      | (?:"""
    + _ROMAN
    + r""")\s+[-–—:](?=\s|$)                # IV -  II:
      | \d{1,2}(?:\.\d{1,2})+\.?(?!\d)                         # 1.2  1.2.  1.2.3
      | \d{1,3}\s*(?:[.)/:](?![\d.,])|-(?=\s))                  # 1.  1)  1/  1:  1 -
      | \d{1,3}\s+[–—](?=\s)                                  # 1 – text
      | [a-zđ]\s*\)                                             # a)
      | [a-zđ]\.(?=\s|$)                                        # a.
      | [-+*•·◦▪▫●○■□►>–—‣⁃](?!\d)                               # bullets
    )\s*""",
    re.VERBOSE | re.IGNORECASE,
)


def strip_numbering(text: str) -> str:
    """Remove the numbering people put before a label ("1.", "1)", "1/", "1.2.", "a)",
    "a.", "I.", "II)", "IV -", "I.1.", "(1)", "-", "+", "*", "•"), repeatedly.

    A real word is never cut: a roman numeral or a letter counts only when followed by
    ".", ")" or " -"; "I" alone, "Đề nghị", "Cho vay" stay as they are.
    """
    prev = None
    out = text
    while prev != out:
        prev = out
        m = _NUMBERING.match(out)
        if m and m.end() > 0:
            out = out[m.end() :]
    return out.strip() if out is not text else text


_DASHES = re.compile("[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_QUOTES = dict.fromkeys(map(ord, "\"'`´“”„‟«»‘’‚‛"), None)
_SPACED_PUNCT = re.compile(r"\s*([,;:.!?/()\[\]{}\-+&=%…])\s*")
_END_PUNCT = ".,;:!?-*•·+=_~|/\\…#^ "


def _label_pass(text: str) -> str:
    s = nfc(unify_d(nfc(text)).casefold())
    s = normalize_tones(s)
    s = fold_spaces(s)
    s = strip_numbering(s)
    s = _DASHES.sub("-", s).translate(_QUOTES)
    s = _SPACED_PUNCT.sub(r"\1", s)
    return s.strip(_END_PUNCT)


@lru_cache(maxsize=131072)
def normalize_label(text: str) -> str:
    """The key two labels are compared by: equal keys mean "the same label" to a reader.

    NFC; Đ look-alikes unified; canonical tone placement; casefold; numbering prefix
    removed; whitespace folded; dashes unified and quotes dropped; no space around
    punctuation ("HĐLĐ , nghỉ" == "HĐLĐ, nghỉ", "BHTNLĐ-BNN" == "BHTNLĐ - BNN");
    punctuation trimmed from the ends. Idempotent.
    """
    s = _label_pass(text)
    for _ in range(8):  # converges in one or two more passes; bounded for safety
        t = _label_pass(s)
        if t == s:
            break
        s = t
    return s


_STRIP_D = str.maketrans({"đ": "d", "Đ": "D", "\u00d0": "D", "\u00f0": "d", "\u0189": "D", "\u0256": "d"})


@lru_cache(maxsize=65536)
def strip_diacritics(text: str) -> str:
    """Remove every diacritic ("Dương Quang" -> "Duong Quang"); đ -> d, Đ -> D."""
    decomposed = unicodedata.normalize("NFD", text.translate(_STRIP_D))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def fold(text: str) -> str:
    """Lower-case text without diacritics, for keyword matching ("Ðến" -> "den")."""
    return strip_diacritics(unify_d(nfc(text))).casefold()


# ---------------------------------------------------------------------------
# Vietnamese syllable shape (used to judge legacy-encoding guesses)
# ---------------------------------------------------------------------------

_NUCLEI = (
    "a ă â e ê i o ô ơ u ư y "
    "ai ao au ay âu ây eo êu ia iê iu oa oă oe oi oo ôi ơi ua uâ uê ui uô uơ uy "
    "ưa ưi ươ ưu yê iêu yêu oai oay oao oeo uây uôi uya uyê uyu ươi ươu"
).split()
# Nuclei ending in a glide take no final consonant; these others need one.
_NO_FINAL = frozenset(
    "ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu iêu yêu oai oay oao oeo uây uôi uya uyu ươi ươu".split()
)
_NEEDS_FINAL = frozenset("ă â oo oă uâ iê yê uô ươ uyê".split())
_STOP_FINALS = frozenset(("c", "ch", "p", "t"))
_SYLLABLE = re.compile(
    r"(ngh|ng|gh|gi|kh|nh|ph|th|tr|ch|qu|[bcdđghklmnprstvx])?"
    r"(" + "|".join(sorted(_NUCLEI, key=len, reverse=True)) + r")"
    r"(ch|ng|nh|[cmnpt])?"
)


@lru_cache(maxsize=65536)
def is_vietnamese_syllable(word: str) -> bool:
    """True if `word` is shaped like one Vietnamese syllable (any case, NFC or NFD):
    initial + vowel nucleus + final from the spelling rules, at most one tone, on a
    vowel where the old or the new placement puts it, and only sắc/nặng before a
    final p, t, c, ch.
    """
    d = unicodedata.normalize("NFD", word.lower())
    tones = [ch for ch in d if ch in _TONES]
    if len(tones) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(ch for ch in d if ch not in _TONES))
    m = _SYLLABLE.fullmatch(bare)
    if m is None:
        return False
    nucleus, final = m.group(2), m.group(3)
    if (final and nucleus in _NO_FINAL) or (not final and nucleus in _NEEDS_FINAL):
        return False
    if final in _STOP_FINALS and (not tones or tones[0] not in (ACUTE, DOT)):
        return False
    if tones:
        layout = _tone_layout(word)
        if layout is None:
            return False
        _clusters_, tone_at, _tone, new, old = layout
        if tone_at not in (new, old):
            return False
    return True


# Letters only Unicode Vietnamese has (never produced by reading TCVN3/VNI bytes as
# Latin-1/cp1252), plus combining marks (NFD text).
_UNICODE_VN = re.compile(
    "[\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9\u0300-\u036f]"
)


def looks_unicode_vietnamese(text: str) -> bool:
    """True if `text` holds letters only Unicode Vietnamese has (ơ ư đ ạ ế ... or NFD)."""
    return _UNICODE_VN.search(text) is not None
