"""parsers.vntext: label keys, tone placement, numbering, TCVN3/VNI legacy encodings."""

from __future__ import annotations

import email
import io
import unicodedata
from email import policy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.vnlegacy import (
    decode_legacy,
    decode_tcvn3,
    decode_vni,
    detect_legacy_encoding,
    encode_tcvn3,
    encode_vni,
    font_encoding,
)
from parsers.vntext import (
    fold_spaces,
    is_vietnamese_syllable,
    looks_unicode_vietnamese,
    nfc,
    normalize_label,
    normalize_tones,
    strip_diacritics,
    strip_numbering,
)

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731

# The 134 letters Vietnamese adds to ASCII: 12 vowels x 5 tones + ă â ê ô ơ ư đ, both cases.
_BASES = "aăâeêioôơuưy"
_TONE_MARKS = "\u0300\u0301\u0309\u0303\u0323"
LOWER_LETTERS = [nfc(b + t) for b in _BASES for t in _TONE_MARKS] + list("ăâêôơưđ")
ALL_LETTERS = LOWER_LETTERS + [c.upper() for c in LOWER_LETTERS]
TONED_CAPITALS = [nfc(b + t).upper() for b in _BASES for t in _TONE_MARKS]

# Cells of the public sample 2021-08-11/04-vhtt.eml (font .VnTime; A1 in .VnTimeH).
VHTT_CELLS = [
    (
        "Hç trî viªn chøc, ng\xadêi lao ®éng ho¹t ®éng nghÖ thuËt",
        ".VnTime",
        "Hỗ trợ viên chức, người lao động hoạt động nghệ thuật",
    ),
    ("Hç trî h\xadíng dÉn viªn du lÞch", ".VnTime", "Hỗ trợ hướng dẫn viên du lịch"),
    ("Sè liÖu tÝnh ®Õn ngµy 11/08/2021", ".VnTime", "Số liệu tính đến ngày 11/08/2021"),
    ("§¬n vÞ: Phßng V¨n hãa vµ Th«ng tin", ".VnTime", "Đơn vị: Phòng Văn hóa và Thông tin"),
    ("Kinh phÝ (triÖu ®ång)", ".VnTime", "Kinh phí (triệu đồng)"),
    ("§\xadîc phª duyÖt", ".VnTime", "Được phê duyệt"),
    ("§· chi tr¶", ".VnTime", "Đã chi trả"),
    ("Ghi chó", ".VnTime", "Ghi chú"),
    ("Tæng céng", ".VnTime", "Tổng cộng"),
    (
        "(Theo NghÞ quyÕt sè 68/NQ-CP ngµy 01/7/2021 cña ChÝnh phñ vµ QuyÕt ®Þnh sè 23/2021/Q§-TTg)",
        ".VnTime",
        "(Theo Nghị quyết số 68/NQ-CP ngày 01/7/2021 của Chính phủ và Quyết định số 23/2021/QĐ-TTg)",
    ),
    ("ubnd thµnh phè b¾c k¹n", ".VnTimeH", "UBND THÀNH PHỐ BẮC KẠN"),
    ("céng hßa x· héi chñ nghÜa viÖt nam", ".VnTimeH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
]

VN_WORDS = (
    "người lao động hỗ trợ tạm hoãn hợp đồng nghỉ việc không hưởng lương chấm dứt "
    "đủ điều kiện trợ cấp thất nghiệp trẻ em đang điều trị cách ly y tế viên chức "
    "hoạt động nghệ thuật hướng dẫn du lịch hộ kinh doanh cho vay trả phục hồi sản "
    "xuất giao kết tự do đơn vị phòng văn hóa thông tin ủy ban nhân dân xã phường "
    "thành phố bắc kạn dương quang nông thượng sông cầu đức xuân huyền tụng số liệu "
    "tính đến ngày tổng cộng kinh phí được phê duyệt đã chi đề nghị khoẻ thuỷ quý "
    "giữa nguyễn trường khuya khuỷu ngoài"
).split()
VN_WORDS = list(dict.fromkeys(VN_WORDS))
# Words whose encodings cannot pass for Unicode Vietnamese (VNI "số" is "soá", which
# is a well-formed syllable, so it proves nothing).
STRONG_WORDS = [
    w
    for w in VN_WORDS
    if looks_unicode_vietnamese(w)
    and not any(is_vietnamese_syllable(enc(v)) for enc in (encode_vni, encode_tcvn3) for v in (w, w.upper()))
]
# ... and whose encoding in one scheme does not read as a syllable in the other either
# (TCVN3 "trî" = "trợ" reads in VNI as "trỵ": a word like that cannot decide alone).
UNAMBIGUOUS_WORDS = [
    w
    for w in STRONG_WORDS
    if not any(
        is_vietnamese_syllable(other(enc(w))) and other(enc(w)) != enc(w)
        for enc, other in ((encode_tcvn3, decode_vni), (encode_vni, decode_tcvn3))
    )
]
EN_WORDS = (
    "the report of the city office was sent on time and every unit must answer "
    "personally for its figures café naïve résumé façade déjà vu où est la boîte "
    "à l'école il a dû partir Müller straße über señor año mañana jalapeño"
).split()


def _sentence(words: list[str]) -> str:
    return " ".join(words)


vn_sentences = st.lists(st.sampled_from(VN_WORDS), min_size=1, max_size=12).map(_sentence)
capitalised = st.builds(lambda s, up: s.upper() if up else s.capitalize(), vn_sentences, st.booleans())


# -- basics ------------------------------------------------------------------------------


def test_nfc_composes():
    assert nfc(NFD("Hỗ trợ")) == "Hỗ trợ"


def test_fold_spaces_every_kind_of_space():
    text = "\u00a0 Hỗ\u2009\u2009trợ\tngười\r\nlao\u200bđộng \u202f\u3000 "
    assert fold_spaces(text) == "Hỗ trợ người lao động"


def test_fold_spaces_keeps_soft_hyphen_and_drops_joiners():
    # U+00AD is "ư" in TCVN3: it must survive to be decoded.
    assert fold_spaces("ng\xadêi") == "ng\xadêi"
    assert fold_spaces("Hỗ\u200dtrợ") == "Hỗtrợ"


def test_strip_diacritics():
    assert strip_diacritics("Dương Quang") == "Duong Quang"
    assert strip_diacritics("ĐỨC XUÂN đ \u00d0") == "DUC XUAN d D"
    assert strip_diacritics(NFD("Nông Thượng")) == "Nong Thuong"


# -- tones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new",
    [
        ("hóa", "hoá"),
        ("thủy", "thuỷ"),
        ("khỏe", "khoẻ"),
        ("Hòa", "Hoà"),
        ("ùy", "uỳ"),
        ("HÒA", "HOÀ"),
        ("Thùy", "Thuỳ"),
        ("qúy", "quý"),
        ("gía", "giá"),
        ("hòan", "hoàn"),
        ("khủyu", "khuỷu"),
        ("muà", "mùa"),
        ("ngòai", "ngoài"),
        ("Xuất Hóa", "Xuất Hoá"),
        ("tòan thể", "toàn thể"),
        ("Lòe", "Loè"),
        ("họach", "hoạch"),
        ("thuở", "thuở"),
    ],
)
def test_normalize_tones_unifies_old_and_new_placement(old, new):
    assert normalize_tones(old) == normalize_tones(new) == new


