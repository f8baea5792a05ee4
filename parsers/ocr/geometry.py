"""Page geometry with OpenCV: coloured ink removed, lighting flattened, skew and
perspective undone, and the table's grid of ruled cells found.

Every function takes and returns numpy arrays; nothing here reads or writes a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

Gray = np.ndarray[Any, np.dtype[np.uint8]]

_INK_SATURATION = 70  # above: coloured ink (red stamp, blue signature), not black print
_FAINT_RULE = 230  # a flattened photo's pixel darker than this may be a faint grey rule
_MIN_SIDE = 0.02  # of the page's longer side: a table's outline has no shorter side
_FAINT_THICK = 7  # pixels: grey this thick both ways is no faint rule (a shadow's edge, a blot)
_FAINT_SHARE = 0.3  # of a table's thin rules unseen by Otsu's threshold: its rules are faint
_INK_VALUE = 70  # below: dark enough to be print whatever its colour (black over red)
_LEANS = (-8.0, -6.0, -4.0, -2.0, 2.0, 4.0, 6.0, 8.0)  # degrees a photo's rules down may lean (keystone)
_MAX_SKEW_DEG = 12.0
_OTHER_CORNER = 0.01  # of a table's width a corner found another way must lie off to be another outline
_FEW_CELLS = 12  # cells: an outline holding fewer may be a photo's table found in part (its faint rules)
_MORE_CELLS = 1.5  # times the cells of a table found one way that another way's must hold to be taken
_ORIENTATION_TILES = 6  # tiles a side `runs_sideways` measures the page's banding in
_REMAP_COLUMNS = 256
_RED_HUE = 10  # OpenCV hue (0..180) this close to red: a seal's ink
_PAPER_HUE = 35  # OpenCV hue: above red and up to this, the orange-yellow of paper under warm light
_INK_CHROMA = 32  # levels between a pixel's brightest and darkest channel: less is print tinted by the light
_RULE_FIT_TOLERANCE = 2.0  # pixels off a rule's fitted curve: a digit or a speck touching it
_SIDE_FIT = 3.0  # pixels off a table side's fitted line: still on it
_SIDE_SLACK = 3.0  # pixels a fitted side may lie inside the hull's and still be taken
_CUT_CORNER = 16.0  # pixels the hull's side lies inside its fitted rule at one end: a corner cut off
_SHADOW = 165  # paper around a seal darker than this (its median): a photo's deep shadow
_STAMP_LIGHT = 215  # a coloured pixel this light after flattening: the stamp, not print under it
_RIDGE_SIDE = 4  # pixels across a thin rule to the paper on either side
_RIDGE = 20  # grey levels a thin rule's pixel lies below the paper on both sides
_RIDGE_SHARE = 0.6  # of the pixels along the rule that do (a pixel's wobble allowed)
_RIDGE_MIN = 0.06  # of the table's width and height: fewer faint rules' pixels are none
_RIDGE_RUN = 0.04  # of the table's longer side: the length along a rule that share is taken over
_PIECE = 0.01  # of a table's width (height): a rule's piece across (down) is no shorter
_PIECE_GAP = 0.006  # of it: a gap along a rule's pieces the threshold left
_PIECES = 0.04  # of it: a rule's pieces (gaps closed) run at least this long
_PIECE_ENDS = 0.25  # of a rule down between two cells: its pieces reach into both ends


def drop_coloured_ink(rgb: np.ndarray[Any, np.dtype[np.uint8]]) -> Gray:
    """Grey page with saturated, not dark ink (a red stamp, a blue signature) made
    paper-white; dark print, also where it lies under a stamp, stays.

    Where the ink is red (a seal; and a pixel or two around it, its blurred edge) the
    page is seen through its brightest channel: the stamp is bright in red, black print
    under it stays dark in every channel (a faded stamp over digits in a photo); what
    stays bright there after the light is flattened is the stamp, made white (as grey
    as the paper around it when that lies in a photo's deep shadow). Red
    regions reaching the image's edge (a wooden desk) are background, made white.

    In two steps so a page can be decoded a band of rows at a time: `ink_planes` works
    pixel by pixel, `finish_ink` on the whole page's planes."""
    return finish_ink(list(ink_planes(rgb)))


def ink_planes(rgb: np.ndarray[Any, np.dtype[np.uint8]]) -> tuple[Gray, Gray, Gray]:
    """Per pixel: the grey page with coloured ink made white, the brightest channel,
    and the red-ink mask (1 where red), each one byte a pixel."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    out = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    sat, value, hue = hsv[:, :, 1], hsv[:, :, 2], hsv[:, :, 0]
    coloured = (sat > _INK_SATURATION) & (value > _INK_VALUE)
    # Black print under a warm light (a photo, in the shadow) takes the light's tint: dark,
    # its saturation is high, but its channels differ little (the chroma) and its hue is
    # the paper's. A seal's red and a signature's blue stay ink however faint.
    tinted = (hue > _RED_HUE) & (hue <= _PAPER_HUE) & (sat.astype(np.uint16) * value <= _INK_CHROMA * 255)
    coloured &= ~tinted
    out[coloured] = 255
    red = (coloured & ((hue <= _RED_HUE) | (hue >= 180 - _RED_HUE))).astype(np.uint8)  # a seal is red ink
    return out, np.ascontiguousarray(hsv[:, :, 2]), red


def finish_ink(planes: list[Gray]) -> Gray:
    """The whole page's step of `drop_coloured_ink`, from its `ink_planes` (the list is
    emptied: each plane is freed once used)."""
    out, value, red = planes
    planes.clear()
    if not red.any():
        return out
    desk = _touching_border(red)
    cv2.subtract(red, desk, dst=red)  # a wooden desk around the page: no ink (both 0 or 1)
    del desk
    edge = cv2.dilate(red, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))).view(np.bool_)  # (0 or 1)
    del red
    out[edge] = value[edge]
    del value
    at = np.flatnonzero(edge)  # the page's step works on the edge's pixels only (memory)
    del edge
    paper = paper_light(out)
    if not at.size:
        return out
    flat_out, flat_paper = out.reshape(-1), paper.reshape(-1)
    # (as `cv2.divide` of the whole page would, pixel for pixel: columns of the same size)
    light = cv2.divide(flat_out[at].reshape(-1, 1), flat_paper[at].reshape(-1, 1), scale=255).reshape(-1)
    at = at[light > _STAMP_LIGHT]
    del light
    # a seal in a deep shadow (a photo) made as light as the paper around it: white
    # strokes there would lift the light `flatten_light` finds around them, the paper
    # would turn grey and the seal's blurred outlines become ink. Elsewhere, white.
    if not at.size:
        return out
    if float(np.median(flat_paper[at])) < _SHADOW:
        flat_out[at] = flat_paper[at]
    else:
        flat_out[at] = 255
    return out


class ColouredInkDropped:
    """`drop_coloured_ink` in its two steps, for pages decoded a band of rows at a time
    (`parsers.ocr.pages.ToGray`)."""

    reach = 2  # rows: the brightest channel is used only within the red ink's 5 x 5 edge
    band = staticmethod(ink_planes)
    page = staticmethod(finish_ink)


def _touching_border(mask: Gray) -> Gray:
    """Pixels of the regions of `mask` (found at a quarter size) that reach the image's
    edge, 1 (else 0): what lies around the page, not ink on it."""
    h, w = mask.shape
    small = cv2.resize(mask, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_NEAREST)
    _, labels = cv2.connectedComponents(small, connectivity=8)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    edge_labels = edge_labels[edge_labels > 0]
    if edge_labels.size == 0:
        return np.zeros((h, w), dtype=np.uint8)
    around = np.isin(labels, edge_labels).astype(np.uint8)
    return np.asarray(cv2.resize(around, (w, h), interpolation=cv2.INTER_NEAREST), dtype=np.uint8)


def flatten_light(gray: Gray) -> Gray:
    """Divide by the paper's own brightness (a large closing), so shadows, a dark
    background and uneven scans become white paper with dark print."""
    background = paper_light(gray)
    flat = cv2.divide(gray, background, scale=255)
    return np.asarray(flat, dtype=np.uint8)


def paper_light(gray: Gray) -> Gray:
    """The paper's own brightness around each pixel (a large closing, blurred; at
    least 1), as `flatten_light` divides by it."""
    h, w = gray.shape
    k = max(15, (min(h, w) // 40) | 1)
    small = cv2.resize(gray, (w // 4, h // 4), interpolation=cv2.INTER_AREA) if min(h, w) > 800 else gray
    ks = max(7, (k // (4 if small is not gray else 1)) | 1)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (ks, ks)))
    background = cv2.GaussianBlur(background, (0, 0), ks / 3)
    if small is not gray:
        background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.asarray(np.maximum(background, 1, out=background), dtype=np.uint8)


def binarize(gray: Gray) -> Gray:
    """Ink 255 on 0 (Otsu on the flattened page)."""
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return np.asarray(ink, dtype=np.uint8)


def rotate90(gray: Gray, degrees: int) -> Gray:
    """Turn the page by a multiple of 90° counter-clockwise."""
    turns = (degrees // 90) % 4
    return np.ascontiguousarray(np.rot90(gray, turns)) if turns else gray


def runs_sideways(ink: Gray) -> bool:
    """Whether the lines of text run down the page (a page turned a quarter): text
    lines make the ink profile across them strongly banded, along them flat.

    Measured tile by tile (`_ORIENTATION_TILES` a side) and summed: a photo's desk or
    shadow left as specks over one part of the image bands the whole image's profile
    along its edge, whichever way the text runs, but within a tile specks are banded
    neither way, and the tiles holding text decide."""
    k = max(3, ink.shape[1] // 60)
    across = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (k, 1)))  # smear along rows
    down = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (1, k)))  # smear along columns
    h, w = ink.shape
    n = _ORIENTATION_TILES
    rows = cols = 0.0
    for i in range(n):
        for j in range(n):
            ys, xs = slice(i * h // n, (i + 1) * h // n), slice(j * w // n, (j + 1) * w // n)
            if ys.stop > ys.start and xs.stop > xs.start:
                rows += float(across[ys, xs].mean(axis=1).std())
                cols += float(down[ys, xs].mean(axis=0).std())
    return cols > 1.5 * rows


def skew_angle(ink: Gray) -> float:
    """The page's skew in degrees from its long near-horizontal rules and text lines
    (median of Hough segments); 0.0 when none are found."""
    h, w = ink.shape
    scale = 1000 / max(h, w)
    small = cv2.resize(ink, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else ink
    _, small = cv2.threshold(small, 60, 255, cv2.THRESH_BINARY)
    lines = cv2.HoughLinesP(small, 1, math.pi / 720, threshold=80, minLineLength=small.shape[1] // 6, maxLineGap=8)
    if lines is None:
        return 0.0
    angles: list[float] = []
    weights: list[float] = []
    for x1, y1, x2, y2 in np.asarray(lines).reshape(-1, 4):
        dx, dy = float(x2 - x1), float(y2 - y1)
        if dx == 0:
            continue
        a = math.degrees(math.atan2(dy, dx))
        if abs(a) <= _MAX_SKEW_DEG:
            angles.append(a)
            weights.append(math.hypot(dx, dy))
    if not angles:
        return 0.0
    order = np.argsort(angles)
    cum = np.cumsum(np.asarray(weights)[order])
    mid = int(np.searchsorted(cum, cum[-1] / 2))
    return float(np.asarray(angles)[order][mid])


def rotate(gray: Gray, degrees: float) -> Gray:
    """Rotate about the centre by `degrees` (counter-clockwise positive in image
    coordinates, as `skew_angle` measures), keeping the whole page, white outside."""
    if abs(degrees) < 0.05:
        return gray
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(gray, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=255)
    return np.asarray(out, dtype=np.uint8)


def line_masks(ink: Gray, min_len: int, min_height: int | None = None) -> tuple[Gray, Gray]:
    """(horizontal, vertical) rules: ink that stays after opening with a long thin kernel
    (`min_len` wide for rules across, `min_height` tall for rules down)."""
    return rules_across(ink, min_len), rules_down(ink, min_height or min_len)


def rules_across(ink: Gray, min_len: int) -> Gray:
    """`line_masks`'s rules across: opened, then closed in place over small gaps along
    the rule (noise, a stamp's white-out)."""
    horiz = np.asarray(
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (min_len, 1))), dtype=np.uint8
    )
    cv2.morphologyEx(horiz, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (min_len // 2, 1)), dst=horiz)
    return horiz


def rules_down(ink: Gray, min_height: int) -> Gray:
    """`line_masks`'s rules down (as `rules_across`)."""
    vert = np.asarray(
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, min_height))),
        dtype=np.uint8,
    )
    cv2.morphologyEx(vert, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, min_height // 2)), dst=vert)
    return vert


def _ink_count(mask: Gray, axis: int) -> np.ndarray[Any, np.dtype[np.int32]]:
    """Pixels of a 0/255 mask inked along `axis` (as `(mask > 0).sum(axis)`, without a
    copy of the mask)."""
    sums = cv2.reduce(mask, axis, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
    return np.asarray(sums, dtype=np.int32).ravel() // 255


def table_quad(ink: Gray, gray: Gray | None = None) -> np.ndarray[Any, np.dtype[np.float32]] | None:
    """The four corners (tl, tr, br, bl) of the largest ruled table on the page, or
    None when there are no rules forming one. `gray` (the flattened page `ink` was
    made from), when given, is looked at again for a photo's faint rules.

    The rules are looked for as printed and widened across their direction, the
    second way's table taken only when it has clearly more cells (`_MORE_CELLS`
    times): a photo's rules bent by curl or perspective may be found as printed in
    part only, the outline then running across the table. Only when neither finds a
    table, or only an outline of fewer than `_FEW_CELLS` cells (a photo's table whose
    rules print shows in part: its header's, a corner out of the shadow), is the
    grey page looked at for faint rules (a third way, its cost and memory spent on
    the photos that need it)."""
    found = [_table_quad(ink, leaning=False)]
    # a small table's thin rules still leaning a few degrees (a photo's perspective)
    # break into runs shorter than a rule: widened across their direction, they are not
    found.append(_table_quad(ink, leaning=True))
    if gray is not None and all(f is None or _misshapen(f[0]) or f[1] < _FEW_CELLS for f in found):
        # a blurred photo's rules are thin grey lines Otsu's threshold leaves in dashes,
        # and under a strong keystone the rules lean several degrees: every pixel
        # darker than the paper's light grey is taken, and rules are looked for
        # leaning either way
        faint = _darker_than(gray, _FAINT_RULE)
        # what is grey and thick (a sharp shadow's edge the flattened light left as a
        # broad grey stripe, a blot) is no rule, and would join the page's edge or a
        # shadow to the table: only thin grey runs are kept
        thick = cv2.morphologyEx(faint, cv2.MORPH_OPEN, np.ones((_FAINT_THICK, _FAINT_THICK), dtype=np.uint8))
        cv2.subtract(faint, cv2.dilate(thick, np.ones((5, 5), dtype=np.uint8)), dst=faint)
        del thick
        found.append(_table_quad(faint, leaning=True, leans=_LEANS))
        del faint
    best: tuple[np.ndarray[Any, np.dtype[np.float32]], int] | None = None
    for table in found:
        if table is not None and (best is None or _clearly_more(table, best)):
            best = table
    return None if best is None else best[0]


def _misshapen(quad: np.ndarray[Any, np.dtype[np.float32]]) -> bool:
    """Whether an outline is no table's as a photo shows it, the page's skew undone:
    a side down leaning further than a keystone leans a table's rules (`_LEANS`), or
    the sides across apart in direction by as much (the outline run across the
    table from a corner of one cell to another's)."""
    tl, tr, br, bl = (quad[i].astype(np.float64) for i in range(4))
    limit = max(abs(a) for a in _LEANS) + 2.0
    downs = [math.degrees(math.atan2(float(b[0] - a[0]), float(b[1] - a[1]))) for a, b in ((tl, bl), (tr, br))]
    acrosses = [math.degrees(math.atan2(float(b[1] - a[1]), float(b[0] - a[0]))) for a, b in ((tl, tr), (bl, br))]
    return max(abs(d) for d in downs) > limit or abs(acrosses[0] - acrosses[1]) > limit


def _clearly_more(
    table: tuple[np.ndarray[Any, np.dtype[np.float32]], int], than: tuple[np.ndarray[Any, np.dtype[np.float32]], int]
) -> bool:
    """Whether `table` (corners, cells) is clearly more of the page's table than
    `than`: `_MORE_CELLS` times its cells, and a corner elsewhere (by more than
    `_OTHER_CORNER` of its width). The same outline seen again with more cells is
    no better: the corners of the rules as printed are kept."""
    quad, cells = table
    other, other_cells = than
    width = float(np.linalg.norm(other[1] - other[0]))
    moved = float(np.abs(quad - other).max())
    return cells >= _MORE_CELLS * other_cells and moved > _OTHER_CORNER * width


def _darker_than(gray: Gray, level: int) -> Gray:
    """255 where `gray` is below `level`, else 0."""
    return np.asarray(cv2.threshold(gray, level - 1, 255, cv2.THRESH_BINARY_INV)[1], dtype=np.uint8)


def _widened(ink: Gray, size: tuple[int, int]) -> Gray:
    return np.asarray(cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, size)), dtype=np.uint8)


