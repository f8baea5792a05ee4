"""Tesseract 5 (tesserocr) on one cell at a time: labels and headers with the
Vietnamese model, figures again as one line with a digits-and-separators whitelist.

The models are the system's (Debian tesseract-ocr-vie/-eng/-osd); the engines are
made when a page's cells are read and reused for them, then ended (`end_engines`; the
orientation one as soon as it has answered).
Nothing is downloaded.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import tesserocr
from PIL import Image

from parsers.ocr import figures

_TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
DIGITS = "0123456789.,-"
_NUMERIC_RE = re.compile(r"^[\d.,\s\-–—]+$")


class OcrUnavailable(RuntimeError):
    """Tesseract or its Vietnamese model is not installed."""


def tessdata_dir() -> str:
    """Where the system's traineddata files are (TESSDATA_PREFIX first)."""
    env = os.environ.get("TESSDATA_PREFIX")
    for d in ((env,) if env else ()) + _TESSDATA_DIRS:
        if d and os.path.isfile(os.path.join(d, "vie.traineddata")):
            return d
    raise OcrUnavailable("vie.traineddata not found (install tesseract-ocr-vie)")


@dataclass(frozen=True)
class Reading:
    text: str
    confidence: float  # 0..1, the least sure word


_lock = threading.Lock()
_engines: dict[str, Any] = {}


def _engine(kind: str) -> Any:
    # "text" and "line" share one Vietnamese engine, "digits" and "raw" one digits
    # engine (the page segmentation set per read): each holds its model and buffers, ~13 MiB
    key = "vie" if kind in ("text", "line") else "digits" if kind in ("digits", "raw") else kind
    api = _engines.get(key)
    if api is None:
        path = tessdata_dir()
        if key == "vie":
            api = tesserocr.PyTessBaseAPI(path=path, lang="vie", psm=tesserocr.PSM.SINGLE_BLOCK)
        elif key == "digits":
            api = tesserocr.PyTessBaseAPI(path=path, lang="eng", psm=tesserocr.PSM.SINGLE_LINE)
            api.SetVariable("tessedit_char_whitelist", DIGITS)
        else:  # "osd"
            api = tesserocr.PyTessBaseAPI(path=path, lang="osd", psm=tesserocr.PSM.OSD_ONLY)
        api.SetVariable("user_defined_dpi", "300")
        _engines[key] = api
    if key == "vie":
        api.SetPageSegMode(tesserocr.PSM.SINGLE_BLOCK if kind == "text" else tesserocr.PSM.SINGLE_LINE)
    elif key == "digits":
        # "raw": the line as it is, no layout analysis (which drops a few clear figures,
        # a bold '88' read as nothing as a single line)
        api.SetPageSegMode(tesserocr.PSM.RAW_LINE if kind == "raw" else tesserocr.PSM.SINGLE_LINE)
    return api


def _prepare(gray: np.ndarray[Any, np.dtype[np.uint8]]) -> Image.Image:
    h = gray.shape[0]
    img = Image.fromarray(gray)
    if h < 45:  # small print (a photo): Tesseract wants ~30 px capitals
        img = img.resize((img.width * 2, img.height * 2), Image.Resampling.BICUBIC)
    framed = Image.new("L", (img.width + 24, img.height + 24), 255)
    framed.paste(img, (12, 12))
    return framed


def recognise(gray: np.ndarray[Any, np.dtype[np.uint8]], kind: str) -> Reading:
    """Text of one cell image (dark on white) with Tesseract's confidence."""
    with _lock:
        api = _engine(kind)
        api.SetImage(_prepare(gray))
        text = str(api.GetUTF8Text() or "").strip()
        confs = [c for c in api.AllWordConfidences() if c >= 0]
        api.Clear()
    conf = min(confs) / 100 if confs else 0.0
    return Reading(text, conf)


# a digit Tesseract weighed nearly as well as the one it read (its per-symbol choices,
# 0..100): '0' for the '9' of a last group read '900'
_CHOICE_MIN = 50.0
_CHOICES_MAX = 24  # other readings made at most
Symbol = tuple[str, list[tuple[float, str]]]  # a symbol as read, its other digits (confidence, digit)


