"""The legacy 8-bit Vietnamese encodings: TCVN3/ABC (".Vn*" fonts) and VNI-Windows
("VNI-*" fonts), text typed in them read back as Unicode, by the cell's font or, when
it names none, by detection. `decode_legacy` is the one entry the readers use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Literal

from parsers.vntext import (
    ACUTE,
    BREVE,
    CIRCUMFLEX,
    DOT,
    GRAVE,
    HOOK,
    HORN,
    TILDE,
    is_vietnamese_syllable,
    looks_unicode_vietnamese,
    nfc,
)

LegacyEncoding = Literal["tcvn3", "vni"]

__all__ = [
    "LegacyEncoding",
    "font_encoding",
    "detect_legacy_encoding",
    "decode_legacy",
    "decode_tcvn3",
    "decode_vni",
    "encode_tcvn3",
    "encode_vni",
]

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
_VNI_PLAIN = {ACUTE: "ù", GRAVE: "ø", HOOK: "û", TILDE: "õ", DOT: "ï"}
_VNI_CIRC = {"": "â", ACUTE: "á", GRAVE: "à", HOOK: "å", TILDE: "ã", DOT: "ä"}
_VNI_BREVE = {"": "ê", ACUTE: "é", GRAVE: "è", HOOK: "ú", TILDE: "ü", DOT: "ë"}
_VNI_I = {ACUTE: "í", GRAVE: "ì", HOOK: "æ", TILDE: "ó", DOT: "ò"}


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
        add(nfc("o" + HORN + tone), "ô" + mod)
        add(nfc("u" + HORN + tone), "ö" + mod)
    for tone, mod in _VNI_CIRC.items():
        for base in "aeo":
            add(nfc(base + CIRCUMFLEX + tone), base + mod)
    for tone, mod in _VNI_BREVE.items():
        add(nfc("a" + BREVE + tone), "a" + mod)
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
