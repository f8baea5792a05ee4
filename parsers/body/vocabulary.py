"""The words of one report form, as free text uses them.

Everything here is derived from the `FormSpec` (its indicator and measure labels and
aliases), so another form brings its own words: which word sequences name an
indicator, which words tell one measure from the others of its kind ("phê duyệt"
against "đề nghị" and "chi trả"), which words say money rather than a count, and
which count measure a money measure goes with (the money "đã chi trả" after the
count "đã chi trả").
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass

from parsers.model import FormSpec
from parsers.report import match_key

_PARENS_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
# Abbreviations people type in a body for words of the form.
ABBREVIATIONS = {"kp": ("kinh", "phí"), "đn": ("đề", "nghị"), "pd": ("phê", "duyệt")}
# Words that join a label to its figure and say nothing about which figure it is.
FUNCTION_WORDS = frozenset(
    {"là", "có", "với", "gồm", "và", "của", "cho", "trong", "đó", "đạt", "được", "đã", "số", "lượng", "tương", "ứng"}
)
_STRIPPED_VARIANT_MIN_WORDS = 3


def words_of(text: str) -> tuple[str, ...]:
    """The compared words of a text: `match_key`, abbreviations written out."""
    out: list[str] = []
    for word in match_key(text).split():
        out.extend(ABBREVIATIONS.get(word, (word,)))
    return tuple(out)


@dataclass(frozen=True)
class Vocabulary:
    indicator_keys: tuple[tuple[tuple[str, ...], str], ...]  # (words, code), longest first
    measure_kind: dict[str, str]
    measure_words: dict[str, frozenset[str]]  # every word of a measure's names
    distinct: dict[str, frozenset[str]]  # words no other measure of the same kind has
    kind_markers: dict[str, frozenset[str]]  # "money"/"count": words only that kind has
    name_keys: dict[tuple[str, ...], str]  # a measure's whole name -> code
    pair: dict[str, str]  # measure -> the measure of the other kind it goes with
    explained: frozenset[str]  # words a label of figures may hold

    def indicator_named(self, words: tuple[str, ...]) -> str | None:
        """The indicator these words are a whole name of ("hộ kinh doanh"), if any."""
        return next((code for key, code in self.indicator_keys if key == words), None)

    def measures(self, kind: str | None) -> list[str]:
        return [c for c, k in self.measure_kind.items() if kind is None or k == kind]


@functools.lru_cache(maxsize=16)
def vocabulary(form: FormSpec) -> Vocabulary:
    keys: dict[tuple[str, ...], set[str]] = {}
    labels = [words_of(i.label) for i in form.indicators]
    prefixes = _common_prefixes(labels)
    for ind in form.indicators:
        for text in (ind.label, *ind.aliases):
            for variant in {words_of(text), words_of(_PARENS_RE.sub(" ", text))}:
                if not variant:
                    continue
                keys.setdefault(variant, set()).add(ind.code)
                for prefix in prefixes:
                    rest = variant[len(prefix) :]
                    if variant[: len(prefix)] == prefix and len(rest) >= _STRIPPED_VARIANT_MIN_WORDS:
                        keys.setdefault(rest, set()).add(ind.code)
    indicator_keys = tuple(
        sorted(((k, next(iter(codes))) for k, codes in keys.items() if len(codes) == 1), key=lambda kc: -len(kc[0]))
    )
    kind: dict[str, str] = {m.code: m.kind for m in form.measures}
    names: dict[str, list[tuple[str, ...]]] = {
        m.code: [words_of(_PARENS_RE.sub(" ", t)) for t in (m.label, *m.aliases)] for m in form.measures
    }
    mwords = {code: frozenset(w for name in ns for w in name) for code, ns in names.items()}
    distinct: dict[str, frozenset[str]] = {}
    for code in mwords:
        others = frozenset().union(*(mwords[o] for o in mwords if o != code and kind[o] == kind[code]))
        distinct[code] = mwords[code] - others - FUNCTION_WORDS
    by_kind = {k: frozenset().union(*(mwords[c] for c in mwords if kind[c] == k)) for k in ("money", "count")}
    markers = {"money": by_kind["money"] - by_kind["count"], "count": by_kind["count"] - by_kind["money"]}
    pair: dict[str, str] = {}
    for code in mwords:
        overlap = {o: len(distinct[code] & distinct[o]) for o in mwords if kind[o] != kind[code]}
        best = max(overlap.values(), default=0)
        winners = [o for o, n in overlap.items() if n == best]
        if best > 0 and len(winners) == 1:
            pair[code] = winners[0]
    name_keys = {name: code for code, ns in names.items() for name in ns if name}
    explained = frozenset().union(*mwords.values()) | FUNCTION_WORDS
    return Vocabulary(indicator_keys, kind, mwords, distinct, markers, name_keys, pair, explained)


def _common_prefixes(labels: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Word prefixes that begin several indicator labels ("hỗ trợ", "hỗ trợ người lao
    động"): a label is also named without them."""
    counts: Counter[tuple[str, ...]] = Counter()
    for words in labels:
        for n in range(1, min(len(words), 5)):
            counts[words[:n]] += 1
    needed = max(2, len(labels) // 4)
    return sorted((p for p, n in counts.items() if n >= needed), key=len, reverse=True)