def digit_choices(gray: np.ndarray[Any, np.dtype[np.uint8]]) -> list[str]:
    """Other readings of a figure cell by the digits model: its reading with one of
    its digits replaced by a digit Tesseract's per-symbol choices rated at least
    `_CHOICE_MIN` (LSTM choices), and, when the reading has no figure's shape, with
    one digit dropped or doubled (and then one replaced so), the likeliest first;
    only those with a figure's shape. Readings to choose from by a total or a check, never votes."""
    image = _prepare(gray)
    with _lock:
        api = _engine("digits")
        api.SetVariable("lstm_choice_mode", "2")
        api.SetImage(image)
        api.Recognize()
        symbols: list[Symbol] = []
        confs: list[float] = []
        level = tesserocr.RIL.SYMBOL
        try:
            iterator = api.GetIterator()
            for r in tesserocr.iterate_level(iterator, level) if iterator is not None else ():
                sym = str(r.GetUTF8Text(level) or "")
                choices = [(float(c.Confidence()), str(c.GetUTF8Text() or "")) for c in r.GetChoiceIterator()]
                others = [(conf, d) for conf, d in choices if d != sym and d.isdigit() and conf >= _CHOICE_MIN]
                symbols.append((sym, sorted(others, reverse=True)))
                confs.append(float(r.Confidence(level)))
        except RuntimeError:  # no text where a symbol was (tesserocr raises): no choices
            symbols, confs = [], []
        finally:
            api.SetVariable("lstm_choice_mode", "0")
            api.Clear()
    return choice_readings(symbols, confs)


_HOLE_MIN = 0.04  # of the glyph's box at least: a smaller hole is speckle inside a stroke
_ZERO_HOLE = 0.45  # of the glyph's ink height at least: a '0' encloses one tall hole (its
# strokes taken thick, at a light level, nearly half the glyph's height)
_HOLE_OFFCENTRE = 0.2  # of that height at most between the paper above and below its hole
_HOLE_SOLID = 0.85  # of its convex hull at least: a 0's hole is an oval, not an hourglass
# a blurred '0' is read '9', '6' or '8' (its hole is a 9's or 6's loop, a speck an 8's
# waist); an '8' whose waist is grey is read '3', '5', '6' or '9'
_READ_FOR = {"0": "689", "8": "3569"}


_GLYPH_SCALE = 2  # a photo's figure ~20 px high: enlarged, then smoothed (speckle in its strokes closed)
_GLYPH_SIGMA = 1.0  # pixels of the enlarged cell
_MARK_HEIGHT = 0.6  # of the tallest glyph at most: a group's mark, not a digit
_INK_LEVEL = 0.8  # of the way from the darkest to the paper: darker is ink
_MIN_CONTRAST = 48  # grey levels at least between the darkest and the paper
_RUN_TOGETHER = 1.5  # times the glyphs' median width at least: digits run together


def shape_readings(gray: np.ndarray[Any, np.dtype[np.uint8]], figure: str) -> list[str]:
    """`figure` (as read from the cell `gray`, dark on light) with the digits that the
    shapes of its glyphs say otherwise (`glyph_digit`: a blurred '0' read '9', '6' or
    '8'; an '8' read '3') put right, each alone then all together; only when the cell's
    ink parts apart into as many digit-high glyphs as `figure` has digits (glyphs run
    together or broken apart cannot be matched to its digits). Readings to choose from
    by a total or a check, never votes."""
    digits = [i for i, ch in enumerate(figure) if ch.isdigit()]
    if not digits:
        return []
    big = cv2.resize(gray, None, fx=_GLYPH_SCALE, fy=_GLYPH_SCALE, interpolation=cv2.INTER_CUBIC)
    big = np.asarray(cv2.GaussianBlur(big, (0, 0), _GLYPH_SIGMA), dtype=np.uint8)
    # light strokes taken whole: ink up to most of the way from the darkest to the paper
    # (Otsu's level opens a blurred zero's lighter side: a '9' or 'C')
    darkest, paper = np.percentile(big, 2), np.percentile(big, 95)
    if paper - darkest < _MIN_CONTRAST:
        return []
    ink = np.where(big < darkest + _INK_LEVEL * (paper - darkest), 255, 0).astype(np.uint8)
    dark = np.asarray(cv2.threshold(big, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1], dtype=np.uint8)
    columns = np.flatnonzero(ink.any(axis=0))
    if columns.size == 0:
        return []
    runs = [(int(r[0]), int(r[-1]) + 1) for r in np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)]
    height = [int(np.ptp(np.flatnonzero(ink[:, a:b].any(axis=1)))) + 1 for a, b in runs]
    tall = [r for r, h in zip(runs, height, strict=True) if h > _MARK_HEIGHT * max(height)]
    glyphs = []
    width = float(np.median([b - a for a, b in tall]))
    weight = ink.sum(axis=0)
    for a, b in tall:  # glyphs run together by the blur: parted at the faintest columns
        parts = max(1, round((b - a) / width)) if b - a > _RUN_TOGETHER * width else 1
        cuts = [a]
        for k in range(1, parts):
            at = a + (b - a) * k // parts
            near = max(cuts[-1] + 1, at - int(width / 4))
            cuts.append(near + int(np.argmin(weight[near : at + int(width / 4) + 1])))
        cuts.append(b)
        for left, right in itertools.pairwise(cuts):
            rows = np.flatnonzero(ink[:, left:right].any(axis=1))
            glyphs.append((left, right, int(rows[0]), int(rows[-1]) + 1))
    if len(glyphs) != len(digits):
        return []
    fixes: dict[int, str] = {}
    for i, (left, right, top, bottom) in zip(digits, glyphs, strict=True):
        box = (slice(max(0, top - 1), bottom + 1), slice(max(0, left - 1), right + 1))
        # a zero's hole seen with its light strokes whole; two holes of an 8 at Otsu's
        # level (taken lighter, a 5's or 3's open side closes)
        shaped = "0" if glyph_digit(ink[box]) == "0" else "8" if glyph_digit(dark[box]) == "8" else None
        if shaped is not None and shaped != figure[i] and figure[i] in _READ_FOR.get(shaped, ""):
            fixes[i] = shaped
    out = ["".join(fixes.get(j, ch) if j == i else ch for j, ch in enumerate(figure)) for i in fixes]
    if len(fixes) > 1:
        out.append("".join(fixes.get(j, ch) for j, ch in enumerate(figure)))
    return out