def test_normalize_tones_leaves_correct_syllables_and_other_words():
    text = "Người lao động được phê duyệt quyết định giữa trường khuya café Müller"
    assert normalize_tones(text) == text


def test_normalize_tones_preserves_case_per_letter():
    assert normalize_tones("HÓA hÓa HóA") == "HOÁ hOá HoÁ"


@given(capitalised)
@settings(max_examples=60, deadline=None)
def test_normalize_tones_is_idempotent(text):
    once = normalize_tones(text)
    assert normalize_tones(once) == once
    assert strip_diacritics(once) == strip_diacritics(text)


# -- numbering ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "1. Hỗ trợ",
        "1) Hỗ trợ",
        "1/ Hỗ trợ",
        "1.2. Hỗ trợ",
        "1.2 Hỗ trợ",
        "a) Hỗ trợ",
        "a. Hỗ trợ",
        "I. Hỗ trợ",
        "II) Hỗ trợ",
        "IV - Hỗ trợ",
        "- Hỗ trợ",
        "+ Hỗ trợ",
        "* Hỗ trợ",
        "• Hỗ trợ",
        "(1) Hỗ trợ",
        "I.1. Hỗ trợ",
        "12. Hỗ trợ",
        "1.Hỗ trợ",
        "  3 - Hỗ trợ",
        "(a) Hỗ trợ",
        "XII. Hỗ trợ",
        "- 1. Hỗ trợ",
        "đ) Hỗ trợ",
    ],
)
def test_strip_numbering_removes_prefixes(raw):
    assert strip_numbering(raw) == "Hỗ trợ"