def _rules_down_leaning(ink: Gray, min_height: int, leans: tuple[float, ...]) -> Gray:
    """`rules_down`, also of rules leaning by each of `leans` degrees: the page sheared
    so they stand upright, their rules found and sheared back."""
    h, w = ink.shape
    out = rules_down(ink, min_height)
    for degrees in leans:
        t = math.tan(math.radians(degrees))
        m = np.array([[1.0, -t, max(0.0, t * h)], [0.0, 1.0, 0.0]], dtype=np.float64)
        # (widened in place, and each page-sized array let go as soon as it is used: a
        # 300 dpi page's are 9 MiB each, and the last lean's kept through the next one
        # were a scan's peak memory)
        sheared = np.asarray(
            cv2.warpAffine(ink, m, (int(w + abs(t) * h) + 1, h), flags=cv2.INTER_NEAREST), dtype=np.uint8
        )
        cv2.dilate(sheared, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 1)), dst=sheared)
        found = rules_down(sheared, min_height)
        del sheared
        back = cv2.warpAffine(found, m, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
        del found
        cv2.bitwise_or(out, back, dst=out)
        del back
    return out


def _table_quad(
    ink: Gray, leaning: bool, leans: tuple[float, ...] = ()
) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int] | None:
    """The table's corners (`table_quad`) and how many cells its outline holds."""
    h, w = ink.shape
    min_len = max(20, w // 40)
    if leaning and leans:
        # (rules across leaning: the page turned a quarter, its rules down found, turned back)
        horiz = np.ascontiguousarray(_rules_down_leaning(np.ascontiguousarray(ink.T), min_len, leans).T)
        vert = _rules_down_leaning(ink, min_len, leans)
    elif leaning:
        horiz = rules_across(_widened(ink, (1, 3)), min_len)
        vert = rules_down(_widened(ink, (3, 1)), min_len)
    else:
        horiz, vert = line_masks(ink, min_len)
    grid = cv2.bitwise_or(horiz, vert, dst=horiz)  # (in place: a page's arrays are 9 MiB each)
    del horiz, vert
    cv2.dilate(grid, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)), dst=grid)
    contours, hierarchy = cv2.findContours(grid, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours or hierarchy is None:
        return None
    links = np.asarray(hierarchy).reshape(-1, 4)
    min_hole = h * w * 0.0002
    holes: dict[int, int] = {}
    for i, (_nxt, _prev, _child, par) in enumerate(links):
        if par >= 0 and cv2.contourArea(contours[i]) > min_hole:
            holes[int(par)] = holes.get(int(par), 0) + 1
    # the table: the outline with the most cells inside (a page's own edge has one hole)
    ranked = [i for i in holes if holes[i] >= 4]
    if not ranked:
        return None
    best_i = max(ranked, key=lambda i: (holes[i], cv2.contourArea(contours[i])))
    best = contours[best_i]
    x, y, bw, bh = cv2.boundingRect(best)
    if bw < w * 0.25 or bh < h * 0.02:
        return None
    hull = cv2.convexHull(best)
    perimeter = cv2.arcLength(hull, True)
    pts = hull.reshape(-1, 2).astype(np.float32)
    for eps in (0.01, 0.02, 0.03, 0.05, 0.08):  # the hull as four corners when it is one
        approx = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(approx) == 4:
            pts = approx.reshape(-1, 2).astype(np.float32)
            break
    s = pts.sum(axis=1)
    d = pts[:, 0] - pts[:, 1]
    quad = np.array([pts[np.argmin(s)], pts[np.argmax(d)], pts[np.argmax(s)], pts[np.argmin(d)]], dtype=np.float32)
    quad = _sides_fitted(quad, best, (x, y, bw, bh))
    sides = np.linalg.norm(quad - np.roll(quad, 1, axis=0), axis=1)
    if float(sides.min()) < _MIN_SIDE * max(h, w):
        return None  # a corner on another (a sliver of specks in a photo's desk): no table's outline
    return quad, holes[best_i]


def _sides_fitted(
    quad: np.ndarray[Any, np.dtype[np.float32]], outline: np.ndarray[Any, np.dtype[Any]], box: tuple[int, int, int, int]
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The table's corners where its four outer rules meet: each side a line fitted to
    the outline's outermost points (`_outer_line`), so a corner a stamp or a shadow
    cut off the outline (the hull then runs across the last row) is where the rules
    would meet. A side is moved only outwards, and only where the hull's side is well
    inside the rule at one end (a cut corner): a fitted line inside the hull's side (a
    row or column rule) is never taken, and a side the hull already follows is kept
    as it is."""
    x, y, bw, bh = box
    mask = np.zeros((bh, bw), dtype=np.uint8)
    cv2.drawContours(mask, [outline - np.array([x, y])], -1, 255, thickness=cv2.FILLED)
    filled_cols = mask.max(axis=0) > 0
    filled_rows = mask.max(axis=1) > 0
    cols = np.flatnonzero(filled_cols)
    rows = np.flatnonzero(filled_rows)
    if cols.size < 10 or rows.size < 10:
        return quad
    top = (mask[:, cols] > 0).argmax(axis=0)
    bottom = bh - 1 - (mask[::-1, cols] > 0).argmax(axis=0)
    top_line, bottom_line = _outer_line(cols + x, top + y), _outer_line(cols + x, bottom + y)
    # the sides down fitted between the rules across only: a seal's ring hanging below
    # the table's corner is no part of its side
    if top_line is not None and bottom_line is not None:
        lo = max(top_line[0] * t + top_line[1] for t in (x, x + bw)) - y
        hi = min(bottom_line[0] * t + bottom_line[1] for t in (x, x + bw)) - y
        inside = rows[(rows > lo) & (rows < hi)]
        if inside.size >= rows.size // 2:
            rows = inside
    left = (mask[rows] > 0).argmax(axis=1)
    right = bw - 1 - (mask[rows, ::-1] > 0).argmax(axis=1)
    points = ((cols + x, top + y), (cols + x, bottom + y), (rows + y, left + x), (rows + y, right + x))
    lines = (top_line, bottom_line, _outer_line(*points[2]), _outer_line(*points[3]))
    tl, tr, br, bl = (quad[i].astype(np.float64) for i in range(4))
    # (side's line, its corners in the hull's quad, the coordinate along it, outwards sign)
    sides = ((0, tl, tr, 0, -1.0), (1, bl, br, 0, 1.0), (2, tl, bl, 1, -1.0), (3, tr, br, 1, 1.0))
    fitted: list[tuple[float, float]] = []
    for i, a, b, along, sign in sides:
        line = lines[i]
        old = _line_through(a, b, along)
        if line is None or old is None:
            fitted.append(old if old is not None else (0.0, float(a[1 - along])))
            continue
        moved = [sign * (line[0] * t + line[1] - (old[0] * t + old[1])) for t in (a[along], b[along])]
        cut = min(moved) >= -_SIDE_SLACK and max(moved) >= _CUT_CORNER
        # a seal's ring or a blot touching the table at one corner: the hull bulges out
        # there, the rule is where the hull's side is at the other end
        bulge = min(moved) <= -_CUT_CORNER and abs(max(moved)) <= _CUT_CORNER / 2
        # the hull's side a chord from a speck at one end to a cut corner at the other:
        # the rule runs along the outline, the chord hardly touches it
        chord = max(moved) >= _CUT_CORNER and _support(old, *points[i]) < 0.5 * _support(line, *points[i])
        fitted.append(line if cut or bulge or chord else old)
    corners = [
        _meet(fitted[0], fitted[2]),
        _meet(fitted[0], fitted[3]),
        _meet(fitted[1], fitted[3]),
        _meet(fitted[1], fitted[2]),
    ]
    if any(c is None for c in corners):
        return quad
    out = np.array(corners, dtype=np.float32)
    if np.abs(out - quad).max() > max(bw, bh) * 0.25:
        return quad  # (never seen: lines meeting far off the outline)
    return out


def _support(line: tuple[float, float], t: np.ndarray[Any, np.dtype[Any]], v: np.ndarray[Any, np.dtype[Any]]) -> int:
    """How many of the points (`t`, `v`) lie within `_SIDE_FIT` pixels of `line` (v = k t + c)."""
    k, c = line
    return int((np.abs(k * t.astype(np.float64) + c - v) <= _SIDE_FIT).sum())


def _line_through(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], along: int) -> tuple[float, float] | None:
    """The line through `a` and `b` as (slope, offset) of the other coordinate over
    coordinate `along` (0: y over x, 1: x over y)."""
    da = float(b[along] - a[along])
    if abs(da) < 1:
        return None
    k = float(b[1 - along] - a[1 - along]) / da
    return k, float(a[1 - along]) - k * float(a[along])


def _outer_line(t: np.ndarray[Any, np.dtype[Any]], v: np.ndarray[Any, np.dtype[Any]]) -> tuple[float, float] | None:
    """The straight line (v = k t + c) most of the points (`t`, `v`) lie on, within
    `_SIDE_FIT` pixels: pairs of points drawn evenly along `t` are tried, the line with
    most points near it refitted by least squares on them. None when fewer than half
    the points lie on any (an outline with no straight side)."""
    t = t.astype(np.float64)
    v = v.astype(np.float64)
    picks = np.linspace(0, t.size - 1, num=min(16, t.size)).astype(int)
    best: tuple[int, float, float] | None = None
    for i in picks:
        for j in picks:
            if t[j] - t[i] < (t[-1] - t[0]) * 0.2:
                continue
            k = (v[j] - v[i]) / (t[j] - t[i])
            c = v[i] - k * t[i]
            n = int((np.abs(k * t + c - v) <= _SIDE_FIT).sum())
            if best is None or n > best[0]:
                best = (n, k, c)
    if best is None or best[0] < t.size * 0.5:
        return None
    _, k, c = best
    near = np.abs(k * t + c - v) <= _SIDE_FIT
    k, c = np.polyfit(t[near], v[near], 1)
    return float(k), float(c)


def _meet(horizontal: tuple[float, float], vertical: tuple[float, float]) -> tuple[float, float] | None:
    """Where y = a x + b meets x = c y + d."""
    a, b = horizontal
    c, d = vertical
    den = 1.0 - a * c
    if abs(den) < 1e-6:
        return None
    yy = (a * d + b) / den
    return c * yy + d, yy


def warp_quad(gray: Gray, quad: np.ndarray[Any, np.dtype[np.float32]], pad: int, pad_bottom: int = 0) -> Gray:
    """The quadrilateral `quad` straightened to a rectangle, `pad` pixels of margin kept
    (`pad_bottom` below: a last row whose rule a stamp or the photo's edge hid)."""
    tl, tr, br, bl = quad
    width = int(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = int(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    dst = np.array([[pad, pad], [pad + width, pad], [pad + width, pad + height], [pad, pad + height]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(quad, dst)
    out = cv2.warpPerspective(
        gray, m, (width + 2 * pad, height + pad + max(pad, pad_bottom)), flags=cv2.INTER_LINEAR, borderValue=255
    )
    return np.asarray(out, dtype=np.uint8)


@dataclass(frozen=True)
class GridCell:
    """One ruled cell (merged cells are one): grid row/column span and pixel box."""

    row: int
    col: int
    row_end: int
    col_end: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1


def _positions(profile: np.ndarray[Any, np.dtype[Any]], threshold: float, min_gap: int) -> list[int]:
    """Centres of the runs of `profile` above `threshold`, runs closer than `min_gap` joined."""
    above = np.flatnonzero(profile > threshold)
    if above.size == 0:
        return []
    out: list[int] = []
    start = prev = int(above[0])
    for v in above[1:]:
        v = int(v)
        if v - prev > min_gap:
            out.append((start + prev) // 2)
            start = v
        prev = v
    out.append((start + prev) // 2)
    return out


def _coverage(mask: Gray, horizontal: bool, at: int, lo: int, hi: int, band: int) -> float:
    if hi <= lo:
        return 0.0
    if horizontal:
        strip = mask[max(0, at - band) : at + band + 1, lo:hi]
        return float((strip.max(axis=0) > 0).mean()) if strip.size else 0.0
    strip = mask[lo:hi, max(0, at - band) : at + band + 1]
    return float((strip.max(axis=1) > 0).mean()) if strip.size else 0.0


def _runs(on: np.ndarray[Any, np.dtype[np.bool_]], gap: int) -> list[tuple[int, int]]:
    """(first, last) index of the runs of `on`, runs apart by at most `gap` joined."""
    idx = np.flatnonzero(on)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def _is_rule_down(vert: Gray, x: int, ys: list[int], band: int) -> bool:
    """Whether the ink found down the page at `x` is a column rule: a straight line that
    runs from one rule across to another (its own pieces, broken by a stamp, joined).
    A stamp's ring leaves short near-upright arcs that pass the line detection too, but
    an arc starts and ends between the rules across, where its ink bends away."""
    if len(ys) < 2:
        return True
    column = vert[:, max(0, x - band) : x + band + 1].max(axis=1) > 0
    runs = _runs(column, 3 * band)
    if not runs:
        return False
    top, bottom = runs[0][0], runs[-1][1]
    if bottom - top >= 0.6 * (ys[-1] - ys[0]):
        return True  # down most of the table: no stamp's arc is that long and straight
    tol = max(3 * band, 12)
    row = min(b - a for a, b in zip(ys, ys[1:], strict=False))

    def at_rule(y: int) -> bool:
        return any(abs(y - r) <= tol for r in ys)

    long_enough = bottom - top >= 2 * row  # through the table: may end on a rule the page lost
    top_ok = at_rule(top) or (top < ys[0] and long_enough)
    bottom_ok = at_rule(bottom) or (bottom > ys[-1] and long_enough)
    return top_ok and bottom_ok and bottom - top >= row - 2 * tol


def _open(rules: Gray, pieces: Gray, horizontal: bool, at: int, lo: int, hi: int, reach: int, band: int) -> bool:
    """Whether no rule runs between two cells at `at` (from `lo` to `hi`): neither the
    rules found (within `reach` of the line) nor a rule's pieces (within `2 * band`)
    cover half of it; a rule down's pieces also reach into both its ends
    (`_PIECE_ENDS` of it: a rule down meets the rules across; the letters of a
    heading merged across two columns, whose stems are as tall as a rule down's
    pieces, stay clear of them)."""
    if _coverage(rules, horizontal, at, lo, hi, reach) >= 0.5:
        return False
    if _coverage(pieces, horizontal, at, lo, hi, 2 * band) < 0.5:
        return True
    if horizontal:
        return False
    end = max(1, int((hi - lo) * _PIECE_ENDS))
    return (
        _coverage(pieces, horizontal, at, lo, lo + end, 2 * band) == 0
        or _coverage(pieces, horizontal, at, hi - end, hi, 2 * band) == 0
    )


def _rule_pieces(ink: Gray, length: int, across: bool) -> Gray:
    """A rule's pieces where the threshold broke it (a photo's faint grey rule, a
    pixel's lean): thin straight runs of ink at least `_PIECE` of the table's `length`
    long (a pixel of lean either way allowed), gaps up to `_PIECE_GAP` of it along
    the rule closed, kept where they run at least `_PIECES` of it."""

    def kernel(n: int, thick: int = 1) -> Gray:
        return np.asarray(cv2.getStructuringElement(cv2.MORPH_RECT, (n, thick) if across else (thick, n)), np.uint8)

    widened = cv2.dilate(ink, kernel(1, 3))
    pieces = cv2.morphologyEx(widened, cv2.MORPH_OPEN, kernel(max(12, int(length * _PIECE))))
    del widened
    cv2.morphologyEx(pieces, cv2.MORPH_CLOSE, kernel(max(4, int(length * _PIECE_GAP))), dst=pieces)
    cv2.morphologyEx(pieces, cv2.MORPH_OPEN, kernel(max(20, int(length * _PIECES))), dst=pieces)
    return np.asarray(cv2.bitwise_and(pieces, ink), dtype=np.uint8)


def find_cells(ink: Gray) -> tuple[list[GridCell], Gray]:
    """The ruled cells of a straightened table image (ink 255), merged cells joined,
    and the mask of the rules found (to be cleared before recognition); ([], mask)
    when there is no grid."""
    h, w = ink.shape
    horiz, vert = line_masks(ink, max(40, w // 15), max(20, h // 20, w // 60))
    band = 4
    ys = _positions(_ink_count(horiz, 1), w * 0.08, band * 2)
    xs = _positions(_ink_count(vert, 0), h * 0.2, band * 2)
    xs = [x for x in xs if _is_rule_down(vert, x, ys, band)]
    rules = np.zeros_like(ink)
    if len(ys) < 2 or len(xs) < 3:
        return [], rules
    # the column rules' own ends close a row whose rule across is missing (only the
    # rules kept: a stamp's arcs hanging below the table close no row)
    kept = np.zeros(w, dtype=bool)
    for x in xs:
        kept[max(0, x - band) : x + band + 1] = True
    down = np.flatnonzero((vert[:, kept] > 0).sum(axis=1) >= max(2, (len(xs) - 1) // 2) * 2)
    if down.size:
        if down[-1] - ys[-1] > 20:
            ys.append(int(down[-1]))
        if ys[0] - down[0] > 20:
            ys.insert(0, int(down[0]))
    if len(ys) < 3:
        return [], rules
    # and the rules across close a column whose rule down is missing (faint in a photo's light)
    on_rows = np.zeros(h, dtype=bool)
    for y in ys:
        on_rows[max(0, y - band) : y + band + 1] = True
    across = np.flatnonzero((horiz[on_rows] > 0).sum(axis=0) >= max(2, (len(ys) - 1) // 2) * 2)
    if across.size:
        if across[-1] - xs[-1] > 40:
            xs.append(int(across[-1]))
        if xs[0] - across[0] > 40:
            xs.insert(0, int(across[0]))
    for y in ys:  # only the rules at the grid's lines: a digit's stroke is no rule
        rules[max(0, y - 2 * band) : y + 2 * band + 1, :] |= horiz[max(0, y - 2 * band) : y + 2 * band + 1, :]
    for x in xs:
        rules[:, max(0, x - 2 * band) : x + 2 * band + 1] |= vert[:, max(0, x - 2 * band) : x + 2 * band + 1]
    nr, nc = len(ys) - 1, len(xs) - 1
    reach = max(band, w // 100)  # a rule still bent a little (curl) is found near its line
    # a photo's rule between two cells is often found only in pieces (its faint grey
    # left in dashes by the threshold, leaning a pixel or two): the pieces too tell
    # the cells apart, looked for on the rule's line only (a merged cell's text lies
    # off it, such as a bold heading's letters' tops)
    pieces = (_rule_pieces(ink, w, True), _rule_pieces(ink, h, False))
    parent = list(range(nr * nc))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for i in range(nr):
        for j in range(nc):
            m = 6
            if j + 1 < nc and _open(vert, pieces[1], False, xs[j + 1], ys[i] + m, ys[i + 1] - m, reach, band):
                union(i * nc + j, i * nc + j + 1)
            if i + 1 < nr and _open(horiz, pieces[0], True, ys[i + 1], xs[j] + m, xs[j + 1] - m, reach, band):
                union(i * nc + j, (i + 1) * nc + j)
    groups: dict[int, list[tuple[int, int]]] = {}
    for i in range(nr):
        for j in range(nc):
            groups.setdefault(find(i * nc + j), []).append((i, j))
    cells: list[GridCell] = []
    for members in groups.values():
        r0 = min(i for i, _ in members)
        r1 = max(i for i, _ in members)
        c0 = min(j for _, j in members)
        c1 = max(j for _, j in members)
        if len(members) != (r1 - r0 + 1) * (c1 - c0 + 1):
            # not a rectangle (a rule missing in the middle): keep its cells apart
            for i, j in members:
                cells.append(GridCell(i, j, i, j, (xs[j], ys[i], xs[j + 1], ys[i + 1])))
            continue
        cells.append(GridCell(r0, c0, r1, c1, (xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1])))
    cells.sort(key=lambda c: (c.row, c.col))
    return cells, rules


def _rule_curve(
    sub: np.ndarray[Any, np.dtype[np.bool_]], x: int, y: int, xs: np.ndarray[Any, np.dtype[np.float64]]
) -> np.ndarray[Any, np.dtype[np.float64]] | None:
    """The centre line of one rule across (`sub`, its pixels in its box at `x`, `y`)
    as a parabola over `xs`: fitted to the rule's own thin stretches only (a digit
    touching it, a stamp's edge are no part of it), points far off the fit dropped
    and fitted again, and held level past the rule's ends (never extrapolated)."""
    count = sub.sum(axis=0)
    present = np.flatnonzero(count > 0)
    if present.size < sub.shape[1] * 0.5:
        return None
    centre = (sub * np.arange(sub.shape[0])[:, None]).sum(axis=0)[present] / count[present]
    thin = count[present] <= float(np.median(count[present])) + 2
    cx = present[thin].astype(np.float64) + x
    cy = centre[thin] + y
    if cx.size < sub.shape[1] * 0.3:
        return None
    coef = np.polyfit(cx, cy, 2)
    for _ in range(2):
        keep = np.abs(np.polyval(coef, cx) - cy) < _RULE_FIT_TOLERANCE
        if keep.sum() < cx.size * 0.5 or keep.all():
            break
        cx, cy = cx[keep], cy[keep]
        coef = np.polyfit(cx, cy, 2)
    return np.asarray(np.polyval(coef, np.clip(xs, cx.min(), cx.max())), dtype=np.float64)


def _straighten_rows(gray: Gray) -> Gray:
    """Bend the image so each long rule across becomes straight (paper curl, the
    rest of a photo's perspective): every rule is fitted with a parabola, and each
    column of pixels is stretched so the rules sit at their median heights."""
    h, w = gray.shape
    horiz = np.asarray(
        cv2.morphologyEx(
            binarize(gray), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(20, w // 60), 1))
        ),
        dtype=np.uint8,
    )
    cv2.morphologyEx(
        horiz, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (max(20, w // 40), 3)), dst=horiz
    )
    n, labels, stats = _components(horiz)
    del horiz
    xs = np.arange(w, dtype=np.float64)
    curves: list[tuple[float, np.ndarray[Any, np.dtype[np.float64]]]] = []
    for i in range(1, n):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        if bw < w * 0.5 or bh > h * 0.2:
            continue
        curve = _rule_curve(labels[y : y + bh, x : x + bw] == i, x, y, xs)
        if curve is not None:
            curves.append((float(np.median(curve)), curve))
    del labels  # not needed for the remap (memory)
    if len(curves) < 2:
        return gray
    curves.sort(key=lambda c: c[0])
    # rules closer than a few pixels are one rule seen twice
    kept = [curves[0]]
    for c in curves[1:]:
        if c[0] - kept[-1][0] > 8:
            kept.append(c)
    if len(kept) < 2:
        return gray
    targets = np.array([t for t, _ in kept])
    sources = np.stack([c for _, c in kept])  # rules x width
    if np.abs(sources - targets[:, None]).max() < 1.5:
        return gray
    grid_y = np.arange(h, dtype=np.float64)
    out = np.empty_like(gray)
    for x0 in range(0, w, _REMAP_COLUMNS):  # a band of columns at a time: the maps are 8 bytes a pixel
        x1 = min(w, x0 + _REMAP_COLUMNS)
        map_y = np.empty((h, x1 - x0), dtype=np.float32)
        for xi in range(x0, x1):
            src = sources[:, xi]
            # outside the first and last rule: shift by their offsets
            col = np.interp(grid_y, targets, src)
            col[grid_y < targets[0]] = grid_y[grid_y < targets[0]] + (src[0] - targets[0])
            col[grid_y > targets[-1]] = grid_y[grid_y > targets[-1]] + (src[-1] - targets[-1])
            map_y[:, xi - x0] = col
        map_x = np.tile(np.arange(x0, x1, dtype=np.float32), (h, 1))
        out[:, x0:x1] = cv2.remap(gray, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderValue=255)
    return out


def _components(mask: Gray) -> tuple[int, np.ndarray[Any, np.dtype[Any]], np.ndarray[Any, np.dtype[np.int32]]]:
    """(count, labels, stats) of the 8-connected regions of `mask`: labels two bytes a
    pixel (a table's rules are a few hundred regions), four when there are more than
    two bytes can count."""
    try:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_16U)
    except cv2.error:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return int(n), labels, np.asarray(stats, dtype=np.int32)


def straighten(gray: Gray) -> Gray:
    """Rules across and down made straight (`_straighten_rows` both ways), and a
    photo's faint rules made solid (`_faint_rules_inked`), first before: a faint rule
    Otsu's threshold leaves in dashes would not be fitted, and stay bent. A page
    whose rules are printed dark (a scan) is looked at once, after. A photo's thin
    grey rules the threshold leaves in dashes where the rest are dark (a shadow, a
    blur) are inked before and after too (`_thin_lines_inked`)."""
    faint = _has_faint_rules(gray)
    _thin_lines_inked(gray)
    inked = bool(faint)
    if inked:
        _ink_faint(gray, faint)
    del faint
    turned = np.ascontiguousarray(_straighten_rows(gray).T)  # (each intermediate freed once copied)
    cols = np.ascontiguousarray(_straighten_rows(turned).T)
    del turned
    _thin_lines_inked(cols)  # (again: the bending drew each rule over a pixel or two, lighter)
    return _faint_rules_inked(cols) if inked else cols


def _thin_lines_inked(gray: Gray) -> None:
    """A photo's thin grey rules the threshold would leave in dashes (blurred, in a
    shadow, a pixel's wobble) made black, in place: a pixel darker by `_RIDGE` than the
    paper `_RIDGE_SIDE` pixels on both sides across the rule (the middle of a thin
    line, not a shadow's edge nor a stroke's side), on a line that is so along
    `_RIDGE_RUN` of the table's longer side for most of it (`_RIDGE_SHARE`). Where
    the threshold already takes the rule as ink, it is left as it is (a scan's dark
    rules and their blurred edges: no change), and so is a table where the faint
    lines found add up to less than `_RIDGE_MIN` of its width and height."""
    level, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    h, w = gray.shape
    d = _RIDGE_SIDE
    marks = np.zeros_like(gray)
    for down in (False, True):
        img = np.ascontiguousarray(gray.T) if down else gray
        length = max(31, int(max(h, w) * _RIDGE_RUN)) | 1  # (a seal's ring bends away within it)
        # (rules across: the paper above and below each pixel)
        sides = np.full_like(img, 0)
        cv2.min(img[: -2 * d], img[2 * d :], dst=sides[d:-d])
        ridge = np.asarray(cv2.subtract(sides, img), dtype=np.uint8)
        del sides
        on = _darker_than(
            np.asarray(cv2.bitwise_not(ridge), dtype=np.uint8), 256 - _RIDGE
        )  # (255 where the ridge is _RIDGE or more)
        # a rule's wobble: the ridge looked for a pixel either way across it, along
        # the rule on most of its length (a line of text's dots and bars are apart)
        cv2.dilate(on, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)), dst=on)
        along = cv2.blur(on, (length, 1))
        # only where the threshold sees no ink across the rule: a dark rule's or
        # stroke's blurred edge is left as it is
        inked = cv2.dilate(_darker_than(img, int(level) + 1), cv2.getStructuringElement(cv2.MORPH_RECT, (1, 5)))
        line = (along >= int(255 * _RIDGE_SHARE)) & (ridge >= _RIDGE) & (inked == 0)
        del along, on, ridge, inked
        mark = line.astype(np.uint8)
        marks |= np.ascontiguousarray(mark.T) if down else mark
    if cv2.countNonZero(marks) < _RIDGE_MIN * (h + w):
        return  # no faint grid: a seal's ring's arcs along a row of digits, specks (a scan)
    gray[marks > 0] = 0


def _faint_rules_inked(gray: Gray) -> Gray:
    """A blurred photo's thin grey rules (lighter than Otsu's threshold takes as ink,
    so the grid is found in dashes or not at all) made black, in place (`_has_faint_rules`)."""
    found = _has_faint_rules(gray)
    if found:
        _ink_faint(gray, found)
    return gray


def _ink_faint(gray: Gray, found: list[Gray]) -> None:
    for thin in found:
        gray[thin > 0] = 0


def _has_faint_rules(gray: Gray) -> list[Gray]:
    """The masks (across, down) of a photo's faint rules: long thin runs of pixels
    darker than paper's light grey, across and down, when they are a good share of
    the rules (`_FAINT_SHARE`); [] when the rules are printed dark enough. A
    shadow's edge or a dark band is no thin run (what stays after opening with a
    thick kernel is dropped); print is never made lighter."""
    h, w = gray.shape
    faint = _darker_than(gray, _FAINT_RULE)
    if not faint.any():
        return []
    across, down = max(40, w // 15), max(20, h // 4)
    seen = line_masks(binarize(gray), across, max(20, h // 20, w // 60))  # the rules print already shows
    found: list[Gray] = []
    new = total = 0
    for size, thick, known in (((across, 1), (across, 9), seen[0]), ((1, down), (9, down), seen[1])):
        thin = np.asarray(
            cv2.morphologyEx(faint, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, size)), dtype=np.uint8
        )
        wide = cv2.morphologyEx(faint, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, thick))
        cv2.subtract(thin, cv2.dilate(wide, np.ones((3, 3), dtype=np.uint8)), dst=thin)
        total += cv2.countNonZero(thin)
        new += cv2.countNonZero(cv2.subtract(thin, cv2.dilate(known, np.ones((9, 9), dtype=np.uint8))))
        found.append(thin)
    if new < _FAINT_SHARE * total:
        return []  # the rules are printed dark enough: left as they are
    return found
