"""Table geometry of photos (parsers.ocr.geometry): a table of faint grey rules
leaning under a keystone found, a corner a stamp cut off the grid's outline put back
where its rules meet, faint rules made solid only where print shows none."""

from __future__ import annotations

import math

import cv2
import numpy as np

from parsers.ocr import geometry


def _faint_leaning_table() -> np.ndarray:
    """A flattened photo's page: a ruled table of light grey rules one pixel thin
    (the blur of a phone photo), its rules down leaning 6 degrees (a keystone)."""
    gray = np.full((1800, 2400), 255, dtype=np.uint8)
    lean = math.tan(math.radians(6))
    ys = (600, 660, 700, 750, 800, 850)
    for y in ys:  # from the first rule down to the last, where they pass
        shift = int(lean * (y - ys[0]))
        cv2.line(gray, (300 + shift, y), (2100 + shift, y), 205, 1)
    for x in (300, 380, 1000, 1250, 1500, 1750, 2100):
        cv2.line(gray, (x, ys[0]), (int(x + lean * (ys[-1] - ys[0])), ys[-1]), 205, 1)
    return gray


def test_a_table_of_faint_leaning_rules_is_found_from_the_grey_page() -> None:
    gray = _faint_leaning_table()
    ink = geometry.binarize(gray)
    dashed = ink.copy()
    dashed[:, ::7] = 0  # what Otsu's threshold leaves of a blurred photo's rules: dashes
    assert geometry.table_quad(dashed) is None
    quad = geometry.table_quad(dashed, gray)
    assert quad is not None
    tl, tr, br, bl = quad
    assert abs(float(tl[0]) - 300) < 8 and abs(float(tl[1]) - 600) < 8
    assert abs(float(br[0]) - (2100 + math.tan(math.radians(6)) * 250)) < 8 and abs(float(br[1]) - 850) < 8


def test_no_table_is_found_in_faint_text_without_rules() -> None:
    gray = np.full((1800, 2400), 255, dtype=np.uint8)
    for y in range(300, 1500, 45):  # lines of a letter's text, light grey
        cv2.putText(gray, "Kinh gui Ban Chi huy 1.234 ngay 20/09/2021", (200, y), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 200, 2)
    assert geometry.table_quad(geometry.binarize(gray), gray) is None


def test_a_corner_cut_off_the_grid_is_put_back_where_the_rules_meet() -> None:
    ink = np.zeros((1800, 2400), dtype=np.uint8)
    ys = (600, 700, 760, 820)
    drop = 30  # the page a little turned: the rules across fall to the right
    for y in ys:
        cv2.line(ink, (300, y), (2100, y + drop), 255, 3)
    for x in (300, 400, 1000, 1400, 1800, 2100):
        cv2.line(ink, (x, ys[0] + drop * (x - 300) // 1800), (x, ys[-1] + drop * (x - 300) // 1800), 255, 3)
    # a stamp over the last row's right end: its rules there lost
    cv2.rectangle(ink, (1700, 780), (2110, 900), 0, -1)
    quad = geometry.table_quad(ink)
    assert quad is not None
    br = quad[2]
    assert abs(float(br[0]) - 2100) < 8 and abs(float(br[1]) - (820 + drop)) < 8


def test_faint_rules_are_inked_and_dark_ones_left_as_printed() -> None:
    faint = np.full((400, 2800), 255, dtype=np.uint8)
    for y in (20, 120, 220, 320):
        cv2.line(faint, (20, y), (2780, y), 215, 1)
    for x in (20, 700, 1400, 2780):
        cv2.line(faint, (x, 20), (x, 320), 215, 1)
    cv2.putText(faint, "1.234", (2500, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 0, 3)
    inked = geometry.straighten(faint.copy())
    assert inked[120, 1000] < 100 and inked[200, 700] < 100  # the rules now black
    assert geometry.find_cells(geometry.binarize(inked))[0]

    dark = faint.copy()
    dark[dark == 215] = 60  # rules printed dark: nothing is changed
    assert np.array_equal(geometry.straighten(dark.copy()), dark)