@pytest.mark.parametrize(
    "text",
    [
        "Đề nghị hỗ trợ",
        "I",
        "Cho vay trả lương",
        "Lý Văn Hùng",
        "Hỗ trợ",
        "1.000 đồng",
        "3,71",
        "12 người",
        "Ích lợi",
        "Xuất Hoá",
        "Vi phạm",
        "Covid-19",
    ],
)
def test_strip_numbering_keeps_real_words(text):
    assert strip_numbering(text) == text


# -- label keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("Tạm hoãn HĐLĐ , nghỉ việc", "Tạm hoãn HĐLĐ, nghỉ việc"),
        ("BHTNLĐ-BNN", "BHTNLĐ - BNN"),
        ("BHTNLĐ – BNN", "BHTNLĐ-BNN"),
        ("Hỗ trợ hộ kinh doanh", NFD("Hỗ trợ hộ kinh doanh")),
        ("Đã chi trả", "\u00d0ã chi trả"),
        ("Đã chi trả", "\u0189ã chi trả"),
        ("đã chi trả", "\u00f0ã chi trả"),
        ("Văn hóa", "VĂN HOÁ"),
        ("Số đối tượng đề nghị hỗ trợ", "  Số  đối\u00a0tượng\nđề nghị hỗ trợ:"),
        ("Hỗ trợ người lao động ngừng việc", "5. Hỗ trợ người lao động ngừng việc."),
        ("Hỗ trợ trẻ em", "a) \u201cHỗ trợ trẻ em\u201d"),
        ("Kinh phí (triệu đồng)", "Kinh phí ( triệu đồng )"),
        ("Xuất Hoá", "Xuất Hóa"),
        ("Thủy", "THUỶ"),
    ],
)
def test_normalize_label_equal_keys(a, b):
    assert normalize_label(a) == normalize_label(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("Số đề nghị", "Số được phê duyệt"),
        ("Hỗ trợ hộ kinh doanh", "Hỗ trợ người lao động"),
        ("Dương Quang", "Duong Quang"),  # loose matching is strip_diacritics' job
    ],
)
def test_normalize_label_different_keys(a, b):
    assert normalize_label(a) != normalize_label(b)


label_text = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(
            VN_WORDS
            + ["1.", "a)", "I.", "-", ",", " , ", "(", ")", "–", "\u00a0", "Ð", "HĐLĐ", "\u201c", ".", "II", "x"]
        ),
        max_size=10,
    ).map("".join),
    st.lists(st.sampled_from(VN_WORDS + ["1.", "a)", "I.", "-", ",", "(", ")", "IV -"]), max_size=10).map(" ".join),
)


@given(label_text)
@settings(max_examples=150, deadline=None)
def test_normalize_label_is_idempotent(text):
    key = normalize_label(text)
    assert normalize_label(key) == key
    assert normalize_label(NFD(text)) == key


# -- syllables and Unicode detection ----------------------------------------------------


def test_is_vietnamese_syllable():
    for w in ("người", "Hoà", "HOÀNG", "khuỷu", "giữa", "quý", "nghiêng", NFD("trường")):
        assert is_vietnamese_syllable(w), w
    for w in ("café", "straße", "hỗtrợ", "lµ", "ngöôøi", "Tæng", "fa"):
        assert not is_vietnamese_syllable(w), w


def test_looks_unicode_vietnamese():
    assert looks_unicode_vietnamese("Người") and looks_unicode_vietnamese(NFD("Tên"))
    assert not looks_unicode_vietnamese("Tên chó") and not looks_unicode_vietnamese("§µ")


