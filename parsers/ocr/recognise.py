"""Tesseract 5 (tesserocr) on one cell at a time: labels and headers with the
Vietnamese model, figures again as one line with a digits-and-separators whitelist.

The models are the system's (Debian tesseract-ocr-vie/-eng/-osd); the engines are
made when a page's cells are read and reused for them, then ended (`end_engines`; the
orientation one as soon as it has answered).
Nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Any

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
    with _lock:
        api = _engine("digits")
        api.SetVariable("lstm_choice_mode", "2")
        api.SetImage(_prepare(gray))
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
