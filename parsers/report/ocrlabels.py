"""Row labels recognised from a scan, put right before the table is looked for.

Tesseract often gets one diacritic or one letter of a label wrong ("tạm hoàn" for
"tạm hoãn", "Tông cộng"), which the spreadsheet matching rightly does not forgive. A
recognised label cell that matches nothing is compared, without diacritics, with
every label and alias of the form; only a close match clearly closer than any other
indicator's takes the form's label. Cells typed in a spreadsheet are never touched.

A label garbled further ('Sạo cứu đé/' for 'Gạo cứu đói', 'rnất' for 'mất') may still
take an indicator's label in a looser tier (`_approximate_labels`): only in the
column the table's other labels are in, on a row with figures, when one indicator is
clearly closest and no other cell of the page is (or names) it. Such a cell keeps the
label as read in its `alternatives`: its row's figures are flagged
(parsers.report.uncertain, reason `approximate_label`), never taken silently.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Final

from parsers.model import FormSpec
from parsers.readers import Cell, Grid, Sheet
from parsers.report.matching import TOTAL, FormIndex, match_key
from parsers.vntext import strip_diacritics, strip_numbering

MIN_RATIO: Final = 0.88  # similarity of the label without diacritics
# Words a heading of the form is written with besides its labels (the group headings
# above the measures, the money scale).
_HEADING_WORDS: Final = ("Số đối tượng", "Kinh phí", "triệu đồng", "nghìn đồng", "Nội dung chính sách", "Ghi chú")
_MAX_GRAM: Final = 5
_MIN_NEAR: Final = 9  # characters (folded) of a phrase respelled with one letter off
MIN_MARGIN: Final = 0.08  # over the best other indicator
_TOTAL_LABEL: Final = "Tổng cộng"
# the looser, flagged tier: similarity of the label with OCR's look-alikes folded, and
# its margin over any other indicator (and the total)
APPROXIMATE_RATIO: Final = 0.7
APPROXIMATE_MARGIN: Final = 0.2
# the loosest tier, for a row below the table's first matched row: among the
# indicators the form lists between the matched rows above and below it (reports keep
# the form's order), one clearly closest
PLACED_RATIO: Final = 0.45
PLACED_MARGIN: Final = 0.1
_TOTAL_CODE: Final = "__total__"
# letters Tesseract reads for others in a photo's blurred print, folded alike
_LOOKALIKE_PAIRS: Final = (("rn", "m"), ("cl", "d"), ("vv", "w"))
_LOOKALIKE_LETTERS: Final = str.maketrans({"g": "s", "q": "g", "j": "i", "l": "i", "y": "i"})


# an opening bracket of a money scale read as a letter or a stroke glued to its word
# ('Kinh phí phân bổ inghìn đồng)'): the scale's word then went unread ('đồng' alone
# taken for the scale), so the bracket is given back when the cell closes one it never
# opened (the word's diacritics are then respelled, `_respell`)
_LOST_BRACKET: Final = re.compile(
    r"(?<!\S)[iIl1|!\[{](?=(?:ngh[iìíỉĩị]n|ng[aàáảãạ]n|tri[eêệếềểễẹ]u|t[yỷỳýỹỵ])(?:\s+đ\w*)?\s*\))"
)


def _bracket_mended(text: str) -> str:
    """`text` with the opening bracket of its money scale given back (`_LOST_BRACKET`)."""
    if "(" in text or ")" not in text:
        return text
    return _LOST_BRACKET.sub("(", text)


def _label_key(text: str) -> str:
    return strip_diacritics(match_key(strip_numbering(text))).lower()


def _choices(form: FormSpec) -> list[tuple[str, str, str]]:
    """(code, canonical label, folded variant) for every label and alias, and the total."""
    out = [(_TOTAL_CODE, _TOTAL_LABEL, _label_key(t)) for t in (_TOTAL_LABEL, "Tổng số", "Cộng")]
    for ind in form.indicators:
        for text in (ind.label, *ind.aliases):
            out.append((ind.code, ind.label, _label_key(text)))
    return out


def _phrases(form: FormSpec) -> dict[str, str | None]:
    """Folded word n-grams of the form's labels and headings -> the n-gram as written
    (None when two different spellings fold alike: "hộ" and "hỗ")."""
    texts = [t for m in form.measures for t in (m.label, *m.aliases)]
    texts += [t for i in form.indicators for t in (i.label, *i.aliases)]
    texts += list(_HEADING_WORDS)
    out: dict[str, str | None] = {}
    for text in texts:
        words = match_key(text).split()
        for n in range(1, _MAX_GRAM + 1):
            for k in range(len(words) - n + 1):
                gram = " ".join(words[k : k + n])
                key = strip_diacritics(gram)
                if out.get(key, gram) != gram:
                    out[key] = None
                else:
                    out[key] = gram
    return out


def _one_letter_off(phrases: dict[str, str | None]) -> dict[str, set[str]]:
    """For each phrase of two words or more and `_MIN_NEAR` characters (folded), its
    folded key with one letter left out ('*') -> the phrases it is."""
    out: dict[str, set[str]] = {}
    for key, spelled in phrases.items():
        if spelled is None or " " not in key or len(key) < _MIN_NEAR:
            continue
        for i, ch in enumerate(key):
            if ch.isalpha():
                out.setdefault(key[:i] + "*" + key[i + 1 :], set()).add(key)
    return out


def _near(key: str, phrases: dict[str, str | None], near: dict[str, set[str]]) -> str | None:
    """The form's phrase (as written) that `key` (folded, two words or more) spells with
    one letter read otherwise ('de giai ngan' for 'Đã giải ngân', 'so he dang ky' for
    'Số hộ đăng ký'), when exactly one does; None otherwise."""
    if " " not in key or len(key) < _MIN_NEAR:
        return None
    found = set()
    for i, ch in enumerate(key):
        if ch.isalpha():
            found |= near.get(key[:i] + "*" + key[i + 1 :], set())
    found.discard(key)
    return phrases.get(found.pop()) if len(found) == 1 else None


def _respell(text: str, phrases: dict[str, str | None], near: dict[str, set[str]] | None = None) -> str:
    """Words whose diacritics (or đ/d) were misread given back those of the form's
    phrase they spell without diacritics, longest phrase first, only when unambiguous.
    Where no phrase of as many words is spelled so, a phrase of two words or more that
    the words spell with one letter read otherwise (`near`, `_near`) is taken likewise."""
    words = text.split()
    out: list[str] = []
    k = 0
    while k < len(words):
        if _respelled_at(words, k, phrases, near, out):
            k = len(out)
            continue
        out.append(words[k])
        k += 1
    return " ".join(out)


def _respelled_at(
    words: list[str], k: int, phrases: dict[str, str | None], near: dict[str, set[str]] | None, out: list[str]
) -> bool:
    """Append to `out` the words from `k` respelled as the longest phrase they spell,
    exactly or else (when `near` is given) with one letter off: 'Kinh phí được phân
    bế' is the form's 'Kinh phí được phân bổ', not 'Kinh phí được phân' and a word;
    whether one did."""
    for n in range(min(_MAX_GRAM, len(words) - k), 0, -1):
        chunk = words[k : k + n]
        core = [w.strip("()[],.;:") for w in chunk]
        if not all(core):
            continue
        key = strip_diacritics(" ".join(core).lower())
        spelled = phrases.get(key)
        if spelled is None and near is not None:
            spelled = _near(key, phrases, near)
        if spelled is not None and (n > 1 or len(key) >= 3):
            fixed = spelled.split()
            for w, c, f in zip(chunk, core, fixed, strict=True):
                if c.lower() != f:
                    w = w.replace(c, f if not c[:1].isupper() else f[:1].upper() + f[1:])
                out.append(w)
            return True
    return False


def snap_labels(grid: Grid, form: FormSpec, index: FormIndex) -> Grid:
    """`grid` with recognised label cells that nearly match a form label replaced by
    it (those matched only approximately keeping the label as read, `_approximate_labels`),
    and heading words whose diacritics were misread respelled (a money scale's opening
    bracket read as a letter given back, `_bracket_mended`)."""
    choices = _choices(form)
    phrases = _phrases(form)
    near = _one_letter_off(phrases)
    sheets = []
    for sheet in grid.sheets:
        cells = dict(sheet.cells)
        for key, cell in sheet.cells.items():
            snapped = _snap(cell, choices, index)
            if snapped is not None:
                cells[key] = snapped
            elif cell.confidence is not None and isinstance(cell.value, str) and any(c.isalpha() for c in cell.text):
                text = _respell(_bracket_mended(cell.text), phrases, near)
                if text != cell.text:
                    cells[key] = replace(cell, value=text, text=text)
        cells.update(_approximate_labels(sheet.cells, cells, choices, index))
        sheets.append(Sheet(sheet.name, cells, sheet.merged, sheet.is_active, sheet.is_hidden, sheet.notes))
    return replace(grid, sheets=tuple(sheets))


def _lookalike_key(key: str) -> str:
    """A `_label_key` with letters OCR takes for one another folded alike ('rnất' and
    'mất', 'Sạo' and 'Gạo')."""
    for pair, one in _LOOKALIKE_PAIRS:
        key = key.replace(pair, one)
    return key.translate(_LOOKALIKE_LETTERS)


def _approximate_labels(
    read: Mapping[tuple[int, int], Cell],
    cells: Mapping[tuple[int, int], Cell],
    choices: list[tuple[str, str, str]],
    index: FormIndex,
) -> dict[tuple[int, int], Cell]:
    """Recognised label cells (`read`: as recognised; `cells`: after the close tier)
    that match no indicator but are clearly closest to one (`APPROXIMATE_RATIO`,
    `APPROXIMATE_MARGIN` over every other indicator and the total, OCR's look-alike
    letters folded): each given that indicator's label, with the label as read kept
    as its only alternative (its figures are flagged). Only in the column most of the
    page's matched labels are in (any, when none is matched), left of a figure of its
    row, and for an indicator no other cell of the page matches or is closest to (each
    indicator once a table)."""
    matched: dict[tuple[int, int], str | None] = {}  # label cells -> indicator code (None: the total)
    for key, cell in cells.items():
        if isinstance(cell.value, str) and cell.text.strip():
            got = index.match_indicator(cell.text)
            if got is not None:
                matched[key] = None if got is TOTAL else got[0]
    columns = [c for (_, c), code in matched.items() if code is not None]
    label_col = max(set(columns), key=columns.count) if columns else None
    used = {code for code in matched.values() if code is not None}
    last_figure: dict[int, int] = {}  # row -> the column of its last figure (labels are left of figures)
    for (r, c), cell in cells.items():
        if c != label_col and any(ch.isdigit() for ch in cell.text):
            last_figure[r] = max(last_figure.get(r, c), c)
    found: dict[tuple[int, int], str] = {}
    for key, cell in cells.items():
        r, c = key
        if key in matched or c >= last_figure.get(r, 0) or (label_col is not None and c != label_col):
            continue
        if cell.confidence is None or not isinstance(cell.value, str):
            continue
        code = _closest(cell.text, choices)
        if code is None and label_col is not None:
            code = _placed(cell.text, r, {k: v for k, v in matched.items() if k[1] == label_col}, used, choices, index)
        if code is not None and code != _TOTAL_CODE:
            found[key] = code
    taken = Counter(found.values())
    labels = {code: label for code, label, _ in choices}
    out = {}
    for key, code in found.items():
        if code in used or taken[code] > 1:
            continue
        cell = read[key]  # the label as recognised, before any respelling
        out[key] = replace(cell, value=labels[code], text=labels[code], alternatives=(cell.text,))
    return out


def _similarities(text: str, choices: list[tuple[str, str, str]]) -> dict[str, float]:
    """Code -> the best similarity of `text` to its label or aliases (the letters in
    common over the longer's length), OCR's look-alike letters folded and the words
    most of the form's labels share ('hỗ trợ') left out (empty when `text` has fewer
    than 5 letters left)."""
    common = _common_words(tuple(choices))
    folded = _without(_lookalike_key(_label_key(text)), common)
    if sum(ch.isalpha() for ch in folded) < 5:
        return {}
    best: dict[str, float] = {}
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(folded)
    for code, _, variant in choices:
        key = _without(_lookalike_key(variant), common)
        matcher.set_seq1(key)
        # the letters in common over the longer of the two: a long alias sharing a few
        # scattered letters with a short label is not close to it
        common_letters = sum(block.size for block in matcher.get_matching_blocks())
        best[code] = max(best.get(code, 0.0), common_letters / max(len(folded), len(key), 1))
    return best


@functools.lru_cache(maxsize=16)
def _common_words(choices: tuple[tuple[str, str, str], ...]) -> frozenset[str]:
    """The folded words a third or more of the form's indicators (three at least) are
    labelled with: they tell no indicator from another."""
    codes: dict[str, set[str]] = {}
    for code, _, variant in choices:
        if code != _TOTAL_CODE:
            for word in _lookalike_key(variant).split():
                codes.setdefault(word, set()).add(code)
    n = len({code for code, _, _ in choices if code != _TOTAL_CODE})
    return frozenset(w for w, cs in codes.items() if len(cs) >= max(3, n / 3))


def _without(key: str, words: frozenset[str]) -> str:
    return " ".join(w for w in key.split() if w not in words)


def heading_similarities(text: str, index: FormIndex) -> dict[str, float]:
    """Measure code -> the similarity of a recognised heading (its asides in brackets
    left out) to the measure's label or aliases, all folded without diacritics,
    spaces or OCR's look-alike letters ('Sốhộ _ đăng ký' is 'Số hộ đăng ký')."""
    folded = _heading_key(text)
    if sum(ch.isalpha() for ch in folded) < 5:
        return {}
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(folded)
    best: dict[str, float] = {}
    for m in index.form.measures:
        for variant in (m.label, *m.aliases):
            matcher.set_seq1(_heading_key(variant))
            best[m.code] = max(best.get(m.code, 0.0), matcher.ratio())
    return best


