"""Figures typed as words in an email: "Hộ kinh doanh: đề nghị 1.331 hộ, được duyệt
1.286 hộ", "đã chi 55 hộ = 165 tr.đ".

A line is cut into clauses at punctuation; each figure (a number with the unit written
after it: "người", "hộ", "triệu đồng", "tr.đ", ...) takes the words of its clause as
its label; the indicator is the one named last before it on the line (or, for a line
that only names measures, the one the lines just above were about). Which measure a
label names is decided by the words that tell the form's measures apart
(`parsers.body.vocabulary`); a money figure with no such word is the money of the
count stated just before it ("đã chi 55 hộ = 165 tr.đ"). Numbers that are dates,
times, phone numbers, percentages or document numbers ("68/NQ-CP", "NQ 68") are
never figures. A figure whose placement rests on a guess is kept and flagged
(`uncertain_figure`); a number that names no measure of the form is left alone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from parsers.body.vocabulary import Vocabulary, words_of
from parsers.model import FormSpec, Problem
from parsers.numbers import MONEY_SCALES, FigureError, is_count_unit, parse_as_of_date, parse_figure, to_dong
from parsers.vntext import nfc, strip_diacritics, strip_numbering, unify_d

_TOKEN_RE = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)*)"
    r"|(?P<word>[^\W\d_]\w*(?:-\w+)*)"
    r"|(?P<stop>[,;:()\[\]=+]|\.(?=\s|$)|(?<=\s)[-–—](?=\s)|[!?])"
)
# Words before a number that make it a reference, a date or a time, never a figure
# (of a name of several words, its last word: "nghị quyết 68" -> "quyết").
_REFERENCE_WORDS = frozenset(
    words_of(w)[-1]
    for w in (
        "ngày",
        "tháng",
        "năm",
        "lúc",
        "giờ",
        "NQ",
        "QĐ",
        "NĐ",
        "TT",
        "CV",
        "KH",
        "BC",
        "điều",
        "khoản",
        "mục",
        "điểm",
        "chương",
        "phần",
        "trang",
        "biểu",
        "mẫu",
        "lần",
        "đợt",
        "quyết định",
        "nghị quyết",
        "nghị định",
        "thông tư",
        "công văn",
        "phụ lục",
        "phòng",
        "tổ",
        "khu",
        "thôn",
        "xóm",
        "bản",
        "đường",
        "phố",
        "km",
        "stt",
        "covid",
        "f",
        "tp",
        "quận",
        "phường",
        "xã",
    )
)
_UNIT_NAMES = sorted(
    [(strip_diacritics(unify_d(n).casefold()), "money", f) for f, names in MONEY_SCALES.items() for n in names],
    key=lambda u: -len(u[0]),
)
_UNIT_SPAN = 24
_PHONE_RE = re.compile(r"0\d{2,4}(?:[. ]?\d{2,4}){2,3}")


@dataclass
class _Figure:
    start: int
    end: int
    number: str
    unit: str  # as written ("" when none)
    kind: str | None  # "money" / "count" from the unit, None when no unit
    scale: int | None


@dataclass
class _Item:
    kind: str  # "word", "figure", "mention", "stop"
    start: int
    text: str = ""
    words: tuple[str, ...] = ()
    code: str | None = None
    figure: _Figure | None = None


@dataclass
class Placed:
    """One figure read from the text, placed in the form (or not: measure None)."""

    indicator: str
    measure: str | None
    value: Decimal | None
    text: str  # the figure as written, with its unit
    label: str  # the words it was read with, as written
    row: str  # the indicator as the text names it
    reason: str | None  # why it is uncertain; None when certain


@dataclass
class FreeText:
    placed: list[Placed] = field(default_factory=list)
    as_of: dt.date | None = None


# ---- tokens ---------------------------------------------------------------------------


def _unit_after(line: str, pos: int) -> tuple[str, str | None, int | None, int]:
    """The unit written right after a number at `pos`: (as written, kind, scale, end)."""
    rest = line[pos : pos + _UNIT_SPAN]
    lead = len(rest) - len(rest.lstrip(" \u00a0"))
    folded = strip_diacritics(unify_d(nfc(rest[lead:])).casefold())
    best: tuple[str, str | None, int | None, int] = ("", None, None, pos)
    for name, kind, scale in _UNIT_NAMES:
        if folded.startswith(name) and not folded[len(name) : len(name) + 1].isalnum():
            end = pos + lead + len(name)
            best = (line[pos + lead : end], kind, scale, end)
            break
    # a count unit of one to three words ("người", "trường hợp", "hộ kinh doanh")
    words = re.match(r"[^\W\d_]+(?:[ /][^\W\d_]+){0,2}", rest[lead:])
    if words:
        parts = re.split(r"(?<=[^\W\d_])(?=[ /])", words.group())
        for n in range(len(parts), 0, -1):
            text = "".join(parts[:n])
            if is_count_unit(text) and pos + lead + len(text) > best[3]:
                return text, "count", None, pos + lead + len(text)
    return best


def _is_reference(line: str, start: int, end: int, prev_word: str | None) -> bool:
    """A number that is part of a date, time, code, phone number or document number."""
    before = line[max(0, start - 2) : start]
    after = line[end : end + 2]
    if before[-1:].isalpha() or (before[-1:] in ("-", "/", "#") and before[:1].isalnum()):
        return True
    if after[:1] in ("/", "%", "‰") or (after[:1] in ("-", ":") and after[1:2].isalnum()):
        return True
    if after[:1] in ("h", "g") and line[end + 1 : end + 3].isdigit():  # 8h30
        return True
    if _PHONE_RE.fullmatch(line[start:end]):
        return True
    return prev_word is not None and prev_word in _REFERENCE_WORDS


def _items(line: str, vocab: Vocabulary) -> list[_Item]:
    """The line as words, figures, indicator mentions and clause stops, in order."""
    raw: list[_Item] = []
    pos = 0
    prev_word: str | None = None
    numbered = _numbered_mentions(line, vocab)
    while True:
        m = _TOKEN_RE.search(line, pos)
        if m is None:
            break
        span = next((s for s in numbered if s[0] <= m.start() < s[1]), None)
        if span is not None:  # "Trẻ từ 1 đến 5 tuổi": its numbers name the row, they are no figures
            raw.append(_Item("mention", span[0], line[span[0] : span[1]], code=span[2]))
            prev_word = None
            pos = span[1]
            continue
        if m.lastgroup == "num":
            start, end = m.span()
            if _is_reference(line, start, end, prev_word):
                raw.append(_Item("word", start, m.group(), ("#",)))
                pos = end
                continue
            unit, kind, scale, uend = _unit_after(line, end)
            fig = _Figure(start, uend, m.group(), unit, kind, scale)
            raw.append(_Item("figure", start, line[start:uend], figure=fig))
            named = vocab.indicator_named(words_of(unit)) if kind == "count" else None
            if named is not None:  # "55 hộ kinh doanh": the unit names the indicator too
                raw.append(_Item("mention", uend - len(unit), unit, code=named))
            prev_word = None
            pos = max(uend, end)
            continue
        if m.lastgroup == "word":
            words = words_of(m.group())
            raw.append(_Item("word", m.start(), m.group(), words))
            prev_word = words[-1] if words else None
        else:
            raw.append(_Item("stop", m.start(), m.group()))
            prev_word = None
        pos = m.end()
    return _with_mentions(raw, vocab)


def _numbered_mentions(line: str, vocab: Vocabulary) -> list[tuple[int, int, str]]:
    """(start, end, indicator) of each name of an indicator with a number in it ("Trẻ từ 1
    đến 5 tuổi", "Người từ 18 tuổi trở lên"): read as words, its numbers would be
    figures and the name never found. Longest names first, never overlapping."""
    keys = [(key, code) for key, code in vocab.indicator_keys if any(w[:1].isdigit() for w in key)]
    if not keys:
        return []
    flat = [
        (w, m.start(), m.end())
        for m in _TOKEN_RE.finditer(line)
        if m.lastgroup in ("num", "word")
        for w in words_of(m.group())
    ]
    found: list[tuple[int, int, str]] = []
    used: set[int] = set()
    for key, code in keys:
        n = len(key)
        for k in range(len(flat) - n + 1):
            if used.isdisjoint(range(k, k + n)) and tuple(w for w, _, _ in flat[k : k + n]) == key:
                used.update(range(k, k + n))
                found.append((flat[k][1], flat[k + n - 1][2], code))
    return sorted(found)


def _with_mentions(items: list[_Item], vocab: Vocabulary) -> list[_Item]:
    """Replace each run of words (and the stops inside it) that names an indicator by
    one mention item; longest names first, never overlapping."""
    flat: list[tuple[str, int]] = []  # (word, item index), stops skipped inside names
    for i, item in enumerate(items):
        if item.kind == "word":
            flat.extend((w, i) for w in item.words)
    taken: dict[int, tuple[int, str]] = {}  # first item index -> (last item index, code)
    used: set[int] = set()
    words = [w for w, _ in flat]
    starts: dict[str, list[int]] = {}  # word -> its positions in `words`, in order
    for k, w in enumerate(words):
        starts.setdefault(w, []).append(k)
    for key, code in vocab.indicator_keys:
        n = len(key)
        for k in starts.get(key[0], ()) if key else range(len(flat) + 1):
            if k + n > len(flat) or tuple(words[k : k + n]) != key:
                continue
            first, last = flat[k][1], flat[k + n - 1][1]
            span = set(range(first, last + 1))
            if span & used or any(items[j].kind in ("figure", "mention") for j in span):
                continue
            used |= span
            taken[first] = (last, code)
    out: list[_Item] = []
    i = 0
    while i < len(items):
        if i in taken:
            last, code = taken[i]
            out.append(_Item("mention", items[i].start, " ".join(x.text for x in items[i : last + 1]), code=code))
            i = last + 1
        else:
            out.append(items[i])
            i += 1
    return out


# ---- placing figures ------------------------------------------------------------------


def _clauses(items: list[_Item]) -> list[list[_Item]]:
    out: list[list[_Item]] = [[]]
    for item in items:
        if item.kind == "stop":
            if out[-1]:
                out[-1].append(item)  # the stop closes its clause (":" matters)
                out.append([])
        else:
            out[-1].append(item)
    return [c for c in out if c]


def _labels(clauses: list[list[_Item]]) -> Iterator[tuple[_Figure, list[_Item], int]]:
    """Each figure with the items of its label and the index of its clause."""
    for ci, clause in enumerate(clauses):
        body = [x for x in clause if x.kind != "stop"]
        figures = [i for i, x in enumerate(body) if x.kind == "figure"]
        if not figures:
            continue
        words_first = any(x.kind == "word" for x in body[: figures[0]])
        for n, fi in enumerate(figures):
            if words_first:
                lo = figures[n - 1] + 1 if n else 0
                label = body[lo:fi]
            else:
                hi = figures[n + 1] if n + 1 < len(figures) else len(body)
                label = body[fi + 1 : hi]
            fig = body[fi].figure
            assert fig is not None
            if n == 0 and not any(x.kind == "word" for x in label):
                label = label + _colon_label(clauses, ci)
            yield fig, label, ci


def _colon_label(clauses: list[list[_Item]], ci: int) -> list[_Item]:
    """ "Số hộ được phê duyệt: 1.158 hộ": the label before the colon, when that clause
    holds no figure."""
    if ci == 0:
        return []
    prev = clauses[ci - 1]
    if prev[-1].kind != "stop" or prev[-1].text != ":" or any(x.kind == "figure" for x in prev):
        return []
    return [x for x in prev if x.kind != "stop"]


def read_free_text(lines: list[str], form: FormSpec, vocab: Vocabulary) -> FreeText:
    """Every figure the lines state for an indicator of `form`, placed or flagged."""
    out = FreeText()
    context: tuple[str, str] | None = None  # (indicator, as named) the lines above are about
    opens_list = False
    for raw_line in lines:
        line = nfc(raw_line)
        if not line.strip():
            if not opens_list:
                context = None  # a paragraph ends what it was about, unless it opened a list
            continue
        opens_list = line.rstrip().endswith(":")
        text = strip_numbering(line)
        if out.as_of is None and "đến" in unify_d(text).casefold():
            out.as_of = parse_as_of_date(text)
        items = _items(text, vocab)
        if all(x.kind in ("figure", "stop") for x in items):
            continue  # a number alone on its line is a table cell, not a statement
        mentions = [x for x in items if x.kind == "mention"]
        clauses = _clauses(items)
        figures = list(_labels(clauses))
        if not figures:
            # a line about one indicator sets the context for the measure-only lines below
            if mentions:
                codes = {x.code for x in mentions}
                context = (mentions[0].code or "", mentions[0].text) if len(codes) == 1 else None
            continue
        line_context = context if not mentions and _only_measure_words(items, vocab) else None
        last: tuple[str, str, int] | None = None  # (indicator, measure, clause) of the figure just before
        for fig, label, ci in figures:
            indicator = _indicator_for(items, fig, clauses[ci]) or line_context
            if indicator is None:
                continue
            before = (last[1], last[2]) if last is not None and last[0] == indicator[0] else None
            placed = _place(fig, label, indicator, form, vocab, before, ci)
            if placed is None:
                continue
            out.placed.append(placed)
            if placed.measure is not None:
                last = (indicator[0], placed.measure, ci)
            context = indicator
    return out


def _indicator_for(items: list[_Item], fig: _Figure, clause: list[_Item]) -> tuple[str, str] | None:
    """(indicator, as named) named last before the figure on its line, else named after
    it in its own clause."""
    before = [x for x in items if x.kind == "mention" and x.start < fig.start]
    after = [x for x in clause if x.kind == "mention" and x.start > fig.start]
    found = before[-1] if before else (after[0] if after else None)
    return (found.code or "", found.text) if found is not None else None


def _only_measure_words(items: list[_Item], vocab: Vocabulary) -> bool:
    """Whether every word of the line is a word of the form's measures (or a unit):
    "- Số hộ được phê duyệt: 1.158 hộ." may take the indicator of the lines above."""
    return all(w in vocab.explained or is_count_unit(w) for x in items if x.kind == "word" for w in x.words)


def _place(
    fig: _Figure,
    label: list[_Item],
    named: tuple[str, str],
    form: FormSpec,
    vocab: Vocabulary,
    last: tuple[str, int] | None,
    clause: int,
) -> Placed | None:
    indicator, row = named
    words = [w for x in label if x.kind == "word" for w in x.words if w != "#"]
    label_text = " ".join(x.text for x in label if x.kind == "word")
    shown = fig.number + (f" {fig.unit}" if fig.unit else "")
    kind = fig.kind
    reason: str | None = None
    money_words = set(words) & vocab.kind_markers["money"]
    if kind is None:
        kind = "money" if money_words else "count"
    elif kind == "count" and money_words:
        reason = "ambiguous_label"
    measure, why = _measure(words, kind, vocab, last, clause)
    if measure is None:
        if why == "unrelated":
            return None
        return Placed(indicator, None, None, shown, label_text, row, why)
    reason = reason or why
    spec = form.measure(measure)
    try:
        number = parse_figure(fig.number, kind)  # type: ignore[arg-type]
    except FigureError:
        return None
    if number is None:
        return None
    if _ambiguous_grouping(fig.number, kind):
        reason = reason or "ambiguous_locale"
    if kind == "money":
        scale = fig.scale
        if scale is None:
            scale = spec.default_scale or 1
            reason = reason or "scale_not_stated"
        number = to_dong(number, scale)
    elif number != number.to_integral_value():
        reason = reason or "not_whole"
    return Placed(indicator, measure, number, shown, label_text, row, reason)


def _measure(
    words: list[str], kind: str, vocab: Vocabulary, last: tuple[str, int] | None, clause: int
) -> tuple[str | None, str | None]:
    """(measure, why it is uncertain) for a figure of `kind` labelled by `words`;
    (None, "unrelated") for a number the form does not ask for, (None, "no_measure")
    for one whose column cannot be told."""
    exact = vocab.name_keys.get(tuple(words))
    if exact is not None and vocab.measure_kind[exact] == kind:
        return exact, None
    hits = {m: len(set(words) & vocab.distinct[m]) for m in vocab.measures(kind)}
    best = max(hits.values(), default=0)
    extra = {w for w in words if w not in vocab.explained and not is_count_unit(w)}
    if best > 0:
        winners = [m for m, n in hits.items() if n == best]
        if len(winners) > 1:
            return None, "no_measure"
        others = [m for m, n in hits.items() if 0 < n < best]
        if others:
            return winners[0], "ambiguous_label"
        return winners[0], ("extra_words" if extra else None)
    if extra:
        return None, "unrelated"
    # no word tells: the money of the count just stated ("đã chi 55 hộ = 165 tr.đ")
    if last is not None:
        paired = vocab.pair.get(last[0])
        if paired is not None and vocab.measure_kind[paired] == kind:
            return paired, (None if last[1] >= clause - 1 else "from_context")
    candidates = vocab.measures(kind)
    if len(candidates) == 1:
        return candidates[0], None
    return None, "no_measure"


def _ambiguous_grouping(number: str, kind: str) -> bool:
    """ "1,500" of money: 1.5 (vi) or 1500 (en)? A count cannot be 1.5."""
    return kind == "money" and re.fullmatch(r"[1-9]\d{0,2},\d{3}", number) is not None


def problems_of(placed: list[Placed], filename: str, form: FormSpec) -> list[Problem]:
    labels = {i.code: i.label for i in form.indicators}
    out = []
    for p in placed:
        if p.reason is None:
            continue
        column = form.measure(p.measure).label if p.measure else ""
        out.append(
            Problem(
                "uncertain_figure",
                {
                    "file": filename,
                    "row": p.row or labels.get(p.indicator, p.indicator),
                    "column": column,
                    "text": p.text,
                    "reason": p.reason,
                    "indicator_code": p.indicator,
                    "measure_code": p.measure or "",
                },
            )
        )
    return out