# -- legacy encodings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "font, expected",
    [
        (".VnTime", ("tcvn3", False)),
        (".VnTimeH", ("tcvn3", True)),
        (".VnArial", ("tcvn3", False)),
        (".VnArialH", ("tcvn3", True)),
        (".VnArial NarrowH", ("tcvn3", True)),
        ("VNI-Times", ("vni", False)),
        ("VNI-Helve-Condense", ("vni", False)),
        ("Times New Roman", (None, False)),
        ("Calibri", (None, False)),
        (None, (None, False)),
        ("", (None, False)),
    ],
)
def test_font_encoding(font, expected):
    assert font_encoding(font) == expected


@pytest.mark.parametrize("raw, font, expected", VHTT_CELLS)
def test_sample_vhtt_tcvn3_cells(raw, font, expected):
    assert decode_legacy(raw, font) == expected


@pytest.mark.parametrize("raw, font, expected", [c for c in VHTT_CELLS if c[0] not in ("Ghi chó", "Tæng céng")])
def test_sample_vhtt_cells_detected_without_font(raw, font, expected):
    assert detect_legacy_encoding(raw) == "tcvn3"
    assert decode_legacy(raw).upper() == expected.upper()


def test_sample_vhtt_workbook_decodes_to_form_labels(samples: Path):
    import openpyxl

    eml = samples / "emails" / "2021-08-11" / "04-vhtt.eml"
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    [part] = list(msg.iter_attachments())
    wb = openpyxl.load_workbook(io.BytesIO(part.get_payload(decode=True)))
    decoded = {
        decode_legacy(c.value, c.font.name) for row in wb.active.iter_rows() for c in row if isinstance(c.value, str)
    }
    assert "Hỗ trợ viên chức, người lao động hoạt động nghệ thuật" in decoded
    assert "Hỗ trợ hướng dẫn viên du lịch" in decoded
    assert "UBND THÀNH PHỐ BẮC KẠN" in decoded
    assert not [v for v in decoded if any(ch in v for ch in "µ¶·¸¹¨©ª«¬\xad®§")]


def test_unicode_text_in_legacy_font_is_unchanged():
    for text in ("Hỗ trợ người lao động", NFD("Tổng cộng"), "Đơn vị"):
        assert decode_legacy(text, ".VnTime") == text
        assert decode_legacy(text, "VNI-Times") == text
        assert decode_legacy(text) == text


def test_tcvn3_cp1252_and_latin1_readings_of_vn1_capitals():
    # TCVN 5712 VN1 byte 0x83 = Á: Latin-1 reads it U+0083, cp1252 reads it 'ƒ'.
    assert decode_tcvn3("\x83") == "Á" and decode_tcvn3("ƒ") == "Á"
    assert decode_tcvn3("\x9c") == "Ợ" and decode_tcvn3("œ") == "Ợ"
    assert decode_tcvn3("\x96") == "Ọ"
    # cp1252 punctuation in .VnTime text stays punctuation.
    assert decode_tcvn3("Hç trî \u2013 \u201c\u2026\u201d") == "Hỗ trợ \u2013 \u201c\u2026\u201d"
    assert decode_tcvn3("Ä") == "Ấ" and decode_tcvn3("ÿ") == "Ố"


def test_tcvn3_every_letter_round_trips():
    for letter in ALL_LETTERS:
        code = encode_tcvn3(letter)
        assert len(code) == 1 and ord(code) <= 0xFF, letter
        expected = letter.lower() if letter in TONED_CAPITALS else letter
        assert decode_tcvn3(code) == expected, letter
        assert decode_tcvn3(encode_tcvn3(letter, capitals=True), capitals=True) == letter.upper()
        assert decode_legacy(encode_tcvn3(letter, capitals=True), ".VnTimeH") == letter.upper()


def test_tcvn3_codes_are_distinct_and_match_the_standard():
    codes = {encode_tcvn3(c) for c in LOWER_LETTERS}
    assert len(codes) == len(LOWER_LETTERS) == 67
    # Spot checks against TCVN 5712:1993 (also the sample file).
    assert encode_tcvn3("Hỗ trợ người đồng Đ") == "Hç trî ng\xadêi ®ång §"
    assert encode_tcvn3("àảãáạ ăâêôơư ỳỷỹýỵ") == "µ¶·¸¹ ¨©ª«¬\xad úûüýþ"