def _heading_key(text: str) -> str:
    text = re.sub(r"\([^()]*\)?|\[[^\[\]]*\]?", " ", text)
    return "".join(ch for ch in _lookalike_key(_label_key(text)) if ch.isalnum())


def _placed(
    text: str,
    r: int,
    matched: Mapping[tuple[int, int], str | None],
    used: set[str],
    choices: list[tuple[str, str, str]],
    index: FormIndex,
) -> str | None:
    """The indicator a label garbled beyond `_closest` ('Gạc ri đá' for 'Gạo cứu đói')
    is placed by its row: below the table's first matched row, among the indicators
    the form lists between the matched rows above and below (`matched`: label cells of
    the label column -> code, None for the total), the one clearly closest
    (`PLACED_RATIO`, `PLACED_MARGIN` over the others placed there and the total, and
    no closer to an indicator no row names elsewhere); None when two could be it."""
    above = [(rr, code) for (rr, _), code in matched.items() if rr < r]
    below = [(rr, code) for (rr, _), code in matched.items() if rr > r]
    if not above:
        return None
    prev = max(above, key=lambda t: t[0])[1]
    nxt = min(below, key=lambda t: t[0])[1] if below else None
    order = {ind.code: i for i, ind in enumerate(index.form.indicators)}
    if prev is None or prev not in order:
        return None  # below the total
    hi = order[nxt] if nxt is not None and nxt in order else len(order)
    placed = {code for code, i in order.items() if order[prev] < i < hi and code not in used}
    sims = _similarities(text, choices)
    if not placed or not sims:
        return None
    best = max(placed, key=lambda code: sims.get(code, 0.0))
    score = sims.get(best, 0.0)
    rivals = [v for code, v in sims.items() if code != best and (code in placed or code == _TOTAL_CODE)]
    elsewhere = [v for code, v in sims.items() if code not in placed and code not in used and code != _TOTAL_CODE]
    if score < PLACED_RATIO or (rivals and score - max(rivals) < PLACED_MARGIN):
        return None
    if elsewhere and max(elsewhere) > score:
        return None  # closer to an indicator listed elsewhere in the form: the order may not hold
    return best


