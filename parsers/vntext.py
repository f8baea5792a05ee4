"""Vietnamese text as people type it: Unicode normalisation, tone placement, label keys,
and the legacy 8-bit encodings (TCVN3/ABC ".Vn*" fonts and VNI-Windows "VNI-*" fonts).

Everything here is pure and cached where it is called per cell.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Literal

LegacyEncoding = Literal["tcvn3", "vni"]

__all__ = [
    "LegacyEncoding",
    "nfc",
    "fold_spaces",
    "unify_d",
    "normalize_tones",
    "strip_numbering",
    "normalize_label",
    "strip_diacritics",
    "is_vietnamese_syllable",
    "looks_unicode_vietnamese",
    "font_encoding",
    "detect_legacy_encoding",
    "decode_legacy",
    "decode_tcvn3",
    "decode_vni",
    "encode_tcvn3",
    "encode_vni",
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


def fold_spaces(text: str) -> str:
    """Collapse every run of whitespace (incl. NBSP, zero-width space, tabs, line
    breaks) to one space and strip the ends. Zero-width joiners are removed.

    U+00AD (soft hyphen) is deliberately kept: in TCVN3 text it is the letter "ư".
    """
    return _SPACE_RUN.sub(" ", text.translate(_JOINERS)).strip()


# Ð (U+00D0, Icelandic eth), Ɖ (U+0189, African D) look like Đ and are typed for it.
_D_TABLE = str.maketrans({"\u00d0": "\u0110", "\u0189": "\u0110", "\u00f0": "\u0111", "\u0256": "\u0111"})


def unify_d(text: str) -> str:
    """Replace the look-alikes of Đ/đ (Ð ð Ɖ ɖ) by the Vietnamese letters."""
    return text.translate(_D_TABLE)


# ---------------------------------------------------------------------------
# Tone placement
# ---------------------------------------------------------------------------

_GRAVE, _ACUTE, _TILDE, _HOOK, _DOT = "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"
_TONES = frozenset((_GRAVE, _ACUTE, _TILDE, _HOOK, _DOT))
_CIRCUMFLEX, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
_VOWEL_MODS = frozenset((_CIRCUMFLEX, _BREVE, _HORN))
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
    if final in _STOP_FINALS and (not tones or tones[0] not in (_ACUTE, _DOT)):
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


# ---------------------------------------------------------------------------
# TCVN3 (TCVN 5712:1993 "VN3", the ABC .Vn* fonts)
# ---------------------------------------------------------------------------

# VN3: lower-case letters with tones, plus the seven capitals Ă Â Ê Ô Ơ Ư Đ.
_VN3: dict[str, int] = {
    "à": 0xB5,
    "ả": 0xB6,
    "ã": 0xB7,
    "á": 0xB8,
    "ạ": 0xB9,
    "ằ": 0xBB,
    "ẳ": 0xBC,
    "ẵ": 0xBD,
    "ắ": 0xBE,
    "ặ": 0xC6,
    "ầ": 0xC7,
    "ẩ": 0xC8,
    "ẫ": 0xC9,
    "ấ": 0xCA,
    "ậ": 0xCB,
    "è": 0xCC,
    "ẻ": 0xCE,
    "ẽ": 0xCF,
    "é": 0xD0,
    "ẹ": 0xD1,
    "ề": 0xD2,
    "ể": 0xD3,
    "ễ": 0xD4,
    "ế": 0xD5,
    "ệ": 0xD6,
    "ì": 0xD7,
    "ỉ": 0xD8,
    "ĩ": 0xDC,
    "í": 0xDD,
    "ị": 0xDE,
    "ò": 0xDF,
    "ỏ": 0xE1,
    "õ": 0xE2,
    "ó": 0xE3,
    "ọ": 0xE4,
    "ồ": 0xE5,
    "ổ": 0xE6,
    "ỗ": 0xE7,
    "ố": 0xE8,
    "ộ": 0xE9,
    "ờ": 0xEA,
    "ở": 0xEB,
    "ỡ": 0xEC,
    "ớ": 0xED,
    "ợ": 0xEE,
    "ù": 0xEF,
    "ủ": 0xF1,
    "ũ": 0xF2,
    "ú": 0xF3,
    "ụ": 0xF4,
    "ừ": 0xF5,
    "ử": 0xF6,
    "ữ": 0xF7,
    "ứ": 0xF8,
    "ự": 0xF9,
    "ỳ": 0xFA,
    "ỷ": 0xFB,
    "ỹ": 0xFC,
    "ý": 0xFD,
    "ỵ": 0xFE,
    "ă": 0xA8,
    "â": 0xA9,
    "ê": 0xAA,
    "ô": 0xAB,
    "ơ": 0xAC,
    "ư": 0xAD,
    "đ": 0xAE,
    "Ă": 0xA1,
    "Â": 0xA2,
    "Ê": 0xA3,
    "Ô": 0xA4,
    "Ơ": 0xA5,
    "Ư": 0xA6,
    "Đ": 0xA7,
}
# TCVN 5712 "VN1" adds the 60 toned capitals at positions VN3 leaves free. .Vn* fonts
# do not use them (capitals come from the ...H fonts), but converters do.
_VN1_CAPITALS: dict[int, str] = {
    0x01: "Ú",
    0x02: "Ụ",
    0x04: "Ừ",
    0x05: "Ử",
    0x06: "Ữ",
    0x11: "Ứ",
    0x12: "Ự",
    0x13: "Ỳ",
    0x14: "Ỷ",
    0x15: "Ỹ",
    0x16: "Ý",
    0x17: "Ỵ",
    0x80: "À",
    0x81: "Ả",
    0x82: "Ã",
    0x83: "Á",
    0x84: "Ạ",
    0x85: "Ặ",
    0x86: "Ậ",
    0x87: "È",
    0x88: "Ẻ",
    0x89: "Ẽ",
    0x8A: "É",
    0x8B: "Ẹ",
    0x8C: "Ệ",
    0x8D: "Ì",
    0x8E: "Ỉ",
    0x8F: "Ĩ",
    0x90: "Í",
    0x91: "Ị",
    0x92: "Ò",
    0x93: "Ỏ",
    0x94: "Õ",
    0x95: "Ó",
    0x96: "Ọ",
    0x97: "Ộ",
    0x98: "Ờ",
    0x99: "Ở",
    0x9A: "Ỡ",
    0x9B: "Ớ",
    0x9C: "Ợ",
    0x9D: "Ù",
    0x9E: "Ủ",
    0x9F: "Ũ",
    0xAF: "Ằ",
    0xBA: "Ẳ",
    0xBF: "Ẵ",
    0xC0: "Ắ",
    0xC1: "Ầ",
    0xC2: "Ẩ",
    0xC3: "Ẫ",
    0xC4: "Ấ",
    0xC5: "Ề",
    0xCD: "Ể",
    0xD9: "Ễ",
    0xDA: "Ế",
    0xDB: "Ồ",
    0xE0: "Ổ",
    0xF0: "Ỗ",
    0xFF: "Ố",
}
# In the cp1252 reading of bytes 0x80-0x9F these are punctuation people really type
# (quotes, dashes, ellipsis, bullet): they are kept, not read as VN1 capitals.
_CP1252_PUNCT = frozenset("€‚„…†‡‰‹‘’“”•–—™›")


def _build_tcvn3_decode() -> dict[int, str]:
    table: dict[int, str] = {b: ch for ch, b in _VN3.items()}  # Latin-1 reading
    for b, ch in _VN1_CAPITALS.items():
        table[b] = ch  # Latin-1 reading (C0/C1 controls, gap letters)
        if 0x80 <= b <= 0x9F:
            try:
                as_cp1252 = bytes([b]).decode("cp1252")
            except UnicodeDecodeError:
                continue  # undefined in cp1252: only the Latin-1 reading exists
            if as_cp1252 not in _CP1252_PUNCT:
                table[ord(as_cp1252)] = ch
    return table


_TCVN3_DECODE = _build_tcvn3_decode()
_TCVN3_ENCODE: dict[int, str] = {ord(ch): chr(b) for ch, b in _VN3.items()}
for _ch, _b in list(_VN3.items()):
    if _ch.islower() and _ch.upper() not in _VN3:
        # VN3 has no toned capitals: ABC writes them with the lower-case code, which
        # the ...H fonts draw as the capital.
        _TCVN3_ENCODE[ord(_ch.upper())] = chr(_b)
# The capital-only fonts draw every code as a capital; encode from lower case.
_TCVN3_ENCODE_CAPS: dict[int, str] = {ord(ch): chr(b) for ch, b in _VN3.items() if ch.islower()}


def decode_tcvn3(text: str, capitals: bool = False) -> str:
    """Decode TCVN3 text (its 1-byte codes read as Latin-1 or cp1252 characters).

    `capitals=True` for the capital-only fonts (.VnTimeH, .VnArialH...): the result is
    upper-cased, as those fonts draw it.
    """
    out = text.translate(_TCVN3_DECODE)
    return out.upper() if capitals else out


def encode_tcvn3(text: str, capitals: bool = False) -> str:
    """Encode Unicode Vietnamese as TCVN3 (VN3) codes, as Latin-1 characters.

    VN3 has no code for toned capitals (Ấ, Ố ...): like the ABC keyboard they get the
    lower-case code, so they decode back in lower case unless read with a ...H font.
    `capitals=True` writes for a ...H font: every letter as its lower-case code.
    Characters outside Vietnamese are left as they are.
    """
    text = nfc(text)
    if capitals:
        return text.lower().translate(_TCVN3_ENCODE_CAPS)
    return text.translate(_TCVN3_ENCODE)


# ---------------------------------------------------------------------------
# VNI-Windows (VNI-Times, VNI-Helve ...): base letter + modifier byte
# ---------------------------------------------------------------------------

# Modifier bytes, lower-case form; the upper-case form (same byte - 0x20) follows a
# capital. Keyed by (vowel mark, tone); tone "" = no tone.
_VNI_PLAIN = {_ACUTE: "ù", _GRAVE: "ø", _HOOK: "û", _TILDE: "õ", _DOT: "ï"}
_VNI_CIRC = {"": "â", _ACUTE: "á", _GRAVE: "à", _HOOK: "å", _TILDE: "ã", _DOT: "ä"}
_VNI_BREVE = {"": "ê", _ACUTE: "é", _GRAVE: "è", _HOOK: "ú", _TILDE: "ü", _DOT: "ë"}
_VNI_I = {_ACUTE: "í", _GRAVE: "ì", _HOOK: "æ", _TILDE: "ó", _DOT: "ò"}


def _build_vni() -> tuple[dict[str, str], dict[str, str]]:
    """Return (unicode letter -> VNI string, VNI string -> unicode letter)."""
    enc: dict[str, str] = {}

    def add(letter: str, vni: str) -> None:
        enc[letter] = vni
        enc[letter.upper()] = vni.upper()

    add("đ", "ñ")
    add("ơ", "ô")
    add("ư", "ö")
    for tone, mod in _VNI_I.items():
        add(nfc("i" + tone), mod)
    for tone, mod in _VNI_PLAIN.items():
        for base in "aeouy":
            add(nfc(base + tone), base + mod)
        add(nfc("o" + _HORN + tone), "ô" + mod)
        add(nfc("u" + _HORN + tone), "ö" + mod)
    for tone, mod in _VNI_CIRC.items():
        for base in "aeo":
            add(nfc(base + _CIRCUMFLEX + tone), base + mod)
    for tone, mod in _VNI_BREVE.items():
        add(nfc("a" + _BREVE + tone), "a" + mod)
    add("ỵ", "î")  # VNI has a single code for ỵ, like the i row
    dec = {v: k for k, v in enc.items()}
    # Lenient reading: a modifier in the other case than its base letter.
    for vni, letter in list(dec.items()):
        if len(vni) == 2:
            for variant in (vni[0] + vni[1].swapcase(),):
                dec.setdefault(variant, letter)
    dec.setdefault("yï", "ỵ")
    dec.setdefault("YÏ", "Ỵ")
    dec.setdefault("Yï", "Ỵ")
    dec.setdefault("yÏ", "ỵ")
    return enc, dec


_VNI_ENCODE, _VNI_DECODE = _build_vni()
_VNI_ENCODE_TABLE = {ord(k): v for k, v in _VNI_ENCODE.items()}
_VNI_DECODE_RE = re.compile("|".join(re.escape(k) for k in sorted(_VNI_DECODE, key=len, reverse=True)))


def decode_vni(text: str) -> str:
    """Decode VNI-Windows text (its bytes read as Latin-1/cp1252 characters)."""
    return _VNI_DECODE_RE.sub(lambda m: _VNI_DECODE[m.group(0)], text)


def encode_vni(text: str) -> str:
    """Encode Unicode Vietnamese as VNI-Windows, as Latin-1 characters."""
    return nfc(text).translate(_VNI_ENCODE_TABLE)


# ---------------------------------------------------------------------------
# Detection and the one entry point the readers use
# ---------------------------------------------------------------------------


def font_encoding(font_name: str | None) -> tuple[LegacyEncoding | None, bool]:
    """The legacy encoding a font name implies, and whether it is a capitals-only font.

    ".Vn*" (".VnTime", ".VnArial NarrowH") -> TCVN3, capitals when the name ends in
    "H"; "VNI-*" / "VNI *" -> VNI. Anything else -> (None, False).
    """
    if not font_name:
        return None, False
    name = font_name.strip()
    low = name.lower()
    if low.startswith(("vni-", "vni ", "vni_")):
        return "vni", False
    if low.startswith(".vn"):
        return "tcvn3", name.endswith("H")
    return None, False


_TOKEN_SPLIT = re.compile(r"[\s\-/,;:()\[\]\"“”!?]+")
_TOKEN_STRIP = ".'*"


def _natural_case(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    if not letters:
        return True
    rest = letters[1:]
    return all(c.islower() for c in rest) or all(c.isupper() for c in letters)


def _is_vn_word(word: str) -> bool:
    return word.isalpha() and _natural_case(word) and is_vietnamese_syllable(word)


@lru_cache(maxsize=4096)
def detect_legacy_encoding(text: str) -> LegacyEncoding | None:
    """Guess whether `text` is TCVN3 or VNI read as Latin-1/cp1252; None if unsure.

    Judged per word: a word is evidence for an encoding when decoding it gives a
    well-formed Vietnamese syllable while the word as it stands is not one. Fires only
    on a strong signal (at least two such words, one decoding to a letter only Unicode
    Vietnamese has, and few words neither reading explains), so it never fires on
    Unicode Vietnamese or on English/French text. A whole sheet's text detects far
    better than one short cell.
    """
    if looks_unicode_vietnamese(text) or text.isascii():
        return None
    tokens = [t.strip(_TOKEN_STRIP) for t in _TOKEN_SPLIT.split(text)]
    # Each distinct word once ("dû dû" is one word), keeping its case: "phÝ" (TCVN3 for
    # "phí") is evidence only because of its unnatural case.
    tokens = list({t.lower(): t for t in tokens if t and not t.isascii()}.values())
    if not tokens:
        return None
    best: LegacyEncoding | None = None
    best_score = 0
    tie = False
    candidates: tuple[tuple[LegacyEncoding, Callable[[str], str]], ...] = (("tcvn3", decode_tcvn3), ("vni", decode_vni))
    for enc, decode in candidates:
        score = evidence = strong = bad = 0
        for tok in tokens:
            if _is_vn_word(tok):
                continue  # already a Vietnamese word: says nothing either way
            dec = decode(tok)
            if dec != tok and _is_vn_word(dec):
                evidence += 1
                if looks_unicode_vietnamese(dec):
                    strong += 1
                    score += 2
                else:
                    score += 1
            else:
                bad += 1
        if evidence >= 2 and strong >= 1 and evidence >= 2 * bad:
            if score > best_score:
                best, best_score, tie = enc, score, False
            elif score == best_score:
                tie = True
    return None if tie else best


def decode_legacy(text: str, font_name: str | None = None) -> str:
    """Return `text` as Unicode Vietnamese.

    With a legacy font name (".Vn*" TCVN3, "VNI-*" VNI) the text is decoded as that
    font draws it ("...H" fonts give capitals); without one, only when
    `detect_legacy_encoding` is sure. Text that already holds Unicode-only Vietnamese
    letters is returned unchanged, whatever the font says.
    """
    if not text or looks_unicode_vietnamese(text):
        return text
    enc, capitals = font_encoding(font_name)
    if enc is None:
        enc = detect_legacy_encoding(text)
        capitals = False
    if enc == "tcvn3":
        return decode_tcvn3(text, capitals=capitals)
    if enc == "vni":
        return decode_vni(text)
    return text
