"""Which indicator or measure of the form a label or header text names.

`FormIndex` holds the normalised keys of one `FormSpec` (built once per form); texts
are compared by `match_key` (Vietnamese normalised, punctuation as spaces), exactly,
by containment, or as the words of one label.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TypeVar

from parsers.model import FormSpec, IndicatorSpec, MeasureSpec
from parsers.vntext import normalize_label

_T = TypeVar("_T")

_NON_WORD_RE = re.compile(r"[\W_]+")
_PARENS_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_TOTAL_RE = re.compile(
    r"^(?:tổng cộng|tổng số|tổng|cộng|total|sum)(?: chung| toàn bộ| các| toàn)?"
    r"(?: [ivxlcdm]+| \d+| [a-zđ])*$"
)
_MATCH_CACHE_MAX = 20_000

EXACT, CONTAINS, CONTAINED = 3, 2, 1
TOTAL = ("__total__", 0)


def memo_short_texts(fn: Callable[[str], _T]) -> Callable[[str], _T]:
    """Memoise `fn` for texts of label size: the same header and label texts come back
    in every report of a campaign, and table finding asks about each many times over.
    Long texts are not kept, so a hostile sheet cannot fill the memory."""
    cached = functools.lru_cache(maxsize=8192)(fn)

    @functools.wraps(fn)
    def call(text: str) -> _T:
        return cached(text) if len(text) <= 300 else fn(text)

    return call


@memo_short_texts
def match_key(text: str) -> str:
    """The key two labels are compared by: normalize_label, then punctuation as spaces."""
    return " ".join(_NON_WORD_RE.sub(" ", normalize_label(text)).split())


@memo_short_texts
def key_variants(text: str) -> tuple[str, ...]:
    """The label's key, and its key with parenthesised asides removed
    ("Số tiền đã chi (đồng)" is "Số tiền đã chi")."""
    full = match_key(text)
    if "(" not in text and "[" not in text:
        return (full,) if full else ()
    bare = match_key(_PARENS_RE.sub(" ", text))
    if bare and bare != full:
        return (full, bare)
    return (full,) if full else ()


def _contains_words(haystack: str, needle: str) -> bool:
    return f" {needle} " in f" {haystack} "


# --------------------------------------------------------------------------- index


class FormIndex:
    """Normalised keys of one FormSpec, built once (cached per FormSpec)."""

    def __init__(self, form: FormSpec) -> None:
        self.form = form
        self.indicators: dict[str, IndicatorSpec] = {i.code: i for i in form.indicators}
        self.measures: dict[str, MeasureSpec] = {m.code: m for m in form.measures}
        self.ind_exact: dict[str, set[str]] = {}
        ind_keys: set[tuple[str, str]] = set()
        for ind in form.indicators:
            for text in (ind.label, *ind.aliases):
                for k in key_variants(text):
                    self.ind_exact.setdefault(k, set()).add(ind.code)
                    ind_keys.add((k, ind.code))
        self.ind_keys = tuple(sorted(ind_keys, key=lambda kc: (-len(kc[0]), kc[0], kc[1])))
        self.meas_exact: dict[str, set[str]] = {}
        meas_keys: set[tuple[str, str]] = set()
        for m in form.measures:
            for text in (m.label, *m.aliases):
                for k in key_variants(text):
                    self.meas_exact.setdefault(k, set()).add(m.code)
                    meas_keys.add((k, m.code))
        self.meas_keys = tuple(sorted(meas_keys, key=lambda kc: (-len(kc[0]), kc[0], kc[1])))
        self.codes: dict[str, str] = {i.code.strip().casefold(): i.code for i in form.indicators}
        self._ind_cache: dict[str, tuple[str, int] | None] = {}
        self._meas_cache: dict[str, tuple[str, int] | None] = {}
        self._containing_cache: dict[tuple[str, str | None], tuple[str, ...]] = {}

    # -- indicators

    def match_indicator(self, text: str) -> tuple[str, int] | None:
        """(code, quality) for a label cell, `TOTAL` for a total row, None otherwise."""
        got = self._ind_cache.get(text, False)
        if got is not False:
            return got  # type: ignore[return-value]
        got = self._match_indicator(text)
        if len(self._ind_cache) < _MATCH_CACHE_MAX:
            self._ind_cache[text] = got
        return got

    def _match_indicator(self, text: str) -> tuple[str, int] | None:
        variants = key_variants(text)
        if not variants:
            return None
        for v in variants:
            codes = self.ind_exact.get(v)
            if codes:
                return (next(iter(codes)), EXACT) if len(codes) == 1 else None
        if any(_TOTAL_RE.match(v) for v in variants):
            return TOTAL
        # The cell says more than a known label: the most specific (longest) key wins.
        for v in variants:
            hit = _longest_contained(v, self.ind_keys)
            if hit is not None:
                return (hit, CONTAINS) if hit else None
        # The cell is a shortened label: only when one indicator fits and it is not a
        # generic fragment ("Hỗ trợ người lao động" fits several: no match).
        for v in variants:
            if len(v) < 8 or " " not in v:
                continue
            hits = {code for key, code in self.ind_keys if len(key) > len(v) and _contains_words(key, v)}
            if len(hits) == 1:
                return (hits.pop(), CONTAINED)
            if hits:
                return None
        return None

    def match_code(self, text: str) -> str | None:
        return self.codes.get(text.strip().casefold())

    # -- measures

    def match_measure(self, text: str) -> tuple[str, int] | None:
        """(code, quality) for one header text: EXACT or CONTAINS, None if none/ambiguous."""
        got = self._meas_cache.get(text, False)
        if got is not False:
            return got  # type: ignore[return-value]
        got = None
        variants = key_variants(text)
        for v in variants:
            codes = self.meas_exact.get(v)
            if codes:
                got = (next(iter(codes)), EXACT) if len(codes) == 1 else None
                break
        else:
            for v in variants:
                hit = _longest_contained(v, self.meas_keys)
                if hit is not None:
                    got = (hit, CONTAINS) if hit else None
                    break
        if len(self._meas_cache) < _MATCH_CACHE_MAX:
            self._meas_cache[text] = got
        return got

    def measures_containing(self, text: str, kind: str | None = None) -> list[str]:
        """Measures (of `kind`, if given) one of whose labels holds the words of `text`
        in order: "Số đối tượng phê duyệt" fits "Số đối tượng được phê duyệt"."""
        got = self._containing_cache.get((text, kind))
        if got is None:
            got = self._measures_containing(text, kind)
            if len(self._containing_cache) < _MATCH_CACHE_MAX:
                self._containing_cache[(text, kind)] = got
        return list(got)

    def _measures_containing(self, text: str, kind: str | None) -> tuple[str, ...]:
        out: set[str] = set()
        for v in key_variants(text):
            if len(v) < 6:
                continue
            words = v.split()
            for key, code in self.meas_keys:
                if kind is not None and self.measures[code].kind != kind:
                    continue
                if words_in_order(words, key.split()):
                    out.add(code)
        return tuple(sorted(out))


def words_in_order(words: list[str], key_words: list[str]) -> bool:
    it = iter(key_words)
    return all(any(w == k for k in it) for w in words)


def _longest_contained(v: str, keys: tuple[tuple[str, str], ...]) -> str | None:
    """Code of the longest key contained (as whole words) in v; "" when the longest
    length is shared by different codes (ambiguous); None when nothing is contained."""
    padded = f" {v} "
    best_len, best_codes = 0, set()
    for key, code in keys:  # longest first
        if len(key) > len(v) or (best_len and len(key) < best_len):
            if best_len and len(key) < best_len:
                break
            continue
        if f" {key} " in padded:
            best_len = len(key)
            best_codes.add(code)
    if not best_codes:
        return None
    return best_codes.pop() if len(best_codes) == 1 else ""


def form_index(form: FormSpec) -> FormIndex:
    """The `FormIndex` of `form`, built once. The form object last asked for is known by
    identity: hashing a form (every indicator and measure) costs more than a lookup."""
    global _last_index
    last = _last_index  # (one read: another thread may replace it, never half of it)
    if last is not None and last[0] is form:
        return last[1]
    index = _form_index(form)
    _last_index = (form, index)
    return index


_last_index: tuple[FormSpec, FormIndex] | None = None


@functools.lru_cache(maxsize=16)
def _form_index(form: FormSpec) -> FormIndex:
    return FormIndex(form)