def test_vni_every_letter_round_trips():
    for letter in ALL_LETTERS:
        code = encode_vni(letter)
        assert 1 <= len(code) <= 2 and all(ord(ch) <= 0xFF for ch in code), letter
        assert decode_vni(code) == letter, letter
    assert len({encode_vni(c) for c in ALL_LETTERS}) == 134


def test_vni_known_strings():
    assert encode_vni("Người lao động") == "Ngöôøi lao ñoäng"
    assert encode_vni("ĐƠN VỊ") == "ÑÔN VÒ"
    assert encode_vni("Hỗ trợ kỹ năng, ỉ ĩ ị ỵ Ỵ") == "Hoã trôï kyõ naêng, æ ó ò î Î"
    assert decode_legacy("Ngöôøi lao ñoäng", "VNI-Times") == "Người lao động"


def test_vni_modifier_in_the_other_case_still_decodes():
    assert decode_vni("NGÖÔØi") == "NGƯỜi" and decode_vni("Aù") == "Á"


_ASCII = list("abcdeghiklmnopqrstuvxyABDGHKLNT ,.-()0123456789")
vn_text = st.text(alphabet=st.sampled_from(ALL_LETTERS + _ASCII), max_size=60)


@given(vn_text)
@settings(max_examples=150, deadline=None)
def test_vni_round_trips_any_vietnamese_text(text):
    assert decode_vni(encode_vni(text)) == text


@given(vn_text)
@settings(max_examples=150, deadline=None)
def test_tcvn3_round_trips_any_vietnamese_text(text):
    expected = "".join(c.lower() if c in TONED_CAPITALS else c for c in text)
    assert decode_tcvn3(encode_tcvn3(text)) == expected
    assert decode_tcvn3(encode_tcvn3(text, capitals=True), capitals=True) == text.upper()


def _joined(strong: list[str], rest: list[str], upper: bool) -> str:
    text = " ".join(strong + rest)
    return text.upper() if upper else text


strong_sentences = st.builds(
    _joined,
    st.lists(st.sampled_from(UNAMBIGUOUS_WORDS), min_size=2, max_size=4, unique=True),
    st.lists(st.sampled_from(VN_WORDS), max_size=8),
    st.booleans(),
)


@given(strong_sentences)
@settings(max_examples=100, deadline=None)
def test_detection_finds_encoded_vietnamese(text):
    assert detect_legacy_encoding(encode_vni(text)) == "vni"
    lowered = text.lower()  # TCVN3 normal fonts hold no toned capitals
    assert detect_legacy_encoding(encode_tcvn3(lowered)) == "tcvn3"
    assert decode_legacy(encode_vni(text)) == text
    assert decode_legacy(encode_tcvn3(lowered)) == lowered


@given(st.lists(st.sampled_from(VN_WORDS), min_size=1, max_size=12).map(" ".join))
@settings(max_examples=100, deadline=None)
def test_detection_never_names_the_wrong_encoding(text):
    assert detect_legacy_encoding(encode_vni(text)) in ("vni", None)
    assert detect_legacy_encoding(encode_tcvn3(text)) in ("tcvn3", None)


@given(st.one_of(capitalised, vn_sentences.map(NFD)))
@settings(max_examples=100, deadline=None)
def test_detection_silent_on_unicode_vietnamese(text):
    assert detect_legacy_encoding(text) is None
    assert decode_legacy(text) == text


@given(st.lists(st.sampled_from(EN_WORDS), min_size=1, max_size=12).map(" ".join))
@settings(max_examples=100, deadline=None)
def test_detection_silent_on_english_and_european_text(text):
    assert detect_legacy_encoding(text) is None
    assert decode_legacy(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Tên",
        "Ghi chú",
        "STT",
        "Mã",
        "Café au lait, où est la boîte ?",
        "Il a dû partir à l'école",
        "Ça, ça !",
        "Kinh phí",
        "37°C ± 0,5",
        "© 2021 ®",
    ],
)
def test_detection_needs_a_strong_signal(text):
    assert detect_legacy_encoding(text) is None