def _closest(text: str, choices: list[tuple[str, str, str]]) -> str | None:
    """The code of the indicator (or the total) whose label or alias `text` is
    clearly closest to with OCR's look-alike letters folded, or None."""
    folded = _lookalike_key(_label_key(text))
    if sum(ch.isalpha() for ch in folded) < 5:
        return None
    best: dict[str, float] = {}
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(folded)
    for code, _, variant in choices:
        matcher.set_seq1(_lookalike_key(variant))
        best[code] = max(best.get(code, 0.0), matcher.ratio())
    ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] < APPROXIMATE_RATIO:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < APPROXIMATE_MARGIN:
        return None
    return ranked[0][0]


def _snap(cell: Cell, choices: list[tuple[str, str, str]], index: FormIndex) -> Cell | None:
    if cell.confidence is None or not isinstance(cell.value, str) or len(cell.text) < 5:
        return None
    if index.match_indicator(cell.text) is not None:
        return None
    folded = _label_key(cell.text)
    if sum(ch.isalpha() for ch in folded) < 5:
        return None
    best: dict[str, tuple[float, str]] = {}
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(folded)
    for code, label, variant in choices:
        matcher.set_seq1(variant)
        ratio = matcher.ratio()
        if ratio > best.get(code, (0.0, ""))[0]:
            best[code] = (ratio, label)
    ranked = sorted(best.values(), reverse=True)
    if not ranked or ranked[0][0] < MIN_RATIO:
        return None
    if len(ranked) > 1 and ranked[0][0] - ranked[1][0] < MIN_MARGIN:
        return None
    label = ranked[0][1]
    return replace(cell, value=label, text=label)