def glyph_digit(ink: np.ndarray[Any, np.dtype[np.uint8]]) -> str | None:
    """'0' for a glyph (its ink 255 on 0) whose ink encloses one tall, oval hole,
    centred ('0': a '9' or '6' has its loop at one end, a tail at the
    other), '8' for one enclosing two holes one above the other; None for any other
    shape."""
    if ink.size == 0:
        return None
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return None
    outer = [i for i, h in enumerate(hierarchy[0]) if h[3] < 0]
    body = max(outer, key=lambda i: cv2.contourArea(contours[i]))
    _, y, _, height = cv2.boundingRect(contours[body])
    least = _HOLE_MIN * ink.shape[0] * ink.shape[1]
    inner = [i for i, h in enumerate(hierarchy[0]) if h[3] == body and cv2.contourArea(contours[i]) >= least]
    holes = sorted((cv2.boundingRect(contours[i]) for i in inner), key=lambda b: b[1])
    if len(holes) == 1:
        _, hy, _, hh = holes[0]
        above, below = hy - y, y + height - (hy + hh)
        hull = cv2.contourArea(cv2.convexHull(contours[inner[0]]))
        whole = cv2.contourArea(contours[inner[0]]) >= _HOLE_SOLID * hull  # not an 8's two loops run together
        if whole and hh >= _ZERO_HOLE * height and abs(above - below) <= _HOLE_OFFCENTRE * height:
            return "0"
    if len(holes) == 2 and holes[0][1] + holes[0][3] <= holes[1][1] + 1:
        return "8"
    return None


def choice_readings(symbols: list[Symbol], confs: list[float]) -> list[str]:
    """`digit_choices` from a reading's symbols (each with the other digits its
    choices rated at least `_CHOICE_MIN`) and their confidences (0..100)."""
    digits = [i for i, (sym, _) in enumerate(symbols) if sym.isdigit()]
    # the reading, then (no figure's shape) it with one digit dropped (blurred zeros
    # read as one more symbol: '482.580.9000' for 482.580.000), the least sure
    # symbol's drop first
    bases: list[tuple[float, list[Symbol]]] = [(100.0, symbols)]
    if not figures.well_formed("".join(sym for sym, _ in symbols)):
        bases += sorted(((-confs[i], symbols[:i] + symbols[i + 1 :]) for i in digits), key=lambda b: -b[0])
        # and with one digit doubled (repeated zeros read as one: '2.050.260.00')
        bases += [(-100.0 - confs[i], symbols[: i + 1] + symbols[i:]) for i in digits]
    out: dict[str, float] = {}
    for rank, base in bases:
        text = "".join(sym for sym, _ in base)
        if base is not symbols:
            out.setdefault(text, rank)
        for i, (sym, others) in enumerate(base):
            for conf, d in others if sym.isdigit() else ():
                out.setdefault(text[:i] + d + text[i + 1 :], min(rank, conf) - 1)
    ranked = sorted(out, key=lambda t: -out[t])
    return [t for t in ranked if t != "".join(sym for sym, _ in symbols) and figures.well_formed(t)][:_CHOICES_MAX]


def end_engines() -> None:
    """End the engines this process holds (~25 MiB): a worker ends them after each page,
    so the next page is rendered and its table found without them (0.4 s to load again)."""
    with _lock:
        while _engines:
            _engines.popitem()[1].End()


def looks_numeric(text: str) -> bool:
    return bool(text) and _NUMERIC_RE.match(text) is not None and any(ch.isdigit() for ch in text)


def orientation(gray: np.ndarray[Any, np.dtype[np.uint8]]) -> tuple[int, float]:
    """(degrees to turn the page counter-clockwise so it reads upright, confidence)
    from Tesseract's orientation detection; (0, 0.0) when it cannot tell."""
    with _lock:
        api = _engine("osd")
        api.SetImage(Image.fromarray(gray))
        try:
            got = api.DetectOrientationScript()
        except RuntimeError:
            got = None
        api.End()  # the orientation model is ~45 MiB and few pages need it: not kept
        del _engines["osd"]
    if not got:
        return 0, 0.0
    return int(got.get("orient_deg", 0)), float(got.get("orient_conf", 0.0))
